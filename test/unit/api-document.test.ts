import { describe, expect, it } from 'vitest';
import document from '../../functions/api/openapi.json' with { type: 'json' };
import { documentOperations } from '../../functions/api/openapi.js';
import { createApiRouter, ROUTE_MODULES } from '../../functions/api/router.js';
import type { ApiContext } from '../../functions/api/context.js';

// The router is built without a database: routes are only listed here.
const context = {
  pool: {},
  network: 'preprod',
  logger: { info() {}, error() {} },
  clock: { now: () => new Date() },
} as unknown as ApiContext;

type Operations = Record<
  string,
  Record<string, { operationId: string; security?: unknown[]; parameters?: { $ref?: string; name?: string }[] }>
>;

describe('openapi.json, the API’s source of truth', () => {
  it('describes exactly the routes the router serves, and the router serves exactly the document', () => {
    const served = createApiRouter(context, { validateResponses: true })
      .routes()
      .map(({ method, path }) => `${method} ${path}`)
      .sort();
    const documented = Object.entries(document.paths as unknown as Operations)
      .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    expect(served).toEqual(documented);
    expect(served).toEqual(
      [
        'POST /v1/addresses',
        'GET /v1/addresses',
        'GET /v1/payments',
        'GET /v1/payments/{tx_hash}/{output_index}',
        'GET /v1/balances/{user_id}',
        'GET /v1/events',
        'POST /v1/events/{id}/redeliver',
        'POST /v1/webhook-endpoints',
        'GET /v1/webhook-endpoints',
        'GET /v1/webhook-endpoints/{id}',
        'DELETE /v1/webhook-endpoints/{id}',
        'POST /v1/webhook-endpoints/{id}/rotate-secret',
        'GET /v1/status',
        'POST /v1/api-keys',
        'GET /v1/api-keys',
        'DELETE /v1/api-keys/{id}',
        'POST /v1/accounts',
        'GET /v1/accounts',
        'GET /v1/accounts/{id}',
        'POST /v1/invoices',
        'GET /v1/invoices',
        'GET /v1/invoices/{id}',
        'POST /v1/payouts',
        'GET /v1/payouts',
        'GET /v1/payouts/{id}',
        'POST /v1/payouts/{id}/approve',
        'POST /v1/payouts/{id}/cancel',
        'POST /v1/payouts/{id}/reject',
      ].sort(),
    );
  });

  it('has one route module entry per operationId, none left over', () => {
    const handled = ROUTE_MODULES.flatMap((module) => Object.keys(module)).sort();
    expect(handled).toEqual(
      documentOperations()
        .map((operation) => operation.operationId)
        .sort(),
    );
  });

  it('requires an Idempotency-Key on every POST, a scope and security on every operation', () => {
    for (const operation of documentOperations()) {
      expect(['read', 'write', 'admin'], operation.operationId).toContain(operation.scope);
      if (operation.method === 'POST') expect(operation.requiredHeaders, operation.operationId).toContain('idempotency-key');
    }
    for (const item of Object.values(document.paths as unknown as Operations)) {
      for (const operation of Object.values(item))
        expect(operation.security, operation.operationId).toEqual([{ ApiKey: [] }, { SigV4: [] }]);
    }
    expect(Object.keys(document.components.securitySchemes)).toEqual(['ApiKey', 'SigV4']);
  });

  it('compiles every validator of the document (a schema ajv refuses fails here, not at a first request)', () => {
    const paths = document.paths as unknown as Record<string, Record<string, { responses: Record<string, unknown> }>>;
    for (const operation of documentOperations()) {
      const statuses = Object.keys(paths[operation.pathTemplate]![operation.method.toLowerCase()]!.responses).map(Number);
      expect(statuses, operation.operationId).toContain(500);
      for (const status of statuses) expect(() => operation.responseProblems(status, {})).not.toThrow();
      expect(() => operation.validateQuery({})).not.toThrow();
      try {
        operation.validateBody('{}');
        operation.validatePath({});
      } catch (error) {
        expect((error as { status?: number }).status, operation.operationId).toBe(400);
      }
    }
  });

  it('turns a body that breaks the schema into errors naming each field', () => {
    const register = documentOperations().find((operation) => operation.operationId === 'registerAddresses')!;
    const problem = (() => {
      try {
        register.validateBody(
          JSON.stringify({
            addresses: [
              { address: 'a', reference_type: 'x', reference_id: 'y' },
              { address: 'b', reference_type: 'x', extra: 1 },
            ],
          }),
        );
      } catch (error) {
        return error as { status: number; errors: { field: string; message: string }[] };
      }
      throw new Error('expected a problem');
    })();
    expect(problem.status).toBe(400);
    expect(problem.errors).toEqual(
      expect.arrayContaining([
        { field: 'addresses[1].reference_id', message: 'is required' },
        { field: 'addresses[1].extra', message: 'is not allowed' },
      ]),
    );
    const list = documentOperations().find((operation) => operation.operationId === 'listPayments')!;
    expect(() => list.validateQuery({ limit: ['1001'] })).toThrow(
      expect.objectContaining({ errors: [{ field: 'limit', message: 'must be <= 1000' }] }),
    );
    expect(list.validateQuery({ limit: ['5'] })).toEqual({ limit: 5 });
    expect(() => list.validateQuery({ statuss: ['pending'] })).toThrow(
      expect.objectContaining({ errors: [{ field: 'statuss', message: 'is not allowed' }] }),
    );
  });
});
