/**
 * The processor's work, independent of the Lambda runtime: an SQS FIFO batch is applied to the payment engine
 * one record at a time, in order. At the first failure the remaining records are reported failed unprocessed
 * (Powertools' FIFO processor), so SQS hands them out again in the same order after the failed one.
 *
 * - A stale message (deposed leader, older generation) is applied by the engine as "unchanged", which it logs
 *   as stale_event_dropped: the record succeeds and SQS deletes it.
 * - A poison message (malformed, foreign network, claim check that fails verification) is logged at error with
 *   its message id and the reason, and fails: after the queue's maxReceiveCount it moves to the DLQ. It is
 *   never acknowledged, so nothing is silently lost.
 * - Any other failure (database down, a block that does not extend the chain) fails the record the same way.
 */
import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { decodeChainEventMessage, decodeQueueMessageBody, MessageFormatError, type ChainEventMessage } from '../domain/chain-event-message.js';
import type { Network } from '../domain/network.js';
import type { PaymentEngine } from '../domain/payment-engine.js';
import type { LogFields, Logger, Metrics } from '../domain/ports.js';
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
  logger: CorrelatingLogger;
  metrics: Metrics;
}

export const ProcessorLogEvent = {
  poisonMessage: 'poison_message',
  messageFailed: 'message_failed',
  messageApplied: 'message_applied',
  batchProcessed: 'batch_processed',
} as const;

export const ProcessorMetric = {
  poisonMessages: 'poison_messages',
  messagesFailed: 'messages_failed',
} as const;

/** Applies the batch in order; the response lists the records SQS must deliver again. */
export async function processChainEventBatch(event: SQSEvent, options: ProcessorCoreOptions, context?: Context): Promise<SQSBatchResponse> {
  // A fresh processor per batch: its state (records, failures) belongs to one invocation.
  const processor = new SqsFifoPartialProcessorAsync();
  const response = await processPartialResponse(event, (record: SQSRecord) => processRecord(record, options), processor, {
    ...(context ? { context } : {}),
    // A batch whose first record fails is all failures: report it as such rather than throwing, so the
    // invocation ends normally and the same records come back in the same order.
    throwOnFullBatchFailure: false,
  });
  const failed = response.batchItemFailures.length;
  if (failed > 0) {
    options.logger.warn(ProcessorLogEvent.batchProcessed, {
      records: event.Records.length,
      applied: event.Records.length - failed,
      returned_to_queue: failed,
      first_failed_message_id: response.batchItemFailures[0]!.itemIdentifier,
    });
  } else {
    options.logger.debug(ProcessorLogEvent.batchProcessed, { records: event.Records.length, applied: event.Records.length, returned_to_queue: 0 });
  }
  return response;
}

async function processRecord(record: SQSRecord, options: ProcessorCoreOptions): Promise<void> {
  const { logger } = options;
  const keys: LogFields = { message_id: record.messageId };
  logger.appendKeys(keys);
  try {
    const message = await readRecord(record, options);
    const correlation = correlationKeys(message);
    Object.assign(keys, correlation);
    logger.appendKeys(correlation);
    if (message.network !== options.network) {
      throw new MessageFormatError('$.network', `the message is for ${message.network}; this processor follows ${options.network}`);
    }
    const outcome = await options.engine.apply(message.event, { token: message.fence, generation: message.generation });
    logger.debug(ProcessorLogEvent.messageApplied, { outcome: outcome.kind, ...(outcome.kind === 'unchanged' ? { reason: outcome.reason } : {}) });
  } catch (error) {
    reportFailure(error, record, options);
    throw error;
  } finally {
    logger.removeKeys(Object.keys(keys));
  }
}

/** The message a record carries, fetched from S3 and verified when the record is a claim check. */
async function readRecord(record: SQSRecord, { claimChecks }: ProcessorCoreOptions): Promise<ChainEventMessage> {
  const body = decodeQueueMessageBody(record.body);
  if (body.kind === 'event') return body.message;
  if (!claimChecks) throw new Error('The message is a claim check, but this processor has no CLAIM_CHECK_BUCKET to read it from');
  return decodeChainEventMessage(await claimChecks.fetch(body.pointer));
}

/** Every log line about this message, the engine's included, can be found by block id or height. */
function correlationKeys({ event, fence, generation }: ChainEventMessage): LogFields {
  if (event.type === 'rollForward') {
    const first = event.blocks[0]!;
    const last = event.blocks[event.blocks.length - 1]!;
    return {
      block_id: last.hash,
      block_height: last.height,
      ...(event.blocks.length > 1 ? { first_block_id: first.hash, first_block_height: first.height } : {}),
      fence,
      generation,
    };
  }
  return { block_id: event.point === 'origin' ? 'origin' : event.point.hash, rollback: true, fence, generation };
}

function reportFailure(error: unknown, record: SQSRecord, { logger, metrics }: ProcessorCoreOptions): void {
  const receiveCount = Number(record.attributes.ApproximateReceiveCount);
  metrics.count(ProcessorMetric.messagesFailed);
  if (error instanceof MessageFormatError || error instanceof ClaimCheckIntegrityError) {
    metrics.count(ProcessorMetric.poisonMessages);
    logger.error(ProcessorLogEvent.poisonMessage, {
      reason: error.message,
      ...(error instanceof MessageFormatError ? { path: error.path } : {}),
      receive_count: receiveCount,
      body_bytes: Buffer.byteLength(record.body, 'utf8'),
      body_start: record.body.slice(0, 200),
    });
    return;
  }
  logger.error(ProcessorLogEvent.messageFailed, { error, receive_count: receiveCount });
}
