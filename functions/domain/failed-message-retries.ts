/**
 * The processor's port for postponing failed chain events: the SQS adapter implements it
 * (functions/adapters/sqs/failed-message-retries.ts); the delays come from retry-schedule.ts.
 */

/** A failed message to hide from the queue for a while (SQS ChangeMessageVisibility). */
export interface PostponedMessage {
  messageId: string;
  receiptHandle: string;
  /** The queue it came from, as the event source names it. */
  eventSourceArn: string;
  delaySeconds: number;
}

export interface FailedMessageRetries {
  /** Hides each message for its delay; never rejects (a message it could not postpone keeps the queue's timeout). */
  postpone(messages: readonly PostponedMessage[]): Promise<void>;
}
