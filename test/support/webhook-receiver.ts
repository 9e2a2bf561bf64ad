/**
 * A real HTTP receiver on loopback for the webhook tests: records every request (headers and raw body) and answers
 * as the test says: a status, or held until the test releases it (to prove what does not wait for it).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
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
  /** The first request (already here or still to come) that `accept` takes: waits for deliveries, never for time. */
  next(accept: (request: ReceivedRequest) => boolean): Promise<ReceivedRequest>;
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
    async next(accept) {
      for (;;) {
        const found = requests.find(accept);
        if (found) return found;
        await receiver.received(requests.length + 1);
      }
    },
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

/**
 * What a business does with the Payment-Monitor-Signature header: its own HMAC over "<t>.<raw body>", compared with
 * each v1 value (written here, not taken from the signer under test).
 */
export function signedBy(secret: string, request: Pick<ReceivedRequest, 'headers' | 'body'>): boolean {
  const header = String(request.headers['payment-monitor-signature']);
  const t = /(?:^|,)t=(\d+)/.exec(header)?.[1];
  const expected = createHmac('sha256', secret).update(`${t}.${request.body}`).digest();
  return [...header.matchAll(/v1=([0-9a-f]{64})/g)].some((match) => timingSafeEqual(Buffer.from(match[1] as string, 'hex'), expected));
}
