/**
 * Webhook deliverer Lambda (SQS FIFO event source; one message = "deliver what is due for endpoint X", the message
 * group is the endpoint, so one endpoint is served one at a time and endpoints in parallel). Signing secrets are
 * unsealed with the key in WEBHOOK_SECRETS_KEY_SECRET_ARN; destinations are public https only unless
 * WEBHOOK_ALLOW_PRIVATE_DESTINATIONS. The work is in webhook-deliverer-core.ts and domain/webhooks/delivery.ts.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { AesGcmSecretSealer, secretsManagerKey } from '../adapters/crypto/aes-gcm-sealer.js';
import { HttpWebhookClient } from '../adapters/http/webhook-client.js';
import { dueEndpointWakes, PostgresWebhookDeliveryStore } from '../adapters/postgres/webhook-delivery-store.js';
import { webhookQueue } from '../adapters/sqs/webhook-queue.js';
import { SQSClient } from '@aws-sdk/client-sqs';
import { CachedSecret } from '../adapters/secrets/cached-secret.js';
import { secretsManagerReader } from '../adapters/secrets/secret-reader.js';
import { readWebhookDelivererSettings } from '../config/lambda-settings.js';
import { lambdaHandler, lambdaPool, logger, metrics } from './lambda-handler.js';
import { deliverWebhookBatch } from './webhook-deliverer-core.js';

const settings = readWebhookDelivererSettings();
const pool = lambdaPool({ max: 4, applicationName: 'payment-monitor-webhook-deliverer' });
const sealer = new AesGcmSecretSealer(
  secretsManagerKey(new CachedSecret({ secretId: settings.secretsKeySecretArn, readSecret: secretsManagerReader() })),
);
const enqueue = settings.webhookQueueUrl ? webhookQueue(new SQSClient({}), settings.webhookQueueUrl) : undefined;
/** Stop taking new events with less than this left: an attempt takes at most 10 s. */
const TIME_RESERVE_MS = 20_000;

export const handler = lambdaHandler<SQSEvent, SQSBatchResponse>(async (event, context) => {
  // Connections are kept alive within an invocation (an endpoint's events one after another), never across one:
  // a socket left open while the instance is frozen is often dead when it thaws.
  const sender = new HttpWebhookClient({ allowPrivateDestinations: settings.allowPrivateDestinations });
  try {
    const db = await pool();
    return await deliverWebhookBatch(
      event,
      {
        store: new PostgresWebhookDeliveryStore(db, sealer),
        sender,
        clock: { now: () => new Date() },
        logger,
        metrics,
        shouldStop: () => context.getRemainingTimeInMillis() < TIME_RESERVE_MS,
      },
      enqueue && (async (endpointIds) => enqueue(await dueEndpointWakes(db, new Date(), endpointIds))),
    );
  } finally {
    sender.close();
  }
});
