/**
 * The follower's emitter port (domain/chain-event-emitter.ts) on SQS FIFO: chain events become versioned
 * messages in one message group per chain, stamped with the leader's fencing token and the sync generation.
 * emit() resolves only once SQS accepted every message, so the follower advances its cursor only over what the
 * queue holds: no gap is possible. Aborting (the leader's term ended) stops retries at once and rejects.
 */
import type { MessageAttributeValue, SQSClient } from '@aws-sdk/client-sqs';
import type { ChainEvent } from '../../domain/chain.js';
import { CHAIN_EVENT_MESSAGE_VERSION, encodeClaimCheckPointer } from '../../domain/chain-event-message.js';
import type { Network } from '../../domain/network.js';
import type { Logger, Metrics } from '../../domain/ports.js';
import type { ChainEventEmitter, EmissionStamp, EmitOptions, SessionStamp } from '../../domain/chain-event-emitter.js';
import type { ClaimCheckWriter } from '../s3/claim-check-store.js';
import { FifoBatchSender, type OutgoingEntry, type RetryPolicy } from './fifo-batch-sender.js';
import {
  DEFAULT_MAX_BLOCKS_PER_MESSAGE,
  MAX_INLINE_BODY_BYTES,
  MAX_SQS_MESSAGE_BYTES,
  planMessages,
  type PlannedMessage,
} from './message-planner.js';
import { EmitterLogEvent, EmitterMetric } from '../../domain/observability.js';

export interface SqsChainEventEmitterOptions {
  sqs: Pick<SQSClient, 'send'>;
  queueUrl: string;
  network: Network;
  claimChecks: ClaimCheckWriter;
  logger: Logger;
  metrics?: Metrics;
  /** Defaults to the network: one ordered stream per chain. */
  messageGroupId?: string;
  maxBlocksPerMessage?: number;
  /** Bodies above this go to S3. Defaults to SQS's 1 MiB minus room for the attributes. */
  maxInlineBodyBytes?: number;
  retry?: RetryPolicy;
}

export class SqsChainEventEmitter implements ChainEventEmitter {
  private readonly sender: FifoBatchSender;
  private readonly maxBlocksPerMessage: number;
  private readonly maxInlineBodyBytes: number;

  constructor(private readonly options: SqsChainEventEmitterOptions) {
    this.maxBlocksPerMessage = options.maxBlocksPerMessage ?? DEFAULT_MAX_BLOCKS_PER_MESSAGE;
    this.maxInlineBodyBytes = options.maxInlineBodyBytes ?? MAX_INLINE_BODY_BYTES;
    if (this.maxInlineBodyBytes > MAX_INLINE_BODY_BYTES) throw new Error(`maxInlineBodyBytes cannot exceed ${MAX_INLINE_BODY_BYTES}`);
    this.sender = new FifoBatchSender({
      sqs: options.sqs,
      queueUrl: options.queueUrl,
      messageGroupId: options.messageGroupId ?? options.network,
      logger: options.logger,
      retry: options.retry,
    });
  }

  async emit(events: readonly ChainEvent[], stamp: EmissionStamp, { signal }: EmitOptions = {}): Promise<void> {
    if (events.length === 0) return;
    const planned = planMessages(
      events,
      { network: this.options.network, ...stamp },
      {
        maxBodyBytes: this.maxInlineBodyBytes,
        maxBlocksPerMessage: this.maxBlocksPerMessage,
      },
    );
    const entries: OutgoingEntry[] = [];
    // Oversized payloads are stored before anything is sent, so no queued pointer can lead to a missing object.
    for (const message of planned) {
      signal?.throwIfAborted();
      entries.push(await this.toEntry(message, stamp));
    }
    await this.sender.sendInOrder(entries, signal);

    this.options.metrics?.count(EmitterMetric.messagesSent, entries.length);
    this.options.logger.debug(EmitterLogEvent.eventsEmitted, {
      events: events.length,
      messages: entries.length,
      fence: stamp.fence,
      generation: stamp.generation,
      first: planned[0]!.summary,
      last: planned[planned.length - 1]!.summary,
    });
  }

  private async toEntry(message: PlannedMessage, stamp: EmissionStamp): Promise<OutgoingEntry> {
    let body = message.body;
    if (message.oversized) {
      const pointer = await this.options.claimChecks.put(message.body);
      body = encodeClaimCheckPointer(pointer);
      this.options.metrics?.count(EmitterMetric.claimChecksStored);
      this.options.logger.info(EmitterLogEvent.claimCheckStored, {
        message: message.summary,
        bytes: pointer.bytes,
        bucket: pointer.bucket,
        key: pointer.key,
      });
    }
    const attributes = messageAttributes(stamp, message);
    const sizeBytes = Buffer.byteLength(body, 'utf8') + attributeBytes(attributes);
    if (sizeBytes > MAX_SQS_MESSAGE_BYTES)
      throw new Error(`${message.summary} is ${sizeBytes} bytes with its attributes, over SQS's ${MAX_SQS_MESSAGE_BYTES}`);
    return { body, deduplicationId: message.deduplicationId, attributes, sizeBytes, summary: message.summary };
  }
}

/** Readable without opening the body: in the console, in a DLQ, or by a subscription filter. */
function messageAttributes(stamp: SessionStamp, { type, steps }: PlannedMessage): Record<string, MessageAttributeValue> {
  return {
    version: { DataType: 'Number', StringValue: String(CHAIN_EVENT_MESSAGE_VERSION) },
    fence: { DataType: 'Number', StringValue: stamp.fence.toString() },
    generation: { DataType: 'Number', StringValue: stamp.generation.toString() },
    steps: { DataType: 'String', StringValue: `${steps.first}..${steps.last}` },
    type: { DataType: 'String', StringValue: type },
  };
}

/** SQS counts each attribute's name, data type and value towards the message size. */
function attributeBytes(attributes: Record<string, MessageAttributeValue>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(attributes)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '');
  }
  return bytes;
}
