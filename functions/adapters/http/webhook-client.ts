/**
 * Sends a webhook delivery: one POST, 10 s in all, no redirect followed (a 3xx is a failure, recorded as such).
 *
 * SSRF: the name is resolved here, and on AWS (allowPrivateDestinations false) every address that is not public
 * unicast is refused (domain/webhooks/destination.ts); the request then connects to the very address checked (a
 * `lookup` that answers it), while TLS SNI, certificate checks and the Host header keep the name. Locally
 * (allowPrivateDestinations true) plain http goes to loopback addresses only.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { describeError } from '../../domain/observability.js';
import type { SendResult, WebhookRequest, WebhookSender } from '../../domain/webhooks/delivery.js';
import { isForbiddenAddress } from '../../domain/webhooks/destination.js';
import { hostOf } from '../../domain/webhooks/endpoint-url.js';
import { WEBHOOK_TIMEOUT_MS } from '../../domain/webhooks/retry-policy.js';

export interface ResolvedAddress {
  address: string;
  family: number;
}
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface WebhookClientOptions {
  allowPrivateDestinations: boolean;
  /** Name resolution; default the system resolver (all addresses). Injected by tests. */
  resolve?: Resolver;
  timeoutMs?: number;
  /** Extra TLS options (tests: a self-signed receiver's CA). */
  ca?: string | Buffer;
}

const EXCERPT_BYTES = 1024;

export class DestinationRefusedError extends Error {
  override readonly name = 'DestinationRefusedError';
}

export class HttpWebhookClient implements WebhookSender {
  private readonly resolve: Resolver;
  private readonly timeoutMs: number;
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 4 });

  constructor(private readonly options: WebhookClientOptions) {
    this.resolve = options.resolve ?? ((hostname) => dnsLookup(hostname, { all: true, verbatim: true }));
    this.timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  }

  async send(request: WebhookRequest): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    const deadline = AbortSignal.timeout(this.timeoutMs);
    try {
      const url = new URL(request.url);
      // The name's resolution counts in the attempt's time, like the connection and the answer.
      const target = await withinDeadline(this.destination(url), deadline);
      return await this.post(url, target, request, deadline, elapsed);
    } catch (error) {
      const refused = error instanceof DestinationRefusedError;
      const message = deadline.aborted ? `timed out after ${this.timeoutMs} ms` : describeError(error);
      return { statusCode: null, error: message, excerpt: null, durationMs: elapsed(), ...(refused ? { refused } : {}) };
    }
  }

  /** The address to connect to, checked. */
  async destination(url: URL): Promise<ResolvedAddress> {
    const host = hostOf(url);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new DestinationRefusedError(`${url.protocol} is not allowed`);
    const family = isIP(host);
    const addresses = family !== 0 ? [{ address: host, family }] : await this.resolve(host);
    if (addresses.length === 0) throw new Error(`${host} resolves to no address`);
    if (url.protocol === 'http:') {
      if (!this.options.allowPrivateDestinations) throw new DestinationRefusedError('plain http is not allowed');
      const loopback = addresses.find((a) => isLoopback(a.address));
      if (!loopback) throw new DestinationRefusedError(`plain http goes to loopback only; ${host} resolves to ${addresses[0]!.address}`);
      return loopback;
    }
    if (this.options.allowPrivateDestinations) return addresses[0]!;
    const allowed = addresses.find((a) => !isForbiddenAddress(a.address));
    if (!allowed) {
      throw new DestinationRefusedError(`${host} resolves to a non-public address (${addresses.map((a) => a.address).join(', ')})`);
    }
    return allowed;
  }

  private post(
    url: URL,
    target: ResolvedAddress,
    request: WebhookRequest,
    signal: AbortSignal,
    elapsed: () => number,
  ): Promise<SendResult> {
    const lookup: LookupFunction = (_hostname, options, callback) => {
      if ((options as { all?: boolean }).all) (callback as (e: null, a: ResolvedAddress[]) => void)(null, [target]);
      else callback(null, target.address, target.family);
    };
    const body = Buffer.from(request.body, 'utf8');
    const secure = url.protocol === 'https:';
    const transport = secure ? https : http;
    return new Promise<SendResult>((resolve, reject) => {
      const req = transport.request(
        url,
        {
          method: 'POST',
          headers: { ...request.headers, 'Content-Length': String(body.length) },
          lookup,
          signal,
          agent: secure ? this.httpsAgent : this.httpAgent,
          ...(secure
            ? { servername: isIP(hostOf(url)) ? undefined : hostOf(url), ...(this.options.ca ? { ca: this.options.ca } : {}) }
            : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let kept = 0;
          res.on('data', (chunk: Buffer) => {
            if (kept < EXCERPT_BYTES) {
              chunks.push(chunk.subarray(0, EXCERPT_BYTES - kept));
              kept += Math.min(chunk.length, EXCERPT_BYTES - kept);
            }
          });
          res.on('end', () =>
            resolve({
              statusCode: res.statusCode ?? null,
              error: null,
              excerpt: Buffer.concat(chunks).toString('utf8').replaceAll('\u0000', ''),
              durationMs: elapsed(),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

function isLoopback(address: string): boolean {
  return address === '::1' || /^127\./.test(address) || /^::ffff:127\./i.test(address);
}

/** The work's outcome, or the signal's reason when it aborts first (the work is left to finish unheard). */
function withinDeadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener('abort', abort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(error);
      },
    );
  });
}
