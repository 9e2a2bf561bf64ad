/**
 * API Gateway REQUEST authorizer: looks the bearer key up and answers an IAM policy with context {keyId, scopes}.
 * The work is in api-authorizer-core.ts. (Early entry point so the CDK can bundle it; completed in the following
 * commits: until then it denies every request.)
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { lambdaHandler } from './lambda-handler.js';

export const handler = lambdaHandler<APIGatewayRequestAuthorizerEvent, APIGatewayAuthorizerResult>(async (event) => ({
  principalId: 'anonymous',
  policyDocument: {
    Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: event.methodArn }],
  },
}));
