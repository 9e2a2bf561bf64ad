/**
 * Webhook scheduler Lambda (EventBridge schedule every minute): sends one message to the deliverer queue
 * (WEBHOOK_QUEUE_URL) for every enabled endpoint with something due, and writes the webhook gauges. The work is in
 * webhook-scheduler-core.ts.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { webhookQueue } from '../adapters/sqs/webhook-queue.js';
import { readWebhookSchedulerSettings } from '../config/lambda-settings.js';
import { lambdaHandler, lambdaPool, logger, metrics } from './lambda-handler.js';
import { scheduleWebhookDeliveries } from './webhook-scheduler-core.js';

const settings = readWebhookSchedulerSettings();
const pool = lambdaPool({ max: 1, applicationName: 'payment-monitor-webhook-scheduler' });
const enqueue = webhookQueue(new SQSClient({}), settings.webhookQueueUrl);

export const handler = lambdaHandler<unknown, { endpoints: number }>(async () =>
  scheduleWebhookDeliveries({ db: await pool(), enqueue, clock: { now: () => new Date() }, logger, metrics }),
);
