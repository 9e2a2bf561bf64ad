/**
 * Postpones failed chain events on SQS: ChangeMessageVisibilityBatch on the receipt handles the event source
 * handed over, so a message that failed for a transient reason reappears after the retry schedule's delay instead
 * of the queue's visibility timeout (functions/domain/retry-schedule.ts says why).
 */
import { ChangeMessageVisibilityBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '../../domain/ports.js';
import type { FailedMessageRetries, PostponedMessage } from '../../domain/failed-message-retries.js';
import { RetriesLogEvent } from '../../domain/observability.js';

const MAX_BATCH_ENTRIES = 10;

export interface SqsFailedMessageRetriesOptions {
  sqs: Pick<SQSClient, 'send'>;
  logger: Logger;
  /** The queue's URL; when absent it is derived from the event source ARN (standard AWS partition). */
  queueUrl?: string;
}

export class SqsFailedMessageRetries implements FailedMessageRetries {
  constructor(private readonly options: SqsFailedMessageRetriesOptions) {}

  async postpone(messages: readonly PostponedMessage[]): Promise<void> {
    for (let offset = 0; offset < messages.length; offset += MAX_BATCH_ENTRIES) {
      const chunk = messages.slice(offset, offset + MAX_BATCH_ENTRIES);
      try {
        const { Failed = [] } = await this.options.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.options.queueUrl ?? queueUrlFromArn(chunk[0]!.eventSourceArn),
            Entries: chunk.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.receiptHandle,
              VisibilityTimeout: message.delaySeconds,
            })),
          }),
        );
        for (const failure of Failed) {
          const message = chunk[Number(failure.Id)];
          this.options.logger.warn(RetriesLogEvent.postponeFailed, {
            message_id: message?.messageId,
            error: `${failure.Code}: ${failure.Message ?? ''}`,
          });
        }
      } catch (error) {
        // The messages then reappear after the queue's own visibility timeout: later or sooner, never lost.
        this.options.logger.warn(RetriesLogEvent.postponeFailed, {
          messages: chunk.length,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }
}

/** arn:aws:sqs:<region>:<account>:<name> → https://sqs.<region>.amazonaws.com/<account>/<name> */
export function queueUrlFromArn(arn: string): string {
  const match = /^arn:aws:sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_.-]+)$/.exec(arn);
  if (!match) throw new Error(`not an SQS queue ARN of the aws partition: ${arn}`);
  return `https://sqs.${match[1]}.amazonaws.com/${match[2]}/${match[3]}`;
}
