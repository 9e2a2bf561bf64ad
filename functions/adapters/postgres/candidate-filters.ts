import type pg from 'pg';
import { BloomFilter, EntryHashes, packedPageIsExact, prefixSql } from './bloom-filter.js';
import { inTransaction } from './pool.js';

/** Rows read by one refresh statement. */
const PAGE = 50_000;
/** Values read by one statement of a load: bounds what a load holds at once, whatever the table's size. */
const LOAD_PAGE = 10_000;
/** Below every id: "nothing seen yet". */
const NO_ID = -(2n ** 63n);
/** Entries a filter is sized for at least; a filter gets twice the entries it loaded. */
const MINIMUM_CAPACITY = 100_000;

/** How a load reads. */
interface LoadContext {
  /**
   * A REPEATABLE READ snapshot of the load's own (loadDueFilters): every statement sees the same rows, so the load
   * may read the partitions one by one. Otherwise the engine's READ COMMITTED transaction, under its sync position
   * lock: each statement sees its own moment, so a load reads through the partitioned table (a row that partition
   * maintenance moves between two statements keeps its id, and is read once).
   */
  ownSnapshot: boolean;
  /** The sync generation the caller holds locked, if any. */
  lockedGeneration?: bigint;
}

/** A loaded filter with what it has seen: installed whole, once its load has succeeded. */
interface LoadedFilter {
  readonly filter: BloomFilter;
  /** The highest id added (rows up to it are in the filter); refreshes read the rows after it. */
  lastSeenId: bigint;
  /** The sync generation the load read (undefined for a filter that does not depend on it). */
  readonly generation: bigint | undefined;
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
 */
export abstract class TableFollowingFilter {
  private loaded: LoadedFilter | undefined;

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
      this.loaded = await this.load(client, { ownSnapshot: false, lockedGeneration: syncGeneration });
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
      if (rows.length < PAGE) return;
    }
  }

  /** Installs a filter whose load has succeeded. */
  install(loaded: LoadedFilter): void {
    this.loaded = loaded;
  }

  /** Reads a new filter from the transaction's view of the tables, without installing it. */
  abstract load(client: pg.ClientBase, context: LoadContext): Promise<LoadedFilter>;

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
      const loaded = await inTransaction(pool, (client) => filter.load(client, { ownSnapshot: true }), 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      filter.install(loaded);
    });
  const failed = (await Promise.allSettled(loads)).find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}

/** A filter sized for the entries read (twice as many, so that it takes as many again before a reload). */
function filterOf(entries: EntryHashes): BloomFilter {
  const filter = new BloomFilter(Math.max(MINIMUM_CAPACITY, entries.length * 2));
  filter.addAll(entries);
  return filter;
}

interface KeysetPage {
  entries: number;
  last_id: bigint | null;
  packed: string;
  bytes: number;
}

/** `SELECT id, <value> AS value FROM … WHERE …`, with `id` unique; a name prepares its page statement once. */
interface KeysetSource {
  select: string;
  name?: string;
}

/**
 * Reads the values of each source into `entries`, LOAD_PAGE at a time in id order (keyset: each page is one indexed
 * range read). In a UTF8 database (`packs`) a page arrives as one row: the prefixes of its values (the characters
 * the filter hashes, and those before them) packed in one string; a page whose prefixes are not all ASCII and whole
 * (rare: a short value, or one that is not ASCII) is read again, value by value. Otherwise every page is read
 * value by value. The next page is asked for before this one is hashed, so the database reads while JavaScript
 * hashes.
 */
async function readByKeyset(
  client: pg.ClientBase,
  entries: EntryHashes,
  sources: readonly KeysetSource[],
  upToId: bigint,
  packs: boolean,
): Promise<void> {
  const page = (select: string) => `${select} AND id >= $1 AND id <= $2 ORDER BY id LIMIT ${LOAD_PAGE}`;
  const read = ({ select, name }: KeysetSource, from: bigint) =>
    client.query<KeysetPage>({
      ...(name ? { name: packs ? name : `${name}_whole` } : {}),
      text: `SELECT count(*)::int AS entries, max(id) AS last_id,
                    ${packs ? `coalesce(string_agg(${prefixSql('value')}, ''), '')` : `''`} AS packed,
                    ${packs ? `coalesce(octet_length(string_agg(${prefixSql('value')}, '')), 0)` : '0'} AS bytes
               FROM (${page(select)}) page`,
      values: [from, upToId],
    });
  let source = 0;
  let from = NO_ID;
  let next: Promise<pg.QueryResult<KeysetPage>> | undefined = sources.length > 0 ? read(sources[0]!, from) : undefined;
  try {
    while (next) {
      const { entries: values, last_id: lastId, packed, bytes } = (await next).rows[0]!;
      const [pageSource, pageFrom] = [sources[source]!, from];
      if (values === LOAD_PAGE && lastId !== null) from = lastId + 1n;
      else [source, from] = [source + 1, NO_ID];
      next = source < sources.length ? read(sources[source]!, from) : undefined;

      if (values === 0) continue;
      if (packs && packedPageIsExact(values, packed, bytes)) {
        entries.addPackedPrefixes(packed);
        continue;
      }
      // Value by value. Queued after the next page, it reads the same rows: the same ids (in a snapshot of its own;
      // or at or below the watermark, under the sync position lock).
      const { rows } = await client.query<[string]>({
        text: `SELECT value FROM (${page(pageSource.select)}) page`,
        values: [pageFrom, lastId],
        rowMode: 'array',
      });
      for (const [value] of rows) entries.add(value);
      if (rows.length !== values) throw new Error(`a filter page of ${values} values read again gave ${rows.length}`);
    }
  } catch (error) {
    await next?.catch(() => undefined); // settled before the transaction goes on (and no unhandled rejection)
    throw error;
  }
}

