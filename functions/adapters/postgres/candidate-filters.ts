import pg from 'pg';
import { BloomFilter, EntryHashes, packedPageIsExact, prefixSql } from './bloom-filter.js';
import { type FilterSnapshot, type FollowedTable, readStoredFilter, storeFilter } from './filter-store.js';
import { inTransaction } from './pool.js';

/** Rows read by one refresh statement. */
const PAGE = 50_000;
/**
 * The ids a load page spans (a page holds at most as many values): what a load holds at once is bounded by a page,
 * whatever the table's size. Registered addresses have dense ids; the unspent payments are a share of all payments.
 */
const ADDRESS_PAGE_IDS = 10_000n;
const PAYMENT_PAGE_IDS = 100_000n;
/** Below every id: "nothing seen yet". */
const NO_ID = -(2n ** 63n);
/** Entries a filter is sized for at least; a filter gets twice the entries it loaded. */
const MINIMUM_CAPACITY = 100_000;
/**
 * Rows a filter takes in before it is stored again: what a cold instance catches up with after reading it, whatever
 * the history. Small enough for one quick page (sorted in memory across the partitions); writing a filter (a few
 * MiB at a million entries) this often is cheap.
 */
export const STORE_EVERY_ROWS = 10_000;

/** How a load reads. */
interface LoadContext {
  /** The sync generation the caller holds locked (inside the engine transaction), if any. */
  lockedGeneration?: bigint;
}

/** A loaded filter with what it has seen: installed whole, once its load has succeeded. */
interface LoadedFilter {
  readonly filter: BloomFilter;
  /** The highest id added (rows up to it are in the filter); refreshes read the rows after it. */
  lastSeenId: bigint;
  /** The sync generation the load read (undefined for a filter that does not depend on it). */
  readonly generation: bigint | undefined;
  /** Rows taken in since the load (catching up), and how many had been when it was last stored (null: never). */
  rowsTakenIn: number;
  storedAt: number | null;
}

/**
 * An in-memory Bloom filter that follows a table through its ever-growing id. Refreshes read only the rows
 * added since the last one (ids become visible in commit order: engine writes are serialised by the sync
 * position lock, address registrations by their own lock), so a refresh is one cheap indexed query.
 *
 * Loading: a new filter is built and filled in locals and installed (filter, watermark and generation together)
 * only once the whole load has succeeded, so a load that fails (a dropped connection, a failover, a timeout)
 * leaves the instance as it was and the next attempt loads again. A load reads through indexes, in pages, only
 * the rows the filter needs, so its time and memory do not grow with the history.
 *
 * Before an engine transaction, a filter that is due (never loaded, or over capacity) is loaded in a read-only
 * snapshot of its own (loadDueFilters), so the engine's sync position lock is not held while it loads. Inside the
 * transaction, refresh() catches up with the rows added since that snapshot: the watermark is the snapshot's
 * max(id), and ids become visible in commit order. Rows of an earlier id that become relevant later are in the
 * load already (see PaymentTransactionFilter). A filter that depends on the sync generation is loaded again,
 * inside the transaction, when the generation the transaction locked differs from the one its load read: that
 * covers a rebuild (or a recovery) between the snapshot and the transaction.
 *
 * A load reads the stored filter first (filter-store.ts: what an instance loaded and caught up with, stored after
 * its transaction), and the tables only when none can be used: a cold start reads one row per filter and the rows
 * added since it was stored, instead of every registered address and unspent payment.
 */
export abstract class TableFollowingFilter {
  private loaded: LoadedFilter | undefined;
  private storing = false;

  mightContain(value: string): boolean {
    return this.loaded?.filter.mightContain(value) ?? true;
  }

  /** Adds an entry that the id watermark cannot see (an existing row that became relevant again). */
  include(value: string): void {
    this.loaded?.filter.add(value);
  }

  /** Whether the filter is to be loaded before the next transaction uses it: never loaded, or over capacity. */
  get due(): boolean {
    return this.loaded === undefined || this.loaded.filter.overCapacity;
  }

