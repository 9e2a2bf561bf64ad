/**
 * A real HTTP receiver on loopback for the webhook tests: records every request (headers and raw body) and answers
 * as the test says: a status, or held until the test releases it (to prove what does not wait for it).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type Answer = { status: number; body?: string; headers?: Record<string, string> } | 'hold';

export interface WebhookReceiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** How the next requests are answered, in turn; when empty, `otherwise`. */
  answers: Answer[];
  otherwise: Answer;
  /** Resolves when at least n requests have arrived. */
  received(n: number): Promise<ReceivedRequest[]>;
  /** Answers every held request with this status. */
  release(status?: number): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(path = '/hooks'): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  const held: http.ServerResponse[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      for (const waiter of waiters.filter((w) => requests.length >= w.n)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      const answer = receiver.answers.shift() ?? receiver.otherwise;
      if (answer === 'hold') held.push(res);
      else res.writeHead(answer.status, answer.headers ?? {}).end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const receiver: WebhookReceiver = {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    requests,
    answers: [],
    otherwise: { status: 200, body: 'ok' },
    received: (n) =>
      requests.length >= n ? Promise.resolve(requests) : new Promise((resolve) => waiters.push({ n, resolve: () => resolve(requests) })),
    release(status = 200) {
      for (const res of held.splice(0)) res.writeHead(status).end('released');
    },
    async close() {
      receiver.release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return receiver;
}
