/**
 * The webhook scheduler Lambda as deployed (configured by its environment) sending to a FIFO queue (local-aws-sqs
 * standing in for SQS), one message per endpoint with work, grouped by endpoint; the deliverer's core consuming
 * what the event source would hand it, delivering to a real receiver.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AesGcmSecretSealer } from '../../functions/adapters/crypto/aes-gcm-sealer.js';
import { HttpWebhookClient } from '../../functions/adapters/http/webhook-client.js';
import { PostgresWebhookDeliveryStore } from '../../functions/adapters/postgres/webhook-delivery-store.js';
import { createWebhookEndpoint } from '../../functions/adapters/postgres/webhook-endpoints.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { webhookQueue } from '../../functions/adapters/sqs/webhook-queue.js';
import { deliverWebhookBatch } from '../../functions/handlers/webhook-deliverer-core.js';
import { scheduleWebhookDeliveries } from '../../functions/handlers/webhook-scheduler-core.js';
import type { SQSEvent } from 'aws-lambda';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { drainQueue, lambdaContext, startLocalSqs, toSqsEvent, type LocalSqs } from '../support/local-aws.js';
import { RecordingLogger } from '../support/recorders.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const sealer = new AesGcmSecretSealer(async () => 'queue-test-key-material-0123456789');
let db: TestDatabase;
let sqs: LocalSqs;
let queueUrl: string;
let receiver: WebhookReceiver;

beforeAll(async () => {
  db = await createTestDatabase();
  sqs = await startLocalSqs();
  queueUrl = await sqs.createFifoQueue('webhooks');
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await receiver.close();
  await sqs.close();
  await db.drop();
});

describe('the webhook queue', () => {
  it('the scheduler handler enqueues each endpoint with work, grouped by endpoint; the deliverer serves the messages', async () => {
    const endpoints = [];
    for (const _ of [1, 2, 3]) {
      endpoints.push(
        (await createWebhookEndpoint(db.pool, sealer, { url: receiver.url, events: ['*'], actor: 'test', allowPrivateDestinations: true }))
          .endpoint,
      );
    }
    await db.pool.query(
      `INSERT INTO business_events (id, type, resource_type, resource_id, version, data)
       VALUES (business_event_id('payment.detected', 'q#0', 1), 'payment.detected', 'payment', 'q#0', 1, '{}')`,
    );

    vi.stubEnv('STAGE', 'test');
    vi.stubEnv('DATABASE_URL', db.url);
    vi.stubEnv('WEBHOOK_QUEUE_URL', queueUrl);
    vi.stubEnv('AWS_ENDPOINT_URL_SQS', sqs.endpoint);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
    const { handler } = await import('../../functions/handlers/webhook-scheduler.js');
    expect(await handler({}, lambdaContext('payment-monitor-test-webhook-scheduler'))).toEqual({ endpoints: 3 });

    const messages = await drainQueue(sqs.client, queueUrl);
    expect(messages.map((m) => JSON.parse(m.Body!).endpointId).sort()).toEqual(endpoints.map((e) => e.id).sort());
    for (const message of messages) expect(message.Attributes?.MessageGroupId).toBe(JSON.parse(message.Body!).endpointId);

    const sender = new HttpWebhookClient({ allowPrivateDestinations: true });
    try {
      const response = await deliverWebhookBatch(toSqsEvent(messages), {
        store: new PostgresWebhookDeliveryStore(db.pool, sealer),
        sender,
        clock: { now: () => new Date() },
        logger: new RecordingLogger(),
        metrics: new InMemoryMetrics(),
      });
      expect(response).toEqual({ batchItemFailures: [] });
    } finally {
      sender.close();
    }
    expect(receiver.requests).toHaveLength(3);
    // nothing due any more: the next run sends nothing
    expect(await handler({}, lambdaContext('payment-monitor-test-webhook-scheduler'))).toEqual({ endpoints: 0 });
  });

  it('asking twice with nothing new sends one message per endpoint; a new event after it was consumed sends another', async () => {
    const now = () => 1_800_000_000_000;
    const send = webhookQueue(sqs.client, queueUrl, now);
    const wakes = (wake: string) => ['we_a', 'we_b'].map((endpointId) => ({ endpointId, wake }));
    await send(wakes('7.5.0..'));
    await send(wakes('7.5.0..'));
    let messages = await drainQueue(sqs.client, queueUrl);
    expect(messages.map((m) => JSON.parse(m.Body!).endpointId).sort()).toEqual(['we_a', 'we_b']);
    // the same moment, the queue's deduplication still remembering the consumed messages: a new event wakes again
    await send(wakes('8.5.0..'));
    messages = await drainQueue(sqs.client, queueUrl);
    expect(messages.map((m) => JSON.parse(m.Body!).endpointId).sort()).toEqual(['we_a', 'we_b']);
  });

  it('the scheduler wakes an endpoint again for an event written after the first wake was consumed, at the same moment', async () => {
    const { endpoint } = await createWebhookEndpoint(db.pool, sealer, {
      url: receiver.url,
      events: ['*'],
      actor: 'test',
      allowPrivateDestinations: true,
    });
    const at = new Date();
    const schedule = () =>
      scheduleWebhookDeliveries({
        db: db.pool,
        enqueue: webhookQueue(sqs.client, queueUrl, () => at.getTime()),
        clock: { now: () => at },
        logger: new RecordingLogger(),
        metrics: new InMemoryMetrics(),
        gauges: false,
      });
    const event = async (resource: string) =>
      db.pool.query(
        `INSERT INTO business_events (id, type, resource_type, resource_id, version, data)
         VALUES (business_event_id('payment.detected', $1, 1), 'payment.detected', 'payment', $1, 1, '{}')`,
        [resource],
      );
    await event('wake1#0');
    await schedule();
    const first = (await drainQueue(sqs.client, queueUrl)).map((m) => JSON.parse(m.Body!).endpointId);
    expect(first).toContain(endpoint.id);
    // a deliverer holds the endpoint's lease (serving the first wake) when the next event is written
    await db.pool.query(`UPDATE webhook_endpoints SET leased_until = $2::timestamptz + interval '1 hour' WHERE id = $1`, [endpoint.id, at]);
    await event('wake2#0');
    await schedule();
    const second = (await drainQueue(sqs.client, queueUrl)).map((m) => JSON.parse(m.Body!).endpointId);
    expect(second).toContain(endpoint.id);
    await db.pool.query(`UPDATE webhook_endpoints SET deleted_at = now() WHERE id = $1`, [endpoint.id]);
  });

  it('the deliverer asks for another wake when it stopped with more to do', async () => {
    const { endpoint } = await createWebhookEndpoint(db.pool, sealer, {
      url: receiver.url,
      events: ['*'],
      actor: 'test',
      allowPrivateDestinations: true,
    });
    for (const resource of ['more1#0', 'more2#0']) {
      await db.pool.query(
        `INSERT INTO business_events (id, type, resource_type, resource_id, version, data)
         VALUES (business_event_id('payment.detected', $1, 1), 'payment.detected', 'payment', $1, 1, '{}')`,
        [resource],
      );
    }
    const again: string[][] = [];
    const sender = new HttpWebhookClient({ allowPrivateDestinations: true });
    try {
      const body = JSON.stringify({ endpointId: endpoint.id });
      const response = await deliverWebhookBatch(
        { Records: [{ messageId: 'm1', body }] } as unknown as SQSEvent,
        {
          store: new PostgresWebhookDeliveryStore(db.pool, sealer),
          sender,
          clock: { now: () => new Date() },
          logger: new RecordingLogger(),
          metrics: new InMemoryMetrics(),
          maxEvents: 1,
        },
        async (ids) => void again.push([...ids]),
      );
      expect(response).toEqual({ batchItemFailures: [] });
    } finally {
      sender.close();
    }
    expect(again).toEqual([[endpoint.id]]);
    await db.pool.query(`UPDATE webhook_endpoints SET deleted_at = now() WHERE id = $1`, [endpoint.id]);
  });
});
