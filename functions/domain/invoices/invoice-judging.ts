/**
 * Judging invoices in every engine step (issue 15): after a roll-forward batch or a rollback, in the same database
 * transaction, the invoices the step may have changed are judged again by the rules (invoice-rules.ts) and each
 * change is saved with its events (the transactional outbox). Which invoices: those whose payments the step recorded,
 * revived, rolled back or reversed (a rebuild's settlement included), and those the chain's tip may have moved
 * (invoice-rules.md, "When an invoice is judged again"); the store finds the latter through its indexes.
 *
 * A rebuild holds the payments above its point aside until the re-derived chain settles them (rebuild.ts). An
 * invoice with a held payment keeps its last judgement until then: judged meanwhile, it would see its payment
 * missing (new, invalid) or not yet buried (processing) only because the chain is being derived again. The
 * settlement touches the invoice when it decides (refound, rolled back, reversed), and it is judged then.
 */
import type { InvoicePaymentView, InvoiceRecord, InvoiceResource } from './invoice-resource.js';
import { invoiceResource } from './invoice-resource.js';
import {
  type ChainTip,
  type InvoiceEventType,
  type InvoiceTransition,
  invoiceTransitions,
  judgeInvoice,
  type JudgedState,
  sameAmounts,
} from './invoice-rules.js';

/** An invoice as the store hands it over for judging: its record and its payments on the chain. */
export interface InvoiceToJudge {
  invoice: InvoiceRecord;
  payments: InvoicePaymentView[];
}

/** One event of a judgement, as the outbox stores it (resource_type 'invoice'). */
export interface InvoiceEvent {
  invoiceId: string;
  type: InvoiceEventType;
  data: InvoiceResource;
}

/** A judgement that changed an invoice: the record to save and the events it writes, in order. */
export interface InvoiceChange {
  /** The invoice after the judgement (status, additional status, paid, settling height, sticky facts, settled_at). */
  invoice: InvoiceRecord;
  before: JudgedState;
  transitions: InvoiceTransition[];
  events: InvoiceEvent[];
}

/** What an engine transaction offers for judging invoices (set-based: one statement each). */
export interface InvoiceJudgingTransaction {
  /**
   * Locked for this transaction, with their on-chain payments: the invoices of `touchedIds`, `new` ones whose
   * deadline the tip's time has passed, `processing` ones whose settling height the tip has reached, and after a
   * rollback `settled` ones whose settling height is above the tip. An invoice with a payment a running rebuild
   * still holds is left out (see above). At origin (tip null) only the touched ones and, after a rollback, every
   * settled one.
   */
  invoicesToJudge(touchedIds: readonly string[], tip: ChainTip | null, afterRollback: boolean): Promise<InvoiceToJudge[]>;
  /** Saves each changed invoice and writes its events (versions continue each invoice's count, in order). */
  saveInvoiceJudgements(changes: readonly InvoiceChange[], judgedAt: Date): Promise<void>;
}

/** The invoices among payments' references: `referenceId` of each payment whose `referenceType` is 'invoice'. */
export function touchedInvoiceIds(...groups: readonly (readonly { referenceType: string; referenceId: string }[])[]): string[] {
  const ids = new Set<string>();
  for (const payments of groups) for (const payment of payments) if (payment.referenceType === 'invoice') ids.add(payment.referenceId);
  return [...ids].sort();
}

/** Judges what the step may have changed and saves what did change; returns the changes (empty: nothing written). */
export async function judgeInvoices(
  tx: InvoiceJudgingTransaction,
  {
    touchedIds,
    tip,
    afterRollback,
    judgedAt,
  }: { touchedIds: readonly string[]; tip: ChainTip | null; afterRollback: boolean; judgedAt: Date },
): Promise<InvoiceChange[]> {
  const candidates = await tx.invoicesToJudge(touchedIds, tip, afterRollback);
  const changes = candidates.map((candidate) => judgedChange(candidate, tip, judgedAt)).filter((change) => change !== null);
  if (changes.length > 0) await tx.saveInvoiceJudgements(changes, judgedAt);
  return changes;
}

/** One invoice judged again: null when the judgement is what is stored. */
export function judgedChange({ invoice, payments }: InvoiceToJudge, tip: ChainTip | null, judgedAt: Date): InvoiceChange | null {
  const judgement = judgeInvoice(invoice, payments, tip, { everSettled: invoice.everSettled, expired: invoice.expired });
  const after: InvoiceRecord = {
    ...invoice,
    status: judgement.status,
    additionalStatus: judgement.additionalStatus,
    paid: judgement.paid,
    settlesAtHeight: judgement.settlesAtHeight,
    everSettled: judgement.everSettled,
    expired: judgement.expired,
    // When the invoice last became settled; none while it is not.
    settledAt: judgement.status !== 'settled' ? null : invoice.status === 'settled' ? invoice.settledAt : judgedAt,
  };
  const transitions = invoiceTransitions(invoice, judgement);
  // Saved whenever anything stored differs, events or not: an additional status that goes back to none (a rollback
  // took the partial payment) writes no event, but the row must say so.
  const changed =
    after.status !== invoice.status ||
    after.additionalStatus !== invoice.additionalStatus ||
    !sameAmounts(after.paid, invoice.paid) ||
    after.settlesAtHeight !== invoice.settlesAtHeight ||
    after.everSettled !== invoice.everSettled ||
    after.expired !== invoice.expired ||
    after.settledAt?.getTime() !== invoice.settledAt?.getTime();
  if (!changed) return null;
  const events = transitions.map(
    (transition): InvoiceEvent => ({
      invoiceId: invoice.id,
      type: transition.type,
      data: invoiceResource(
        transition.status === after.status ? after : { ...after, status: transition.status, settledAt: null },
        payments,
      ),
    }),
  );
  return {
    invoice: after,
    before: { status: invoice.status, additionalStatus: invoice.additionalStatus, paid: invoice.paid },
    transitions,
    events,
  };
}
