/**
 * The API Gateway REQUEST authorizer (identity source: the Authorization header; API Gateway caches its answer per
 * header value, 60 s): looks the bearer key up as the local server does, and answers a policy allowing the whole
 * API (the answer is cached for every path, so it cannot be per path: the API checks the scope of each operation)
 * with the context {keyId, scopes}. An unknown, revoked or missing key is `Unauthorized` (API Gateway's 401).
 * The key never reaches a log.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import type pg from 'pg';
import { authenticateApiKey } from '../adapters/postgres/api-keys.js';
import { bearerKey } from '../domain/api-keys.js';

/** What API Gateway turns into a 401 (any other error is a 500). */
export const UNAUTHORIZED = 'Unauthorized';

/** arn:aws:execute-api:region:account:api-id/stage/METHOD/path → arn:aws:execute-api:region:account:api-id/stage/*. */
export function wholeApiArn(methodArn: string): string {
  const [prefix, stage] = methodArn.split('/');
  return `${prefix}/${stage}/*`;
}

export function authorizationHeader(event: Pick<APIGatewayRequestAuthorizerEvent, 'headers'>): string | undefined {
  const found = Object.entries(event.headers ?? {}).find(([name]) => name.toLowerCase() === 'authorization');
  return found?.[1] ?? undefined;
}

export async function authorizeRequest(
  event: APIGatewayRequestAuthorizerEvent,
  db: Pick<pg.ClientBase, 'query'>,
): Promise<APIGatewayAuthorizerResult> {
  const key = bearerKey(authorizationHeader(event));
  if (key === undefined) throw new Error(UNAUTHORIZED);
  const principal = await authenticateApiKey(db, key);
  if (!principal) throw new Error(UNAUTHORIZED);
  return {
    principalId: principal.keyId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: wholeApiArn(event.methodArn) }],
    },
    context: { keyId: principal.keyId, scopes: principal.scopes.join(' ') },
  };
}
