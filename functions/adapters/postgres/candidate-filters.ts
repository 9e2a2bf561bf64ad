import type pg from 'pg';
import { BloomFilter } from './bloom-filter.js';

const PAGE = 50_000;
/** The engine's applied height, in SQL. */
const TIP_HEIGHT = '(SELECT coalesce(last_block_height, 0) FROM sync_state)';

/**
 * An in-memory Bloom filter that follows a table through its ever-growing id. Refreshes read only the rows
 * added since the last one (ids become visible in commit order: engine writes are serialised by the sync
 * position lock, address registrations by their own lock), so a refresh is one cheap indexed query.
 */
abstract class TableFollowingFilter {
  private filter: BloomFilter | undefined;
  private lastSeenId = 0n;
  private loadedAtGeneration: bigint | undefined;

  mightContain(value: string): boolean {
    return this.filter?.mightContain(value) ?? true;
  }

  /** Adds an entry that the id watermark cannot see (an existing row that became relevant again). */
  include(value: string): void {
    this.filter?.add(value);
  }

  /**
   * Brings the filter up to date inside the caller's transaction. Given the sync generation, the filter is loaded
   * again when it changed: a rebuild gives rows back ids below the watermark (see PaymentTransactionFilter).
   */
  async refresh(client: pg.ClientBase, syncGeneration?: bigint): Promise<void> {
    const generationChanged = syncGeneration !== undefined && syncGeneration !== this.loadedAtGeneration;
    if (!this.filter || this.filter.overCapacity || generationChanged) {
      await this.rebuild(client);
      this.loadedAtGeneration = syncGeneration;
    }
    for (;;) {
      const { rows } = await client.query<{ id: bigint; value: string }>({
        name: `${this.constructor.name}_rows_after`,
        text: this.rowsAfterSql,
        values: [this.lastSeenId, PAGE],
      });
      for (const row of rows) this.filter!.add(row.value);
      if (rows.length > 0) this.lastSeenId = rows[rows.length - 1]!.id;
      if (rows.length < PAGE) return;
    }
  }

  private async rebuild(client: pg.ClientBase): Promise<void> {
    const { rows } = await client.query<{ entries: bigint; max_id: bigint | null }>(this.sizeSql);
    const entries = Number(rows[0]!.entries);
    this.filter = new BloomFilter(Math.max(100_000, entries * 2));
    this.lastSeenId = rows[0]!.max_id ?? 0n;
    await this.loadInitial(client, this.filter, this.lastSeenId);
  }

  /** `SELECT id, <value> AS value ... WHERE id > $1 ORDER BY id LIMIT $2` */
  protected abstract readonly rowsAfterSql: string;
  /** `SELECT <count of entries to load> AS entries, max(id) AS max_id` */
  protected abstract readonly sizeSql: string;
  protected abstract loadInitial(client: pg.ClientBase, filter: BloomFilter, upToId: bigint): Promise<void>;
}

/** Addresses registered in payment_addresses. */
export class RegisteredAddressFilter extends TableFollowingFilter {
  protected readonly rowsAfterSql = 'SELECT id, address AS value FROM payment_addresses WHERE id > $1 ORDER BY id LIMIT $2';
  protected readonly sizeSql = 'SELECT count(*) AS entries, max(id) AS max_id FROM payment_addresses';

  protected async loadInitial(client: pg.ClientBase, filter: BloomFilter, upToId: bigint): Promise<void> {
    let after = 0n;
    for (;;) {
      const { rows } = await client.query<{ id: bigint; address: string }>(
        'SELECT id, address FROM payment_addresses WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3',
        [after, upToId, PAGE],
      );
      for (const row of rows) filter.add(row.address);
      if (rows.length < PAGE) return;
      after = rows[rows.length - 1]!.id;
    }
  }
}

/**
 * Transactions that created a payment which can still be spent: live and unspent, or spent recently enough
 * that a rollback may undo the spend.
 *
 * Some payment rows become live again with an id the watermark has passed, so the initial load takes them in
 * ahead of time:
 * - a payment held by a running rebuild gets its old id back when it is found again in the same block;
 * - a rolled back or reversed row whose block comes back is revived with its id; its block can only come back
 *   while it is within the rollback window of the tip (or after a rebuild: a new generation, so a new load).
 * The engine that writes such a row adds it to its own filter; this is for the other processor instances.
 */
export class PaymentTransactionFilter extends TableFollowingFilter {
  protected readonly rowsAfterSql = 'SELECT id, tx_hash AS value FROM incoming_payments WHERE id > $1 ORDER BY id LIMIT $2';
  protected readonly sizeSql: string;

  constructor(private readonly rollbackWindowBlocks: bigint) {
    super();
    this.sizeSql = `SELECT count(*) FILTER (WHERE status IN ('pending', 'confirmed')
                                              OR block_height > ${TIP_HEIGHT} - ${rollbackWindowBlocks})
                           + (SELECT count(*) FROM rebuild_held_payments) AS entries,
                           max(id) AS max_id FROM incoming_payments`;
  }

  protected async loadInitial(client: pg.ClientBase, filter: BloomFilter, upToId: bigint): Promise<void> {
    const { rows } = await client.query<{ tx_hash: string }>(
      `SELECT tx_hash FROM incoming_payments
        WHERE id <= $1
          AND CASE WHEN status IN ('pending', 'confirmed')
                   THEN spent_at_height IS NULL OR spent_at_height > ${TIP_HEIGHT} - $2::bigint
                   ELSE block_height > ${TIP_HEIGHT} - $2::bigint END
       UNION
       SELECT tx_hash FROM rebuild_held_payments`,
      [upToId, this.rollbackWindowBlocks],
    );
    for (const row of rows) filter.add(row.tx_hash);
  }
}
