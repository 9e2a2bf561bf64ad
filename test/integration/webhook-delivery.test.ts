/**
 * Webhook delivery against a real HTTP receiver on loopback and real PostgreSQL: signed, in order per endpoint,
 * retried after failures with backoff (an injected clock moves time; nothing waits on real time), disabled after
 * 3 days, redelivered on request, no redirects followed, rotation with two signatures, and a slow endpoint that
 * does not hold up another.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AesGcmSecretSealer } from '../../functions/adapters/crypto/aes-gcm-sealer.js';
import { HttpWebhookClient } from '../../functions/adapters/http/webhook-client.js';
import { PostgresWebhookDeliveryStore, dueEndpoints } from '../../functions/adapters/postgres/webhook-delivery-store.js';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  getWebhookEndpoint,
  listWebhookEndpoints,
  redeliverEvent,
  rotateWebhookSecret,
  webhookBacklog,
} from '../../functions/adapters/postgres/webhook-endpoints.js';
import { eventTypeMatches } from '../../functions/adapters/postgres/event-type-match.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { deliverDue, type DeliveryDependencies } from '../../functions/domain/webhooks/delivery.js';
import { verifySignature } from '../../functions/domain/webhooks/signature.js';
import { WebhookValidationError } from '../../functions/domain/webhooks/validation-error.js';
import { startLocalWebhooks } from '../../functions/local/local-webhooks.js';
import { deliverWebhookBatch } from '../../functions/handlers/webhook-deliverer-core.js';
import { scheduleWebhookDeliveries } from '../../functions/handlers/webhook-scheduler-core.js';
import type { SQSEvent } from 'aws-lambda';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { RecordingLogger } from '../support/recorders.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const sealer = new AesGcmSecretSealer(async () => 'test-key-material-'.repeat(3));

/** Real time plus what the test adds: the secrets' expiry is compared with it. */
class MovableClock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

let db: TestDatabase;
let receiver: WebhookReceiver;
let clock: MovableClock;
let logger: RecordingLogger;
let metrics: InMemoryMetrics;
let sender: HttpWebhookClient;
let counter = 0;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());
beforeEach(async () => {
  receiver = await startWebhookReceiver();
  clock = new MovableClock();
  logger = new RecordingLogger();
  metrics = new InMemoryMetrics();
  sender = new HttpWebhookClient({ allowPrivateDestinations: true });
});
afterEach(async () => {
  sender.close();
  await receiver.close();
  // endpoints of earlier tests must not take events of later ones
  await db.pool.query(`UPDATE webhook_endpoints SET deleted_at = now() WHERE deleted_at IS NULL`);
});

function deps(overrides: Partial<DeliveryDependencies> = {}): DeliveryDependencies {
  return { store: new PostgresWebhookDeliveryStore(db.pool, sealer), sender, clock, logger, metrics, random: () => 0.5, ...overrides };
}

async function addEvent(type = 'payment.detected'): Promise<{ id: string; seq: bigint }> {
  const resource = `tx${++counter}#0`;
  const { rows } = await db.pool.query(
    `INSERT INTO business_events (id, type, resource_type, resource_id, version, data)
     VALUES (business_event_id($1, $2, 1), $1, 'payment', $2, 1, jsonb_build_object('tx_hash', $2::text))
     RETURNING id, seq`,
    [type, resource],
  );
  return rows[0];
}

async function endpoint(url = receiver.url, events: string[] = ['payment.*']) {
  return createWebhookEndpoint(db.pool, sealer, { url, events, actor: 'key_test', allowPrivateDestinations: true });
}

async function attempts(endpointId: string) {
  return (
    await db.pool.query(
      'SELECT event_id, attempt, status_code, error, response_excerpt, succeeded, redelivery_id FROM webhook_delivery_attempts WHERE endpoint_id = $1 ORDER BY id',
      [endpointId],
    )
  ).rows;
}

