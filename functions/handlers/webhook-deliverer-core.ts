/**
 * The deliverer's work for one SQS batch: each record names an endpoint; the endpoints of a batch are served in
 * parallel, each by deliverDue (its lease keeps a duplicate message from serving it twice at once). A record fails
 * (and comes back) only when the work itself failed (the database); delivery failures are the endpoint's state.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { parseWebhookQueueMessage } from '../adapters/sqs/webhook-queue.js';
import { deliverDue, type DeliveryDependencies } from '../domain/webhooks/delivery.js';
import { describeError, WebhookLogEvent } from '../domain/observability.js';

/**
 * `again` is asked for another wake of the endpoints whose run stopped with more to do (time, maxEvents); without it
 * (or when it fails: logged) the scheduler's next minute wakes them.
 */
export async function deliverWebhookBatch(
  event: SQSEvent,
  dependencies: DeliveryDependencies,
  again?: (endpointIds: readonly string[]) => Promise<void>,
): Promise<SQSBatchResponse> {
  const failures: { itemIdentifier: string }[] = [];
  const more: string[] = [];
  await Promise.all(
    event.Records.map(async (record) => {
      try {
        const { endpointId } = parseWebhookQueueMessage(record.body);
        if ((await deliverDue(endpointId, dependencies)).more) more.push(endpointId);
      } catch (error) {
        dependencies.logger.error(WebhookLogEvent.deliveryRunFailed, { message_id: record.messageId, error: describeError(error) });
        failures.push({ itemIdentifier: record.messageId });
      }
    }),
  );
  if (more.length > 0 && again) {
    await again(more).catch((error: unknown) =>
      dependencies.logger.error(WebhookLogEvent.enqueueFailed, { endpoints: more.length, error: describeError(error) }),
    );
  }
  return { batchItemFailures: failures };
}
