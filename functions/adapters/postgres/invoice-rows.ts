/** How an invoice is stored in `invoices` (migration 0018) and read back, with the on-chain payments to it. */
import { type AmountJson, amountsFromJson, type InvoicePaymentView, type InvoiceRecord } from '../../domain/invoices/invoice-resource.js';
import { type AdditionalStatus, type Asset, type InvoiceStatus, LOVELACE } from '../../domain/invoices/invoice-rules.js';
import type { Queryable } from './business-events.js';
import { assetsFromJson } from './payment-rows.js';

export const INVOICE_COLUMNS = `id, reference_id, user_id, address, account_id, address_index, amount_lovelace, amount_assets,
  confirmations, created_at, expires_at, monitoring_until, status, additional_status, paid, settles_at_height,
  ever_settled, expired, settled_at`;

export interface InvoiceRow {
  id: string;
  reference_id: string;
  user_id: string | null;
  address: string;
  account_id: string | null;
  address_index: number | null;
  /** NUMERIC: a decimal string. */
  amount_lovelace: string;
  amount_assets: Record<Asset, string>;
  confirmations: number;
  created_at: Date;
  expires_at: Date;
  monitoring_until: Date;
  status: InvoiceStatus;
  additional_status: AdditionalStatus;
  paid: AmountJson;
  settles_at_height: bigint | null;
  ever_settled: boolean;
  expired: boolean;
  settled_at: Date | null;
}

export function invoiceFromRow(row: InvoiceRow): InvoiceRecord {
  return {
    id: row.id,
    referenceId: row.reference_id,
    userId: row.user_id,
    address: row.address,
    derivedFrom: row.account_id === null ? null : { accountId: row.account_id, index: row.address_index as number },
    amount: amountsFromJson({ lovelace: row.amount_lovelace, assets: row.amount_assets }),
    confirmations: row.confirmations,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    monitoringUntil: row.monitoring_until,
    status: row.status,
    additionalStatus: row.additional_status,
    paid: amountsFromJson(row.paid),
    settlesAtHeight: row.settles_at_height,
    everSettled: row.ever_settled,
    expired: row.expired,
    settledAt: row.settled_at,
  };
}

/** A payment row as onChainPaymentsSql's subquery reads it. */
export interface InvoicePaymentRow {
  reference_id: string;
  tx_hash: string;
  output_index: number;
  status: 'pending' | 'confirmed';
  amount_lovelace: bigint | string;
  assets: Record<string, Record<string, string>>;
  block_height: bigint | string;
  block_time: Date | string;
}

/** The payments to each invoice that are on the chain (pending or confirmed), by invoice id. */
export async function onChainInvoicePayments(db: Queryable, invoiceIds: readonly string[]): Promise<Map<string, InvoicePaymentView[]>> {
  const byInvoice = new Map<string, InvoicePaymentView[]>(invoiceIds.map((id) => [id, []]));
  if (invoiceIds.length === 0) return byInvoice;
  // Named: planning a statement over every monthly partition costs more than running it (every invoice read runs it).
  const { rows } = await db.query<InvoicePaymentRow>({
    name: 'on_chain_invoice_payments',
    text: onChainPaymentsSql('$1::text[]'),
    values: [invoiceIds],
  });
  for (const row of rows) byInvoice.get(row.reference_id)?.push(invoicePaymentFromRow(row));
  return byInvoice;
}

/**
 * The on-chain payments (pending or confirmed) to the invoices of the text[] expression `ids`, with InvoicePaymentRow's
 * columns: a statement of its own, or a subquery that a reader of invoices joins to them by reference_id.
 */
export function onChainPaymentsSql(ids: string): string {
  return `SELECT reference_id, tx_hash, output_index, status, amount_lovelace, assets, block_height, block_time
            FROM incoming_payments
           WHERE reference_type = 'invoice' AND reference_id = ANY(${ids}) AND status IN ('pending', 'confirmed')`;
}

export function invoicePaymentFromRow(row: InvoicePaymentRow): InvoicePaymentView {
  const amounts = new Map<Asset, bigint>([[LOVELACE, BigInt(row.amount_lovelace)]]);
  for (const { policyId, assetName, quantity } of assetsFromJson(row.assets)) {
    const asset = `${policyId}.${assetName}`;
    amounts.set(asset, (amounts.get(asset) ?? 0n) + quantity);
  }
  return {
    txId: row.tx_hash,
    index: row.output_index,
    status: row.status,
    blockHeight: BigInt(row.block_height),
    blockTime: new Date(row.block_time),
    amounts,
  };
}
