/**
 * The API's router, framework-free: the operations of the document (openapi.json), each served by its route
 * module. A request is matched to its operation, its caller authenticated (an API key) and its scope checked, its
 * path, query, headers and body validated by the document, then its route runs: a read on the pool, a write in one
 * transaction (a POST's with its Idempotency-Key). Used by the local node:http server and the API Gateway adapter.
 */
import { inTransaction } from '../adapters/postgres/pool.js';
import { authenticateApiKey, isApiKeyActive } from '../adapters/postgres/api-keys.js';
import { bearerKey } from '../domain/api-keys.js';
import { ApiLogEvent, describeError } from '../domain/observability.js';
import type { ApiContext, Route, RouteModule } from './context.js';
import { idempotentWrite } from './idempotency.js';
import { documentOperations, type Operation } from './openapi.js';
import { ApiProblem, PROBLEM_CONTENT_TYPE } from './problem.js';
import { accountRoutes } from './routes/accounts.js';
import { addressRoutes } from './routes/addresses.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { balanceRoutes } from './routes/balances.js';
import { eventRoutes } from './routes/events.js';
import { invoiceRoutes } from './routes/invoices.js';
import { paymentRoutes } from './routes/payments.js';
import { payoutRoutes } from './routes/payouts.js';
import { statusRoutes } from './routes/status.js';
import { webhookEndpointRoutes } from './routes/webhook-endpoints.js';
import type { ApiRequest, ApiResponse, Principal, RouteRequest } from './types.js';

/** One module per resource. */
export const ROUTE_MODULES: readonly RouteModule[] = [
  addressRoutes,
  paymentRoutes,
  balanceRoutes,
  eventRoutes,
  webhookEndpointRoutes,
  statusRoutes,
  apiKeyRoutes,
  accountRoutes,
  invoiceRoutes,
  payoutRoutes,
];

export interface RouterOptions {
  /**
   * Check every response against the document; a response that does not conform becomes a 500 naming the problem
   * (and is logged). On in tests and in the local stack; off on AWS (the tests hold the handlers to the document).
   */
  validateResponses: boolean;
}

interface ServedRoute {
  operation: Operation;
  route: Route;
  pattern: RegExp;
  names: string[];
}

export interface ApiRouter {
  /**
   * Answers a request. `principal` is the caller when someone else authenticated it (the API Gateway authorizer,
   * IAM); undefined: the router authenticates the bearer key itself (the local server).
   */
  handle(request: ApiRequest, principal?: Principal): Promise<ApiResponse>;
  /** What it serves: method and path template of each route. */
  routes(): { method: string; path: string; operationId: string }[];
}

function compilePath(template: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const source = template
    .split('/')
    .map((segment) => {
      const match = /^\{(\w+)\}$/.exec(segment);
      if (!match) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(match[1]!);
      return '([^/]+)';
    })
    .join('/');
  return { pattern: new RegExp(`^${source}/?$`), names };
}

