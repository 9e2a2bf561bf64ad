/**
 * Judging invoices inside the engine's transaction (the rules: domain/invoices/invoice-judging.ts), set-based: one
 * statement reads the invoices to judge with their on-chain payments, and a step that changed some writes them and
 * their events with another. Both keep one generic plan per connection (prepared, named).
 *
 * Cost of a step that touched no invoice: index lookups that find nothing (invoices_new_by_expiry,
 * invoices_processing_by_settling_height, and after a rollback invoices_settled_by_settling_height); the held-payment
 * check reads rebuild_held_payments_invoice only for invoices found. Those lookups sit in invoices_due (migration
 * 0021): written inline, their comparisons with the tip made PostgreSQL plan the statement afresh at every step.
 */
import type { InvoiceChange, InvoiceToJudge } from '../../domain/invoices/invoice-judging.js';
import { amountJson } from '../../domain/invoices/invoice-resource.js';
import type { ChainTip } from '../../domain/invoices/invoice-rules.js';
import type { Queryable } from './business-events.js';
import { invoiceEventsInsert, invoiceEventsJson } from './invoice-events.js';
import {
  INVOICE_COLUMNS,
  invoiceFromRow,
  invoicePaymentFromRow,
  type InvoicePaymentRow,
  type InvoiceRow,
  onChainPaymentsSql,
} from './invoice-rows.js';

/** An invoice's on-chain payment as invoicesToJudge joins it to the invoice's row: InvoicePaymentRow's columns, prefixed. */
type JoinedPayment = { [Column in Exclude<keyof InvoicePaymentRow, 'reference_id'> as `payment_${Column}`]: InvoicePaymentRow[Column] };
/** An invoice row with one of its on-chain payments, or with none (the payment's columns NULL). */
type InvoiceJudgingRow = InvoiceRow & (JoinedPayment | { [Column in keyof JoinedPayment]: null });

/**
 * The invoices a step judges again, with their on-chain payments, in one statement (a row per invoice and payment, in
 * invoice order). An invoice with a payment a running rebuild holds aside keeps its judgement until the settlement
 * decides that payment (it touches the invoice then). No row lock: the engine is the only writer of judgements and
 * runs one step at a time (sync_state's lock).
 */
export async function invoicesToJudge(
  db: Queryable,
  touchedIds: readonly string[],
  tip: ChainTip | null,
  afterRollback: boolean,
): Promise<InvoiceToJudge[]> {
  const { rows } = await db.query<InvoiceJudgingRow>({
    name: 'invoices_to_judge',
    text: `WITH judged AS MATERIALIZED (
             SELECT ${INVOICE_COLUMNS} FROM invoices i
              WHERE i.id IN (SELECT unnest($1::text[])
                             UNION ALL
                             SELECT invoices_due($2::timestamptz, $3::bigint, $4::boolean))
                AND NOT EXISTS (SELECT 1 FROM rebuild_held_payments h WHERE h.reference_type = 'invoice' AND h.reference_id = i.id)
           )
           SELECT j.*, p.tx_hash AS payment_tx_hash, p.output_index AS payment_output_index, p.status AS payment_status,
                  p.amount_lovelace AS payment_amount_lovelace, p.assets AS payment_assets,
                  p.block_height AS payment_block_height, p.block_time AS payment_block_time
             FROM judged j LEFT JOIN (${onChainPaymentsSql('ARRAY(SELECT id FROM judged)')}) p ON p.reference_id = j.id
            ORDER BY j.id`,
    values: [touchedIds, tip?.time ?? null, tip?.height.toString() ?? null, afterRollback],
  });
  const judged: InvoiceToJudge[] = [];
  for (const row of rows) {
    let last = judged[judged.length - 1];
    if (last?.invoice.id !== row.id) {
      last = { invoice: invoiceFromRow(row), payments: [] };
      judged.push(last);
    }
    if (row.payment_tx_hash === null) continue;
    last.payments.push(
      invoicePaymentFromRow({
        reference_id: row.id,
        tx_hash: row.payment_tx_hash,
        output_index: row.payment_output_index,
        status: row.payment_status,
        amount_lovelace: row.payment_amount_lovelace,
        assets: row.payment_assets,
        block_height: row.payment_block_height,
        block_time: row.payment_block_time,
      }),
    );
  }
  return judged;
}

/** Saves each changed invoice and writes its events, in one statement (versions in order per invoice). */
export async function saveInvoiceJudgements(db: Queryable, changes: readonly InvoiceChange[], judgedAt: Date): Promise<void> {
  if (changes.length === 0) return;
  // Two JSON parameters (the changes, the events) rather than arrays: see invoiceEventsJson.
  const judged = changes.map(({ invoice }) => ({
    id: invoice.id,
    status: invoice.status,
    additional_status: invoice.additionalStatus,
    paid: amountJson(invoice.paid),
    settles_at_height: invoice.settlesAtHeight?.toString() ?? null,
    ever_settled: invoice.everSettled,
    expired: invoice.expired,
    settled_at: invoice.settledAt,
  }));
  await db.query({
    name: 'save_invoice_judgements',
    text: `WITH saved AS (
             UPDATE invoices i
                SET status = c.status, additional_status = c.additional_status, paid = c.paid,
                    settles_at_height = c.settles_at_height, ever_settled = c.ever_settled, expired = c.expired,
                    settled_at = c.settled_at, updated_at = $2
               FROM jsonb_to_recordset($1::jsonb)
                 AS c(id text, status text, additional_status text, paid jsonb, settles_at_height bigint,
                      ever_settled boolean, expired boolean, settled_at timestamptz)
              WHERE i.id = c.id
           )
           ${invoiceEventsInsert(3)}`,
    values: [JSON.stringify(judged), judgedAt, invoiceEventsJson(changes.flatMap((change) => change.events))],
  });
}
