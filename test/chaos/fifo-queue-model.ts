/**
 * The chain-event queue as SQS FIFO behaves, for the chaos harness: local-aws-sqs, wrapped where it falls short.
 *
 * Senders use local-aws-sqs for real (the SDK's SendMessageBatch over HTTP, SQS's validation of sizes and
 * attributes, message ids). A pump moves what local-aws-sqs accepted into this model, in order, and the consumer
 * (the Lambda event source) is served from the model, because local-aws-sqs differs from SQS where it matters here:
 *
 * - it hands out later messages of a group while an earlier one is in flight; SQS FIFO does not (ordering);
 * - it counts a ChangeMessageVisibility as a receive; SQS counts receives only (the DLQ's maxReceiveCount);
 * - it deduplicates only against messages still in the queue; SQS remembers a deduplication id for 5 minutes;
 * - it measures visibility in real seconds. Here the consumer's clock (visibility timeouts, first-receive
 *   timestamps, the age of messages) runs `speed` times faster than real time, so that an outage that lasts half
 *   an hour for the queue passes in under two real seconds. The deduplication window stays on the senders' clock
 *   (real time), since the senders' retries run in real time.
 *
 * As in SQS, a message is moved to the dead-letter queue when it is about to be received once more than
 * maxReceiveCount allows, and a consumer needs the receipt handle of its latest receive to delete it or change its
 * visibility.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';

export interface FifoQueueModelOptions {
  /** The local-aws-sqs client and queue the senders send to. */
  sqs: SQSClient;
  queueUrl: string;
  /** Seconds a received message stays hidden (the queue's visibility timeout). */
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
  /** How much faster than real time the consumer's clock runs. */
  speed: number;
  /** Real milliseconds a deduplication id is remembered. Default 5 minutes. */
  deduplicationWindowMs?: number;
}

interface QueuedMessage {
  messageId: string;
  body: string;
  attributes: Message['MessageAttributes'];
  deduplicationId: string;
  groupId: string;
  sequenceNumber: number;
  sentAt: number;
  receiveCount: number;
  firstReceivedAt: number | null;
  /** Consumer clock (ms) before which it stays hidden; 0 when never received. */
  visibleAt: number;
  receiptHandle: string | null;
}

export interface QueueStatistics {
  sent: number;
  deduplicated: number;
  received: number;
  deleted: number;
  duplicatedByFault: number;
  corruptedByFault: number;
  lostByFault: number;
  movedToDeadLetter: number;
}

export class FifoQueueModel {
  private readonly messages: QueuedMessage[] = [];
  private readonly deadLetters: QueuedMessage[] = [];
  /** Deduplication id → real time it was first accepted. */
  private readonly seenDeduplicationIds = new Map<string, number>();
  private readonly startedAt = performance.now();
  private readonly epoch = Date.now();
  private pumping: Promise<void> | undefined;
  private stopped = false;
  private nextSequence = 1;
  private nextHandle = 1;
  /** The last messages deleted, for the duplicate-delivery fault. */
  private readonly recentlyDeleted: QueuedMessage[] = [];
  /** A fault waiting for the next message to arrive; returns whether the message is kept. */
  private nextArrival: ((message: QueuedMessage) => boolean) | undefined;
  readonly statistics: QueueStatistics = {
    sent: 0,
    deduplicated: 0,
    received: 0,
    deleted: 0,
    duplicatedByFault: 0,
    corruptedByFault: 0,
    lostByFault: 0,
    movedToDeadLetter: 0,
  };

  constructor(private readonly options: FifoQueueModelOptions) {}

  /** The consumer's clock: what SQS would call now. */
  now(): number {
    return this.epoch + (performance.now() - this.startedAt) * this.options.speed;
  }

  /** Real milliseconds for a span of the consumer's clock. */
  realMs(consumerMs: number): number {
    return consumerMs / this.options.speed;
  }

  start(): void {
    this.pumping ??= this.pump();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.pumping;
  }

  /** Up to `max` messages of the head group, in order; none while a message of the group is in flight. */
  receive(max: number): Message[] {
    const now = this.now();
    const received: Message[] = [];
    // One message group per chain: the queue's head decides.
    if (this.messages.some((message) => message.visibleAt > now)) return received;
    while (received.length < max && this.messages.length > 0) {
      const message = this.messages[received.length];
      if (!message) break;
      if (message.receiveCount >= this.options.maxReceiveCount) {
        this.messages.splice(received.length, 1);
        this.deadLetters.push(message);
        this.statistics.movedToDeadLetter++;
        continue;
      }
      message.receiveCount++;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + this.options.visibilityTimeoutSeconds * 1000;
      message.receiptHandle = `handle-${this.nextHandle++}`;
      this.statistics.received++;
      received.push(toSqsMessage(message));
    }
    return received;
  }

