/**
 * The processor's work, independent of the Lambda runtime: an SQS FIFO batch is applied to the payment engine
 * one record at a time, in order. Every record ends one of three ways:
 *
 * - applied, or acknowledged without effect: the engine decides by the rules of leader sessions
 *   (domain/event-admission.ts) — a stale message (deposed leader, older generation) or a repeated one changes
 *   nothing and is deleted from the queue; so does a message in another version of the format (another release's
 *   follower, during a deploy: logged at error, never a recovery);
 * - it cannot apply, and retrying cannot help: a poison message (unreadable, out-of-range values, a claim check
 *   that is missing or fails its checksum, another network) or a divergence (out of step with its session, a block
 *   that does not extend the chain, an unknown rollback point). It is acknowledged and the leader is made to
 *   follow again from the database's points, a poison message set aside in the database with its reason
 *   (domain/pipeline-recovery.ts). Nothing is lost: the chain is derived again from Ogmios;
 * - a transient failure (database, S3, Secrets Manager, throttling; anything not recognised above): it fails,
 *   and so do the records behind it (Powertools' FIFO processor), and they are hidden from the queue for a while
 *   that grows with how long the message has been failing (domain/retry-schedule.ts), so that an outage of days
 *   never counts enough receives to send a valid event to the DLQ. The oldest-message alarm pages meanwhile.
 */
import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  decodeChainEventMessage,
  decodeQueueMessageBody,
  MessageFormatError,
  OtherReleaseError,
  type ChainEventMessage,
} from '../domain/chain-event-message.js';
import { mayHaveWrittenEvents } from '../domain/business-events.js';
import { isDivergence } from '../domain/errors.js';
import type { Network } from '../domain/network.js';
import { LogEvent, Metric, MetricDimension, ProcessorLogEvent, ProcessorMetric } from '../domain/observability.js';
import type { PaymentEngine } from '../domain/payment-engine.js';
import type { PipelineRecoveryStore, RecoveryCause } from '../domain/pipeline-recovery.js';
import type { Clock, LogFields, Logger, Metrics } from '../domain/ports.js';
import type { FailedMessageRetries } from '../domain/failed-message-retries.js';
import { retryDelaySeconds } from '../domain/retry-schedule.js';
import { ClaimCheckIntegrityError, type ClaimCheckReader } from '../adapters/s3/claim-check-store.js';

/** A logger that can stamp every line written while one record is processed (the engine's too). */
export interface CorrelatingLogger extends Logger {
  appendKeys(keys: LogFields): void;
  removeKeys(keys: readonly string[]): void;
}

export interface ProcessorCoreOptions {
  engine: Pick<PaymentEngine, 'apply'>;
  /** The chain this deployment follows; a message for another one is poison. */
  network: Network;
  /** Where claim-checked messages are read; without it such a message fails. */
  claimChecks?: ClaimCheckReader;
  /** Acknowledges what cannot apply and makes the leader follow again from the database. */
  recovery: PipelineRecoveryStore;
  /** Postpones messages that failed for a transient reason; without it they reappear after the queue's timeout. */
  retries?: FailedMessageRetries;
  logger: CorrelatingLogger;
  metrics: Metrics;
  clock: Clock;
  /** Who the pipeline_recoveries rows name. Default 'processor'. */
  actor?: string;
  /**
   * Wakes the event publisher after a batch that may have written business events (an asynchronous invocation on
   * AWS); a failure is logged and never fails the batch (the publisher's schedule catches up within a minute).
   */
  wakePublisher?: () => Promise<void>;
}

/** Applies the batch in order; the response lists the records SQS must deliver again. */
export async function processChainEventBatch(event: SQSEvent, options: ProcessorCoreOptions, context?: Context): Promise<SQSBatchResponse> {
  // A fresh processor per batch: its state (records, failures) belongs to one invocation.
  const processor = new SqsFifoPartialProcessorAsync();
  const batch = { wroteEvents: false };
  const response = await processPartialResponse(event, (record: SQSRecord) => processRecord(record, options, batch), processor, {
    ...(context ? { context } : {}),
    // A batch whose first record fails is all failures: report it as such rather than throwing, so the
    // invocation ends normally and the same records come back in the same order.
    throwOnFullBatchFailure: false,
  });
  if (batch.wroteEvents && options.wakePublisher) {
    await options.wakePublisher().catch((error: unknown) => options.logger.warn(ProcessorLogEvent.publisherWakeFailed, { error }));
  }
  const failed = response.batchItemFailures.length;
  if (failed > 0) {
    const delaySeconds = await postponeFailed(event, response, options);
    options.logger.warn(ProcessorLogEvent.batchProcessed, {
      records: event.Records.length,
      applied: event.Records.length - failed,
      returned_to_queue: failed,
      first_failed_message_id: response.batchItemFailures[0]!.itemIdentifier,
      retry_in_seconds: delaySeconds,
    });
  } else {
    options.logger.debug(ProcessorLogEvent.batchProcessed, {
      records: event.Records.length,
      applied: event.Records.length,
      returned_to_queue: 0,
    });
  }
  return response;
}

