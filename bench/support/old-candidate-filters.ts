/**
 * The candidate filters' loading as it was before issue 10 (commit dc5d9ff's candidate-filters.ts, unchanged but
 * for this header and the store at the end), kept only so that `npm run bench:cold-start` can measure the old
 * cold start next to the new one in the same run. Its flaws are the reason it was replaced: it installs the filter
 * before loading it, and the spend filter's size query and load read every row of every partition, unpaged,
 * inside the engine's transaction. Never use it outside the benchmark.
 */
import type pg from 'pg';
import { BloomFilter } from '../../functions/adapters/postgres/bloom-filter.js';
import type { PaymentTransactionFilter, RegisteredAddressFilter } from '../../functions/adapters/postgres/candidate-filters.js';
import { PostgresEngineTransaction, PostgresPaymentStore } from '../../functions/adapters/postgres/payment-store.js';
import { inTransaction } from '../../functions/adapters/postgres/pool.js';
import { DEFAULT_RETAINED_BLOCKS } from '../../functions/domain/payment-engine.js';
import type { EngineTransaction } from '../../functions/domain/ports.js';

const PAGE = 50_000;
/** The engine's applied height, in SQL. */
const TIP_HEIGHT = '(SELECT coalesce(last_block_height, 0) FROM sync_state)';

abstract class TableFollowingFilter {
  private filter: BloomFilter | undefined;
  private lastSeenId = 0n;
  private loadedAtGeneration: bigint | undefined;

  mightContain(value: string): boolean {
    return this.filter?.mightContain(value) ?? true;
  }

  include(value: string): void {
    this.filter?.add(value);
  }

  async refresh(client: pg.ClientBase, syncGeneration?: bigint): Promise<void> {
    const generationChanged = syncGeneration !== undefined && syncGeneration !== this.loadedAtGeneration;
    if (!this.filter || this.filter.overCapacity || generationChanged) {
      await this.rebuild(client);
      this.loadedAtGeneration = syncGeneration;
    }
    for (;;) {
      const { rows } = await client.query<{ id: bigint; value: string }>({
        name: `old_${this.constructor.name}_rows_after`,
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

  protected abstract readonly rowsAfterSql: string;
  protected abstract readonly sizeSql: string;
  protected abstract loadInitial(client: pg.ClientBase, filter: BloomFilter, upToId: bigint): Promise<void>;
}

class OldRegisteredAddressFilter extends TableFollowingFilter {
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

class OldPaymentTransactionFilter extends TableFollowingFilter {
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

/** The payment store with the old filters: loaded inside the engine's transaction, as before. */
export class OldFilterLoadingStore extends PostgresPaymentStore {
  private readonly oldAddresses = new OldRegisteredAddressFilter();
  private readonly oldPaymentTransactions = new OldPaymentTransactionFilter(BigInt(DEFAULT_RETAINED_BLOCKS));

  override inTransaction<T>(work: (tx: EngineTransaction) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, (client) => work(this.transactionOn(client)));
  }

  protected override transactionOn(client: pg.PoolClient): EngineTransaction {
    return new PostgresEngineTransaction(
      client,
      this.oldAddresses as unknown as RegisteredAddressFilter,
      this.oldPaymentTransactions as unknown as PaymentTransactionFilter,
    );
  }
}