/** Reads the single column of every row of `query` into `entries` (a cursor: LOAD_PAGE rows at a time). */
async function readByCursor(client: pg.ClientBase, entries: EntryHashes, query: string, values: unknown[]): Promise<void> {
  await client.query(`DECLARE candidate_filter_rows NO SCROLL CURSOR FOR ${query}`, values);
  for (;;) {
    const { rows } = await client.query<[string]>({ text: `FETCH ${LOAD_PAGE} FROM candidate_filter_rows`, rowMode: 'array' });
    for (const [value] of rows) entries.add(value);
    if (rows.length < LOAD_PAGE) break;
  }
  await client.query('CLOSE candidate_filter_rows');
}

/** Addresses registered in payment_addresses. */
export class RegisteredAddressFilter extends TableFollowingFilter {
  protected readonly rowsAfterSql = 'SELECT id, address AS value FROM payment_addresses WHERE id > $1 ORDER BY id LIMIT $2';

  async load(client: pg.ClientBase, _context: LoadContext): Promise<LoadedFilter> {
    // The watermark first: every id up to it is visible from here on (registrations commit in id order).
    const { rows } = await client.query<{ max_id: bigint | null; utf8: boolean }>(
      `SELECT max(id) AS max_id, ${UTF8} AS utf8 FROM payment_addresses`,
    );
    const upToId = rows[0]!.max_id ?? NO_ID;
    const entries = new EntryHashes();
    const select = 'SELECT id, address AS value FROM payment_addresses WHERE true';
    await readByKeyset(client, entries, [{ select, name: 'candidate_filter_addresses_page' }], upToId, rows[0]!.utf8);
    return { filter: filterOf(entries), lastSeenId: upToId, generation: undefined };
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

  constructor(private readonly rollbackWindowBlocks: bigint) {
    super();
  }

  async load(client: pg.ClientBase, { ownSnapshot, lockedGeneration }: LoadContext): Promise<LoadedFilter> {
    const { rows } = await client.query<{ generation: bigint; floor: bigint; spent_from_slot: bigint; max_id: bigint | null; utf8: boolean }>(
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
    // In a snapshot of its own, partition by partition (each an index-only range read; through the partitioned
    // table, every page would merge the index scans of all partitions); otherwise through the partitioned table.
    const sources: KeysetSource[] = ownSnapshot
      ? (
          await client.query<{ partition: string }>(
            `SELECT relid::regclass::text AS partition FROM pg_partition_tree('incoming_payments') WHERE isleaf ORDER BY relid`,
          )
        ).rows.map(({ partition }) => ({ select: `SELECT id, tx_hash AS value FROM ${partition} WHERE ${UNSPENT}` }))
      : [{ select: `SELECT id, tx_hash AS value FROM incoming_payments WHERE ${UNSPENT}`, name: 'candidate_filter_unspent_page' }];
    await readByKeyset(client, entries, sources, upToId, state.utf8);
    await readByCursor(
      client,
      entries,
      `SELECT tx_hash FROM incoming_payments
        WHERE status IN ('pending', 'confirmed') AND spent_at_slot >= $1 AND spent_at_height > $2
       UNION ALL
       SELECT tx_hash FROM incoming_payments
        WHERE status IN ('rolled_back', 'reversed') AND block_height > $2
       UNION ALL
       SELECT tx_hash FROM rebuild_held_payments`,
      [spentFromSlot, floor],
    );
    return { filter: filterOf(entries), lastSeenId: upToId, generation: lockedGeneration ?? state.generation };
  }
}

/** Whether the database is UTF8 (as RDS's are): packed pages are read only then (packedPageIsExact). */
const UTF8 = `current_setting('server_encoding') = 'UTF8'`;

/** Live, unspent payments: the bulk of the spend filter, read through the partial index incoming_payments_unspent. */
const UNSPENT = `status IN ('pending', 'confirmed') AND spent_at_slot IS NULL`;
