/**
 * Judging invoices inside the engine's transaction (the rules: domain/invoices/invoice-judging.ts), set-based: one
 * statement reads the invoices to judge with their on-chain payments, and a step that changed some writes them and
 * their events with another.
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
import { invoiceEventColumns, invoiceEventsInsert } from './invoice-events.js';
import {
  INVOICE_COLUMNS,
  invoiceFromRow,
  type InvoicePaymentRow,
  invoicePaymentsFromJson,
  type InvoiceRow,
  onChainPaymentsJsonSql,
} from './invoice-rows.js';

/**
 * The invoices a step judges again, with their on-chain payments, in one statement. An invoice with a payment a
 * running rebuild holds aside keeps its judgement until the settlement decides that payment (it touches the invoice
 * then). No row lock: the engine is the only writer of judgements and runs one step at a time (sync_state's lock).
 */
export async function invoicesToJudge(
  db: Queryable,
  touchedIds: readonly string[],
  tip: ChainTip | null,
  afterRollback: boolean,
): Promise<InvoiceToJudge[]> {
  const { rows } = await db.query<InvoiceRow & { payments: InvoicePaymentRow[] | null }>({
    name: 'invoices_to_judge',
    text: `WITH judged AS MATERIALIZED (
             SELECT ${INVOICE_COLUMNS} FROM invoices i
              WHERE i.id IN (SELECT unnest($1::text[])
                             UNION ALL
                             SELECT invoices_due($2::timestamptz, $3::bigint, $4::boolean))
                AND NOT EXISTS (SELECT 1 FROM rebuild_held_payments h WHERE h.reference_type = 'invoice' AND h.reference_id = i.id)
           ), payments AS (${onChainPaymentsJsonSql('ARRAY(SELECT id FROM judged)')})
           SELECT j.*, p.payments FROM judged j LEFT JOIN payments p ON p.reference_id = j.id ORDER BY j.id`,
    values: [touchedIds, tip?.time ?? null, tip?.height.toString() ?? null, afterRollback],
  });
  return rows.map((row) => ({ invoice: invoiceFromRow(row), payments: invoicePaymentsFromJson(row.payments) }));
}

/** Saves each changed invoice and writes its events, in one statement (versions in order per invoice). */
export async function saveInvoiceJudgements(db: Queryable, changes: readonly InvoiceChange[], judgedAt: Date): Promise<void> {
  if (changes.length === 0) return;
  const invoices = changes.map((change) => change.invoice);
  await db.query({
    name: 'save_invoice_judgements',
    text: `WITH saved AS (
             UPDATE invoices i
                SET status = c.status, additional_status = c.additional_status, paid = c.paid,
                    settles_at_height = c.settles_at_height, ever_settled = c.ever_settled, expired = c.expired,
                    settled_at = c.settled_at, updated_at = $9
               FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::bigint[], $6::boolean[], $7::boolean[],
                           $8::timestamptz[])
                 AS c(id, status, additional_status, paid, settles_at_height, ever_settled, expired, settled_at)
              WHERE i.id = c.id
           )
           ${invoiceEventsInsert(10)}`,
    values: [
      invoices.map((invoice) => invoice.id),
      invoices.map((invoice) => invoice.status),
      invoices.map((invoice) => invoice.additionalStatus),
      invoices.map((invoice) => JSON.stringify(amountJson(invoice.paid))),
      invoices.map((invoice) => invoice.settlesAtHeight?.toString() ?? null),
      invoices.map((invoice) => invoice.everSettled),
      invoices.map((invoice) => invoice.expired),
      invoices.map((invoice) => invoice.settledAt),
      judgedAt,
      ...invoiceEventColumns(changes.flatMap((change) => change.events)),
    ],
  });
}
