/**
 * The rules that judge an invoice (issue 15; BTCPay's two levels of status). A judgement is a pure function of the
 * invoice's terms, the payments to its address that are on the chain, the chain's tip and two sticky facts, so the
 * engine can judge an invoice again at any step and get the same answer: after a rollback, a rebuild or downtime.
 * Time is always the chain's (block times), never the moment the monitor happened to see a block.
 */

import { inChainOrder } from '../chain-order.js';

/** `lovelace`, or `<policy id hex>.<asset name hex>`. */
export type Asset = string;
export const LOVELACE: Asset = 'lovelace';

/** Quantities per asset; a missing asset is zero. */
export type AssetAmounts = ReadonlyMap<Asset, bigint>;

export const INVOICE_STATUSES = ['new', 'processing', 'settled', 'expired', 'invalid'] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];
export const ADDITIONAL_STATUSES = ['none', 'paid_partial', 'paid_over', 'paid_late'] as const;
export type AdditionalStatus = (typeof ADDITIONAL_STATUSES)[number];

export interface InvoiceTerms {
  /** What is asked, every quantity > 0; lovelace only when asked. */
  amount: AssetAmounts;
  expiresAt: Date;
  /** The end of the monitoring window: a payment after expiry and up to here makes the invoice paid_late. */
  monitoringUntil: Date;
  /** Blocks the completing payment must be buried under (1: in a block is enough). */
  confirmations: number;
}

/** A payment to the invoice's address that is on the chain (pending or confirmed, never rolled back). */
export interface InvoicePayment {
  txId: string;
  index: number;
  blockHeight: bigint;
  blockTime: Date;
  /** Its lovelace and every token it carries. */
  amounts: AssetAmounts;
}

export interface ChainTip {
  height: bigint;
  time: Date;
}

/** Facts that never unset once true. */
export interface StickyFacts {
  everSettled: boolean;
  expired: boolean;
}

export type PaymentTiming = 'on_time' | 'late' | 'after_window';

export interface InvoiceJudgement extends StickyFacts {
  status: InvoiceStatus;
  additionalStatus: AdditionalStatus;
  /** Every on-chain payment summed per asset, lovelace always present. */
  paid: AssetAmounts;
  /** Assets paid that the invoice did not ask for (never lovelace). */
  unexpectedAssets: readonly Asset[];
  /** The tip height at which the completing payment reaches the invoice's depth; null when not paid in full on time. */
  settlesAtHeight: bigint | null;
}

/** By block time, so downtime changes nothing (BTCPay #1123). */
export function paymentTiming(terms: Pick<InvoiceTerms, 'expiresAt' | 'monitoringUntil'>, blockTime: Date): PaymentTiming {
  if (blockTime.getTime() <= terms.expiresAt.getTime()) return 'on_time';
  if (blockTime.getTime() <= terms.monitoringUntil.getTime()) return 'late';
  return 'after_window';
}

export function judgeInvoice(
  terms: InvoiceTerms,
  payments: readonly InvoicePayment[],
  tip: ChainTip | null,
  facts: StickyFacts,
): InvoiceJudgement {
  const inOrder = [...payments].sort(inChainOrder);
  const onTime = inOrder.filter((payment) => paymentTiming(terms, payment.blockTime) === 'on_time');
  const completing = completingPayment(terms, onTime);
  const paid = sumOf(inOrder);
  const unexpectedAssets = unexpectedAssetsOf(terms.amount, paid);

  let status: InvoiceStatus;
  let settlesAtHeight: bigint | null = null;
  if (completing) {
    settlesAtHeight = completing.blockHeight + BigInt(terms.confirmations) - 1n;
    status = tip !== null && tip.height >= settlesAtHeight ? 'settled' : 'processing';
  } else if (facts.everSettled) {
    status = 'invalid';
  } else if (facts.expired || (tip !== null && tip.time.getTime() > terms.expiresAt.getTime())) {
    status = 'expired';
  } else {
    status = 'new';
  }

  return {
    status,
    additionalStatus: additionalStatus(status, terms, inOrder, paid, unexpectedAssets),
    paid,
    unexpectedAssets,
    settlesAtHeight,
    everSettled: facts.everSettled || status === 'settled',
    expired: facts.expired || status === 'expired',
  };
}

