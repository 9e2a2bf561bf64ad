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

  it('asking twice in the same 10-second window sends one message per endpoint', async () => {
    const now = () => 1_800_000_000_000;
    const send = webhookQueue(sqs.client, queueUrl, now);
    await send(['we_a', 'we_b']);
    await send(['we_a', 'we_b']);
    const messages = await drainQueue(sqs.client, queueUrl);
    expect(messages.map((m) => JSON.parse(m.Body!).endpointId).sort()).toEqual(['we_a', 'we_b']);
  });
});