  /**
   * Brings the filter up to date inside the caller's transaction. Given the sync generation (read with the sync
   * position lock), the filter is loaded again, here, when its load read another one: a rebuild gives rows back
   * ids below the watermark (see PaymentTransactionFilter). A filter over capacity is still exact (only its false
   * positive rate has grown): the next loadDueFilters replaces it, outside a transaction.
   */
  async refresh(client: pg.ClientBase, syncGeneration?: bigint): Promise<void> {
    if (this.loaded === undefined || (syncGeneration !== undefined && this.loaded.generation !== syncGeneration)) {
      // The generation the transaction locked: the load runs under that lock, so nothing changes it meanwhile.
      this.loaded = await this.load(client, { lockedGeneration: syncGeneration });
    }
    // Another load may be installed while this one awaits (a store used by concurrent transactions): catch up
    // with whatever filter is installed when the transaction goes on to use it.
    for (let loaded = this.loaded; ; ) {
      await this.catchUp(client, loaded);
      if (this.loaded === loaded) return;
      loaded = this.loaded!;
    }
  }

  private async catchUp(client: pg.ClientBase, loaded: LoadedFilter): Promise<void> {
    for (;;) {
      const { rows } = await client.query<{ id: bigint; value: string }>({
        name: `${this.constructor.name}_rows_after`,
        text: this.rowsAfterSql,
        values: [loaded.lastSeenId, PAGE],
      });
      for (const row of rows) loaded.filter.add(row.value);
      if (rows.length > 0) loaded.lastSeenId = rows[rows.length - 1]!.id;
      loaded.rowsTakenIn += rows.length;
      if (rows.length < PAGE) return;
    }
  }

  /** Installs a filter whose load has succeeded. */
  install(loaded: LoadedFilter): void {
    this.loaded = loaded;
  }

  /**
   * Reads a new filter in the transaction's view, without installing it: the stored one caught up with the rows
   * added since it was stored, or, when none can be used, one loaded from the tables.
   */
  async load(client: pg.ClientBase, context: LoadContext): Promise<LoadedFilter> {
    return (await this.loadStored(client, context)) ?? (await this.loadFromTables(client, context));
  }

  private async loadStored(client: pg.ClientBase, context: LoadContext): Promise<LoadedFilter | undefined> {
    const generation = await this.generationOf(client, context);
    const stored = await readStoredFilter(client, this.storedName, this.followedTable, generation);
    if (!stored || stored.filter.overCapacity) return undefined;
    const loaded: LoadedFilter = { filter: stored.filter, lastSeenId: stored.lastSeenId, generation, rowsTakenIn: 0, storedAt: 0 };
    await this.catchUp(client, loaded);
    // A stored filter that the rows since fill past its capacity is loaded again, larger, from the tables.
    return loaded.filter.overCapacity ? undefined : loaded;
  }

  /**
   * The filter to store, copied now with what it has seen, if it has taken in enough rows since it was last stored
   * (or was loaded from the tables and never stored); undefined otherwise, or while one is being stored.
   */
  private dueForStoring(): { snapshot: FilterSnapshot; stored: () => void } | undefined {
    const loaded = this.loaded;
    if (!loaded || this.storing || loaded.filter.overCapacity) return undefined;
    if (loaded.storedAt !== null && loaded.rowsTakenIn - loaded.storedAt < STORE_EVERY_ROWS) return undefined;
    const rowsTakenIn = loaded.rowsTakenIn;
    const snapshot = {
      name: this.storedName,
      generation: loaded.generation,
      lastSeenId: loaded.lastSeenId,
      filter: loaded.filter.stored(),
    };
    return { snapshot, stored: () => (loaded.storedAt = rowsTakenIn) };
  }

  /** Stores the filter if it is due (dueForStoring). */
  async storeIfDue(pool: pg.Pool): Promise<void> {
    const due = this.dueForStoring();
    if (!due) return;
    this.storing = true;
    try {
      await storeFilter(pool, due.snapshot);
      due.stored();
    } finally {
      this.storing = false;
    }
  }