describe('webhook delivery', () => {
  it('delivers the events after its creation, signed, in order, only the types it subscribed to', async () => {
    await addEvent(); // before the endpoint: not delivered
    const { endpoint: created, secret } = await endpoint(receiver.url, ['payment.confirmed', 'payment.reversed']);
    expect(secret).toMatch(/^whsec_/);
    const stored = (await db.pool.query('SELECT sealed FROM webhook_endpoint_secrets WHERE endpoint_id = $1', [created.id])).rows;
    expect(stored[0].sealed).not.toContain(secret);

    const wanted = [await addEvent('payment.confirmed'), await addEvent('payment.detected'), await addEvent('payment.reversed')];
    const run = await deliverDue(created.id, deps());
    expect(run).toMatchObject({ delivered: 2, failed: 0 });

    const requests = receiver.requests;
    expect(requests.map((r) => JSON.parse(r.body).id)).toEqual([wanted[0]!.id, wanted[2]!.id]);
    for (const request of requests) {
      expect(request.method).toBe('POST');
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['payment-monitor-delivery-attempt']).toBe('1');
      expect(request.headers['payment-monitor-event-id']).toBe(JSON.parse(request.body).id);
      const signature = request.headers['payment-monitor-signature'] as string;
      expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      expect(verifySignature(signature, request.body, secret, clock.now())).toBe(true);
      expect(verifySignature(signature, `${request.body} `, secret, clock.now())).toBe(false);
      expect(verifySignature(signature, request.body, 'whsec_other', clock.now())).toBe(false);
    }
    expect(JSON.parse(requests[0]!.body)).toMatchObject({ type: 'payment.confirmed', version: 1, created_at: expect.any(String) });
    expect((await attempts(created.id)).map((a) => [a.event_id, a.status_code, a.succeeded])).toEqual([
      [wanted[0]!.id, 200, true],
      [wanted[2]!.id, 200, true],
    ]);
    // nothing left: the cursor passed the last event
    expect(await dueEndpoints(db.pool, clock.now())).toEqual([]);
    expect(await deliverDue(created.id, deps())).toMatchObject({ delivered: 0 });
  });

  it('retries after 500s with backoff, in order, then goes on; every attempt recorded', async () => {
    const { endpoint: created } = await endpoint();
    const first = await addEvent();
    const second = await addEvent();
    receiver.answers.push({ status: 500, body: 'down for maintenance' }, { status: 503, body: 'x'.repeat(5000) });

    expect(await deliverDue(created.id, deps())).toMatchObject({ delivered: 0, failed: 1 });
    const afterFirst = await getWebhookEndpoint(db.pool, created.id);
    expect(afterFirst!.failing_since).not.toBeNull();
    const retryAt = new Date(afterFirst!.next_attempt_at!);
    // with random 0.5, the first retry comes 5 s after (half of the 10 s ceiling)
    expect(retryAt.getTime() - new Date(afterFirst!.failing_since!).getTime()).toBeGreaterThanOrEqual(4_000);

    // not due yet: nothing is sent
    expect(await deliverDue(created.id, deps())).toMatchObject({ delivered: 0, failed: 0 });
    expect(await dueEndpoints(db.pool, clock.now())).toEqual([]);
    expect(receiver.requests).toHaveLength(1);

    clock.advance(retryAt.getTime() - clock.now().getTime() + 1);
    expect(await dueEndpoints(db.pool, clock.now())).toEqual([created.id]);
    expect(await deliverDue(created.id, deps())).toMatchObject({ delivered: 0, failed: 1 });
    const afterSecond = await getWebhookEndpoint(db.pool, created.id);
    clock.advance(new Date(afterSecond!.next_attempt_at!).getTime() - clock.now().getTime() + 1);
    expect(await deliverDue(created.id, deps())).toMatchObject({ delivered: 2, failed: 0 });

    expect(receiver.requests.map((r) => [JSON.parse(r.body).id, r.headers['payment-monitor-delivery-attempt']])).toEqual([
      [first.id, '1'],
      [first.id, '2'],
      [first.id, '3'],
      [second.id, '1'],
    ]);
    const recorded = await attempts(created.id);
    expect(recorded.map((a) => [a.attempt, a.status_code, a.succeeded])).toEqual([
      [1, 500, false],
      [2, 503, false],
      [3, 200, true],
      [1, 200, true],
    ]);
    expect(recorded[0].response_excerpt).toBe('down for maintenance');
    expect(Buffer.byteLength(recorded[1].response_excerpt)).toBe(1024);
    expect(await getWebhookEndpoint(db.pool, created.id)).toMatchObject({ failing_since: null, next_attempt_at: null });
  });

  it('a receiver that does not answer in time is a failed attempt', async () => {
    const impatient = new HttpWebhookClient({ allowPrivateDestinations: true, timeoutMs: 300 });
    try {
      const { endpoint: created } = await endpoint();
      await addEvent();
      receiver.otherwise = 'hold';
      expect(await deliverDue(created.id, deps({ sender: impatient }))).toMatchObject({ failed: 1 });
      expect((await attempts(created.id))[0]).toMatchObject({ status_code: null, error: 'timed out after 300 ms', succeeded: false });
    } finally {
      impatient.close();
    }
  });

  it('follows no redirect: a 3xx is a failure and the Location is never asked', async () => {
    const { endpoint: created } = await endpoint();
    await addEvent();
    receiver.answers.push({ status: 302, headers: { Location: `http://127.0.0.1:${receiver.port}/elsewhere` } });
    expect(await deliverDue(created.id, deps())).toMatchObject({ delivered: 0, failed: 1 });
    expect(receiver.requests.map((r) => r.url)).toEqual(['/hooks']);
    expect((await attempts(created.id))[0]).toMatchObject({ status_code: 302, succeeded: false });
  });

  it('disables an endpoint that has failed for 3 days, with a critical log and an audit row', async () => {
    const { endpoint: created } = await endpoint();
    await addEvent();
    receiver.otherwise = { status: 500 };
    await deliverDue(created.id, deps());
    for (let day = 0; day < 3; day++) {
      clock.advance(24 * 3600_000);
      await deliverDue(created.id, deps());
    }
    const disabled = await getWebhookEndpoint(db.pool, created.id);
    expect(disabled).toMatchObject({ status: 'disabled', disabled_reason: expect.stringContaining('3 days') });
    expect(logger.events('webhook_endpoint_disabled')).toMatchObject([{ level: 'critical', fields: { endpoint_id: created.id } }]);
    const audit = await db.pool.query(`SELECT * FROM audit_log WHERE action = 'webhook_endpoint_disabled' AND entity_id = $1`, [
      created.id,
    ]);
    expect(audit.rows).toHaveLength(1);
    expect(receiver.requests).toHaveLength(4);
    // disabled: nothing more is sent, and the backlog says so
    clock.advance(3600_000);
    expect(await deliverDue(created.id, deps())).toMatchObject({ leased: false });
    expect(await webhookBacklog(db.pool, clock.now())).toMatchObject({ endpoints_disabled: 1 });
    expect(metrics.snapshot().counters).toMatchObject({ webhook_delivery_failures: 4 });
  });

  it('redelivers an event on request, marked as such, outside the ordered stream', async () => {
    const { endpoint: created, secret } = await endpoint();
    const event = await addEvent();
    await deliverDue(created.id, deps());
    const later = await addEvent();
    receiver.answers.push({ status: 200 });

    const { redeliveries } = await redeliverEvent(db.pool, event.id, { endpointId: created.id, actor: 'key_test' });
    expect(redeliveries).toEqual([{ id: expect.any(String), endpoint_id: created.id, event_id: event.id }]);
    await deliverDue(created.id, deps());
    const [, again, next] = receiver.requests;
    expect(JSON.parse(again!.body).id).toBe(event.id);
    expect(again!.headers['payment-monitor-redelivery']).toBe('true');
    expect(verifySignature(again!.headers['payment-monitor-signature'] as string, again!.body, secret, clock.now())).toBe(true);
    expect(JSON.parse(next!.body).id).toBe(later.id);
    expect(next!.headers['payment-monitor-redelivery']).toBeUndefined();
    expect((await attempts(created.id)).map((a) => a.redelivery_id !== null)).toEqual([false, true, false]);
    await expect(redeliverEvent(db.pool, 'evt_nothing', { actor: 'key_test' })).rejects.toThrow('no event evt_nothing');
    // an endpoint not subscribed to the event's type is refused (422), not sent it
    const { endpoint: other } = await endpoint(receiver.url, ['payment.confirmed']);
    await expect(redeliverEvent(db.pool, event.id, { endpointId: other.id, actor: 'key_test' })).rejects.toMatchObject({
      name: 'WebhookValidationError',
      field: 'endpoint_id',
    });
    const requested = await db.pool.query('SELECT id FROM webhook_redeliveries WHERE endpoint_id = $1', [other.id]);
    expect(requested.rows).toEqual([]);
    const audit = await db.pool.query(`SELECT actor FROM audit_log WHERE action = 'webhook_redelivery_requested' AND entity_id = $1`, [
      event.id,
    ]);
    expect(audit.rows).toEqual([{ actor: 'key_test' }]);
  });

  it('redeliveries stop when the call must stop, a few per call, and wait while the endpoint backs off', async () => {
    const { endpoint: created } = await endpoint();
    const events = [await addEvent(), await addEvent(), await addEvent()];
    await deliverDue(created.id, deps());
    expect(receiver.requests).toHaveLength(3);
    for (const event of events) await redeliverEvent(db.pool, event.id, { endpointId: created.id, actor: 'key_test' });
    const later = await addEvent();
    // Out of time after the first redelivery: the call stops there (neither the other two nor the stream).
    const stopAfterOne = () => receiver.requests.length > 3;
    expect(await deliverDue(created.id, deps({ shouldStop: stopAfterOne }))).toMatchObject({ delivered: 1, more: true });
    expect(receiver.requests).toHaveLength(4);
    // At most maxRedeliveries per call (default 10): the stream is served after them, the rest in the next call.
    expect(await deliverDue(created.id, deps({ maxRedeliveries: 1 }))).toMatchObject({ delivered: 2, more: true });
    expect(receiver.requests.slice(4).map((r) => [JSON.parse(r.body).id, r.headers['payment-monitor-redelivery']])).toEqual([
      [events[1]!.id, 'true'],
      [later.id, undefined],
    ]);
    // While the stream backs off after a failure, a due redelivery waits too.
    const failing = await addEvent();
    receiver.answers.push({ status: 200 }, { status: 500 }); // the redelivery, then the stream's event
    expect(await deliverDue(created.id, deps())).toMatchObject({ delivered: 1, failed: 1 });
    expect(receiver.requests.slice(6).map((r) => JSON.parse(r.body).id)).toEqual([events[2]!.id, failing.id]);
    await redeliverEvent(db.pool, events[0]!.id, { endpointId: created.id, actor: 'key_test' });
    expect(await deliverDue(created.id, deps())).toMatchObject({ delivered: 0, failed: 0 });
    expect(receiver.requests).toHaveLength(8);
  });

  it('signs with both secrets during a rotation, then with the new one only', async () => {
    const { endpoint: created, secret: oldSecret } = await endpoint();
    const { secret: newSecret } = await rotateWebhookSecret(db.pool, sealer, created.id, { actor: 'key_test', keepOldForSeconds: 3600 });
    expect(newSecret).not.toBe(oldSecret);
    await addEvent();
    await deliverDue(created.id, deps());
    const during = receiver.requests[0]!;
    const header = during.headers['payment-monitor-signature'] as string;
    expect(header.match(/v1=/g)).toHaveLength(2);
    expect(verifySignature(header, during.body, oldSecret, clock.now())).toBe(true);
    expect(verifySignature(header, during.body, newSecret, clock.now())).toBe(true);

    clock.advance(3601_000);
    await addEvent();
    await deliverDue(created.id, deps());
    const after = receiver.requests[1]!;
    const afterHeader = after.headers['payment-monitor-signature'] as string;
    expect(afterHeader.match(/v1=/g)).toHaveLength(1);
    expect(verifySignature(afterHeader, after.body, newSecret, clock.now())).toBe(true);
    expect(verifySignature(afterHeader, after.body, oldSecret, clock.now())).toBe(false);

    // a rotation during a rotation: never more than two active
    await rotateWebhookSecret(db.pool, sealer, created.id, { actor: 'key_test' });
    await rotateWebhookSecret(db.pool, sealer, created.id, { actor: 'key_test' });
    expect(await new PostgresWebhookDeliveryStore(db.pool, sealer).activeSecrets(created.id, new Date())).toHaveLength(2);
  });

  it('a slow endpoint does not hold up another one', async () => {
    const fast = await startWebhookReceiver('/fast');
    const webhooks = startLocalWebhooks({ pool: db.pool, sealer, logger, metrics, pollMs: 60_000 });
    try {
      const { endpoint: slowEndpoint } = await endpoint();
      const { endpoint: fastEndpoint } = await endpoint(fast.url);
      receiver.otherwise = 'hold';
      const first = await addEvent();
      const second = await addEvent();
      webhooks.wake();
      // The slow receiver holds its first request; the fast one gets both events meanwhile.
      await receiver.received(1);
      const fastRequests = await fast.received(2);
      expect(fastRequests.map((r) => JSON.parse(r.body).id)).toEqual([first.id, second.id]);
      expect(receiver.requests).toHaveLength(1);
      receiver.otherwise = { status: 200 };
      receiver.release();
      await receiver.received(2);
      await webhooks.idle();
      expect(receiver.requests.map((r) => JSON.parse(r.body).id)).toEqual([first.id, second.id]);
      expect(await getWebhookEndpoint(db.pool, slowEndpoint.id)).toMatchObject({ failing_since: null });
      expect(await getWebhookEndpoint(db.pool, fastEndpoint.id)).toMatchObject({ failing_since: null });
    } finally {
      await webhooks.stop();
      await fast.close();
    }
  });
});