function additionalStatus(
  status: InvoiceStatus,
  terms: InvoiceTerms,
  payments: readonly InvoicePayment[],
  paid: AssetAmounts,
  unexpectedAssets: readonly Asset[],
): AdditionalStatus {
  switch (status) {
    case 'processing':
    case 'settled':
      return unexpectedAssets.length > 0 || isOverpaid(terms.amount, paid) ? 'paid_over' : 'none';
    case 'expired': {
      const inWindow = payments.filter((payment) => paymentTiming(terms, payment.blockTime) !== 'after_window');
      if (isPaidInFull(terms.amount, sumOf(inWindow))) return 'paid_late';
      return payments.length > 0 ? 'paid_partial' : 'none';
    }
    case 'new':
    case 'invalid':
      return payments.length > 0 ? 'paid_partial' : 'none';
  }
}

/** The on-time payment at which the invoice is paid in full, in chain order; null if it never is. */
function completingPayment(terms: InvoiceTerms, onTimeInOrder: readonly InvoicePayment[]): InvoicePayment | null {
  const running = new Map<Asset, bigint>();
  for (const payment of onTimeInOrder) {
    addInto(running, payment.amounts);
    if (isPaidInFull(terms.amount, running)) return payment;
  }
  return null;
}

/** Assets paid that were not asked for (never lovelace), sorted. */
export function unexpectedAssetsOf(asked: AssetAmounts, paid: AssetAmounts): Asset[] {
  return [...paid.keys()].filter((asset) => asset !== LOVELACE && !asked.has(asset)).sort();
}

export function isPaidInFull(asked: AssetAmounts, paid: AssetAmounts): boolean {
  for (const [asset, quantity] of asked) if ((paid.get(asset) ?? 0n) < quantity) return false;
  return true;
}

/**
 * More than asked of an asked asset. ADA paid to an invoice that asks only for tokens is the ledger's minimum-ADA
 * riding along with them, never an overpayment.
 */
function isOverpaid(asked: AssetAmounts, paid: AssetAmounts): boolean {
  for (const [asset, quantity] of asked) if ((paid.get(asset) ?? 0n) > quantity) return true;
  return false;
}

function sumOf(payments: readonly InvoicePayment[]): Map<Asset, bigint> {
  const total = new Map<Asset, bigint>([[LOVELACE, 0n]]);
  for (const payment of payments) addInto(total, payment.amounts);
  return total;
}

function addInto(total: Map<Asset, bigint>, amounts: AssetAmounts): void {
  for (const [asset, quantity] of amounts) total.set(asset, (total.get(asset) ?? 0n) + quantity);
}

// ---- what consumers are told ---------------------------------------------------------------------------------------

export const INVOICE_EVENT_TYPES = [
  'invoice.created',
  'invoice.new',
  'invoice.processing',
  'invoice.settled',
  'invoice.expired',
  'invoice.invalid',
  'invoice.paid_partial',
  'invoice.paid_over',
  'invoice.paid_late',
  'invoice.updated',
] as const;
export type InvoiceEventType = (typeof INVOICE_EVENT_TYPES)[number];

export type JudgedState = Pick<InvoiceJudgement, 'status' | 'additionalStatus' | 'paid'>;

/** One event to write: its type and the status its data shows (an invoice passes through processing on its way to settled). */
export interface InvoiceTransition {
  type: InvoiceEventType;
  status: InvoiceStatus;
}

/**
 * The events a judgement that moves an invoice from `before` to `after` writes, in order: the status it moved to
 * (processing first when it went straight to settled), then the additional status it gained; `invoice.updated` when
 * neither of those tells the change (only the amount paid changed, or the additional status went back to none).
 * Nothing when nothing changed.
 */
export function invoiceTransitions(before: JudgedState, after: JudgedState): InvoiceTransition[] {
  const transitions: InvoiceTransition[] = [];
  const statusChanged = before.status !== after.status;
  const additionalChanged = before.additionalStatus !== after.additionalStatus;
  if (statusChanged) {
    if (after.status === 'settled' && before.status !== 'processing') {
      transitions.push({ type: 'invoice.processing', status: 'processing' });
    }
    transitions.push({ type: `invoice.${after.status}`, status: after.status });
  }
  if (additionalChanged && after.additionalStatus !== 'none') {
    transitions.push({ type: `invoice.${after.additionalStatus}`, status: after.status });
  }
  // Anything else that changed is still told: an additional status lost (a rollback took the partial payment), or
  // only the amount paid.
  if (transitions.length === 0 && (additionalChanged || !sameAmounts(before.paid, after.paid))) {
    transitions.push({ type: 'invoice.updated', status: after.status });
  }
  return transitions;
}

export function sameAmounts(a: AssetAmounts, b: AssetAmounts): boolean {
  const nonZero = (amounts: AssetAmounts) => [...amounts].filter(([, quantity]) => quantity !== 0n);
  const left = nonZero(a);
  const right = new Map(nonZero(b));
  return left.length === right.size && left.every(([asset, quantity]) => right.get(asset) === quantity);
}