  /** Loads a new filter from the tables in the transaction's view. */
  protected abstract loadFromTables(client: pg.ClientBase, context: LoadContext): Promise<LoadedFilter>;

  /** The sync generation a load in this view reads (undefined for a filter that does not depend on it). */
  protected abstract generationOf(client: pg.ClientBase, context: LoadContext): Promise<bigint | undefined>;

  /** The stored filter's name, and the table whose ids its watermark counts. */
  protected abstract readonly storedName: string;
  protected abstract readonly followedTable: FollowedTable;

  /** `SELECT id, <value> AS value ... WHERE id > $1 ORDER BY id LIMIT $2` */
  protected abstract readonly rowsAfterSql: string;
}

/**
 * Loads the filters that are due, each in a read-only snapshot of its own (concurrently when the pool has more than
 * one connection), and installs each once its whole load succeeded. Called before an engine transaction, so that no
 * lock is held meanwhile. A filter whose load fails is not installed, and stays due.
 */
export async function loadDueFilters(pool: pg.Pool, filters: readonly TableFollowingFilter[]): Promise<void> {
  const loads = filters
    .filter((filter) => filter.due)
    .map(async (filter) => {
      const loaded = await inTransaction(pool, (client) => filter.load(client, {}), 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      filter.install(loaded);
    });
  const failed = (await Promise.allSettled(loads)).find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Stores the filters that have taken in enough rows since they were last stored (or were loaded from the tables),
 * so that the next cold instance reads them instead of the tables. Called after an engine transaction; a failure
 * costs only a slower cold start, so each is reported to `onFailure` and the others are still stored.
 */
export async function storeDueFilters(
  pool: pg.Pool,
  filters: readonly TableFollowingFilter[],
  onFailure: (error: unknown) => void,
): Promise<void> {
  for (const filter of filters) await filter.storeIfDue(pool).catch(onFailure);
}

/** A filter sized for the entries read (twice as many, so that it takes as many again before a reload). */
function filterOf(entries: EntryHashes): BloomFilter {
  const filter = new BloomFilter(Math.max(MINIMUM_CAPACITY, entries.length * 2));
  filter.addAll(entries);
  return filter;
}

/**
 * Runs one statement and hands its rows over one by one as they arrive, holding none of them: the database computes
 * the next rows while these are processed. A statement is one snapshot, whatever the transaction's isolation.
 */
function streamRows<R>(client: pg.ClientBase, text: string, values: unknown[], onRow: (row: R) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const query = new pg.Query<R & pg.QueryResultRow>({ text, values });
    let failure: unknown;
    query.on('row', (row: R) => {
      if (failure !== undefined) return;
      try {
        onRow(row);
      } catch (error) {
        failure = error; // reported once the statement has ended, so that the connection stays usable
      }
    });
    query.on('error', reject);
    query.on('end', () => (failure === undefined ? resolve() : reject(failure)));
    client.query(query);
  });
}

interface PackedPage {
  lo: string;
  entries: number;
  packed: string;
  bytes: number;
}

/**
 * Reads the value of every row of `source` (`SELECT id, <value> AS value FROM … WHERE …`, `id` unique) up to the
 * watermark into `entries`, in one statement that streams pages: each spans `pageIds` ids from the next id present
 * (so a page holds at most that many values, and there are no empty pages) and is one indexed range read. In a UTF8
 * database (`packs`) a page arrives as one row: the prefixes of its values (the characters the filter hashes, and
 * those before them) packed in one string. A page whose prefixes are not all ASCII and whole (rare: a short value,
 * or one that is not ASCII) is read again afterwards, value by value; in another database every value is.
 */
