/**
 * Reconciliation of invoices (issue 15): an invoice's stored judgement must be what the rules say of its payments on
 * the chain now. Its `paid` equals the per-asset sum of its pending and confirmed payments, and its status,
 * additional status, settling height and sticky facts equal `judgeInvoice` over those payments, the applied tip and
 * its stored sticky facts. The engine judges every invoice a step may change in that step's transaction, so in one
 * snapshot the two agree; a difference means the row was changed by something else, or the engine missed one.
 */
import type { InvoiceToJudge } from '../invoices/invoice-judging.js';
import { amountJson } from '../invoices/invoice-resource.js';
import { type ChainTip, judgeInvoice, sameAmounts } from '../invoices/invoice-rules.js';

/** What differs, one entry per field, e.g. `status: stored settled, judged processing`. */
export function invoiceDifferences({ invoice, payments }: InvoiceToJudge, tip: ChainTip | null): string[] {
  const judged = judgeInvoice(invoice, payments, tip, { everSettled: invoice.everSettled, expired: invoice.expired });
  const differences: string[] = [];
  const differ = (field: string, stored: unknown, expected: unknown) => {
    if (stored !== expected) differences.push(`${field}: stored ${String(stored)}, judged ${String(expected)}`);
  };
  differ('status', invoice.status, judged.status);
  differ('additional_status', invoice.additionalStatus, judged.additionalStatus);
  if (!sameAmounts(invoice.paid, judged.paid)) {
    differences.push(`paid: stored ${JSON.stringify(amountJson(invoice.paid))}, on chain ${JSON.stringify(amountJson(judged.paid))}`);
  }
  differ('settles_at_height', invoice.settlesAtHeight ?? 'none', judged.settlesAtHeight ?? 'none');
  differ('ever_settled', invoice.everSettled, judged.everSettled);
  differ('expired', invoice.expired, judged.expired);
  return differences;
}
