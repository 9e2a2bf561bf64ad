/**
 * Business events: what the monitor tells a business (issue 14). The engine writes them in the same transaction as
 * the change they describe (the transactional outbox, `business_events`); the publisher puts them on EventBridge
 * in order; the pull API and the webhook deliverer read the log itself.
 */
import type { ApplyOutcome } from './payment-engine.js';
import type { PaymentResource } from './payment-resource.js';
import { INVOICE_EVENT_TYPES } from './invoices/invoice-rules.js';
import type { InvoiceResource } from './invoices/invoice-resource.js';
import { PAYOUT_EVENT_TYPES } from './payouts/payout-rules.js';
import type { PayoutResource } from './payouts/payout-resource.js';

export const PAYMENT_EVENT_TYPES = [
  'payment.detected',
  'payment.confirmed',
  'payment.spent',
  'payment.rolled_back',
  'payment.reversed',
] as const;
export type PaymentEventType = (typeof PAYMENT_EVENT_TYPES)[number];

/** Every event type there is. */
export const BUSINESS_EVENT_TYPES: readonly string[] = [...PAYMENT_EVENT_TYPES, ...INVOICE_EVENT_TYPES, ...PAYOUT_EVENT_TYPES];

/** The EventBridge `source` of every event (the bus is the stage's own); rules match on it and on `detail-type`. */
export const EVENT_SOURCE = 'payment-monitor';

/** What a consumer receives, in every channel alike (EventBridge detail, webhook body, GET /v1/events). */
export interface EventEnvelope {
  /** Deterministic ('evt_' + 32 hex of sha256(type, resource id, version)): the consumer's idempotency key. */
  id: string;
  type: string;
  created_at: string;
  /** 1, 2, … per resource (a payment output, an invoice, a payout), in the order its events were written. */
  version: number;
  data: PaymentResource | InvoiceResource | PayoutResource | Record<string, unknown>;
}

/** An event as the outbox holds it: the envelope and its place in the log. */
export interface StoredEvent {
  seq: bigint;
  envelope: EventEnvelope;
}

/**
 * Puts events on a bus, in the order given. The answer is how many of them, from the first, were accepted: the
 * publisher stops at the first refused one, so that nothing is ever published after an event that was not.
 */
export interface EventPublisher {
  publish(events: readonly StoredEvent[]): Promise<PublishOutcome>;
}

export interface PublishOutcome {
  /** The leading events accepted (0..events.length). */
  accepted: number;
  /** Why the next one was refused, when one was. */
  failure?: { eventId: string; code: string; message: string };
}

/** The outbox as the publisher sees it. */
export interface Outbox {
  /**
   * Runs `work` as the only publisher (null when another holds the turn): events are read and marked inside it.
   */
  asOnlyPublisher<T>(work: (turn: PublisherTurn) => Promise<T>): Promise<T | null>;
}

export interface PublisherTurn {
  /** The oldest unpublished events, in seq order. */
  unpublished(limit: number): Promise<StoredEvent[]>;
  markPublished(seqs: readonly bigint[], at: Date): Promise<void>;
  /** How many events wait, and the age of the oldest in seconds (0 when none waits). */
  backlog(now: Date): Promise<{ unpublished: number; oldestAgeSeconds: number }>;
}

/** Splits into chunks of at most `size`, in order (EventBridge takes 10 entries per PutEvents). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

/** Whether an engine step may have written events (the publisher is woken only then; a false positive costs a run). */
export function mayHaveWrittenEvents(outcome: ApplyOutcome): boolean {
  if (outcome.kind === 'applied') {
    const rebuild = outcome.rebuild;
    const settled = rebuild ? rebuild.settlement.reversed.length + rebuild.settlement.rolledBack.length : 0;
    return outcome.detected.length > 0 || outcome.confirmed.length > 0 || outcome.spent > 0 || settled > 0 || outcome.invoices.length > 0;
  }
  if (outcome.kind === 'rolled_back') {
    return outcome.outcome.rolledBack.length + outcome.outcome.reversed.length > 0 || outcome.invoices.length > 0;
  }
  return false;
}
