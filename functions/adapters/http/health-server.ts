import { createServer, type Server } from 'node:http';
import type { Readiness } from '../../domain/readiness.js';
import { jsonSafe } from '../observability/json-logger.js';

export interface HealthServerOptions {
  port: number;
  host?: string;
  /** Evaluated on every /health/ready request: honest, never cached. */
  readiness: () => Promise<Readiness>;
  /** Extra fields for /health/live (role, uptime…). */
  liveness?: () => Record<string, unknown>;
}

/** /health/live: the process runs. /health/ready: 200 when ready, 503 with the reason otherwise. */
export async function startHealthServer({
  port,
  host = '0.0.0.0',
  readiness,
  liveness,
}: HealthServerOptions): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer(async (request, response) => {
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify(body, jsonSafe));
    };
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET') return reply(405, { error: 'method not allowed' });
    if (path === '/health/live') return reply(200, { status: 'alive', ...liveness?.() });
    if (path === '/health/ready' || path === '/health') {
      try {
        const result = await readiness();
        return reply(result.ready ? 200 : 503, result);
      } catch (error) {
        return reply(503, {
          ready: false,
          status: 'not_ready',
          reason: 'health_check_failed',
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    return reply(404, { error: 'not found', endpoints: ['/health/live', '/health/ready'] });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
