/**
 * The webhook deliverer's FIFO queue: one message per endpoint with work, its message group the endpoint (so one
 * endpoint is served one at a time, endpoints in parallel). The deduplication id is the endpoint and the 10-second
 * window, so the scheduler and the publisher asking at once send one message.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { EndpointWake } from '../../domain/webhooks/delivery.js';

export interface WebhookQueueMessage {
  endpointId: string;
}

export function webhookQueue(sqs: Pick<SQSClient, 'send'>, queueUrl: string, now: () => number = Date.now) {
  return async (wakes: readonly EndpointWake[]): Promise<void> => {
    const minute = Math.floor(now() / 60_000);
    for (let start = 0; start < wakes.length; start += 10) {
      const chunk = wakes.slice(start, start + 10);
      const response = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map(({ endpointId, wake }, index) => ({
            Id: String(index),
            MessageBody: JSON.stringify({ endpointId } satisfies WebhookQueueMessage),
            MessageGroupId: endpointId,
            MessageDeduplicationId: `${endpointId}-${wake}-${minute}`,
          })),
        }),
      );
      const failed = response.Failed ?? [];
      if (failed.length > 0) throw new Error(`the webhook queue refused ${failed.length} messages: ${failed[0]!.Code ?? 'unknown'}`);
    }
  };
}

export function parseWebhookQueueMessage(body: string): WebhookQueueMessage {
  const value = JSON.parse(body) as { endpointId?: unknown };
  if (typeof value?.endpointId !== 'string' || !value.endpointId.startsWith('we_')) {
    throw new Error(`a webhook queue message needs { "endpointId": "we_…" }; got ${body.slice(0, 200)}`);
  }
  return { endpointId: value.endpointId };
}