export function createApiRouter(context: ApiContext, options: RouterOptions): ApiRouter {
  const handlers = new Map<string, Route>();
  for (const module of ROUTE_MODULES) {
    for (const [operationId, route] of Object.entries(module)) {
      if (handlers.has(operationId)) throw new Error(`Two routes for operation ${operationId}`);
      handlers.set(operationId, route);
    }
  }
  const served: ServedRoute[] = documentOperations().map((operation) => {
    const route = handlers.get(operation.operationId);
    if (!route) throw new Error(`openapi.json's ${operation.operationId} has no route`);
    handlers.delete(operation.operationId);
    return { operation, route, ...compilePath(operation.pathTemplate) };
  });
  if (handlers.size > 0) throw new Error(`Routes not in openapi.json: ${[...handlers.keys()].join(', ')}`);

  async function dispatch(request: ApiRequest, given: Principal | undefined, note: { operationId?: string; keyId?: string }) {
    const method = request.method.toUpperCase();
    const matches = served
      .map((candidate) => ({ candidate, match: candidate.pattern.exec(request.path) }))
      .filter((found): found is { candidate: ServedRoute; match: RegExpExecArray } => found.match !== null);
    if (matches.length === 0) throw new ApiProblem(404, `No such path: ${request.path.slice(0, 200)}`);
    const found = matches.find(({ candidate }) => candidate.operation.method === method);
    if (!found) {
      const allow = matches.map(({ candidate }) => candidate.operation.method).join(', ');
      return new ApiProblem(405, `${method} is not allowed here (allowed: ${allow}).`).response({ allow });
    }
    const { candidate, match } = found;
    const { operation, route } = candidate;
    note.operationId = operation.operationId;

    const principal = given ?? (await authenticate(request));
    note.keyId = principal.keyId;
    if (!principal.scopes.includes(operation.scope)) {
      throw new ApiProblem(403, `This operation needs the ${operation.scope} scope.`);
    }
    // API Gateway caches the authorizer's answer (60 s): a key revoked since must change nothing (make keys or
    // webhooks, request, approve or cancel payouts) in that minute.
    if (principal.source === 'authorizer' && route.kind === 'write') {
      if (!(await isApiKeyActive(context.pool, principal.keyId))) throw new ApiProblem(401, 'The API key is unknown or revoked.');
    }

    const rawParams = Object.fromEntries(candidate.names.map((name, index) => [name, safeDecode(match[index + 1]!)]));
    const pathParams = operation.validatePath(rawParams);
    const query = operation.validateQuery(request.query);
    const missing = operation.requiredHeaders.filter((name) => !request.headers[name]);
    if (missing.length > 0) {
      throw new ApiProblem(
        400,
        `Missing header: ${missing.join(', ')}.`,
        missing.map((name) => ({ field: headerName(name), message: 'is required' })),
      );
    }
    if (
      operation.acceptsBody &&
      request.rawBody.trim() !== '' &&
      !/^application\/(.+\+)?json\b/i.test(request.headers['content-type'] ?? '')
    ) {
      throw new ApiProblem(415, 'The body must be application/json.', [{ field: 'Content-Type', message: 'must be application/json' }]);
    }
    const body = operation.validateBody(request.rawBody);
    const routeRequest: RouteRequest = {
      method,
      path: request.path,
      pathParams,
      query,
      headers: request.headers,
      rawBody: request.rawBody,
      body,
      principal,
    };

    if (route.kind === 'read') return route.handle(routeRequest, context);
    if (method === 'POST') {
      return idempotentWrite(
        context.pool,
        { principal: principal.keyId, idempotencyKey: request.headers['idempotency-key']!, method, path: request.path, body },
        (client) => route.handle(client, routeRequest, context),
      );
    }
    return inTransaction(context.pool, async (client) => {
      const { storedBody: _stored, ...response } = await route.handle(client, routeRequest, context);
      return response;
    });
  }

  async function authenticate(request: ApiRequest): Promise<Principal> {
    const key = bearerKey(request.headers.authorization);
    if (key === undefined) throw new ApiProblem(401, 'Send an API key: Authorization: Bearer <key>.');
    const principal = await authenticateApiKey(context.pool, key);
    if (!principal) throw new ApiProblem(401, 'The API key is unknown or revoked.');
    return principal;
  }

  return {
    async handle(request, principal) {
      const started = performance.now();
      const note: { operationId?: string; keyId?: string } = {};
      let response: ApiResponse;
      try {
        response = await dispatch(request, principal, note);
      } catch (error) {
        if (error instanceof ApiProblem) {
          response = error.response(error.status === 401 ? { 'www-authenticate': 'Bearer' } : {});
        } else {
          context.logger.error(ApiLogEvent.requestFailed, {
            method: request.method,
            operation: note.operationId ?? null,
            key_id: note.keyId ?? null,
            error: describeError(error),
          });
          response = new ApiProblem(500, 'The request failed; it was logged.').response();
        }
      }
      if (options.validateResponses && note.operationId) {
        const operation = served.find((candidate) => candidate.operation.operationId === note.operationId)!.operation;
        const problems = operation.responseProblems(response.status, response.body);
        if (problems.length > 0) {
          context.logger.error(ApiLogEvent.requestFailed, {
            operation: note.operationId,
            status: response.status,
            response_problems: problems,
          });
          response = new ApiProblem(500, `The response does not conform to openapi.json: ${problems.join('; ')}`).response();
        }
      }
      // Never the headers (the key is one of them), never the body.
      context.logger.info(ApiLogEvent.request, {
        method: request.method,
        operation: note.operationId ?? null,
        status: response.status,
        key_id: note.keyId ?? null,
        duration_ms: Math.round((performance.now() - started) * 10) / 10,
      });
      return response;
    },
    routes() {
      return served.map(({ operation }) => ({
        method: operation.method,
        path: operation.pathTemplate,
        operationId: operation.operationId,
      }));
    },
  };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ApiProblem(400, 'A path segment is not valid percent-encoding.');
  }
}

function headerName(lower: string): string {
  return lower.replace(/(^|-)([a-z])/g, (_all, dash: string, letter: string) => `${dash}${letter.toUpperCase()}`);
}

/** The body as sent on the wire: JSON, or nothing. */
export function serialiseBody(response: ApiResponse): string {
  return response.body === undefined ? '' : JSON.stringify(response.body);
}

export { PROBLEM_CONTENT_TYPE };
