import type { SQSRecord } from 'aws-lambda';

/** A record as the Lambda SQS event source hands it to the processor. */
export function sqsRecord(
  messageId: string,
  body: string,
  { receiveCount = 1, firstReceivedAt = 0 }: { receiveCount?: number; firstReceivedAt?: number } = {},
): SQSRecord {
  return {
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '0',
      SenderId: 'follower',
      ApproximateFirstReceiveTimestamp: String(firstReceivedAt),
      MessageGroupId: 'mainnet',
      MessageDeduplicationId: messageId,
      SequenceNumber: '1',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:chain-events.fifo',
    awsRegion: 'us-east-1',
  };
}