async function readPages(
  client: pg.ClientBase,
  entries: EntryHashes,
  source: string,
  upToId: bigint,
  pageIds: bigint,
  packs: boolean,
): Promise<void> {
  if (!packs) {
    await streamRows<{ value: string }>(client, `SELECT value FROM (${source}) s WHERE id <= $1`, [upToId], ({ value }) =>
      entries.add(value),
    );
    return;
  }
  const prefixes = `string_agg(${prefixSql('value')}, '')`;
  const unpacked: string[] = [];
  await streamRows<PackedPage>(
    client,
    `WITH RECURSIVE pages (lo) AS (
       SELECT (SELECT min(id) FROM (${source}) s WHERE id <= $1)
       UNION ALL
       SELECT (SELECT min(id) FROM (${source}) s WHERE id >= pages.lo + $2 AND id <= $1) FROM pages WHERE pages.lo IS NOT NULL
     )
     SELECT pages.lo::text AS lo, page.entries, page.packed, page.bytes
       FROM pages, LATERAL (SELECT count(*)::int AS entries, coalesce(${prefixes}, '') AS packed,
                                   coalesce(octet_length(${prefixes}), 0) AS bytes
                              FROM (${source}) s WHERE id >= pages.lo AND id < pages.lo + $2 AND id <= $1) page
      WHERE pages.lo IS NOT NULL`,
    [upToId, pageIds],
    ({ lo, entries: values, packed, bytes }) => {
      if (packedPageIsExact(values, packed, bytes)) entries.addPackedPrefixes(packed);
      else unpacked.push(lo);
    },
  );
  for (const lo of unpacked) {
    // The same rows: the same ids (in a snapshot of its own; or at or below the watermark, under the sync lock).
    await streamRows<{ value: string }>(
      client,
      `SELECT value FROM (${source}) s WHERE id >= $2::bigint AND id < $2::bigint + $3 AND id <= $1`,
      [upToId, lo, pageIds],
      ({ value }) => entries.add(value),
    );
  }
}

/** Addresses registered in payment_addresses. */
export class RegisteredAddressFilter extends TableFollowingFilter {
  protected readonly rowsAfterSql = 'SELECT id, address AS value FROM payment_addresses WHERE id > $1 ORDER BY id LIMIT $2';
  protected readonly storedName = 'registered_addresses';
  protected readonly followedTable = 'payment_addresses';

  protected async generationOf(): Promise<undefined> {
    return undefined;
  }

  protected async loadFromTables(client: pg.ClientBase, _context: LoadContext): Promise<LoadedFilter> {
    // The watermark first: every id up to it is visible from here on (registrations commit in id order).
    const { rows } = await client.query<{ max_id: bigint | null; utf8: boolean }>(
      `SELECT max(id) AS max_id, ${UTF8} AS utf8 FROM payment_addresses`,
    );
    const upToId = rows[0]!.max_id ?? NO_ID;
    const entries = new EntryHashes();
    await readPages(client, entries, 'SELECT id, address AS value FROM payment_addresses', upToId, ADDRESS_PAGE_IDS, rows[0]!.utf8);
    return { filter: filterOf(entries), lastSeenId: upToId, generation: undefined, rowsTakenIn: 0, storedAt: null };
  }
}

/**
 * Transactions that created a payment which can still be spent: live and unspent, or spent recently enough
 * that a rollback may undo the spend.
 *
 * Some payment rows become live again with an id the watermark has passed, so the load takes them in ahead of
 * time:
 * - a payment held by a running rebuild gets its old id back when it is found again in the same block;
 * - a rolled back or reversed row whose block comes back is revived with its id; its block can only come back
 *   while it is within the rollback window of the tip (or after a rebuild: a new generation, so a new load).
 * The engine that writes such a row adds it to its own filter; this is for the other processor instances.
 *
 * Rows whose status changes after the load's snapshot need nothing more: a live row that is spent, rolled back
 * or reversed stays in (a Bloom filter only ever over-approximates); a spend a rollback undoes was within the
 * rollback window, and a row revived or found again was rolled back within it or held, so they were loaded
 * (the window is measured from the snapshot's tip, and a rollback reaches no deeper than the tip of that moment
 * minus the window: the engine keeps no block below it). A rebuild changes the generation, so the filter loads
 * again.
 *
 * What the load reads, through indexes (migration 0009), whatever the history: the live unspent rows (a partial
 * index, read in id order), the spends within the window (the spent-position index, from the slot of the newest
 * checkpoint at or below the window's floor: a spend above the floor is in a later block of the same chain), the
 * rolled back and reversed rows within the window (a partial index), and the held rows.
 */
