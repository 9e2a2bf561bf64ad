/**
 * API Gateway REQUEST authorizer: looks the bearer key up and answers an IAM policy with context {keyId, scopes}.
 * The work is in api-authorizer-core.ts.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { authorizeRequest } from './api-authorizer-core.js';
import { lambdaHandler, lambdaPool } from './lambda-handler.js';

// One lookup per invocation.
const pool = lambdaPool({ max: 1, applicationName: 'payment-monitor-api-authorizer' });

export const handler = lambdaHandler<APIGatewayRequestAuthorizerEvent, APIGatewayAuthorizerResult>(async (event) =>
  authorizeRequest(event, await pool()),
);
