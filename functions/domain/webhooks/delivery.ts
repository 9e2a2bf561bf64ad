/**
 * Delivering an endpoint's events (the rules; the store and the HTTP client are ports). One endpoint at a time is
 * served by one deliverer (a lease in the store): its events in seq order, one at a time, each until the endpoint
 * answers 2xx; a failure stops the stream until the retry is due (retry-policy.ts), and after 3 days of failures
 * the endpoint is disabled. Manual redeliveries go outside the ordered stream. Every attempt is recorded.
 * Endpoints are independent: a slow or dead one only holds its own lease.
 */
import type { EventEnvelope, StoredEvent } from '../business-events.js';
import { describeError, WebhookLogEvent, WebhookMetric } from '../observability.js';
import type { Clock, Logger, Metrics } from '../ports.js';
import { afterFailure, WEBHOOK_GIVE_UP_AFTER_MS, retryDelayMs } from './retry-policy.js';
import { ATTEMPT_HEADER, EVENT_ID_HEADER, REDELIVERY_HEADER, SIGNATURE_HEADER, signatureHeader } from './signature.js';

export interface LeasedEndpoint {
  id: string;
  url: string;
  eventTypes: string[];
  cursorSeq: bigint;
  headAttempts: number;
  failingSince: Date | null;
  nextAttemptAt: Date | null;
}

/**
 * A wake-up for one endpoint's deliverer. `wake` names the endpoint's state (newest event, cursor, failures,
 * pending redeliveries): a queue that deduplicates wakes may drop one with the same state, never one with news.
 */
export interface EndpointWake {
  endpointId: string;
  wake: string;
}

export interface Redelivery {
  id: bigint;
  event: StoredEvent;
  attempts: number;
  requestedAt: Date;
}

export interface DeliveryAttempt {
  endpointId: string;
  event: StoredEvent;
  attempt: number;
  redeliveryId: bigint | null;
  startedAt: Date;
  result: SendResult;
}

export interface WebhookDeliveryStore {
  /** Takes the endpoint's lease until `until`; null when it is deleted, disabled, or leased by someone else. */
  lease(endpointId: string, now: Date, until: Date): Promise<LeasedEndpoint | null>;
  release(endpointId: string): Promise<void>;
  /**
   * Up to `limit` events after the cursor that match the endpoint's types, in seq order, and the newest seq of the
   * log, read in one snapshot: when fewer than `limit` match, nothing between the last of them and `newest` is for
   * this endpoint, so the cursor may pass over it.
   */
  nextEvents(endpoint: LeasedEndpoint, limit: number): Promise<{ events: StoredEvent[]; newest: bigint | null }>;
  /** Moves the cursor over events the endpoint does not subscribe to. */
  passOver(endpointId: string, seq: bigint): Promise<void>;
  recordAttempt(attempt: DeliveryAttempt): Promise<void>;
  /**
   * The head event was delivered: its attempt is recorded, the cursor moves to it, the failure state clears and the
   * lease is extended (one statement).
   */
  delivered(attempt: DeliveryAttempt, at: Date, leaseUntil: Date): Promise<void>;
  failed(endpointId: string, state: { headAttempts: number; failingSince: Date; nextAttemptAt: Date }): Promise<void>;
  disable(endpointId: string, reason: string, at: Date): Promise<void>;
  dueRedeliveries(endpointId: string, now: Date, limit: number): Promise<Redelivery[]>;
  redeliveryFinished(
    id: bigint,
    outcome: { status: 'delivered' | 'failed'; at: Date } | { status: 'pending'; attempts: number; nextAttemptAt: Date },
  ): Promise<void>;
  /** The endpoint's active signing secrets, in clear (unsealed), newest first. */
  activeSecrets(endpointId: string, now: Date): Promise<string[]>;
}

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface SendResult {
  /** The HTTP status, when an answer came. */
  statusCode: number | null;
  /** Why no answer (timeout, connection refused, destination refused). */
  error: string | null;
  /** The destination was refused before connecting (SSRF rules). */
  refused?: boolean;
  /** At most 1 KiB of the answer's body. */
  excerpt: string | null;
  durationMs: number;
}

export interface WebhookSender {
  send(request: WebhookRequest): Promise<SendResult>;
}

