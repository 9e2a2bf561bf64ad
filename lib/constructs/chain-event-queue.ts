import { Duration, type RemovalPolicy, Token } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { receivesWithin } from '../../functions/domain/retry-schedule.js';

/** Lambda's guidance: the queue's visibility timeout is at least six times the consumer's timeout. */
export const VISIBILITY_TO_TIMEOUT_RATIO = 6;
/** Largest batch an SQS event source accepts without a batching window (which FIFO queues don't support). */
export const MAX_FIFO_BATCH_SIZE = 10;
/** Valid range of the event source's ScalingConfig.MaximumConcurrency (Lambda API: 2–1000). */
export const MIN_MAX_CONCURRENCY = 2;
export const MAX_MAX_CONCURRENCY = 1000;
/** The longest SQS keeps a message (its maximum): what the pipeline can wait out (a database outage) without losing an event. */
export const CHAIN_EVENT_RETENTION = Duration.days(14);
/** The DLQ keeps what reaches it as long; a FIFO DLQ counts its retention from the move, not from the first send. */
export const DEAD_LETTER_RETENTION = Duration.days(14);
/** The largest maxReceiveCount SQS accepts; the default (see ChainEventQueueProps.maxReceiveCount for why). */
export const MAX_RECEIVE_COUNT = 1000;
const MIN_RETENTION = Duration.seconds(60);
/** Beyond the longest a message can live: claim checks are written just before their message is sent. */
export const CLAIM_CHECK_EXPIRY_MARGIN = Duration.days(1);

export interface ChainEventQueueProps {
  /** Queue name; must end in `.fifo`. The DLQ is named `<name without .fifo>-dlq.fifo`. Defaults to a generated name. */
  readonly queueName?: string;
  /** The consumer Lambda's timeout; the visibility timeout must be at least 6× it. */
  readonly consumerTimeout: Duration;
  /** Defaults to 6 × consumerTimeout. */
  readonly visibilityTimeout?: Duration;
  /**
   * Receives before a message moves to the DLQ. Default 1000, the SQS maximum: the processor does not let SQS count
   * transient failures towards the DLQ. It sets poison messages aside itself (in the database) and, when a message
   * fails for a transient cause, hides it again with ChangeMessageVisibility for a tenth of the time it has been
   * failing (5 s … 30 min, functions/domain/retry-schedule.ts): about 730 receives in 14 days. So a valid event
   * reaches the DLQ only after its retention would have expired it anyway; the DLQ is a last resort. Must exceed
   * the receives that schedule makes within the retention (checked).
   */
  readonly maxReceiveCount?: number;
  /** `kms` (AWS-managed SQS key, or `encryptionKey` if given) or `sqs` (SQS-managed SSE). Default `sqs`. */
  readonly encryption?: 'kms' | 'sqs';
  /** Customer-managed key used when encryption is `kms`. */
  readonly encryptionKey?: IKey;
  /** Main queue retention, 60 s … 14 days. Default 14 days (the SQS maximum; the SQS default would be 4 days). */
  readonly retentionPeriod?: Duration;
  /**
   * How long the claim-check objects live (the claim-check bucket's shortest lifecycle expiry for the claim-check
   * prefix). A message may point to one for as long as it lives: its retention in the queue, then again the DLQ's
   * (a FIFO DLQ restarts the clock on the move). Must be at least both plus CLAIM_CHECK_EXPIRY_MARGIN (checked),
   * or a late or redriven message finds its event gone. `undefined`: the objects never expire.
   */
  readonly claimCheckExpiry: Duration | undefined;
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
 * TLS-only access, explicit deduplication ids (content-based dedup off), 14 days' retention, and the invariants:
 * visibility timeout against the consumer's timeout, maxReceiveCount against the processor's retry schedule, and
 * claim checks that outlive every message pointing to them.
 */
export class ChainEventQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly visibilityTimeout: Duration;
  readonly maxReceiveCount: number;
  readonly retentionPeriod: Duration;

