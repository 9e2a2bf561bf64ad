/**
 * Event publisher Lambda: puts the business events of the outbox on the EventBridge bus in seq order and marks
 * them published (EventBridge schedule every minute, and an asynchronous invocation after each processed batch
 * that wrote events). The work is in event-publisher-core.ts. (Early entry point so the CDK can bundle it.)
 */
import { lambdaHandler } from './lambda-handler.js';

export const handler = lambdaHandler<unknown, { published: number }>(async () => ({ published: 0 }));
