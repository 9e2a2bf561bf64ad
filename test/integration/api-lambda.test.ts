/**
 * The API Gateway side: the REQUEST authorizer's core and the API Lambda's adapter, with API Gateway-shaped events,
 * against the same real PostgreSQL as the local server.
 */
import type { APIGatewayProxyEvent, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp } from '../../functions/api/app.js';
import type { ApiRouter } from '../../functions/api/router.js';
import { authorizeRequest } from '../../functions/handlers/api-authorizer-core.js';
import { handleApiEvent } from '../../functions/handlers/api-core.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { responseProblems, startTestApi, type TestApi } from '../support/api.js';
import { RecordingLogger } from '../support/recorders.js';

const METHOD_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/GET/v1/payments';
const OPERATOR_ARN = 'arn:aws:sts::123456789012:assumed-role/operations/alice';

let db: TestDatabase;
let api: TestApi;
let lambdaApp: ApiRouter;
let logger: RecordingLogger;

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApi(db); // makes the admin key and serves the API to create the others
  logger = new RecordingLogger();
  lambdaApp = createApiApp({ pool: db.pool, network: 'preprod', logger, validateResponses: false });
});
afterAll(async () => {
  await api?.close();
  await db?.drop();
});

function authorizerEvent(headers: Record<string, string>): APIGatewayRequestAuthorizerEvent {
  return {
    type: 'REQUEST',
    methodArn: METHOD_ARN,
    resource: '/v1/payments',
    path: '/v1/payments',
    httpMethod: 'GET',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayRequestAuthorizerEvent['requestContext'],
  };
}

function proxyEvent(options: {
  method: string;
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
  base64?: boolean;
  authorizer?: Record<string, string> | null;
  userArn?: string | null;
}): APIGatewayProxyEvent {
  const headers = options.headers ?? {};
  return {
    httpMethod: options.method,
    path: options.path,
    resource: options.path,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: options.query
      ? Object.fromEntries(Object.entries(options.query).map(([name, value]) => [name, [value]]))
      : null,
    pathParameters: null,
    stageVariables: null,
    body: options.body === undefined ? null : options.base64 ? Buffer.from(options.body).toString('base64') : options.body,
    isBase64Encoded: options.base64 ?? false,
    requestContext: {
      authorizer: options.authorizer ?? null,
      identity: { userArn: options.userArn ?? null },
    } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}

describe('API Gateway authorizer (REQUEST, identity source Authorization)', () => {
  it('allows the whole API for a known key, with its id and scopes as context; Unauthorized otherwise', async () => {
    const writer = await api.createKey('write');
    const result = await authorizeRequest(authorizerEvent({ Authorization: `Bearer ${writer.key}` }), db.pool);
    expect(result).toEqual({
      principalId: writer.id,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: 'arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/*' },
        ],
      },
      context: { keyId: writer.id, scopes: 'read write' },
    });
    // header names arrive in any case
    expect((await authorizeRequest(authorizerEvent({ authorization: `Bearer ${writer.key}` }), db.pool)).principalId).toBe(writer.id);
    const refused: Record<string, string>[] = [
      {},
      { Authorization: 'Bearer pm_test_not_a_key_at_all_0000000000' },
      { Authorization: writer.key },
    ];
    for (const headers of refused) {
      await expect(authorizeRequest(authorizerEvent(headers), db.pool)).rejects.toThrow(/^Unauthorized$/);
    }
    expect((await api.call('DELETE', `/v1/api-keys/${writer.id}`)).status).toBe(200);
    await expect(authorizeRequest(authorizerEvent({ Authorization: `Bearer ${writer.key}` }), db.pool)).rejects.toThrow(/^Unauthorized$/);
  });
});

describe('API Lambda adapter (REST proxy events)', () => {
  it('serves the router with the authorizer’s principal: reads, idempotent writes audited with the key id, scope refusals', async () => {
    const writer = await api.createKey('write', 'lambda writer');
    const context = (await authorizeRequest(authorizerEvent({ Authorization: `Bearer ${writer.key}` }), db.pool)).context as Record<
      string,
      string
    >;

    const read = await handleApiEvent(
      proxyEvent({ method: 'GET', path: '/v1/payments', query: { limit: '2' }, authorizer: context }),
      lambdaApp,
    );
    expect(read.statusCode).toBe(200);
    expect(read.headers).toMatchObject({ 'content-type': 'application/json', 'cache-control': 'no-store' });
    expect(responseProblems('listPayments', 200, JSON.parse(read.body))).toEqual([]);

    const address = syntheticAddress('preprod', 'lambda');
    const body = JSON.stringify({ address, reference_type: 'order', reference_id: 'L-1' });
    const post = () =>
      handleApiEvent(
        proxyEvent({
          method: 'POST',
          path: '/v1/addresses',
          headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'lambda-1' },
          body,
          base64: true,
          authorizer: context,
        }),
        lambdaApp,
      );
    const created = await post();
    expect(created.statusCode, created.body).toBe(201);
    expect(responseProblems('registerAddresses', 201, JSON.parse(created.body))).toEqual([]);
    const replayed = await post();
    expect(replayed.headers).toMatchObject({ 'idempotent-replayed': 'true' });
    expect(replayed.body).toBe(created.body);
    const audit = await db.pool.query("SELECT actor FROM audit_log WHERE action = 'address_registered' AND entity_id = $1", [address]);
    expect(audit.rows).toEqual([{ actor: writer.id }]);

    const forbidden = await handleApiEvent(proxyEvent({ method: 'GET', path: '/v1/api-keys', authorizer: context }), lambdaApp);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.headers).toMatchObject({ 'content-type': 'application/problem+json' });
    expect(responseProblems('listApiKeys', 403, JSON.parse(forbidden.body))).toEqual([]);
  });

  it('takes an IAM (SigV4) caller’s ARN as the actor, with every scope (its IAM policy decides)', async () => {
    const address = syntheticAddress('preprod', 'iam');
    const created = await handleApiEvent(
      proxyEvent({
        method: 'POST',
        path: '/v1/addresses',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'iam-1' },
        body: JSON.stringify({ address, reference_type: 'order', reference_id: 'IAM-1' }),
        userArn: OPERATOR_ARN,
      }),
      lambdaApp,
    );
    expect(created.statusCode, created.body).toBe(201);
    const audit = await db.pool.query("SELECT actor FROM audit_log WHERE action = 'address_registered' AND entity_id = $1", [address]);
    expect(audit.rows).toEqual([{ actor: OPERATOR_ARN }]);
    const keys = await handleApiEvent(proxyEvent({ method: 'GET', path: '/v1/api-keys', userArn: OPERATOR_ARN }), lambdaApp);
    expect(keys.statusCode).toBe(200);
  });

  it('looks the bearer key up itself when API Gateway passed no caller, and answers 401 without one', async () => {
    const ok = await handleApiEvent(
      proxyEvent({ method: 'GET', path: '/v1/status', headers: { Authorization: `Bearer ${api.adminKey}` } }),
      lambdaApp,
    );
    expect(ok.statusCode).toBe(200);
    const refused = await handleApiEvent(proxyEvent({ method: 'GET', path: '/v1/status' }), lambdaApp);
    expect(refused.statusCode).toBe(401);
    expect(JSON.stringify(logger.entries)).not.toContain(api.adminKey);
  });
});