  constructor(scope: Construct, id: string, props: ChainEventQueueProps) {
    super(scope, id);
    const maxReceiveCount = props.maxReceiveCount ?? MAX_RECEIVE_COUNT;
    const retentionPeriod = props.retentionPeriod ?? CHAIN_EVENT_RETENTION;
    const visibilityTimeout = props.visibilityTimeout ?? Duration.seconds(props.consumerTimeout.toSeconds() * VISIBILITY_TO_TIMEOUT_RATIO);

    if (props.queueName !== undefined && !Token.isUnresolved(props.queueName) && !props.queueName.endsWith('.fifo')) {
      throw new ChainEventQueueConfigError(`ChainEventQueue "${id}": queueName must end with ".fifo" (got "${props.queueName}")`);
    }
    if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > MAX_RECEIVE_COUNT) {
      throw new ChainEventQueueConfigError(
        `ChainEventQueue "${id}": maxReceiveCount must be a whole number between 1 and ${MAX_RECEIVE_COUNT} (got ${maxReceiveCount})`,
      );
    }
    const retentionSeconds = retentionPeriod.toSeconds();
    if (retentionSeconds < MIN_RETENTION.toSeconds() || retentionSeconds > CHAIN_EVENT_RETENTION.toSeconds()) {
      throw new ChainEventQueueConfigError(
        `ChainEventQueue "${id}": retentionPeriod must be between 60 seconds and 14 days, the SQS limits (got ${retentionPeriod.toHumanString()})`,
      );
    }
    const retriesWithinRetention = receivesWithin(retentionSeconds);
    if (maxReceiveCount <= retriesWithinRetention) {
      throw new ChainEventQueueConfigError(
        `ChainEventQueue "${id}": maxReceiveCount (${maxReceiveCount}) must exceed the ${retriesWithinRetention} receives the processor's retry schedule ` +
          `makes within the retention (${retentionPeriod.toHumanString()}), or an event failing for a transient cause (a database outage) reaches the DLQ`,
      );
    }
    assertClaimChecksOutliveMessages(id, props.claimCheckExpiry, retentionPeriod);
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
      retentionPeriod: DEAD_LETTER_RETENTION,
      enforceSSL: true,
      removalPolicy: props.removalPolicy,
      ...encryption,
    });
    this.queue = new Queue(this, 'Queue', {
      queueName: props.queueName,
      fifo: true,
      contentBasedDeduplication: false,
      visibilityTimeout,
      retentionPeriod,
      enforceSSL: true,
      removalPolicy: props.removalPolicy,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
      ...encryption,
    });
    this.visibilityTimeout = visibilityTimeout;
    this.maxReceiveCount = maxReceiveCount;
    this.retentionPeriod = retentionPeriod;
  }

  /**
   * Subscribes `fn` with partial batch responses. The function's timeout (when known) must fit six times in
   * the visibility timeout, or a slow batch would reappear while still being processed.
   */
  addConsumer(fn: IFunction, options: ChainEventConsumerOptions = {}): SqsEventSource {
    const batchSize = options.batchSize ?? MAX_FIFO_BATCH_SIZE;
    const maxConcurrency = options.maxConcurrency ?? MIN_MAX_CONCURRENCY;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_FIFO_BATCH_SIZE) {
      throw new ChainEventQueueConfigError(
        `ChainEventQueue "${this.node.id}": batchSize must be between 1 and ${MAX_FIFO_BATCH_SIZE} (got ${batchSize})`,
      );
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

/** Throws unless a claim-check object outlives the longest a message can live: queue retention + DLQ retention + margin. */
export function assertClaimChecksOutliveMessages(id: string, claimCheckExpiry: Duration | undefined, retentionPeriod: Duration): void {
  if (claimCheckExpiry === undefined || claimCheckExpiry.isUnresolved() || retentionPeriod.isUnresolved()) return;
  const requiredSeconds = retentionPeriod.toSeconds() + DEAD_LETTER_RETENTION.toSeconds() + CLAIM_CHECK_EXPIRY_MARGIN.toSeconds();
  if (claimCheckExpiry.toSeconds() < requiredSeconds) {
    throw new ChainEventQueueConfigError(
      `ChainEventQueue "${id}": claim checks expire after ${claimCheckExpiry.toHumanString()}, but a message pointing to one may live ` +
        `${retentionPeriod.toHumanString()} in the queue and then ${DEAD_LETTER_RETENTION.toHumanString()} in the DLQ (a FIFO DLQ restarts the clock on the move); ` +
        `the claim-check lifecycle expiry must be at least ${Duration.seconds(requiredSeconds).toHumanString()} (both plus a margin of ${CLAIM_CHECK_EXPIRY_MARGIN.toHumanString()})`,
    );
  }
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
