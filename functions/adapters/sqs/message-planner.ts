/**
 * Turns chain events into queue messages: consecutive roll-forward blocks share a message while it stays within
 * the size and block limits (catch-up sends few large messages, the tip one block at a time); a roll-backward is
 * always a message of its own. Pure: nothing is sent here.
 */
import type { ChainBlock, ChainEvent, Tip } from '../../domain/chain.js';
import {
  assembleRollForwardMessage,
  CHAIN_EVENT_MESSAGE_VERSION,
  deduplicationId,
  encodeBlock,
  encodeChainEventMessage,
  type MessageEnvelope,
} from '../../domain/chain-event-message.js';
import type { StepRange } from '../../domain/ports.js';

/** What every message of one emission carries: who emits, and the step its first event holds. */
export type EmissionEnvelope = Omit<MessageEnvelope, 'steps'> & { firstStep: bigint };

/** SQS's limit for one message, body and attributes together, and for the sum of a SendMessageBatch. */
export const MAX_SQS_MESSAGE_BYTES = 1_048_576;
/** Room left for the message attributes (about 120 bytes in practice; the rest is a safety margin). */
export const ATTRIBUTE_ALLOWANCE_BYTES = 1_024;
export const MAX_INLINE_BODY_BYTES = MAX_SQS_MESSAGE_BYTES - ATTRIBUTE_ALLOWANCE_BYTES;
/**
 * One message is one engine transaction: a bound on the blocks keeps a message's processing time well inside
 * the processor's timeout even when the blocks are tiny (early Byron) and thousands would fit in 1 MiB.
 */
export const DEFAULT_MAX_BLOCKS_PER_MESSAGE = 500;

export interface PlanLimits {
  maxBodyBytes: number;
  maxBlocksPerMessage: number;
}

export interface PlannedMessage {
  type: ChainEvent['type'];
  body: string;
  bodyBytes: number;
  deduplicationId: string;
  /** Over maxBodyBytes: only a single block can be, and it must travel by claim check. */
  oversized: boolean;
  blocks: number;
  /** For logs: `blocks 100..150` or `rollback to <point>`. */
  summary: string;
  steps: StepRange;
}

interface PendingRollForward {
  firstStep: bigint;
  blocks: ChainBlock[];
  encoded: string[];
  encodedBytes: number;
  tip: Tip;
}

export function planMessages(events: readonly ChainEvent[], emission: EmissionEnvelope, limits: PlanLimits): PlannedMessage[] {
  const { firstStep, ...session } = emission;
  const planned: PlannedMessage[] = [];
  let pending: PendingRollForward | undefined;
  let nextStep = firstStep;

  const flush = () => {
    if (!pending) return;
    const { blocks, encoded, tip } = pending;
    const steps = { first: pending.firstStep, last: pending.firstStep + BigInt(blocks.length) - 1n };
    const envelope = { ...session, steps };
    const body = assembleRollForwardMessage(envelope, tip, encoded);
    const message = { version: CHAIN_EVENT_MESSAGE_VERSION, ...envelope, event: { type: 'rollForward', blocks, tip } } as const;
    // The blocks were measured as they were encoded: only the envelope and the commas between them are left
    // (measuring the whole ~1 MiB body again cost a follower about a fifth of its time per block).
    const bodyBytes = envelopeBytes(envelope, tip) + pending.encodedBytes + (blocks.length - 1);
    planned.push({
      type: 'rollForward',
      body,
      bodyBytes,
      deduplicationId: deduplicationId(message),
      oversized: bodyBytes > limits.maxBodyBytes,
      blocks: blocks.length,
      summary: `blocks ${blocks[0]!.height}..${blocks[blocks.length - 1]!.height}`,
      steps,
    });
    pending = undefined;
  };

  for (const event of events) {
    if (event.type === 'rollBackward') {
      flush();
      const steps = { first: nextStep, last: nextStep };
      nextStep++;
      const message = { version: CHAIN_EVENT_MESSAGE_VERSION, ...session, steps, event } as const;
      const body = encodeChainEventMessage(message);
      const bodyBytes = Buffer.byteLength(body, 'utf8');
      planned.push({
        type: 'rollBackward',
        body,
        bodyBytes,
        deduplicationId: deduplicationId(message),
        oversized: bodyBytes > limits.maxBodyBytes,
        blocks: 0,
        summary: `rollback to ${event.point === 'origin' ? 'origin' : `${event.point.slot}.${event.point.hash}`}`,
        steps,
      });
      continue;
    }
    for (const block of event.blocks) {
      const encoded = encodeBlock(block);
      const encodedBytes = Buffer.byteLength(encoded, 'utf8');
      if (pending) {
        const separators = pending.encoded.length; // one comma before each block after the first
        const steps = { first: pending.firstStep, last: nextStep };
        const wouldBe = envelopeBytes({ ...session, steps }, event.tip) + pending.encodedBytes + separators + encodedBytes;
        if (wouldBe > limits.maxBodyBytes || pending.blocks.length >= limits.maxBlocksPerMessage) flush();
      }
      pending ??= { firstStep: nextStep, blocks: [], encoded: [], encodedBytes: 0, tip: event.tip };
      nextStep++;
      pending.blocks.push(block);
      pending.encoded.push(encoded);
      pending.encodedBytes += encodedBytes;
      pending.tip = event.tip;
    }
  }
  flush();
  return planned;
}

/** The bytes of a roll-forward message without its blocks. */
function envelopeBytes(envelope: MessageEnvelope, tip: Tip): number {
  return Buffer.byteLength(assembleRollForwardMessage(envelope, tip, []), 'utf8');
}