async function processRecord(record: SQSRecord, options: ProcessorCoreOptions, batch: { wroteEvents: boolean }): Promise<void> {
  const { logger } = options;
  const keys: LogFields = { message_id: record.messageId };
  logger.appendKeys(keys);
  try {
    const message = await readMessage(record, options);
    if (!message) return; // set aside
    const correlation = correlationKeys(message);
    Object.assign(keys, correlation);
    logger.appendKeys(correlation);
    if (await applyMessage(record, message, options)) batch.wroteEvents = true;
  } catch (error) {
    options.metrics.count(ProcessorMetric.messagesFailed);
    logger.error(ProcessorLogEvent.messageFailed, { error, receive_count: receiveCount(record), transient: true });
    throw error;
  } finally {
    logger.removeKeys(Object.keys(keys));
  }
}

/** The message a record carries (fetched from S3 and verified for a claim check), or null when it was poison. */
async function readMessage(record: SQSRecord, options: ProcessorCoreOptions): Promise<ChainEventMessage | null> {
  let message: ChainEventMessage;
  try {
    const body = decodeQueueMessageBody(record.body);
    if (body.kind === 'event') message = body.message;
    else if (!options.claimChecks)
      throw new Error('The message is a claim check, but this processor has no CLAIM_CHECK_BUCKET to read it from');
    else message = decodeChainEventMessage(await options.claimChecks.fetch(body.pointer));
    if (message.network !== options.network) {
      throw new MessageFormatError('$.network', `the message is for ${message.network}; this processor follows ${options.network}`);
    }
  } catch (error) {
    if (error instanceof OtherReleaseError) {
      // The deploy's window (or a processor older than its follower): no recovery, whose generation bumps would
      // make an old leader re-send more of the same until the pipeline halted; the new leader re-derives it all.
      options.logger.error(ProcessorLogEvent.otherReleaseMessage, { version: error.version, reason: error.message });
      options.metrics.count(ProcessorMetric.otherReleaseMessagesDropped);
      return null;
    }
    if (!(error instanceof MessageFormatError || error instanceof ClaimCheckIntegrityError)) throw error;
    options.metrics.count(ProcessorMetric.poisonMessages);
    options.logger.error(ProcessorLogEvent.poisonMessage, {
      reason: error.message,
      ...(error instanceof MessageFormatError ? { path: error.path } : {}),
      receive_count: receiveCount(record),
      ...bodyExcerpt(record),
    });
    await recover(
      { kind: 'poison', reason: error.message, message: { id: record.messageId, body: record.body, ...stampAttributes(record) } },
      options,
    );
    return null;
  }
  return message;
}

/** True when the message was applied and may have written business events. */
async function applyMessage(record: SQSRecord, message: ChainEventMessage, options: ProcessorCoreOptions): Promise<boolean> {
  const stamp = { id: record.messageId, generation: message.generation, fence: message.fence };
  try {
    const outcome = await options.engine.apply(message.event, {
      token: message.fence,
      generation: message.generation,
      steps: message.steps,
    });
    options.logger.debug(ProcessorLogEvent.messageApplied, {
      outcome: outcome.kind,
      ...(outcome.kind === 'unchanged' ? { reason: outcome.reason } : {}),
    });
    return mayHaveWrittenEvents(outcome);
  } catch (error) {
    if (isDivergence(error)) {
      await recover({ kind: 'divergence', reason: error.message, message: stamp }, options);
      return false;
    }
    // The decoder refuses what the tables cannot hold; should a value still be refused by PostgreSQL (a data
    // exception, SQLSTATE class 22), retrying the same message can never help.
    if (isDataException(error)) {
      options.metrics.count(ProcessorMetric.poisonMessages);
      options.logger.error(ProcessorLogEvent.poisonMessage, {
        reason: error.message,
        receive_count: receiveCount(record),
        ...bodyExcerpt(record),
      });
      await recover(
        { kind: 'poison', reason: `PostgreSQL refused a value: ${error.message}`, message: { ...stamp, body: record.body } },
        options,
      );
      return false;
    }
    throw error;
  }
}