export interface DeliveryDependencies {
  store: WebhookDeliveryStore;
  sender: WebhookSender;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  random?: () => number;
  /** Stop taking new events after this many in one call (the next call carries on). Default 1,000. */
  maxEvents?: number;
  /** The lease's length, renewed at each delivered event. Default 60 s (an attempt takes at most 10 s). */
  leaseMs?: number;
  /** Asked before each event: true stops the call (a Lambda running out of time); the next call carries on. */
  shouldStop?: () => boolean;
  /** Manual redeliveries sent at most in one call, before the stream (the next call carries on). Default 10. */
  maxRedeliveries?: number;
}

export interface DeliveryRun {
  delivered: number;
  failed: number;
  /** False when another deliverer holds the endpoint, or it is disabled or deleted. */
  leased: boolean;
  /** True when the call stopped (maxEvents, maxRedeliveries, shouldStop) with more to do. */
  more: boolean;
}

/** Events read at once from the log for one endpoint (delivered one at a time). */
const EVENTS_PER_READ = 50;

export function isSuccess(result: SendResult): boolean {
  return result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
}

/** Delivers what is due for one endpoint: its due redeliveries, then its stream from the cursor. */
export async function deliverDue(endpointId: string, deps: DeliveryDependencies): Promise<DeliveryRun> {
  const { store, clock } = deps;
  const leaseMs = deps.leaseMs ?? 60_000;
  const maxEvents = deps.maxEvents ?? 1_000;
  const leaseUntil = () => new Date(clock.now().getTime() + leaseMs);
  const endpoint = await store.lease(endpointId, clock.now(), leaseUntil());
  const run: DeliveryRun = { delivered: 0, failed: 0, leased: endpoint !== null, more: false };
  if (!endpoint) return run;
  try {
    await serve(endpoint, deps, run, leaseUntil, maxEvents);
  } catch (error) {
    // The error that stopped the run is the one to report; a release that fails too leaves a lease that expires.
    await store.release(endpoint.id).catch(() => undefined);
    throw error;
  }
  await store.release(endpoint.id);
  return run;
}

async function serve(
  endpoint: LeasedEndpoint,
  deps: DeliveryDependencies,
  run: DeliveryRun,
  leaseUntil: () => Date,
  maxEvents: number,
): Promise<void> {
  const { store, clock } = deps;
  // The secrets are read once per call: a rotation applies from the next call (the old secret stays valid for a
  // day, so a receiver that already switched still finds its v1 meanwhile).
  const secrets = await store.activeSecrets(endpoint.id, clock.now());
  if (!(await redeliver(endpoint, secrets, deps, run))) return;
  let taken = 0;
  stream: for (;;) {
    if (endpoint.nextAttemptAt && endpoint.nextAttemptAt > clock.now()) break;
    const batch = Math.min(EVENTS_PER_READ, maxEvents - taken);
    if (batch <= 0 || deps.shouldStop?.()) {
      run.more = true;
      break;
    }
    const { events, newest } = await store.nextEvents(endpoint, batch);
    for (const event of events) {
      if (taken > 0 && deps.shouldStop?.()) {
        run.more = true;
        break stream;
      }
      taken++;
      const attempt = endpoint.headAttempts + 1;
      const startedAt = clock.now();
      const result = await send(endpoint, secrets, event, attempt, false, deps);
      const recorded: DeliveryAttempt = { endpointId: endpoint.id, event, attempt, redeliveryId: null, startedAt, result };
      if (isSuccess(result)) {
        run.delivered++;
        await store.delivered(recorded, clock.now(), leaseUntil());
        Object.assign(endpoint, { cursorSeq: event.seq, headAttempts: 0, failingSince: null, nextAttemptAt: null });
        continue;
      }
      await store.recordAttempt(recorded);
      run.failed++;
      const now = clock.now();
      const failingSince = endpoint.failingSince ?? startedAt;
      const verdict = afterFailure(failingSince, attempt, now, deps.random ?? Math.random);
      if (verdict.kind === 'disable') {
        await store.disable(endpoint.id, verdict.reason, now);
        deps.logger.critical(WebhookLogEvent.endpointDisabled, {
          endpoint_id: endpoint.id,
          reason: verdict.reason,
          event_id: event.envelope.id,
          attempts: attempt,
          failing_since: failingSince.toISOString(),
        });
      } else {
        await store.failed(endpoint.id, { headAttempts: attempt, failingSince, nextAttemptAt: verdict.at });
      }
      break stream;
    }
    if (events.length < batch) {
      // Everything matching was delivered: pass over what follows that is for other endpoints.
      if (newest !== null && newest > endpoint.cursorSeq) await store.passOver(endpoint.id, newest);
      break;
    }
  }
}