describe('event types', () => {
  it.each([
    ['payment.confirmed', ['payment.*'], true],
    ['payment.confirmed', ['payment.detected'], false],
    ['payment.confirmed', ['payment.detected', 'payment.confirmed'], true],
    ['invoice.paid', ['*'], true],
    ['invoice.paid', ['payment.*'], false],
    ['paymentXconfirmed', ['payment.confirmed'], false],
  ] as const)('%s against %j: %s (the SQL rule every statement uses)', async (type, patterns, expected) => {
    const { rows } = await db.pool.query(`SELECT ${eventTypeMatches('$1::text', '$2::text[]')} AS matches`, [type, patterns]);
    expect(rows[0].matches).toBe(expected);
  });
});

describe('webhook endpoints', () => {
  it('validates on creation, lists, deletes (audited), and delivers nothing to a deleted endpoint', async () => {
    await expect(endpoint('ftp://example.com/x')).rejects.toBeInstanceOf(WebhookValidationError);
    await expect(endpoint(receiver.url, ['payment.nope'])).rejects.toMatchObject({ field: 'events[0]' });
    await expect(
      createWebhookEndpoint(db.pool, sealer, { url: 'http://127.0.0.1:9/x', events: ['*'], actor: 'key_test' }),
    ).rejects.toMatchObject({ field: 'url' });

    const a = (await endpoint()).endpoint;
    const b = (await endpoint()).endpoint;
    const page1 = await listWebhookEndpoints(db.pool, { limit: 1 });
    expect(page1.endpoints.map((e) => e.id)).toEqual([a.id]);
    const page2 = await listWebhookEndpoints(db.pool, { limit: 1, after: page1.next_cursor! });
    expect(page2).toMatchObject({ endpoints: [{ id: b.id }], next_cursor: null });

    await deleteWebhookEndpoint(db.pool, a.id, 'key_admin');
    await expect(deleteWebhookEndpoint(db.pool, a.id, 'key_admin')).rejects.toThrow(`no webhook endpoint ${a.id}`);
    await addEvent();
    expect(await deliverDue(a.id, deps())).toMatchObject({ leased: false });
    expect(await dueEndpoints(db.pool, clock.now())).toEqual([b.id]);
    const audit = await db.pool.query(`SELECT action, actor FROM audit_log WHERE entity_id = $1 ORDER BY id`, [a.id]);
    expect(audit.rows).toEqual([
      { action: 'webhook_endpoint_created', actor: 'key_test' },
      { action: 'webhook_endpoint_deleted', actor: 'key_admin' },
    ]);
  });
});

