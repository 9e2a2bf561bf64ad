/**
 * A webhook receiver for the benchmarks: real HTTP on loopback with keep-alive, answering 204 at once, noting when
 * each event arrived (wall clock, ms) by its Payment-Monitor-Event-Id, and how many deliveries came in all.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BenchReceiver {
  url: string;
  /** Arrival time (ms since the epoch) of each event's first delivery, and its created_at as the event says. */
  arrivals: Map<string, { arrivedMs: number; createdMs: number }>;
  deliveries(): number;
  /** Resolves when `count` deliveries in all have arrived. */
  until(count: number): Promise<void>;
  close(): Promise<void>;
}

export async function startBenchReceiver(): Promise<BenchReceiver> {
  const arrivals = new Map<string, { arrivedMs: number; createdMs: number }>();
  let deliveries = 0;
  let waiting: { count: number; resolve: () => void } | undefined;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const arrivedMs = performance.timeOrigin + performance.now();
      const id = String(request.headers['payment-monitor-event-id']);
      if (!arrivals.has(id)) {
        const { created_at: createdAt } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { created_at: string };
        arrivals.set(id, { arrivedMs, createdMs: Date.parse(createdAt) });
      }
      deliveries++;
      response.writeHead(204).end();
      if (waiting && deliveries >= waiting.count) {
        waiting.resolve();
        waiting = undefined;
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    arrivals,
    deliveries: () => deliveries,
    until: (count) =>
      deliveries >= count
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            waiting = { count, resolve };
          }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
