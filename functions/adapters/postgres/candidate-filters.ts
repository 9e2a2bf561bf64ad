import type pg from 'pg';
import { BloomFilter, packableSql, windowSql } from './bloom-filter.js';
import { inTransaction } from './pool.js';

/** Rows read by one refresh statement. */
const PAGE = 50_000;
/** Values read by one statement of a load: bounds what a load holds at once, whatever the table's size. */
const LOAD_PAGE = 50_000;
/** Below every id: "nothing seen yet". */
const NO_ID = -(2n ** 63n);
/** Entries a filter is sized for at least; a filter gets twice the entries it loaded. */
const MINIMUM_CAPACITY = 100_000;

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
      this.loaded = await this.load(client, syncGeneration);
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

  /**
   * Reads a new filter from the transaction's view of the tables (one snapshot when the transaction is
   * REPEATABLE READ) without installing it. `lockedGeneration`: the generation the caller holds locked, if any.
   */
  abstract load(client: pg.ClientBase, lockedGeneration?: bigint): Promise<LoadedFilter>;

  /** `SELECT id, <value> AS value ... WHERE id > $1 ORDER BY id LIMIT $2` */
  protected abstract readonly rowsAfterSql: string;
}

/**
 * Loads the filters that are due, all from one read-only snapshot, and installs each once the whole snapshot was
 * read. Called before an engine transaction, so that no lock is held meanwhile. A failure installs nothing.
 */
export async function loadDueFilters(pool: pg.Pool, filters: readonly TableFollowingFilter[]): Promise<void> {
  const due = filters.filter((filter) => filter.due);
  if (due.length === 0) return;
  const loads = await inTransaction(
    pool,
    async (client) => {
      const loaded: LoadedFilter[] = [];
      for (const filter of due) loaded.push(await filter.load(client));
      return loaded;
    },
    'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
  );
  due.forEach((filter, i) => filter.install(loads[i]!));
}

function sizedFilter(entries: number): BloomFilter {
  return new BloomFilter(Math.max(MINIMUM_CAPACITY, entries * 2));
}

/**
 * Adds the values of `source` to the filter, LOAD_PAGE at a time in id order (keyset: each page is one indexed
 * range read). `source` is `SELECT id, <value> AS value FROM … WHERE …`, with `id` unique. A page arrives as one
 * row: the windows of its values packed in one string, and the few values that cannot be packed, whole.
 * Returns the number of values added.
 */
async function addByKeyset(client: pg.ClientBase, filter: BloomFilter, source: string, upToId: bigint): Promise<number> {
  let from = NO_ID;
  let added = 0;
  for (;;) {
    const { rows } = await client.query<{ entries: number; last_id: bigint | null; packed: string; whole: string[] }>(
      `SELECT count(*)::int AS entries, max(id) AS last_id,
              coalesce(string_agg(${windowSql('value')}, '') FILTER (WHERE ${packableSql('value')}), '') AS packed,
              coalesce(array_agg(value) FILTER (WHERE NOT ${packableSql('value')}), '{}') AS whole
         FROM (${source} AND id >= $1 AND id <= $2 ORDER BY id LIMIT ${LOAD_PAGE}) page`,
      [from, upToId],
    );
    const page = rows[0]!;
    const packed = filter.addPackedWindows(page.packed);
    for (const value of page.whole) filter.add(value);
    if (packed + page.whole.length !== page.entries) {
      throw new Error(`a filter page of ${page.entries} values unpacked to ${packed + page.whole.length}`);
    }
    added += page.entries;
    if (page.entries < LOAD_PAGE || page.last_id === null) return added;
    from = page.last_id + 1n;
  }
}

/** Adds the single column of every row of `query` (a cursor: LOAD_PAGE rows at a time). Returns the rows added. */
async function addByCursor(client: pg.ClientBase, filter: BloomFilter, query: string, values: unknown[]): Promise<number> {
  await client.query(`DECLARE candidate_filter_rows NO SCROLL CURSOR FOR ${query}`, values);
  let added = 0;
  for (;;) {
    const { rows } = await client.query<[string]>({ text: `FETCH ${LOAD_PAGE} FROM candidate_filter_rows`, rowMode: 'array' });
    for (const [value] of rows) filter.add(value);
    added += rows.length;
    if (rows.length < LOAD_PAGE) break;
  }
  await client.query('CLOSE candidate_filter_rows');
  return added;
}

/** Addresses registered in payment_addresses. */
export class RegisteredAddressFilter extends TableFollowingFilter {
  protected readonly rowsAfterSql = 'SELECT id, address AS value FROM payment_addresses WHERE id > $1 ORDER BY id LIMIT $2';

  async load(client: pg.ClientBase): Promise<LoadedFilter> {
    // The watermark first: every id up to it is visible from here on (registrations commit in id order).
    const { rows } = await client.query<{ entries: number; max_id: bigint | null }>(
      'SELECT count(*)::int AS entries, max(id) AS max_id FROM payment_addresses',
    );
    const upToId = rows[0]!.max_id ?? NO_ID;
    const filter = sizedFilter(rows[0]!.entries);
    await addByKeyset(client, filter, 'SELECT id, address AS value FROM payment_addresses WHERE true', upToId);
    return { filter, lastSeenId: upToId, generation: undefined };
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

  async load(client: pg.ClientBase, lockedGeneration?: bigint): Promise<LoadedFilter> {
    const { rows } = await client.query<{ generation: bigint; floor: bigint; spent_from_slot: bigint; max_id: bigint | null }>(
      `SELECT sync_generation AS generation, coalesce(last_block_height, 0) - $1::bigint AS floor,
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
    const recentSql = `SELECT tx_hash FROM incoming_payments
                        WHERE status IN ('pending', 'confirmed') AND spent_at_slot >= $1 AND spent_at_height > $2
                       UNION ALL
                       SELECT tx_hash FROM incoming_payments
                        WHERE status IN ('rolled_back', 'reversed') AND block_height > $2
                       UNION ALL
                       SELECT tx_hash FROM rebuild_held_payments`;
    const { rows: counts } = await client.query<{ unspent: number; recent: number }>(
      `SELECT (SELECT count(*)::int FROM incoming_payments WHERE ${UNSPENT}) AS unspent,
              (SELECT count(*)::int FROM (${recentSql}) r) AS recent`,
      [spentFromSlot, floor],
    );
    const filter = sizedFilter(counts[0]!.unspent + counts[0]!.recent);
    await addByKeyset(client, filter, `SELECT id, tx_hash AS value FROM incoming_payments WHERE ${UNSPENT}`, upToId);
    await addByCursor(client, filter, recentSql, [spentFromSlot, floor]);
    return { filter, lastSeenId: upToId, generation: lockedGeneration ?? state.generation };
  }
}

/** Live, unspent payments: the bulk of the spend filter, read through the partial index incoming_payments_unspent. */
const UNSPENT = `status IN ('pending', 'confirmed') AND spent_at_slot IS NULL`;
