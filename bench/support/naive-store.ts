import type pg from 'pg';
import { PostgresEngineTransaction, PostgresPaymentStore } from '../../functions/adapters/postgres/payment-store.js';
import { assetsToJson } from '../../functions/adapters/postgres/payment-rows.js';
import type { EngineTransaction, OutputInBlock, Payment, Spend, SpendOutcome } from '../../functions/domain/ports.js';

/**
 * What a simple implementation does: one address lookup per output and one update per input. Kept only
 * as the benchmark's baseline; everything else is the real store.
 */
export class NaivePaymentStore extends PostgresPaymentStore {
  protected override transactionOn(client: pg.PoolClient): EngineTransaction {
    return new NaiveEngineTransaction(client);
  }
}

class NaiveEngineTransaction extends PostgresEngineTransaction {
  constructor(client: pg.PoolClient) {
    super(client, undefined as never, undefined as never);
  }

  override async recordPayments(outputs: readonly OutputInBlock[], detectedAt: Date): Promise<Payment[]> {
    const detected: Payment[] = [];
    for (const { output, block } of outputs) {
      const { rows } = await this.client.query<{ reference_type: string; reference_id: string; user_id: string | null }>(
        'SELECT reference_type, reference_id, user_id FROM payment_addresses WHERE address = $1',
        [output.address],
      );
      const match = rows[0];
      if (!match) continue;
      await this.client.query(
        `INSERT INTO incoming_payments (tx_hash, output_index, address, amount_lovelace, assets, reference_type,
                                        reference_id, user_id, block_height, block_slot, block_hash, block_time, detected_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING`,
        [
          output.txId,
          output.index,
          output.address,
          output.lovelace.toString(),
          assetsToJson(output.assets),
          match.reference_type,
          match.reference_id,
          match.user_id,
          block.height.toString(),
          block.slot.toString(),
          block.hash,
          block.time,
          detectedAt,
        ],
      );
      detected.push({
        txId: output.txId,
        index: output.index,
        address: output.address,
        lovelace: output.lovelace,
        assets: output.assets,
        referenceType: match.reference_type,
        referenceId: match.reference_id,
        userId: match.user_id,
        blockHeight: block.height,
        blockSlot: block.slot,
        blockTime: block.time,
      });
    }
    return detected;
  }

  /** The benchmark registers no hot wallet, so no spend is the hot wallet's. */
  override async markSpent(spends: readonly Spend[]): Promise<SpendOutcome> {
    let marked = 0;
    for (const spend of spends) {
      const { rowCount } = await this.client.query(
        `UPDATE incoming_payments SET spent_by_tx_hash = $3, spent_at_slot = $4, spent_at_height = $5
          WHERE tx_hash = $1 AND output_index = $2 AND status IN ('pending', 'confirmed') AND spent_by_tx_hash IS NULL`,
        [spend.output.txId, spend.output.index, spend.spentBy, spend.block.slot.toString(), spend.block.height.toString()],
      );
      marked += rowCount ?? 0;
    }
    return { marked, hotWallet: [] };
  }
}
