/**
 * Webhook scheduler Lambda (EventBridge schedule every minute): sends one message to the deliverer queue for every
 * enabled endpoint with something due, and writes the webhook gauges. The work is in webhook-scheduler-core.ts.
 * (Early entry point so the CDK can bundle it.)
 */
import { lambdaHandler } from './lambda-handler.js';

export const handler = lambdaHandler<unknown, { endpoints: number }>(async () => ({ endpoints: 0 }));