/**
 * The due redeliveries, at most maxRedeliveries, none while the endpoint backs off after a failure (they would most
 * likely fail too; they wait for its retry). False when the call must stop (shouldStop) before the stream.
 */
async function redeliver(
  endpoint: LeasedEndpoint,
  secrets: readonly string[],
  deps: DeliveryDependencies,
  run: DeliveryRun,
): Promise<boolean> {
  const { store, clock } = deps;
  if (endpoint.nextAttemptAt && endpoint.nextAttemptAt > clock.now()) return true;
  const max = deps.maxRedeliveries ?? 10;
  const due = await store.dueRedeliveries(endpoint.id, clock.now(), max + 1);
  for (const [index, redelivery] of due.entries()) {
    if (index >= max) {
      run.more = true;
      break;
    }
    if (index > 0 && deps.shouldStop?.()) {
      run.more = true;
      return false;
    }
    const attempt = redelivery.attempts + 1;
    const startedAt = clock.now();
    const result = await send(endpoint, secrets, redelivery.event, attempt, true, deps);
    await store.recordAttempt({
      endpointId: endpoint.id,
      event: redelivery.event,
      attempt,
      redeliveryId: redelivery.id,
      startedAt,
      result,
    });
    const now = clock.now();
    if (isSuccess(result)) {
      run.delivered++;
      await store.redeliveryFinished(redelivery.id, { status: 'delivered', at: now });
    } else if (now.getTime() - redelivery.requestedAt.getTime() >= WEBHOOK_GIVE_UP_AFTER_MS) {
      run.failed++;
      await store.redeliveryFinished(redelivery.id, { status: 'failed', at: now });
    } else {
      run.failed++;
      const nextAttemptAt = new Date(now.getTime() + retryDelayMs(attempt, deps.random ?? Math.random));
      await store.redeliveryFinished(redelivery.id, { status: 'pending', attempts: attempt, nextAttemptAt });
    }
  }
  if (due.length > 0 && deps.shouldStop?.()) {
    run.more = true;
    return false;
  }
  return true;
}

async function send(
  endpoint: LeasedEndpoint,
  secrets: readonly string[],
  event: StoredEvent,
  attempt: number,
  redelivery: boolean,
  deps: DeliveryDependencies,
): Promise<SendResult> {
  const { clock, logger, metrics } = deps;
  const body = envelopeBody(event.envelope);
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': 'payment-monitor-webhooks/1',
    [SIGNATURE_HEADER]: signatureHeader(secrets, Math.floor(clock.now().getTime() / 1000), body),
    [EVENT_ID_HEADER]: event.envelope.id,
    [ATTEMPT_HEADER]: String(attempt),
    ...(redelivery ? { [REDELIVERY_HEADER]: 'true' } : {}),
  };
  let result: SendResult;
  try {
    result = await deps.sender.send({ url: endpoint.url, headers, body });
  } catch (error) {
    result = { statusCode: null, error: describeError(error), excerpt: null, durationMs: 0 };
  }
  const fields = {
    endpoint_id: endpoint.id,
    event_id: event.envelope.id,
    event_type: event.envelope.type,
    attempt,
    redelivery,
    status_code: result.statusCode,
    duration_ms: result.durationMs,
  };
  metrics.observe(WebhookMetric.deliverySeconds, result.durationMs / 1000);
  if (isSuccess(result)) {
    metrics.count(WebhookMetric.deliveries);
    logger.info(WebhookLogEvent.delivered, fields);
  } else {
    metrics.count(WebhookMetric.deliveryFailures);
    if (result.refused) logger.error(WebhookLogEvent.destinationRefused, { ...fields, error: result.error });
    else logger.warn(WebhookLogEvent.deliveryFailed, { ...fields, error: result.error });
  }
  return result;
}

/** The body of a delivery: the envelope, exactly as the API serves it. */
export function envelopeBody(envelope: EventEnvelope): string {
  return JSON.stringify(envelope);
}
