/**
 * Webhook deliverer Lambda (SQS FIFO event source; one message = "deliver what is due for endpoint X", the message
 * group is the endpoint, so one endpoint is served one at a time and endpoints in parallel). The work is in
 * webhook-deliverer-core.ts. (Early entry point so the CDK can bundle it.)
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { lambdaHandler } from './lambda-handler.js';

export const handler = lambdaHandler<SQSEvent, SQSBatchResponse>(async () => ({ batchItemFailures: [] }));
