/**
 * The payment as the API returns it and as business events carry it (`data`): ONE definition. The HTTP API maps
 * `incoming_payments` rows through `paymentResource`; the engine's outbox inserts build the same JSON in SQL
 * (`payment_resource(incoming_payments)`, migration 0015), and test/integration/outbox-events.test.ts proves the
 * two agree field for field. A change here is a change there.
 *
 * Amounts and token quantities are decimal strings (exact for every JSON reader); heights and slots are JSON
 * numbers (far below 2^53); times are ISO-8601 UTC with milliseconds.
 */

export type PaymentStatus = 'pending' | 'confirmed' | 'rolled_back' | 'reversed';

/** An `incoming_payments` row as pg reads it (int8 as bigint, timestamptz as Date, jsonb parsed). */
export interface PaymentResourceRow {
  tx_hash: string;
  output_index: number;
  address: string;
  amount_lovelace: bigint;
  /** {"<policy id hex>": {"<asset name hex>": "<quantity>"}} */
  assets: Record<string, Record<string, string>>;
  reference_type: string;
  reference_id: string;
  user_id: string | null;
  block_height: bigint;
  block_slot: bigint;
  block_hash: string;
  block_time: Date;
  status: PaymentStatus;
  detected_at: Date;
  confirmed_at: Date | null;
  spent_by_tx_hash: string | null;
  spent_at_slot: bigint | null;
}

export interface PaymentResource {
  tx_hash: string;
  output_index: number;
  status: PaymentStatus;
  address: string;
  reference_type: string;
  reference_id: string;
  user_id: string | null;
  amount_lovelace: string;
  assets: Record<string, Record<string, string>>;
  block: { height: number; slot: number; hash: string; time: string };
  detected_at: string;
  confirmed_at: string | null;
  spent: { tx_hash: string; slot: number } | null;
}

/** The key of the payment resource: the output, whatever block carried it. */
export function paymentResourceId(txHash: string, outputIndex: number): string {
  return `${txHash}#${outputIndex}`;
}

export function paymentResource(row: PaymentResourceRow): PaymentResource {
  return {
    tx_hash: row.tx_hash,
    output_index: row.output_index,
    status: row.status,
    address: row.address,
    reference_type: row.reference_type,
    reference_id: row.reference_id,
    user_id: row.user_id,
    amount_lovelace: row.amount_lovelace.toString(),
    assets: row.assets,
    block: {
      height: Number(row.block_height),
      slot: Number(row.block_slot),
      hash: row.block_hash,
      time: row.block_time.toISOString(),
    },
    detected_at: row.detected_at.toISOString(),
    confirmed_at: row.confirmed_at ? row.confirmed_at.toISOString() : null,
    spent:
      row.spent_by_tx_hash !== null && row.spent_at_slot !== null
        ? { tx_hash: row.spent_by_tx_hash, slot: Number(row.spent_at_slot) }
        : null,
  };
}
