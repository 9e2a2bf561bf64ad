/**
 * Sends messages to one FIFO message group with SendMessageBatch, strictly in order, and resolves only when
 * every one was accepted.
 *
 * Order rule: when entry k of a batch fails, nothing from k on counts as sent; the next batch starts again at k.
 * Re-sending an entry that SQS did accept is safe because it carries the same MessageDeduplicationId, which SQS
 * drops within its 5-minute window. One exception: if SQS accepted an entry *after* a failed one, that copy now
 * sits in the queue ahead of the failed entry. It is re-sent with a fresh deduplication id so that a copy also
 * follows in the right place. The processor sees the early copy's steps come before the missing ones and makes
 * the leader follow again from the database (domain/pipeline-recovery.ts): a recovery, never a lost event.
 */
import { createHash } from 'node:crypto';
import {
  SendMessageBatchCommand,
  type BatchResultErrorEntry,
  type MessageAttributeValue,
  type SendMessageBatchCommandOutput,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Logger } from '../../domain/ports.js';
import { MAX_SQS_MESSAGE_BYTES } from './message-planner.js';
import { describeError, SenderLogEvent } from '../../domain/observability.js';

/** SendMessageBatch takes at most ten entries. */
export const MAX_BATCH_ENTRIES = 10;

export interface OutgoingEntry {
  body: string;
  deduplicationId: string;
  attributes: Record<string, MessageAttributeValue>;
  /** Body plus attributes, as SQS counts them against its limits. */
  sizeBytes: number;
  /** For logs. */
  summary: string;
}

export interface RetryPolicy {
  /** Consecutive attempts without progress before giving up. */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 8, initialDelayMs: 200, maxDelayMs: 5_000 };

export interface FifoBatchSenderOptions {
  sqs: Pick<SQSClient, 'send'>;
  queueUrl: string;
  messageGroupId: string;
  logger: Logger;
  retry?: RetryPolicy;
}

/** SQS did not accept every message; the caller must not treat any of them as sent. */
export class SqsEmissionError extends Error {
  override readonly name = 'SqsEmissionError';
  constructor(
    message: string,
    /** How many of the messages, from the first, SQS did accept. */
    readonly accepted: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class FifoBatchSender {
  private readonly retry: RetryPolicy;

  constructor(private readonly options: FifoBatchSenderOptions) {
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
  }

  async sendInOrder(entries: readonly OutgoingEntry[], signal?: AbortSignal): Promise<void> {
    const deduplicationIds = entries.map((entry) => entry.deduplicationId);
    let next = 0;
    let attemptsWithoutProgress = 0;
    while (next < entries.length) {
      signal?.throwIfAborted();
      const batch = takeBatch(entries, next);
      const outcome = await this.sendBatch(batch, next, deduplicationIds, signal);
      if (outcome.kind === 'fatal') {
        throw new SqsEmissionError(`SQS refused ${entries[next + outcome.index]!.summary}: ${outcome.reason}`, next, {
          cause: outcome.cause,
        });
      }
      for (const index of outcome.acceptedAfterFailure) {
        const position = next + index;
        this.options.logger.error(SenderLogEvent.acceptedOutOfOrder, {
          message: entries[position]!.summary,
          deduplication_id: deduplicationIds[position],
        });
        deduplicationIds[position] = freshDeduplicationId(deduplicationIds[position]!);
      }
      next += outcome.acceptedPrefix;
      // Progress made: whatever is left goes out in the next batch straight away. None: back off, try again.
      if (outcome.acceptedPrefix > 0) {
        attemptsWithoutProgress = 0;
        continue;
      }
      attemptsWithoutProgress++;
      if (attemptsWithoutProgress >= this.retry.maxAttempts) {
        throw new SqsEmissionError(
          `SQS did not accept ${entries[next]!.summary} after ${attemptsWithoutProgress} attempts (${next} of ${entries.length} messages accepted): ${outcome.reason}`,
          next,
          { cause: outcome.cause },
        );
      }
      const delayMs = Math.min(this.retry.maxDelayMs, this.retry.initialDelayMs * 2 ** (attemptsWithoutProgress - 1));
      this.options.logger.warn(SenderLogEvent.retry, {
        message: entries[next]!.summary,
        attempt: attemptsWithoutProgress,
        delay_ms: delayMs,
        reason: outcome.reason,
      });
      await sleep(delayMs, signal);
    }
  }

  private async sendBatch(
    batch: readonly OutgoingEntry[],
    offset: number,
    deduplicationIds: readonly string[],
    signal?: AbortSignal,
  ): Promise<BatchOutcome> {
    let output: SendMessageBatchCommandOutput;
    try {
      output = await this.options.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: batch.map((entry, index) => ({
            Id: String(index),
            MessageBody: entry.body,
            MessageGroupId: this.options.messageGroupId,
            MessageDeduplicationId: deduplicationIds[offset + index],
            MessageAttributes: entry.attributes,
          })),
        }),
        // An abort ends the wait for the answer; the request may still land (the fence makes that harmless).
        signal ? { abortSignal: signal } : {},
      );
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      // The SDK has already retried what it considers transient; an outage can outlast that, a refusal cannot.
      if (!isWorthRetrying(error)) return { kind: 'fatal', index: 0, reason: describeError(error), cause: error };
      return { kind: 'accepted', acceptedPrefix: 0, acceptedAfterFailure: [], reason: describeError(error), cause: error };
    }
    return readBatchResult(output, batch.length);
  }
}