describe('the Lambda cores', () => {
  it('a database failure acknowledges a valid message (logged, counted): the state is in PostgreSQL, the scheduler wakes it again', async () => {
    const { endpoint: created } = await endpoint();
    await addEvent();
    const broken = new pg.Pool({ connectionString: db.url });
    await broken.end();
    const runMetrics = new InMemoryMetrics();
    const response = await deliverWebhookBatch(
      { Records: [{ messageId: 'm1', body: JSON.stringify({ endpointId: created.id }) }] } as unknown as SQSEvent,
      deps({ store: new PostgresWebhookDeliveryStore(broken, sealer), metrics: runMetrics }),
    );
    expect(response).toEqual({ batchItemFailures: [] });
    expect(logger.events('webhook_delivery_run_failed')).toHaveLength(1);
    expect(runMetrics.snapshot().counters).toMatchObject({ webhook_delivery_run_failures: 1 });
    expect(await dueEndpoints(db.pool, clock.now())).toEqual([created.id]);
  });

  it('a failing release does not hide the error that stopped the run', async () => {
    const { endpoint: created } = await endpoint();
    await addEvent();
    const store = new PostgresWebhookDeliveryStore(db.pool, sealer);
    const failing = Object.assign(Object.create(store) as PostgresWebhookDeliveryStore, {
      nextEvents: async () => Promise.reject(new Error('the read failed')),
      release: async () => Promise.reject(new Error('the release failed')),
    });
    await expect(deliverDue(created.id, deps({ store: failing }))).rejects.toThrow('the read failed');
    await db.pool.query('UPDATE webhook_endpoints SET leased_until = NULL WHERE id = $1', [created.id]);
  });

  it('the scheduler enqueues each endpoint with work once and writes the gauges; the deliverer serves each message', async () => {
    const { endpoint: busy } = await endpoint();
    const { endpoint: idle } = await endpoint(receiver.url, ['payment.reversed']);
    const event = await addEvent('payment.detected');
    const enqueued: string[][] = [];
    const schedulerMetrics = new InMemoryMetrics();
    const result = await scheduleWebhookDeliveries({
      db: db.pool,
      enqueue: async (wakes) => void enqueued.push(wakes.map((wake) => wake.endpointId)),
      clock,
      logger,
      metrics: schedulerMetrics,
    });
    // both are behind the newest event; the idle one only passes over it when served
    expect(result).toEqual({ endpoints: 2 });
    expect(enqueued).toEqual([[busy.id, idle.id].sort()]);
    expect(schedulerMetrics.snapshot().gauges).toMatchObject({ webhook_longest_failing_seconds: 0, webhook_endpoints_disabled: 0 });

    const records = enqueued[0]!.map((id, i) => ({ messageId: `m${i}`, body: JSON.stringify({ endpointId: id }) }));
    const response = await deliverWebhookBatch({ Records: [...records, { messageId: 'bad', body: '{}' }] } as unknown as SQSEvent, deps());
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'bad' }] });
    expect(receiver.requests.map((r) => JSON.parse(r.body).id)).toEqual([event.id]);
    expect(await dueEndpoints(db.pool, clock.now())).toEqual([]);
  });
});
