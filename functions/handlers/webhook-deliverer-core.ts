/**
 * The deliverer's work for one SQS batch: each record names an endpoint; the endpoints of a batch are served in
 * parallel, each by deliverDue (its lease keeps a duplicate message from serving it twice at once). A record fails
 * (and comes back) only when the work itself failed (the database); delivery failures are the endpoint's state.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { parseWebhookQueueMessage } from '../adapters/sqs/webhook-queue.js';
import { deliverDue, type DeliveryDependencies } from '../domain/webhooks/delivery.js';
import { describeError, WebhookLogEvent } from '../domain/observability.js';

export async function deliverWebhookBatch(event: SQSEvent, dependencies: DeliveryDependencies): Promise<SQSBatchResponse> {
  const failures: { itemIdentifier: string }[] = [];
  await Promise.all(
    event.Records.map(async (record) => {
      try {
        const { endpointId } = parseWebhookQueueMessage(record.body);
        await deliverDue(endpointId, dependencies);
      } catch (error) {
        dependencies.logger.error(WebhookLogEvent.deliveryRunFailed, { message_id: record.messageId, error: describeError(error) });
        failures.push({ itemIdentifier: record.messageId });
      }
    }),
  );
  return { batchItemFailures: failures };
}
