/**
 * The Lambda SQS event source mapping over the FIFO queue model, for the chaos harness: it receives up to ten
 * messages of the group, invokes the processor with them, deletes the records the response does not list as
 * failed, and leaves the failed ones in flight (their visibility is the processor's business, or the queue's
 * timeout). An invocation that crashes returns nothing: its messages reappear when their visibility timeout ends,
 * and the next invocation runs on a new instance (cold: new pool, new engine, new filters).
 */
import { SQSClient, type ChangeMessageVisibilityBatchCommandInput } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Message } from '@aws-sdk/client-sqs';
import type { FifoQueueModel } from './fifo-queue-model.js';

export const QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:chaos-chain-events.fifo';

/** One processor instance's handler; rejects with ProcessorCrash when the instance died mid-batch. */
export type Invoke = (event: SQSEvent) => Promise<SQSBatchResponse>;

/** The instance died: no response, nothing after this point happened. */
export class ProcessorCrash extends Error {
  override readonly name = 'ProcessorCrash';
}

export interface EventSourceStatistics {
  invocations: number;
  records: number;
  failedRecords: number;
  crashes: number;
  instances: number;
}

export class LambdaEventSource {
  private running = false;
  private paused = false;
  private loop: Promise<void> | undefined;
  private invoke: Invoke | undefined;
  readonly statistics: EventSourceStatistics = { invocations: 0, records: 0, failedRecords: 0, crashes: 0, instances: 0 };
  /** The last error that was neither a crash nor expected: the harness reports it. */
  unexpected: unknown;

  constructor(
    private readonly queue: FifoQueueModel,
    /** Builds a new processor instance (a cold start). */
    private readonly newInstance: () => Invoke,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.poll();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Stops polling (the processor falls behind) until resume(). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  private async poll(): Promise<void> {
    while (this.running) {
      const messages = this.paused ? [] : this.queue.receive(10);
      if (messages.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        continue;
      }
      await this.deliver(messages);
    }
  }

  private async deliver(messages: Message[]): Promise<void> {
    this.invoke ??= this.coldStart();
    this.statistics.invocations++;
    this.statistics.records += messages.length;
    let response: SQSBatchResponse;
    try {
      response = await this.invoke(toSqsEvent(messages));
    } catch (error) {
      if (!(error instanceof ProcessorCrash)) this.unexpected = error;
      this.statistics.crashes++;
      this.invoke = undefined;
      return;
    }
    const failed = new Set(response.batchItemFailures.map((item) => item.itemIdentifier));
    this.statistics.failedRecords += failed.size;
    for (const message of messages) if (!failed.has(message.MessageId!)) this.queue.delete(message.ReceiptHandle!);
  }

  private coldStart(): Invoke {
    this.statistics.instances++;
    return this.newInstance();
  }
}

/**
 * An SQS client for the processor's ChangeMessageVisibilityBatch, answered by the model (the receipt handles are
 * the model's): the production adapter builds the request, the model plays SQS.
 */
export function modelVisibilityClient(queue: FifoQueueModel): SQSClient {
  const client = new SQSClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    credentials: { accessKeyId: 'chaos', secretAccessKey: 'chaos' },
  });
  client.middlewareStack.add(
    (_next, context) => async (args) => {
      if (context.commandName !== 'ChangeMessageVisibilityBatchCommand')
        throw new Error(`the queue model does not answer ${context.commandName}`);
      const { Entries = [] } = args.input as ChangeMessageVisibilityBatchCommandInput;
      const Successful: { Id: string }[] = [];
      const Failed: { Id: string; Code: string; SenderFault: boolean; Message: string }[] = [];
      for (const entry of Entries) {
        if (queue.changeVisibility(entry.ReceiptHandle!, entry.VisibilityTimeout ?? 0)) Successful.push({ Id: entry.Id! });
        else
          Failed.push({
            Id: entry.Id!,
            Code: 'ReceiptHandleIsInvalid',
            SenderFault: true,
            Message: 'not in flight under this receipt handle',
          });
      }
      return { output: { Successful, Failed, $metadata: {} }, response: {} } as never;
    },
    { step: 'initialize', name: 'queueModel' },
  );
  return client;
}

function toSqsEvent(messages: readonly Message[]): SQSEvent {
  return {
    Records: messages.map(
      (message): SQSRecord => ({
        messageId: message.MessageId!,
        receiptHandle: message.ReceiptHandle!,
        body: message.Body!,
        attributes: {
          ApproximateReceiveCount: message.Attributes!.ApproximateReceiveCount!,
          SentTimestamp: message.Attributes!.SentTimestamp!,
          SenderId: message.Attributes!.SenderId!,
          ApproximateFirstReceiveTimestamp: message.Attributes!.ApproximateFirstReceiveTimestamp!,
          MessageGroupId: message.Attributes!.MessageGroupId!,
          MessageDeduplicationId: message.Attributes!.MessageDeduplicationId!,
          SequenceNumber: message.Attributes!.SequenceNumber!,
        },
        messageAttributes: Object.fromEntries(
          Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
            name,
            { dataType: value.DataType!, stringValue: value.StringValue },
          ]),
        ),
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: QUEUE_ARN,
        awsRegion: 'us-east-1',
      }),
    ),
  };
}
