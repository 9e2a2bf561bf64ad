/** How a Payment is stored in incoming_payments and read back: the columns, the row, the assets as JSONB. */
import type { AssetQuantity } from '../../domain/chain.js';
import type { PaymentResourceRow } from '../../domain/payment-resource.js';
import type { Payment } from '../../domain/ports.js';

/** The columns a Payment is read from (by the engine's statements and the rebuild settlement). */
export const PAYMENT_COLUMNS = `tx_hash, output_index, address, amount_lovelace, assets, reference_type, reference_id,
                         user_id, block_height, block_slot, block_time`;

/** The columns of PAYMENT_COLUMNS, as the API's payment resource types them (one row type for both). */
export type PaymentRow = Pick<
  PaymentResourceRow,
  | 'tx_hash'
  | 'output_index'
  | 'address'
  | 'amount_lovelace'
  | 'assets'
  | 'reference_type'
  | 'reference_id'
  | 'user_id'
  | 'block_height'
  | 'block_slot'
  | 'block_time'
>;

/** {"<policy>": {"<asset name>": "<quantity>"}}: decimal strings keep quantities exact for every JSON reader. */
export function assetsToJson(assets: readonly AssetQuantity[]): string {
  const byPolicy: Record<string, Record<string, string>> = Object.create(null);
  for (const { policyId, assetName, quantity } of assets) {
    const policy = (byPolicy[policyId] ??= Object.create(null) as Record<string, string>);
    policy[assetName] = (BigInt(policy[assetName] ?? '0') + quantity).toString();
  }
  return JSON.stringify(byPolicy);
}

export function assetsFromJson(json: Record<string, Record<string, string>>): AssetQuantity[] {
  return Object.entries(json).flatMap(([policyId, names]) =>
    Object.entries(names).map(([assetName, quantity]) => ({ policyId, assetName, quantity: BigInt(quantity) })),
  );
}

export function paymentFromRow(row: PaymentRow): Payment {
  return {
    txId: row.tx_hash,
    index: row.output_index,
    address: row.address,
    lovelace: row.amount_lovelace,
    assets: assetsFromJson(row.assets),
    referenceType: row.reference_type,
    referenceId: row.reference_id,
    userId: row.user_id,
    blockHeight: row.block_height,
    blockSlot: row.block_slot,
    blockTime: row.block_time,
  };
}