export class PaymentTransactionFilter extends TableFollowingFilter {
  protected readonly rowsAfterSql = 'SELECT id, tx_hash AS value FROM incoming_payments WHERE id > $1 ORDER BY id LIMIT $2';
  protected readonly followedTable = 'incoming_payments';
  /** Per rollback window: a filter loaded for a shallower one lacks spends a deeper one keeps. */
  protected readonly storedName: string;

  constructor(private readonly rollbackWindowBlocks: bigint) {
    super();
    this.storedName = `payment_transactions/${rollbackWindowBlocks}`;
  }

  protected async generationOf(client: pg.ClientBase, { lockedGeneration }: LoadContext): Promise<bigint> {
    if (lockedGeneration !== undefined) return lockedGeneration;
    const { rows } = await client.query<{ generation: bigint }>('SELECT sync_generation AS generation FROM sync_state WHERE id = 1');
    if (!rows[0]) throw new Error('sync_state has no row: the database is not migrated');
    return rows[0].generation;
  }

  protected async loadFromTables(client: pg.ClientBase, { lockedGeneration }: LoadContext): Promise<LoadedFilter> {
    const { rows } = await client.query<{
      generation: bigint;
      floor: bigint;
      spent_from_slot: bigint;
      max_id: bigint | null;
      utf8: boolean;
    }>(
      `SELECT sync_generation AS generation, coalesce(last_block_height, 0) - $1::bigint AS floor, ${UTF8} AS utf8,
              coalesce((SELECT max(slot) FROM checkpoints
                         WHERE height <= coalesce(s.last_block_height, 0) - $1::bigint), -1) AS spent_from_slot,
              (SELECT max(id) FROM incoming_payments) AS max_id
         FROM sync_state s WHERE id = 1`,
      [this.rollbackWindowBlocks],
    );
    const state = rows[0];
    if (!state) throw new Error('sync_state has no row: the database is not migrated');
    const { floor, spent_from_slot: spentFromSlot } = state;
    const upToId = state.max_id ?? NO_ID;
    const entries = new EntryHashes();
    const unspent = `SELECT id, tx_hash AS value FROM incoming_payments WHERE ${UNSPENT}`;
    await readPages(client, entries, unspent, upToId, PAYMENT_PAGE_IDS, state.utf8);
    await streamRows<{ tx_hash: string }>(
      client,
      `SELECT tx_hash FROM incoming_payments
        WHERE status IN ('pending', 'confirmed') AND spent_at_slot >= $1 AND spent_at_height > $2
       UNION ALL
       SELECT tx_hash FROM incoming_payments
        WHERE status IN ('rolled_back', 'reversed') AND block_height > $2
       UNION ALL
       SELECT tx_hash FROM rebuild_held_payments`,
      [spentFromSlot, floor],
      ({ tx_hash }) => entries.add(tx_hash),
    );
    return {
      filter: filterOf(entries),
      lastSeenId: upToId,
      generation: lockedGeneration ?? state.generation,
      rowsTakenIn: 0,
      storedAt: null,
    };
  }
}

/** Whether the database is UTF8 (as RDS's are): packed pages are read only then (packedPageIsExact). */
const UTF8 = `current_setting('server_encoding') = 'UTF8'`;

/** Live, unspent payments: the bulk of the spend filter, read through the partial index incoming_payments_unspent. */
const UNSPENT = `status IN ('pending', 'confirmed') AND spent_at_slot IS NULL`;
