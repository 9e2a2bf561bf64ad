/**
 * The API Gateway (REST, proxy integration) side of the HTTP API: the event becomes the router's request, the
 * router's answer the proxy result. The caller comes from API Gateway: the key authorizer's context
 * ({keyId, scopes}), or for IAM (SigV4) callers their ARN, with every scope (their IAM policy decides what they may
 * call; the ARN is the actor in audit_log). Without either, the router looks the bearer key up itself.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { ApiRouter } from '../api/router.js';
import type { ApiRequest, Principal } from '../api/types.js';
import { isScope, SCOPES } from '../domain/api-keys.js';

export function principalOf(event: Pick<APIGatewayProxyEvent, 'requestContext'>): Principal | undefined {
  const authorizer = event.requestContext.authorizer as Record<string, unknown> | null | undefined;
  const keyId = authorizer?.keyId;
  if (typeof keyId === 'string' && keyId !== '') {
    const scopes = String(authorizer?.scopes ?? '')
      .split(' ')
      .filter(isScope);
    return { keyId, scopes };
  }
  const userArn = event.requestContext.identity?.userArn;
  if (typeof userArn === 'string' && userArn !== '') return { keyId: userArn, scopes: [...SCOPES] };
  return undefined;
}

export function apiRequestOf(event: APIGatewayProxyEvent): ApiRequest {
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    if (values && values.length > 0) headers[name.toLowerCase()] = values.join(', ');
  }
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined && !(name.toLowerCase() in headers)) headers[name.toLowerCase()] = value;
  }
  const query: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(event.multiValueQueryStringParameters ?? {})) {
    if (values) query[name] = [...values];
  }
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
    if (value !== undefined && !(name in query)) query[name] = [value];
  }
  const body = event.body ?? '';
  return {
    method: event.httpMethod,
    path: event.path,
    query,
    headers,
    rawBody: event.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body,
  };
}

export async function handleApiEvent(event: APIGatewayProxyEvent, app: ApiRouter): Promise<APIGatewayProxyResult> {
  const response = await app.handle(apiRequestOf(event), principalOf(event));
  return {
    statusCode: response.status,
    headers: { 'cache-control': 'no-store', ...response.headers },
    body: response.body === undefined ? '' : JSON.stringify(response.body),
  };
}
