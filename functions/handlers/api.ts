/**
 * HTTP API Lambda (API Gateway REST proxy): the same router as the local server (functions/api). The work is in
 * api-core.ts. (Early entry point so the CDK can bundle it; completed in the following commits.)
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { lambdaHandler } from './lambda-handler.js';

export const handler = lambdaHandler<APIGatewayProxyEvent, APIGatewayProxyResult>(async () => ({
  statusCode: 501,
  headers: { 'content-type': 'application/problem+json' },
  body: JSON.stringify({ type: 'about:blank', title: 'Not Implemented', status: 501 }),
}));
