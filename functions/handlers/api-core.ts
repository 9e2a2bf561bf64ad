/**
 * The API Gateway (REST, proxy integration) side of the HTTP API: the event becomes the router's request, the
 * router's answer the proxy result. The caller comes from API Gateway: the key authorizer's context
 * ({keyId, scopes}, cached by API Gateway: the router checks the key again before an admin write), or for IAM
 * (SigV4) callers their ARN, mapped to a role of the stage's API_IAM_PRINCIPALS with its scope (the role's ARN is
 * the actor in audit_log); an IAM caller not listed there is refused (403). Without either, the router looks the
 * bearer key up itself.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ApiProblem } from '../api/problem.js';
import type { ApiRouter } from '../api/router.js';
import type { ApiRequest, ApiResponse, Principal } from '../api/types.js';
import { isScope } from '../domain/api-keys.js';
import type { IamCallers } from '../domain/iam-callers.js';

/** An IAM caller that no configured role matches: refused before the router. */
export class UnknownIamCallerError extends Error {
  override readonly name = 'UnknownIamCallerError';
  constructor(readonly callerArn: string) {
    super(`The IAM caller ${callerArn} is not one of the stage's api.iamPrincipals.`);
  }
}

export function principalOf(event: Pick<APIGatewayProxyEvent, 'requestContext'>, iamCallers: IamCallers): Principal | undefined {
  const authorizer = event.requestContext.authorizer as Record<string, unknown> | null | undefined;
  const keyId = authorizer?.keyId;
  if (typeof keyId === 'string' && keyId !== '') {
    const scopes = String(authorizer?.scopes ?? '')
      .split(' ')
      .filter(isScope);
    return { keyId, scopes, source: 'authorizer' };
  }
  const userArn = event.requestContext.identity?.userArn;
  if (typeof userArn === 'string' && userArn !== '') {
    const principal = iamCallers.principalOf(userArn);
    if (!principal) throw new UnknownIamCallerError(userArn);
    return principal;
  }
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

export async function handleApiEvent(event: APIGatewayProxyEvent, app: ApiRouter, iamCallers: IamCallers): Promise<APIGatewayProxyResult> {
  let response: ApiResponse;
  try {
    response = await app.handle(apiRequestOf(event), principalOf(event, iamCallers));
  } catch (error) {
    if (!(error instanceof UnknownIamCallerError)) throw error;
    response = new ApiProblem(
      403,
      'This IAM identity may not call the API: the stage allows only the roles in its api.iamPrincipals.',
    ).response();
  }
  return {
    statusCode: response.status,
    headers: { 'cache-control': 'no-store', ...response.headers },
    body: response.body === undefined ? '' : JSON.stringify(response.body),
  };
}
