import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Lambda's guidance: the queue's visibility timeout is at least six times the consumer's timeout. */
export const VISIBILITY_TO_TIMEOUT_RATIO = 6;
/** Largest batch an SQS event source accepts without a batching window (which FIFO queues don't support). */
export const MAX_FIFO_BATCH_SIZE = 10;
/** Valid range of the event source's ScalingConfig.MaximumConcurrency (Lambda API: 2–1000). */
export const MIN_MAX_CONCURRENCY = 2;
export const MAX_MAX_CONCURRENCY = 1000;

export interface ChainEventQueueProps {
  /** Queue name; must end in `.fifo`. The DLQ is named `<name without .fifo>-dlq.fifo`. Defaults to a generated name. */
  readonly queueName?: string;
  /** The consumer Lambda's timeout; the visibility timeout must be at least 6× it. */
  readonly consumerTimeout: Duration;
  /** Defaults to 6 × consumerTimeout. */
  readonly visibilityTimeout?: Duration;
  /** Receives before a message moves to the DLQ. Default 5. */
  readonly maxReceiveCount?: number;
  /** `kms` (AWS-managed SQS key, or `encryptionKey` if given) or `sqs` (SQS-managed SSE). Default `sqs`. */
  readonly encryption?: 'kms' | 'sqs';
  /** Customer-managed key used when encryption is `kms`. */
  readonly encryptionKey?: IKey;
  /** Main queue retention. Default 4 days (the SQS default). */
  readonly retentionPeriod?: Duration;
  readonly removalPolicy?: RemovalPolicy;
}

export interface ChainEventConsumerOptions {
  /** 1–10. Default 10. */
  readonly batchSize?: number;
  /** 2–1000. Default 2. */
  readonly maxConcurrency?: number;
}

export class ChainEventQueueConfigError extends Error {
  override readonly name = 'ChainEventQueueConfigError';
}

/**
 * The FIFO queue between the follower and the processor: FIFO DLQ with redrive, server-side encryption,
 * TLS-only access, explicit deduplication ids (content-based dedup off) and the visibility-timeout invariant.
 */
export class ChainEventQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly visibilityTimeout: Duration;
  readonly maxReceiveCount: number;

  constructor(scope: Construct, id: string, props: ChainEventQueueProps) {
    super(scope, id);
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    const visibilityTimeout = props.visibilityTimeout ?? Duration.seconds(props.consumerTimeout.toSeconds() * VISIBILITY_TO_TIMEOUT_RATIO);

    if (props.queueName !== undefined && !Token.isUnresolved(props.queueName) && !props.queueName.endsWith('.fifo')) {
      throw new ChainEventQueueConfigError(`ChainEventQueue "${id}": queueName must end with ".fifo" (got "${props.queueName}")`);
    }
    if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
      throw new ChainEventQueueConfigError(`ChainEventQueue "${id}": maxReceiveCount must be a whole number between 1 and 1000 (got ${maxReceiveCount})`);
    }
    if (visibilityTimeout.toSeconds() > Duration.hours(12).toSeconds()) {
      throw new ChainEventQueueConfigError(
        `ChainEventQueue "${id}": visibilityTimeout ${visibilityTimeout.toHumanString()} exceeds the SQS maximum of 12 hours`,
      );
    }
    assertVisibilityCovers(id, visibilityTimeout, props.consumerTimeout, 'consumerTimeout');
    if (props.encryptionKey && props.encryption !== 'kms') {
      throw new ChainEventQueueConfigError(`ChainEventQueue "${id}": encryptionKey requires encryption: 'kms'`);
    }

    const encryption =
      props.encryption === 'kms'
        ? { encryption: props.encryptionKey ? QueueEncryption.KMS : QueueEncryption.KMS_MANAGED, encryptionMasterKey: props.encryptionKey }
        : { encryption: QueueEncryption.SQS_MANAGED };
    const dlqName = props.queueName?.replace(/\.fifo$/, '-dlq.fifo');

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      queueName: dlqName,
      fifo: true,
      contentBasedDeduplication: false,
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
      removalPolicy: props.removalPolicy,
      ...encryption,
    });
    this.queue = new Queue(this, 'Queue', {
      queueName: props.queueName,
      fifo: true,
      contentBasedDeduplication: false,
      visibilityTimeout,
      retentionPeriod: props.retentionPeriod,
      enforceSSL: true,
      removalPolicy: props.removalPolicy,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
      ...encryption,
    });
    this.visibilityTimeout = visibilityTimeout;
    this.maxReceiveCount = maxReceiveCount;
  }

  /**
   * Subscribes `fn` with partial batch responses. The function's timeout (when known) must fit six times in
   * the visibility timeout, or a slow batch would reappear while still being processed.
   */
  addConsumer(fn: IFunction, options: ChainEventConsumerOptions = {}): SqsEventSource {
    const batchSize = options.batchSize ?? MAX_FIFO_BATCH_SIZE;
    const maxConcurrency = options.maxConcurrency ?? MIN_MAX_CONCURRENCY;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_FIFO_BATCH_SIZE) {
      throw new ChainEventQueueConfigError(`ChainEventQueue "${this.node.id}": batchSize must be between 1 and ${MAX_FIFO_BATCH_SIZE} (got ${batchSize})`);
    }
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < MIN_MAX_CONCURRENCY || maxConcurrency > MAX_MAX_CONCURRENCY) {
      throw new ChainEventQueueConfigError(
        `ChainEventQueue "${this.node.id}": maxConcurrency must be between ${MIN_MAX_CONCURRENCY} and ${MAX_MAX_CONCURRENCY} (got ${maxConcurrency})`,
      );
    }
    const timeout = functionTimeout(fn);
    if (timeout === undefined) {
      throw new ChainEventQueueConfigError(
        `ChainEventQueue "${this.node.id}": cannot check the visibility timeout against ${fn.node.path}: its timeout is unknown (pass a Function with an explicit timeout)`,
      );
    }
    assertVisibilityCovers(this.node.id, this.visibilityTimeout, timeout, `timeout of ${fn.node.path}`);

    const source = new SqsEventSource(this.queue, { batchSize, maxConcurrency, reportBatchItemFailures: true });
    fn.addEventSource(source);
    return source;
  }
}

function functionTimeout(fn: IFunction): Duration | undefined {
  const timeout = (fn as { timeout?: unknown }).timeout;
  return timeout instanceof Duration ? timeout : undefined;
}

function assertVisibilityCovers(id: string, visibilityTimeout: Duration, consumerTimeout: Duration, what: string): void {
  if (visibilityTimeout.isUnresolved() || consumerTimeout.isUnresolved()) return;
  const required = consumerTimeout.toSeconds() * VISIBILITY_TO_TIMEOUT_RATIO;
  if (visibilityTimeout.toSeconds() < required) {
    throw new ChainEventQueueConfigError(
      `ChainEventQueue "${id}": visibilityTimeout (${visibilityTimeout.toHumanString()}) must be at least ${VISIBILITY_TO_TIMEOUT_RATIO} × ${what} ` +
        `(${consumerTimeout.toHumanString()}) = ${required} seconds`,
    );
  }
}