function bodyExcerpt(record: SQSRecord): LogFields {
  return { body_bytes: Buffer.byteLength(record.body, 'utf8'), body_start: record.body.slice(0, 200) };
}

/** One recovery, reported; the record is then acknowledged. A failure to record it is transient (retried). */
async function recover(cause: RecoveryCause, { recovery, logger, metrics, actor }: ProcessorCoreOptions): Promise<void> {
  const outcome = await recovery.recover(cause, actor ?? 'processor');
  const fields = { kind: cause.kind, reason: cause.reason };
  switch (outcome.action) {
    case 'none':
      logger.warn(LogEvent.staleEventDropped, { ...fields, why: outcome.why });
      metrics.count(Metric.staleEventsDropped);
      return;
    case 'follow_again':
      logger.error(LogEvent.pipelineRecovered, {
        ...fields,
        action: 'leader follows again from the database',
        generation_to: outcome.generation,
        streak: outcome.streak,
      });
      metrics.count(Metric.pipelineRecoveries, 1, { [MetricDimension.recoveryKind]: cause.kind });
      return;
    case 'halt':
      logger.critical(LogEvent.pipelineHalted, { ...fields, halted_reason: outcome.reason, runbook: 'README: Pipeline halted' });
      metrics.count(Metric.pipelineRecoveries, 1, { [MetricDimension.recoveryKind]: cause.kind });
      metrics.gauge(Metric.pipelineHalted, 1);
      return;
  }
}

/** Hides the failed records for the retry schedule's delay; returns the delay of the first. */
async function postponeFailed(
  event: SQSEvent,
  response: SQSBatchResponse,
  { retries, clock }: ProcessorCoreOptions,
): Promise<number | null> {
  if (!retries) return null;
  const failed = new Set(response.batchItemFailures.map((item) => item.itemIdentifier));
  const now = clock.now().getTime();
  const postponed = event.Records.filter((record) => failed.has(record.messageId)).map((record) => {
    const firstReceived = Number(record.attributes.ApproximateFirstReceiveTimestamp);
    const failingForSeconds = Number.isFinite(firstReceived) && firstReceived > 0 ? (now - firstReceived) / 1000 : 0;
    return {
      messageId: record.messageId,
      receiptHandle: record.receiptHandle,
      eventSourceArn: record.eventSourceARN,
      delaySeconds: retryDelaySeconds(failingForSeconds),
    };
  });
  await retries.postpone(postponed);
  return postponed[0]?.delaySeconds ?? null;
}

/** Every log line about this message, the engine's included, can be found by block id or height. */
function correlationKeys({ event, fence, generation, steps }: ChainEventMessage): LogFields {
  const session = { fence, generation, steps: `${steps.first}..${steps.last}` };
  if (event.type === 'rollForward') {
    const first = event.blocks[0]!;
    const last = event.blocks[event.blocks.length - 1]!;
    return {
      block_id: last.hash,
      block_height: last.height,
      ...(event.blocks.length > 1 ? { first_block_id: first.hash, first_block_height: first.height } : {}),
      ...session,
    };
  }
  return { block_id: event.point === 'origin' ? 'origin' : event.point.hash, rollback: true, ...session };
}

/** The session a message claims in its attributes (a claim check's pointer carries none in its body). */
function stampAttributes(record: SQSRecord): { generation?: bigint; fence?: bigint } {
  const read = (name: string) => {
    const value = record.messageAttributes[name]?.stringValue;
    return value !== undefined && /^\d{1,19}$/.test(value) ? BigInt(value) : undefined;
  };
  const generation = read('generation');
  const fence = read('fence');
  return generation !== undefined && fence !== undefined ? { generation, fence } : {};
}

function receiveCount(record: SQSRecord): number {
  return Number(record.attributes.ApproximateReceiveCount);
}

function isDataException(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code.startsWith('22');
}
