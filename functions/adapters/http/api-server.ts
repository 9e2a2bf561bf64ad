/**
 * The HTTP API on node:http (the local stack's `API_PORT`): turns each request into the router's ApiRequest and
 * its answer back into HTTP. The same router serves API Gateway (functions/handlers/api.ts).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface HttpApiRequest {
  method: string;
  path: string;
  query: Record<string, string[]>;
  headers: Record<string, string>;
  rawBody: string;
}

export interface HttpApiResponse {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

export interface ApiServerOptions {
  port: number;
  /** Loopback by default: the local stack's API is for this machine. */
  host?: string;
  handle(request: HttpApiRequest): Promise<HttpApiResponse>;
  /** Bodies above this are refused with 413 (default 1 MiB: 1,000 registrations take about 200 KiB). */
  maxBodyBytes?: number;
}

export interface ApiServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

class BodyTooLarge extends Error {}

async function readBody(request: IncomingMessage, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > max) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function parseQuery(search: URLSearchParams): Record<string, string[]> {
  const query: Record<string, string[]> = {};
  for (const [name, value] of search) (query[name] ??= []).push(value);
  return query;
}

export async function startApiServer({
  port,
  host = '127.0.0.1',
  handle,
  maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
}: ApiServerOptions): Promise<ApiServer> {
  const server = createServer(async (request, response) => {
    const send = (status: number, headers: Record<string, string>, body: string) => {
      response.writeHead(status, { 'cache-control': 'no-store', ...headers });
      response.end(body);
    };
    try {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers)) {
        if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
      }
      const rawBody = await readBody(request, maxBodyBytes);
      const answer = await handle({
        method: request.method ?? 'GET',
        path: url.pathname,
        query: parseQuery(url.searchParams),
        headers,
        rawBody,
      });
      send(answer.status, answer.headers, answer.body === undefined ? '' : JSON.stringify(answer.body));
    } catch (error) {
      const status = error instanceof BodyTooLarge ? 413 : 500;
      const title = status === 413 ? 'Content Too Large' : 'Internal Server Error';
      send(
        status,
        { 'content-type': 'application/problem+json', connection: 'close' },
        JSON.stringify({ type: 'about:blank', title, status }),
      );
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return {
    server,
    port: actualPort,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
