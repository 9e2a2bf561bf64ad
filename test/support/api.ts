/**
 * The HTTP API over real HTTP against a test database: the local server with the same router the local stack and
 * the Lambda use, responses checked against openapi.json (a response that does not conform becomes a 500).
 */
import { randomBytes } from 'node:crypto';
import { startApiServer, type ApiServer } from '../../functions/adapters/http/api-server.js';
import { AesGcmSecretSealer } from '../../functions/adapters/crypto/aes-gcm-sealer.js';
import { ensureBootstrapApiKey } from '../../functions/adapters/postgres/api-keys.js';
import { createApiApp, type ApiAppOptions } from '../../functions/api/app.js';
import { documentOperations } from '../../functions/api/openapi.js';
import type { ApiRouter } from '../../functions/api/router.js';
import type { Network } from '../../functions/domain/network.js';
import type { TestDatabase } from './database.js';
import { RecordingLogger } from './recorders.js';

export interface ApiCall {
  key?: string;
  body?: unknown;
  /** Sent as is (a string), instead of JSON of `body`. */
  rawBody?: string;
  idempotencyKey?: string | null;
  headers?: Record<string, string>;
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: a test reads the JSON it got
  body: any;
  text: string;
}

export interface TestApi {
  url: string;
  server: ApiServer;
  app: ApiRouter;
  logger: RecordingLogger;
  /** An admin key (created as BOOTSTRAP_API_KEY would be). */
  adminKey: string;
  /** Calls the API; a POST gets a fresh Idempotency-Key unless one is given (null: none). */
  call(method: string, path: string, call?: ApiCall): Promise<ApiAnswer>;
  /** Creates a key of this scope through the API and returns it. */
  createKey(scope: 'read' | 'write' | 'admin', name?: string): Promise<{ id: string; key: string }>;
  close(): Promise<void>;
}

export async function startTestApi(db: TestDatabase, options: { network?: Network } & Partial<ApiAppOptions> = {}): Promise<TestApi> {
  const logger = new RecordingLogger();
  const adminKey = `pm_test_${randomBytes(32).toString('base64url')}`;
  await ensureBootstrapApiKey(db.pool, adminKey);
  const sealingKey = randomBytes(32).toString('hex');
  const app = createApiApp({
    pool: db.pool,
    network: options.network ?? 'preprod',
    logger,
    validateResponses: true,
    // as the local stack: webhook secrets sealed, plain http to loopback allowed
    webhooks: { sealer: new AesGcmSecretSealer(async () => sealingKey), allowPrivateDestinations: true },
    ...options,
  });
  const server = await startApiServer({ port: 0, handle: (request) => app.handle(request) });
  const call: TestApi['call'] = async (method, path, { key = adminKey, body, rawBody, idempotencyKey, headers = {} } = {}) => {
    const sent: Record<string, string> = { ...headers };
    if (key) sent.authorization = `Bearer ${key}`;
    const payload = rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
    if (payload !== undefined && !('content-type' in sent)) sent['content-type'] = 'application/json';
    if (method === 'POST' && idempotencyKey !== null) sent['idempotency-key'] = idempotencyKey ?? randomBytes(8).toString('hex');
    const response = await fetch(`${server.url}${path}`, { method, headers: sent, ...(payload === undefined ? {} : { body: payload }) });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text), text };
  };
  return {
    url: server.url,
    server,
    app,
    logger,
    adminKey,
    call,
    async createKey(scope, name = `${scope} key`) {
      const answer = await call('POST', '/v1/api-keys', { body: { name, scope } });
      if (answer.status !== 201) {
        throw new Error(
          `creating a ${scope} key answered ${answer.status}: ${answer.text} ${JSON.stringify(logger.entries.filter((l) => l.level === 'error'))}`,
        );
      }
      return { id: answer.body.id, key: answer.body.key };
    },
    close: () => server.close(),
  };
}

/** The problems of a response against the document, for tests that call the router directly. */
export function responseProblems(operationId: string, status: number, body: unknown): string[] {
  const operation = documentOperations().find((candidate) => candidate.operationId === operationId);
  if (!operation) return [`no operation ${operationId}`];
  return operation.responseProblems(status, body);
}
