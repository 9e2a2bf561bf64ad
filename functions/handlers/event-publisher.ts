/**
 * Event publisher Lambda: puts the business events of the outbox on the EventBridge bus (EVENT_BUS_NAME) in seq
 * order and marks them published (EventBridge schedule every minute, and an asynchronous invocation after each
 * processed batch that wrote events), then enqueues the webhook endpoints with work (WEBHOOK_QUEUE_URL). The work
 * is in event-publisher-core.ts.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgePublisher } from '../adapters/eventbridge/event-bus-publisher.js';
import { PostgresOutbox } from '../adapters/postgres/business-events.js';
import { webhookQueue } from '../adapters/sqs/webhook-queue.js';
import { readEventPublisherSettings } from '../config/lambda-settings.js';
import { publishEvents, type PublishRun } from './event-publisher-core.js';
import { lambdaHandler, lambdaPool, logger, metrics } from './lambda-handler.js';
import { scheduleWebhookDeliveries } from './webhook-scheduler-core.js';

const settings = readEventPublisherSettings();
const pool = lambdaPool({ max: 2, applicationName: 'payment-monitor-event-publisher' });
const publisher = new EventBridgePublisher(new EventBridgeClient({}), settings.eventBusName);
const sqs = new SQSClient({});
const clock = { now: () => new Date() };

export const handler = lambdaHandler<unknown, PublishRun>(async () => {
  const db = await pool();
  const queueUrl = settings.webhookQueueUrl;
  return publishEvents({
    outbox: new PostgresOutbox(db),
    publisher,
    clock,
    logger,
    metrics,
    ...(queueUrl
      ? {
          afterPublished: async () => {
            await scheduleWebhookDeliveries({ db, enqueue: webhookQueue(sqs, queueUrl), clock, logger, metrics, gauges: false });
          },
        }
      : {}),
  });
});