/** SQS accepted the first acceptedPrefix entries (possibly none, possibly all), or refused for good. */
type BatchOutcome =
  | { kind: 'accepted'; acceptedPrefix: number; acceptedAfterFailure: number[]; reason: string; cause?: unknown }
  | { kind: 'fatal'; index: number; reason: string; cause?: unknown };

/** Which entries, by position, SQS accepted; an entry it reported neither way counts as not accepted. */
function readBatchResult(output: SendMessageBatchCommandOutput, size: number): BatchOutcome {
  const accepted = new Set((output.Successful ?? []).map((entry) => entry.Id));
  const failures = new Map<string | undefined, BatchResultErrorEntry>((output.Failed ?? []).map((entry) => [entry.Id, entry]));
  let acceptedPrefix = 0;
  while (acceptedPrefix < size && accepted.has(String(acceptedPrefix))) acceptedPrefix++;
  if (acceptedPrefix === size) return { kind: 'accepted', acceptedPrefix, acceptedAfterFailure: [], reason: 'all accepted' };

  const failure = failures.get(String(acceptedPrefix));
  // A sender fault (too large, invalid attribute…) fails the same way every time: retrying would only delay.
  if (failure?.SenderFault) return { kind: 'fatal', index: acceptedPrefix, reason: `${failure.Code}: ${failure.Message ?? ''}` };
  const acceptedAfterFailure: number[] = [];
  for (let index = acceptedPrefix + 1; index < size; index++) if (accepted.has(String(index))) acceptedAfterFailure.push(index);
  const reason = failure ? `${failure.Code}: ${failure.Message ?? ''}` : 'no result for the entry';
  return { kind: 'accepted', acceptedPrefix, acceptedAfterFailure, reason };
}

/** Up to ten entries from `start` whose sizes add up to at most SQS's batch limit (always at least one). */
function takeBatch(entries: readonly OutgoingEntry[], start: number): OutgoingEntry[] {
  const batch: OutgoingEntry[] = [];
  let bytes = 0;
  for (let index = start; index < entries.length && batch.length < MAX_BATCH_ENTRIES; index++) {
    const entry = entries[index]!;
    if (batch.length > 0 && bytes + entry.sizeBytes > MAX_SQS_MESSAGE_BYTES) break;
    batch.push(entry);
    bytes += entry.sizeBytes;
  }
  return batch;
}

function freshDeduplicationId(previous: string): string {
  return createHash('sha256').update(`${previous}\nresent in order after out-of-order acceptance`).digest('hex');
}

const THROTTLING_ERRORS = new Set(['RequestThrottled', 'ThrottlingException', 'KmsThrottled', 'Throttling']);

function isWorthRetrying(error: unknown): boolean {
  if (!(error instanceof Error)) return true;
  const { $fault, $retryable } = error as Error & { $fault?: 'client' | 'server'; $retryable?: unknown };
  if ($retryable || THROTTLING_ERRORS.has(error.name)) return true;
  // Client faults (no such queue, access denied, batch too long) are configuration or code errors; anything
  // else (server faults, timeouts, connection resets) may pass.
  return $fault !== 'client';
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
