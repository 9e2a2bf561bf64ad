import { Duration, Token, type RemovalPolicy } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { MAX_MAX_CONCURRENCY, MIN_MAX_CONCURRENCY, VISIBILITY_TO_TIMEOUT_RATIO } from './chain-event-queue.js';

/** One webhook attempt waits at most this long for the receiver (issue 14: a 10 s timeout). */
export const WEBHOOK_ATTEMPT_TIMEOUT = Duration.seconds(10);
/**
 * A wake-up lives a day: the state (what is due, attempts, next try) is in PostgreSQL, and the scheduler sends a new
 * wake-up every minute for every endpoint with something due, so an old one adds nothing.
 */
export const WEBHOOK_MESSAGE_RETENTION = Duration.days(1);
export const WEBHOOK_DEAD_LETTER_RETENTION = Duration.days(14);
/** Receives before a wake-up moves to the DLQ: the deliverer failed (crashed, timed out) on it that many times. */
export const WEBHOOK_MAX_RECEIVE_COUNT = 5;

export interface WebhookDeliveryQueueProps {
  /** Must end in `.fifo`. */
  readonly queueName: string;
  readonly deadLetterQueueName: string;
  /** The deliverer's timeout: the visibility timeout is 6× it, and it must leave room for a whole attempt. */
  readonly consumerTimeout: Duration;
  readonly maxReceiveCount?: number;
  readonly removalPolicy?: RemovalPolicy;
}

export class WebhookDeliveryQueueConfigError extends Error {
  override readonly name = 'WebhookDeliveryQueueConfigError';
}

/**
 * The deliverer's FIFO queue of wake-ups ("deliver what is due for endpoint X"), MessageGroupId = the endpoint: SQS
 * hands out one message of a group at a time, so an endpoint is served by one deliverer at a time, in order, while
 * other endpoints are served in parallel; a slow or dead endpoint holds only its own group. Explicit deduplication
 * ids (content-based dedup off: a wake-up for the same endpoint a minute later is not a duplicate), SSE, TLS only,
 * and a FIFO DLQ for wake-ups the deliverer failed on repeatedly (WebhookDeadLetterQueueNotEmpty).
 */
export class WebhookDeliveryQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly visibilityTimeout: Duration;

  constructor(scope: Construct, id: string, props: WebhookDeliveryQueueProps) {
    const maxReceiveCount = props.maxReceiveCount ?? WEBHOOK_MAX_RECEIVE_COUNT;
    const problems: string[] = [];
    for (const [what, name] of [
      ['queueName', props.queueName],
      ['deadLetterQueueName', props.deadLetterQueueName],
    ] as const) {
      if (!Token.isUnresolved(name) && !name.endsWith('.fifo')) problems.push(`${what} must end with ".fifo" (got "${name}")`);
    }
    if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
      problems.push(`maxReceiveCount must be a whole number between 1 and 1000 (got ${maxReceiveCount})`);
    }
    const timeout = props.consumerTimeout.toSeconds();
    // One attempt (10 s) plus reading what is due and recording the attempt: at least twice the attempt's timeout.
    if (timeout < 2 * WEBHOOK_ATTEMPT_TIMEOUT.toSeconds()) {
      problems.push(
        `consumerTimeout (${props.consumerTimeout.toHumanString()}) must be at least twice the ${WEBHOOK_ATTEMPT_TIMEOUT.toHumanString()} of one attempt`,
      );
    }
    const visibilityTimeout = Duration.seconds(timeout * VISIBILITY_TO_TIMEOUT_RATIO);
    if (visibilityTimeout.toSeconds() > Duration.hours(12).toSeconds())
      problems.push('the visibility timeout (6 × consumerTimeout) exceeds 12 hours');
    if (problems.length > 0)
      throw new WebhookDeliveryQueueConfigError(`WebhookDeliveryQueue "${id}" is invalid:\n- ${problems.join('\n- ')}`);
    super(scope, id);

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      queueName: props.deadLetterQueueName,
      fifo: true,
      contentBasedDeduplication: false,
      retentionPeriod: WEBHOOK_DEAD_LETTER_RETENTION,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: props.removalPolicy,
    });
    this.queue = new Queue(this, 'Queue', {
      queueName: props.queueName,
      fifo: true,
      contentBasedDeduplication: false,
      visibilityTimeout,
      retentionPeriod: WEBHOOK_MESSAGE_RETENTION,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: props.removalPolicy,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });
    this.visibilityTimeout = visibilityTimeout;
  }

  /**
   * The deliverer: one wake-up per invocation (batch size 1: the invocation works for one endpoint), a failed one
   * reported as such (partial batch response), at most `maxConcurrency` endpoints at once (one database connection each).
   */
  addDeliverer(fn: IFunction & { readonly timeout?: Duration }, maxConcurrency: number): SqsEventSource {
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < MIN_MAX_CONCURRENCY || maxConcurrency > MAX_MAX_CONCURRENCY) {
      throw new WebhookDeliveryQueueConfigError(
        `WebhookDeliveryQueue "${this.node.id}": maxConcurrency must be between ${MIN_MAX_CONCURRENCY} and ${MAX_MAX_CONCURRENCY} (got ${maxConcurrency})`,
      );
    }
    const timeout = fn.timeout;
    if (!(timeout instanceof Duration) || timeout.toSeconds() * VISIBILITY_TO_TIMEOUT_RATIO > this.visibilityTimeout.toSeconds()) {
      throw new WebhookDeliveryQueueConfigError(
        `WebhookDeliveryQueue "${this.node.id}": the visibility timeout (${this.visibilityTimeout.toHumanString()}) must be at least ${VISIBILITY_TO_TIMEOUT_RATIO} × the timeout of ${fn.node.path}`,
      );
    }
    const source = new SqsEventSource(this.queue, { batchSize: 1, maxConcurrency, reportBatchItemFailures: true });
    fn.addEventSource(source);
    return source;
  }
}
