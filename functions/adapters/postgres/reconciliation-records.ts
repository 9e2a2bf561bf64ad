/**
 * The database side of reconciliation: payment addresses in id order (keyset pagination, so a million addresses
 * stream through in chunks) with how many unspent payments each holds (what chunks are planned by), the payments
 * at a chunk's addresses with the applied block they belong to, and the balance check of user_balances against
 * the ledger.
 */
import type pg from 'pg';
import type { AssetQuantity } from '../../domain/chain.js';
import type { ChainOutput, RecordedPayment } from '../../domain/reconciliation/classification.js';
import type { BalanceVerification, DatabaseSnapshot, ReconciliationRecords, RegisteredAddress } from '../../domain/reconciliation/ports.js';
import { inTransaction } from './pool.js';

type AssetsJson = Record<string, Record<string, string>>;

export class PostgresReconciliationRecords implements ReconciliationRecords {
  constructor(private readonly pool: pg.Pool) {}

  async addressesAfter(cursor: bigint, limit: number): Promise<RegisteredAddress[]> {
    const batch = await this.pool.query<{ id: bigint; address: string }>(
      'SELECT id, address FROM payment_addresses WHERE id > $1 ORDER BY id LIMIT $2',
      [cursor.toString(), limit],
    );
    if (batch.rows.length === 0) return [];
    // An array, not a join: the planner then probes incoming_payments_address in each partition instead of
    // scanning every payment for a hash join.
    const addresses = batch.rows.map((row) => row.address);
    const counted = await this.pool.query<{ address: string; unspent: bigint }>(
      `SELECT address, count(*) AS unspent FROM incoming_payments
        WHERE address = ANY($1::text[]) AND status IN ('pending', 'confirmed') AND spent_by_tx_hash IS NULL
        GROUP BY address`,
      [addresses],
    );
    const unspent = new Map(counted.rows.map((row) => [row.address, Number(row.unspent)]));
    return batch.rows.map((row) => ({ id: row.id, address: row.address, recordedUnspent: unspent.get(row.address) ?? 0 }));
  }

  async paymentsAt(addresses: readonly string[], outputs: readonly ChainOutput[]): Promise<DatabaseSnapshot> {
    // One snapshot: the applied block and the payments are what the engine had committed at the same moment.
    return this.inSnapshot(async (client) => {
      const state = await client.query<{
        last_block_height: bigint | null;
        last_block_slot: bigint | null;
        last_block_hash: string | null;
      }>('SELECT last_block_height, last_block_slot, last_block_hash FROM sync_state WHERE id = 1');
      const { rows } = await client.query<{
        tx_hash: string;
        output_index: number;
        address: string;
        amount_lovelace: bigint;
        assets: AssetsJson;
        status: 'pending' | 'confirmed';
        spent: boolean;
      }>(
        // Spent rows only where the chain holds the output unspent: an address's spent history is never read.
        `SELECT tx_hash, output_index, address, amount_lovelace, assets, status, spent_by_tx_hash IS NOT NULL AS spent
           FROM incoming_payments
          WHERE address = ANY($1::text[]) AND status IN ('pending', 'confirmed') AND spent_by_tx_hash IS NULL
         UNION ALL
         SELECT p.tx_hash, p.output_index, p.address, p.amount_lovelace, p.assets, p.status, true
           FROM incoming_payments p JOIN unnest($2::text[], $3::integer[]) AS chain(tx_hash, output_index) USING (tx_hash, output_index)
          WHERE p.address = ANY($1::text[]) AND p.status IN ('pending', 'confirmed') AND p.spent_by_tx_hash IS NOT NULL`,
        [addresses, outputs.map((output) => output.txId), outputs.map((output) => output.index)],
      );
      const applied = state.rows[0];
      return {
        applied:
          applied?.last_block_hash && applied.last_block_height !== null && applied.last_block_slot !== null
            ? { hash: applied.last_block_hash, height: applied.last_block_height, slot: applied.last_block_slot }
            : null,
        payments: rows.map(
          (row): RecordedPayment => ({
            txId: row.tx_hash,
            index: row.output_index,
            address: row.address,
            lovelace: row.amount_lovelace,
            assets: assetsFromJson(row.assets),
            status: row.status,
            spent: row.spent,
          }),
        ),
      };
    });
  }

  async verifyBalances(detailLimit: number): Promise<BalanceVerification> {
    // Users with a balance row, ledger rows, or both; a missing side counts as zero.
    const { rows } = await this.pool.query<{
      users: bigint;
      mismatch_count: bigint;
      mismatches: { user_id: string; stored: string; calculated: string }[];
    }>(
      `WITH ledger AS (
         SELECT user_id, sum(CASE WHEN type = 'credit' THEN amount_lovelace ELSE -amount_lovelace END) AS calculated
           FROM balance_transactions GROUP BY user_id
       ), compared AS (
         SELECT coalesce(b.user_id, l.user_id) AS user_id,
                coalesce(b.balance_lovelace, 0)::numeric AS stored,
                coalesce(l.calculated, 0) AS calculated
           FROM user_balances b FULL JOIN ledger l ON l.user_id = b.user_id
       )
       SELECT (SELECT count(*) FROM compared) AS users,
              (SELECT count(*) FROM compared WHERE stored <> calculated) AS mismatch_count,
              coalesce((SELECT jsonb_agg(jsonb_build_object('user_id', user_id, 'stored', stored::text, 'calculated', calculated::text) ORDER BY user_id)
                          FROM (SELECT * FROM compared WHERE stored <> calculated ORDER BY user_id LIMIT $1) detail), '[]'::jsonb) AS mismatches`,
      [detailLimit],
    );
    const row = rows[0];
    if (row === undefined) throw new Error('the balance check returned no row');
    return {
      usersChecked: Number(row.users),
      mismatchCount: Number(row.mismatch_count),
      mismatches: row.mismatches.map((mismatch) => ({
        userId: mismatch.user_id,
        storedLovelace: BigInt(mismatch.stored),
        calculatedLovelace: BigInt(mismatch.calculated),
      })),
    };
  }

  private inSnapshot<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }
}

export function assetsFromJson(assets: AssetsJson | null): AssetQuantity[] {
  const quantities: AssetQuantity[] = [];
  for (const [policyId, names] of Object.entries(assets ?? {})) {
    for (const [assetName, quantity] of Object.entries(names)) quantities.push({ policyId, assetName, quantity: BigInt(quantity) });
  }
  return quantities;
}

export function assetsToJson(assets: readonly AssetQuantity[]): AssetsJson {
  const json: AssetsJson = {};
  for (const { policyId, assetName, quantity } of assets) (json[policyId] ??= {})[assetName] = quantity.toString();
  return json;
}
