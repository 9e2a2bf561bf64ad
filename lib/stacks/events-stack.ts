import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Archive, EventBus } from 'aws-cdk-lib/aws-events';
import { ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config.js';
import { EVERY_MINUTE_RETRY, FunctionSchedule } from '../constructs/function-schedule.js';
import type { HouseFunction } from '../constructs/house-function.js';
import { WebhookDeliveryQueue } from '../constructs/webhook-delivery-queue.js';
import { functionName, lambdaLogGroupName, resourceName, stageNames, type StageFunction } from '../naming.js';
import type { DataStack } from './data-stack.js';
import { operatorOutputs } from './outputs.js';
import { databaseFunction, handlerEntry } from './vpc-function.js';

/** The publisher puts at most a few hundred events a run (10 per PutEvents call). */
export const PUBLISHER_TIMEOUT = Duration.seconds(60);
export const SCHEDULER_TIMEOUT = Duration.seconds(30);
/**
 * One invocation serves one endpoint: what is due for it, one attempt after another (10 s each at most), until it
 * fails or nothing is due; the core stops early enough to record its last attempt within this.
 */
export const DELIVERER_TIMEOUT = Duration.seconds(60);
/** Endpoints served at once, one database connection each. */
export const DELIVERER_MAX_CONCURRENCY = 10;

export interface EventsStackProps extends StackProps {
  readonly config: StageConfig;
  readonly data: DataStack;
}

/**
 * Business events out of the outbox: the stage's EventBridge bus and its archive (replay), the publisher (every
 * minute, and woken by the processor after a batch that wrote events), the webhook scheduler (every minute) and the
 * deliverer on its FIFO queue (one message group per endpoint).
 */
export class EventsStack extends Stack {
  readonly bus: EventBus;
  readonly archive: Archive;
  readonly webhooks: WebhookDeliveryQueue;
  readonly publisher: HouseFunction;
  readonly scheduler: HouseFunction;
  readonly deliverer: HouseFunction;

  constructor(scope: Construct, id: string, props: EventsStackProps) {
    super(scope, id, props);
    const { config, data } = props;
    const names = stageNames(config.stage);

    this.bus = new EventBus(this, 'Bus', {
      eventBusName: names.eventBus,
      description: `payment-monitor ${config.stage}: business events (payment.detected, payment.confirmed, …)`,
    });
    // Every event of the bus (all are ours: only the publisher may put events on it), kept for replay.
    this.archive = new Archive(this, 'Archive', {
      archiveName: names.eventArchive,
      sourceEventBus: this.bus,
      description: `Every business event of ${config.stage}, for replay`,
      eventPattern: { account: [this.account] },
      retention: Duration.days(config.events.archiveRetentionDays),
    });

    this.webhooks = new WebhookDeliveryQueue(this, 'Webhooks', {
      queueName: names.webhookQueue,
      deadLetterQueueName: names.webhookDeadLetterQueue,
      consumerTimeout: DELIVERER_TIMEOUT,
    });
    const queueUrl = this.webhooks.queue.queueUrl;

    this.publisher = databaseFunction(this, 'EventPublisher', config, data, 'eventPublisher', {
      entry: handlerEntry('event-publisher.ts'),
      description: 'Puts the outbox events on the EventBridge bus in order, marks them published, wakes the webhook deliverer',
      timeout: PUBLISHER_TIMEOUT,
      memorySize: 256,
      egress: 'EventBridge, SQS and Secrets Manager (AWS APIs through the NAT)',
      environment: { EVENT_BUS_NAME: this.bus.eventBusName, WEBHOOK_QUEUE_URL: queueUrl },
    });
    // events:PutEvents on this bus only.
    this.bus.grantPutEventsTo(this.publisher);
    this.webhooks.queue.grantSendMessages(this.publisher);
    new FunctionSchedule(this, 'EventPublisherEveryMinute', {
      function: this.publisher,
      scheduleName: resourceName(config.stage, 'event-publisher-every-minute'),
      description: 'Safety net of the wake-up after each processed batch; writes the outbox age metric',
      expression: ScheduleExpression.rate(Duration.minutes(1)),
      retry: EVERY_MINUTE_RETRY,
    });

    this.scheduler = databaseFunction(this, 'WebhookScheduler', config, data, 'webhookScheduler', {
      entry: handlerEntry('webhook-scheduler.ts'),
      description: 'Every minute: one wake-up per enabled endpoint with a delivery due; writes the webhook gauges',
      timeout: SCHEDULER_TIMEOUT,
      memorySize: 256,
      egress: 'SQS and Secrets Manager (AWS APIs through the NAT)',
      environment: { WEBHOOK_QUEUE_URL: queueUrl },
    });
    this.webhooks.queue.grantSendMessages(this.scheduler);
    new FunctionSchedule(this, 'WebhookSchedulerEveryMinute', {
      function: this.scheduler,
      scheduleName: resourceName(config.stage, 'webhook-scheduler-every-minute'),
      description: 'Retries and backoff of the webhook deliveries; webhook_longest_failing_seconds and webhook_endpoints_disabled',
      expression: ScheduleExpression.rate(Duration.minutes(1)),
      retry: EVERY_MINUTE_RETRY,
    });

    // The one function that talks to the internet at large: HTTPS to any receiver. The deliverer refuses private,
    // loopback, link-local and metadata addresses itself, on the address it connects to (no SSRF through DNS).
    this.deliverer = databaseFunction(this, 'WebhookDeliverer', config, data, 'webhookDeliverer', {
      entry: handlerEntry('webhook-deliverer.ts'),
      description: 'Delivers what is due for one endpoint (its FIFO message group), in order, signed; records each attempt',
      timeout: DELIVERER_TIMEOUT,
      memorySize: 256,
      egress: 'the webhook endpoints (any https:// URL) and AWS APIs',
      environment: {
        WEBHOOK_SECRETS_KEY_SECRET_ARN: data.webhookSecretsKey.secretArn,
        WEBHOOK_ALLOW_PRIVATE_DESTINATIONS: 'false',
        // A run that stops with more due wakes its endpoint again at once, rather than at the scheduler's next minute.
        WEBHOOK_QUEUE_URL: queueUrl,
      },
    });
    data.webhookSecretsKey.grantRead(this.deliverer);
    this.webhooks.queue.grantSendMessages(this.deliverer);
    this.webhooks.addDeliverer(this.deliverer, DELIVERER_MAX_CONCURRENCY);

    const functions: [string, StageFunction, string][] = [
      ['EventPublisher', 'eventPublisher', 'publishes the outbox to the bus (every minute and after each processed batch)'],
      ['WebhookScheduler', 'webhookScheduler', 'wakes the deliverer for every endpoint with something due (every minute)'],
      ['WebhookDeliverer', 'webhookDeliverer', 'delivers the webhooks of one endpoint per invocation'],
    ];
    operatorOutputs(this, {
      EventBusName: { value: this.bus.eventBusName, description: 'Business events: subscribe with an EventBridge rule on this bus' },
      EventBusArn: { value: this.bus.eventBusArn, description: 'The bus, for rules and cross-account targets' },
      EventArchiveName: {
        value: names.eventArchive,
        description: `Replay: aws events start-replay --event-source-arn <EventBusArn> --destination Arn=<EventBusArn> (kept ${config.events.archiveRetentionDays} days)`,
      },
      WebhookQueueUrl: { value: queueUrl, description: 'Deliverer wake-ups (FIFO, one message group per endpoint)' },
      WebhookDeadLetterQueueUrl: {
        value: this.webhooks.deadLetterQueue.queueUrl,
        description: 'Wake-ups the deliverer failed on 5 times (WebhookDeadLetterQueueNotEmpty); nothing is lost, purge once understood',
      },
      ...Object.fromEntries(
        functions.flatMap(([label, fn, what]) => [
          [`${label}FunctionName`, { value: functionName(config.stage, fn), description: what }],
          [
            `${label}LogGroupName`,
            { value: lambdaLogGroupName(functionName(config.stage, fn)), description: 'aws logs tail <this> --follow' },
          ],
        ]),
      ),
    });
  }
}