  delete(receiptHandle: string): boolean {
    const index = this.messages.findIndex((message) => message.receiptHandle === receiptHandle && message.visibleAt > this.now());
    if (index === -1) return false;
    const [deleted] = this.messages.splice(index, 1);
    this.statistics.deleted++;
    this.recentlyDeleted.push(deleted!);
    if (this.recentlyDeleted.length > 50) this.recentlyDeleted.shift();
    return true;
  }

  /** ChangeMessageVisibility: only for a message in flight under this (its latest) receipt handle. */
  changeVisibility(receiptHandle: string, seconds: number): boolean {
    const message = this.messages.find((candidate) => candidate.receiptHandle === receiptHandle && candidate.visibleAt > this.now());
    if (!message) return false;
    message.visibleAt = this.now() + seconds * 1000;
    return true;
  }

  /**
   * A message delivered again, as when it was sent once more after the deduplication window: a copy of one of the
   * last messages consumed goes to the tail. `pick` chooses among them (0 ≤ pick < 1).
   */
  duplicateRecent(pick: number): string | null {
    const original = this.recentlyDeleted[Math.floor(pick * this.recentlyDeleted.length)];
    if (!original) return null;
    this.messages.push({
      ...original,
      messageId: `${original.messageId}-again-${this.nextSequence}`,
      sequenceNumber: this.nextSequence++,
      receiveCount: 0,
      firstReceivedAt: null,
      visibleAt: 0,
      receiptHandle: null,
    });
    this.statistics.duplicatedByFault++;
    return original.messageId;
  }

  /**
   * The next message to arrive is damaged in the queue: the processor sees a poison message (`pick` < 0.5: cut in
   * half, not JSON any more; otherwise a version no release writes).
   */
  corruptNext(pick: number): void {
    this.nextArrival = (message) => {
      message.body =
        pick < 0.5 ? message.body.slice(0, Math.floor(message.body.length / 2)) : message.body.replace('"version":2', '"version":7');
      this.statistics.corruptedByFault++;
      return true;
    };
  }

  /** The next message to arrive vanishes (as when its retention ran out): the processor sees steps missing. */
  loseNext(): void {
    this.nextArrival = () => {
      this.statistics.lostByFault++;
      return false;
    };
  }

  /** Messages waiting or in flight. */
  get depth(): number {
    return this.messages.length;
  }

  get deadLetterCount(): number {
    return this.deadLetters.length;
  }

  deadLetterBodies(): string[] {
    return this.deadLetters.map((message) => message.body);
  }

  /** True when local-aws-sqs holds nothing more for the pump and the model is empty. */
  async isEmpty(): Promise<boolean> {
    if (this.messages.length > 0) return false;
    await this.pumpOnce();
    return this.messages.length === 0;
  }

  private async pump(): Promise<void> {
    while (!this.stopped) {
      const moved = await this.pumpOnce().catch(() => 0);
      if (moved === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Moves what local-aws-sqs accepted into the model, in order; returns how many it moved. */
  private async pumpOnce(): Promise<number> {
    const { Messages = [] } = await this.options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.options.queueUrl,
        MaxNumberOfMessages: 10,
        // The model owns visibility from here; local-aws-sqs only hands each message over once.
        VisibilityTimeout: 43_200,
        WaitTimeSeconds: 0,
        AttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return 0;
    const realNow = performance.now();
    for (const message of Messages) {
      const deduplicationId = message.Attributes?.MessageDeduplicationId ?? '';
      const firstSeen = this.seenDeduplicationIds.get(deduplicationId);
      if (firstSeen !== undefined && realNow - firstSeen < (this.options.deduplicationWindowMs ?? 300_000)) {
        this.statistics.deduplicated++;
        continue;
      }
      this.seenDeduplicationIds.set(deduplicationId, realNow);
      this.statistics.sent++;
      const arrived: QueuedMessage = {
        messageId: message.MessageId!,
        body: message.Body!,
        attributes: message.MessageAttributes,
        deduplicationId,
        groupId: message.Attributes?.MessageGroupId ?? '',
        sequenceNumber: this.nextSequence++,
        sentAt: this.now(),
        receiveCount: 0,
        firstReceivedAt: null,
        visibleAt: 0,
        receiptHandle: null,
      };
      const fault = this.nextArrival;
      this.nextArrival = undefined;
      if (!fault || fault(arrived)) this.messages.push(arrived);
    }
    await this.options.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: this.options.queueUrl,
        Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
      }),
    );
    return Messages.length;
  }
}

function toSqsMessage(message: QueuedMessage): Message {
  return {
    MessageId: message.messageId,
    ReceiptHandle: message.receiptHandle!,
    Body: message.body,
    Attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      ApproximateFirstReceiveTimestamp: String(Math.round(message.firstReceivedAt!)),
      SentTimestamp: String(Math.round(message.sentAt)),
      SenderId: 'follower',
      MessageGroupId: message.groupId,
      MessageDeduplicationId: message.deduplicationId,
      SequenceNumber: String(message.sequenceNumber),
    },
    MessageAttributes: message.attributes,
  };
}
