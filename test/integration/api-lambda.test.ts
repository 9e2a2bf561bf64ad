/**
 * The API Gateway side: the REQUEST authorizer's core and the API Lambda's adapter, with API Gateway-shaped events,
 * against the same real PostgreSQL as the local server.
 */
import type { APIGatewayProxyEvent, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp } from '../../functions/api/app.js';
import type { ApiRouter } from '../../functions/api/router.js';
import { authorizeRequest } from '../../functions/handlers/api-authorizer-core.js';
import { API_IAM_PRINCIPALS } from '../../functions/config/variables.js';
import { handleApiEvent } from '../../functions/handlers/api-core.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { responseProblems, startTestApi, type TestApi } from '../support/api.js';
import { RecordingLogger } from '../support/recorders.js';

const METHOD_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/GET/v1/payments';
/** Sessions of the role arn:aws:iam::123456789012:role/ops/operations (a session's ARN drops the role's path). */
const OPERATOR_ARN = 'arn:aws:sts::123456789012:assumed-role/operations/alice';
const OPERATOR_OTHER_SESSION_ARN = 'arn:aws:sts::123456789012:assumed-role/operations/bob';
const OPERATOR_ROLE_ARN = 'arn:aws:iam::123456789012:role/ops/operations';
const REPORTING_ARN = 'arn:aws:sts::123456789012:assumed-role/reporting/cron';
/** As the API Lambda reads them from API_IAM_PRINCIPALS (the stage's api.iamPrincipals). */
const iamCallers = API_IAM_PRINCIPALS.read({
  API_IAM_PRINCIPALS: `${OPERATOR_ROLE_ARN}=admin,arn:aws:iam::123456789012:role/reporting=read`,
});

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
      iamCallers,
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
        iamCallers,
      );
    const created = await post();
    expect(created.statusCode, created.body).toBe(201);
    expect(responseProblems('registerAddresses', 201, JSON.parse(created.body))).toEqual([]);
    const replayed = await post();
    expect(replayed.headers).toMatchObject({ 'idempotent-replayed': 'true' });
    expect(replayed.body).toBe(created.body);
    const audit = await db.pool.query("SELECT actor FROM audit_log WHERE action = 'address_registered' AND entity_id = $1", [address]);
    expect(audit.rows).toEqual([{ actor: writer.id }]);

    const forbidden = await handleApiEvent(proxyEvent({ method: 'GET', path: '/v1/api-keys', authorizer: context }), lambdaApp, iamCallers);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.headers).toMatchObject({ 'content-type': 'application/problem+json' });
    expect(responseProblems('listApiKeys', 403, JSON.parse(forbidden.body))).toEqual([]);
  });

  it('maps an IAM (SigV4) caller’s session to its configured role: the role’s ARN is the actor and the idempotency principal', async () => {
    const address = syntheticAddress('preprod', 'iam');
    const post = (userArn: string) =>
      handleApiEvent(
        proxyEvent({
          method: 'POST',
          path: '/v1/addresses',
          headers: { 'content-type': 'application/json', 'idempotency-key': 'iam-1' },
          body: JSON.stringify({ address, reference_type: 'order', reference_id: 'IAM-1' }),
          userArn,
        }),
        lambdaApp,
        iamCallers,
      );
    const created = await post(OPERATOR_ARN);
    expect(created.statusCode, created.body).toBe(201);
    // Another session of the same role retrying with the same Idempotency-Key: the first answer, replayed.
    const retried = await post(OPERATOR_OTHER_SESSION_ARN);
    expect(retried.headers).toMatchObject({ 'idempotent-replayed': 'true' });
    expect(retried.body).toBe(created.body);
    const audit = await db.pool.query("SELECT actor FROM audit_log WHERE action = 'address_registered' AND entity_id = $1", [address]);
    expect(audit.rows).toEqual([{ actor: OPERATOR_ROLE_ARN }]);
    const keys = await handleApiEvent(proxyEvent({ method: 'GET', path: '/v1/api-keys', userArn: OPERATOR_ARN }), lambdaApp, iamCallers);
    expect(keys.statusCode).toBe(200);
  });

  it('gives a configured role its configured scope only', async () => {
    const read = await handleApiEvent(proxyEvent({ method: 'GET', path: '/v1/status', userArn: REPORTING_ARN }), lambdaApp, iamCallers);
    expect(read.statusCode, read.body).toBe(200);
    for (const [method, path] of [
      ['POST', '/v1/api-keys'],
      ['GET', '/v1/api-keys'],
    ] as const) {
      const refused = await handleApiEvent(
        proxyEvent({
          method,
          path,
          headers: { 'content-type': 'application/json', 'idempotency-key': 'reporting-1' },
          ...(method === 'POST' ? { body: JSON.stringify({ name: 'nope', scope: 'admin' }) } : {}),
          userArn: REPORTING_ARN,
        }),
        lambdaApp,
        iamCallers,
      );
      expect(refused.statusCode, `${method} ${path}`).toBe(403);
      expect(JSON.parse(refused.body).detail).toMatch(/needs the admin scope/);
    }
  });

  it('refuses (403) an IAM caller no configured role matches, before anything is written', async () => {
    const strangers = [
      'arn:aws:sts::123456789012:assumed-role/someone-else/alice',
      // The same role name in another account, a user, the role's name as a user: none is the configured role.
      'arn:aws:sts::210987654321:assumed-role/operations/alice',
      'arn:aws:iam::123456789012:user/operations',
      'arn:aws:iam::123456789012:root',
    ];
    const { rows: before } = await db.pool.query('SELECT count(*)::int AS n FROM api_keys');
    for (const userArn of strangers) {
      const refused = await handleApiEvent(
        proxyEvent({
          method: 'POST',
          path: '/v1/api-keys',
          headers: { 'content-type': 'application/json', 'idempotency-key': `stranger-${userArn}` },
          body: JSON.stringify({ name: 'stolen', scope: 'admin' }),
          userArn,
        }),
        lambdaApp,
        iamCallers,
      );
      expect(refused.statusCode, userArn).toBe(403);
      expect(refused.headers).toMatchObject({ 'content-type': 'application/problem+json' });
      expect(responseProblems('createApiKey', 403, JSON.parse(refused.body))).toEqual([]);
      expect(JSON.parse(refused.body).detail).toMatch(/only the roles in its api\.iamPrincipals/);
    }
    // With no API_IAM_PRINCIPALS at all, the operator's own session is refused too.
    const none = await handleApiEvent(
      proxyEvent({ method: 'GET', path: '/v1/status', userArn: OPERATOR_ARN }),
      lambdaApp,
      API_IAM_PRINCIPALS.read({}),
    );
    expect(none.statusCode).toBe(403);
    const { rows: after } = await db.pool.query('SELECT count(*)::int AS n FROM api_keys');
    expect(after).toEqual(before);
  });

  it('checks again that an admin key is active before an admin write: a key revoked while the authorizer’s answer is cached gets 401', async () => {
    const admin = await api.createKey('admin', 'soon revoked');
    // What API Gateway cached for this key's Authorization header.
    const cached = (await authorizeRequest(authorizerEvent({ Authorization: `Bearer ${admin.key}` }), db.pool)).context as Record<
      string,
      string
    >;
    const createKey = (idempotencyKey: string) =>
      handleApiEvent(
        proxyEvent({
          method: 'POST',
          path: '/v1/api-keys',
          headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
          body: JSON.stringify({ name: 'made by a cached admin', scope: 'read' }),
          authorizer: cached,
        }),
        lambdaApp,
        iamCallers,
      );
    // The control: while the key is active, its cached answer may create a key.
    const made = await createKey('cached-admin-1');
    expect(made.statusCode, made.body).toBe(201);
    const madeId = JSON.parse(made.body).id as string;

    expect((await api.call('DELETE', `/v1/api-keys/${admin.id}`)).status).toBe(200);
    const { rows: before } = await db.pool.query('SELECT count(*)::int AS n FROM api_keys');
    const refused = await createKey('cached-admin-2');
    expect(refused.statusCode, refused.body).toBe(401);
    expect(responseProblems('createApiKey', 401, JSON.parse(refused.body))).toEqual([]);
    const revoke = await handleApiEvent(
      proxyEvent({ method: 'DELETE', path: `/v1/api-keys/${madeId}`, authorizer: cached }),
      lambdaApp,
      iamCallers,
    );
    expect(revoke.statusCode).toBe(401);
    const { rows: after } = await db.pool.query('SELECT count(*)::int AS n FROM api_keys WHERE revoked_at IS NULL AND id = $1', [madeId]);
    expect(after).toEqual([{ n: 1 }]);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM api_keys')).rows).toEqual(before);
  });

  it('checks again that a write key is active before any write: a revoked key cannot request a payout in the cached minute', async () => {
    const writer = await api.createKey('write', 'treasury, soon revoked');
    const cached = (await authorizeRequest(authorizerEvent({ Authorization: `Bearer ${writer.key}` }), db.pool)).context as Record<
      string,
      string
    >;
    const requestPayout = (idempotencyKey: string) =>
      handleApiEvent(
        proxyEvent({
          method: 'POST',
          path: '/v1/payouts',
          headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
          body: JSON.stringify({
            reference_id: 'WD-cached',
            destination: syntheticAddress('preprod', 'payout-cached'),
            amount: { lovelace: '2000000' },
          }),
          authorizer: cached,
        }),
        lambdaApp,
        iamCallers,
      );
    // The control: while the key is active, its cached answer may request a payout.
    expect((await requestPayout('cached-writer-1')).statusCode).toBe(201);
    expect((await api.call('DELETE', `/v1/api-keys/${writer.id}`)).status).toBe(200);
    const refused = await requestPayout('cached-writer-2');
    expect(refused.statusCode, refused.body).toBe(401);
    const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM payouts WHERE reference_id = 'WD-cached'");
    expect(rows).toEqual([{ n: 1 }]);
  });

  it('looks the bearer key up itself when API Gateway passed no caller, and answers 401 without one', async () => {
    const ok = await handleApiEvent(
      proxyEvent({ method: 'GET', path: '/v1/status', headers: { Authorization: `Bearer ${api.adminKey}` } }),
      lambdaApp,
      iamCallers,
    );
    expect(ok.statusCode).toBe(200);
    const refused = await handleApiEvent(proxyEvent({ method: 'GET', path: '/v1/status' }), lambdaApp, iamCallers);
    expect(refused.statusCode).toBe(401);
    expect(JSON.stringify(logger.entries)).not.toContain(api.adminKey);
  });
});
