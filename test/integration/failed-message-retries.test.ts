/**
 * Postponing failed chain events on SQS (local-aws-sqs): the visibility change reaches the queue for the message
 * handed over, and what cannot be postponed is only logged (the queue's own timeout then applies).
 */
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueUrlFromArn, SqsFailedMessageRetries } from '../../functions/adapters/sqs/failed-message-retries.js';
import { RetriesLogEvent } from '../../functions/domain/observability.js';
import { startLocalSqs, type LocalSqs } from '../support/local-aws.js';
import { RecordingLogger } from '../support/recorders.js';

let sqs: LocalSqs;
beforeAll(async () => {
  sqs = await startLocalSqs();
});
afterAll(async () => sqs?.close());

async function receiveOne(queueUrl: string, visibilityTimeout: number) {
  const { Messages = [] } = await sqs.client.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: visibilityTimeout }),
  );
  return Messages[0];
}

describe('postponing failed messages', () => {
  it('changes the visibility of the failed message it was handed (the queue URL and receipt handle reach SQS)', async () => {
    const queueUrl = await sqs.createFifoQueue('postponed');
    await sqs.client.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'event', MessageGroupId: 'mainnet', MessageDeduplicationId: 'one' }),
    );
    // In flight for 10 minutes, as after a receive by the event source: hidden unless the postponement takes effect.
    const received = await receiveOne(queueUrl, 600);
    expect(received?.Body).toBe('event');
    expect(await receiveOne(queueUrl, 600)).toBeUndefined();
    const logger = new RecordingLogger();
    const retries = new SqsFailedMessageRetries({ sqs: sqs.client, logger, queueUrl });
    // A delay of 0 shows the change took effect without waiting for one.
    await retries.postpone([
      {
        messageId: received!.MessageId!,
        receiptHandle: received!.ReceiptHandle!,
        eventSourceArn: 'arn:aws:sqs:us-east-1:000000000000:postponed.fifo',
        delaySeconds: 0,
      },
    ]);
    expect(logger.events(RetriesLogEvent.postponeFailed)).toEqual([]);
    expect((await receiveOne(queueUrl, 600))?.MessageId).toBe(received!.MessageId);
  });

  it('logs, and does not throw, when SQS refuses the change (the queue timeout then applies)', async () => {
    const queueUrl = await sqs.createFifoQueue('refused');
    const logger = new RecordingLogger();
    const retries = new SqsFailedMessageRetries({ sqs: sqs.client, logger, queueUrl });
    await retries.postpone([
      {
        messageId: 'm-1',
        receiptHandle: 'not-a-receipt-handle',
        eventSourceArn: 'arn:aws:sqs:us-east-1:000000000000:refused.fifo',
        delaySeconds: 30,
      },
    ]);
    expect(logger.events(RetriesLogEvent.postponeFailed)).toHaveLength(1);
  });

  it('derives the queue URL from the event source ARN', () => {
    expect(queueUrlFromArn('arn:aws:sqs:eu-central-1:123456789012:payment-monitor-prod-chain-events.fifo')).toBe(
      'https://sqs.eu-central-1.amazonaws.com/123456789012/payment-monitor-prod-chain-events.fifo',
    );
    expect(() => queueUrlFromArn('arn:aws-cn:sqs:cn-north-1:123456789012:q.fifo')).toThrow(/not an SQS queue ARN of the aws partition/);
  });
});
