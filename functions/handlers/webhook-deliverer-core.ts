/**
 * The deliverer's work for one SQS batch: each record names an endpoint; the endpoints of a batch are served in
 * parallel, each by deliverDue (its lease keeps a duplicate message from serving it twice at once). Only a message
 * that is not a wake-up fails (and ends in the DLQ). A run that fails (the database) is logged and counted, and its
 * message acknowledged: the delivery state is in PostgreSQL and the scheduler wakes the endpoint again within a minute,
 * whereas a failed message would hide the endpoint's group for the visibility timeout and, after 5 receives, go to the
 * DLQ although nothing is wrong with it. Delivery failures are the endpoint's state.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { parseWebhookQueueMessage } from '../adapters/sqs/webhook-queue.js';
import { deliverDue, type DeliveryDependencies } from '../domain/webhooks/delivery.js';
import { describeError, WebhookLogEvent, WebhookMetric } from '../domain/observability.js';

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
      let endpointId: string;
      try {
        endpointId = parseWebhookQueueMessage(record.body).endpointId;
      } catch (error) {
        dependencies.logger.error(WebhookLogEvent.deliveryRunFailed, { message_id: record.messageId, error: describeError(error) });
        failures.push({ itemIdentifier: record.messageId });
        return;
      }
      try {
        if ((await deliverDue(endpointId, dependencies)).more) more.push(endpointId);
      } catch (error) {
        dependencies.metrics.count(WebhookMetric.runFailures);
        dependencies.logger.error(WebhookLogEvent.deliveryRunFailed, {
          message_id: record.messageId,
          endpoint_id: endpointId,
          error: describeError(error),
        });
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
