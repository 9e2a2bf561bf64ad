/**
 * Opening, watching and closing one WebSocket to Ogmios. Shared by the chain-sync and ledger-state clients.
 */
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { OgmiosConnectError } from './errors.js';
import type { Redactor } from './redact.js';
import type { OgmiosEndpoint } from './relays.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Blocks are at most a few MB of JSON; this only stops a runaway message from exhausting memory. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;

export interface OpenSocketOptions {
  connectTimeoutMs: number;
  maxPayloadBytes: number;
  redactor: Redactor;
  /** Aborting rejects with kind 'aborted' and discards the half-open socket. */
  signal?: AbortSignal;
}

/** Resolves with an open socket, or rejects with an `OgmiosConnectError` whose message is redacted. */
export function openOgmiosSocket(endpoint: OgmiosEndpoint, options: OpenSocketOptions): Promise<WebSocket> {
  const { redactor, signal } = options;
  if (signal?.aborted) return Promise.reject(new OgmiosConnectError('aborted', `connection to ${endpoint.safeUrl} aborted`));

  const socket = new WebSocket(endpoint.url, {
    headers: { ...endpoint.headers },
    maxPayload: options.maxPayloadBytes,
    // Ogmios does not compress, and a redirect could carry the key header elsewhere.
    perMessageDeflate: false,
    followRedirects: false,
    // Every message is checked once, by its decoder (messageFrame, parseResponse), which reports bad UTF-8 as a
    // protocol error; ws checking each frame again would cost a second pass over every block.
    skipUTF8Validation: true,
  });
  // ws emits 'error' after a failed handshake too; an unhandled 'error' would crash the process.
  socket.on('error', ignore);

  return new Promise<WebSocket>((resolve, reject) => {
    const settle = (error?: OgmiosConnectError): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('open', onOpen).off('unexpected-response', onUnexpectedResponse).off('error', onError).off('close', onClose);
      if (error === undefined) return resolve(socket);
      socket.terminate();
      reject(error);
    };
    const onOpen = (): void => settle();
    // Listening for this event is what gives us the status code; ws then leaves aborting to us (settle does).
    const onUnexpectedResponse = (_request: unknown, response: IncomingMessage): void => {
      const status = response.statusCode ?? 0;
      response.resume();
      const kind = status === 401 || status === 403 ? 'unauthorized' : 'rejected';
      const meaning = kind === 'unauthorized' ? ' (the API key was refused)' : '';
      settle(new OgmiosConnectError(kind, `${endpoint.safeUrl} answered the upgrade with HTTP ${status}${meaning}`, status));
    };
    const onError = (error: Error): void =>
      settle(new OgmiosConnectError('network', `cannot connect to ${endpoint.safeUrl}: ${redactor.errorMessage(error)}`));
    const onClose = (): void => settle(new OgmiosConnectError('network', `${endpoint.safeUrl} closed the connection during the handshake`));
    const onAbort = (): void => settle(new OgmiosConnectError('aborted', `connection to ${endpoint.safeUrl} aborted`));
    const timer = setTimeout(
      () => settle(new OgmiosConnectError('timeout', `no connection to ${endpoint.safeUrl} within ${options.connectTimeoutMs} ms`)),
      options.connectTimeoutMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('open', onOpen).on('unexpected-response', onUnexpectedResponse).on('error', onError).on('close', onClose);
  });
}

export interface LivenessOptions {
  /** How often to ping. Ogmios closes connections idle for 90 s; pings count as traffic. */
  pingIntervalMs: number;
  /** A socket that does not answer a ping within this time is considered dead and terminated. */
  pongTimeoutMs: number;
}

export const DEFAULT_PING_INTERVAL_MS = 15_000;
export const DEFAULT_PONG_TIMEOUT_MS = 10_000;

/**
 * Pings the server periodically. A half-open TCP connection (a NAT or load balancer that dropped it silently)
 * never emits 'close' by itself; a missing pong is how we notice. Returns a function that stops watching.
 */
export function watchLiveness(socket: WebSocket, options: LivenessOptions, onDead: (reason: string) => void): () => void {
  let pongTimer: NodeJS.Timeout | undefined;
  const onPong = (): void => {
    clearTimeout(pongTimer);
    pongTimer = undefined;
  };
  socket.on('pong', onPong);
  const pingTimer = setInterval(() => {
    if (pongTimer !== undefined || socket.readyState !== WebSocket.OPEN) return;
    socket.ping();
    pongTimer = setTimeout(() => {
      stop();
      onDead(`no pong within ${options.pongTimeoutMs} ms`);
      socket.terminate();
    }, options.pongTimeoutMs);
  }, options.pingIntervalMs);
  const stop = (): void => {
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    socket.off('pong', onPong);
  };
  return stop;
}

/** Closes with a normal closure; a server that does not finish the closing handshake in time is cut off. */
export function closeSocket(socket: WebSocket, timeoutMs = 1_000): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.terminate(), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    if (socket.readyState === WebSocket.OPEN) socket.close(1000, 'client closing');
    else socket.terminate();
  });
}

/** The bytes of a received message, whatever form ws delivered them in. */
export function messageBytes(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

/**
 * The message's bytes and, when they are valid UTF-8, its text (Node's native check and decode are several times
 * faster than a fatal TextDecoder on the hot path); without text the decoder reports the bad encoding.
 */
export function messageFrame(data: WebSocket.RawData): { bytes: Uint8Array; text: string | undefined } {
  const raw = messageBytes(data);
  const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  return { bytes, text: isUtf8(bytes) ? bytes.toString('utf8') : undefined };
}

/**
 * Holds back the frames sent during one turn of the event loop and writes them to the TCP socket together.
 *
 * A pipelined follower sends one small `nextBlock` request per block received. Written one by one, each is a
 * system call (on loopback the kernel also runs the receiving side's TCP stack in it): about a tenth of the
 * follower's time at several thousand blocks per second. While the follower catches up, one turn of the event
 * loop reads many blocks from the socket (libuv reads up to 32 chunks per wake-up), so their requests leave in
 * one write. Nothing is delayed beyond the current turn: the flush runs in the same loop iteration, right after
 * the socket's reads (setImmediate), so at the tip a request leaves as soon as before for practical purposes.
 *
 * ws keeps the TCP socket in `_socket` (not a public property, but the same since ws 1); without it the frames
 * are simply written one by one.
 */
export class CoalescedSender {
  private readonly tcp: Socket | undefined;
  private corked = false;

  constructor(private readonly socket: WebSocket) {
    const tcp = (socket as unknown as { _socket?: Socket })._socket;
    this.tcp = typeof tcp?.cork === 'function' ? tcp : undefined;
  }

  /** Sends `text` if the socket is open (a send on a closing socket fails through its 'close' event anyway). */
  send(text: string): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    if (this.tcp !== undefined && !this.corked) {
      this.corked = true;
      this.tcp.cork();
      setImmediate(() => this.flush());
    }
    this.socket.send(text);
  }

  private flush(): void {
    this.corked = false;
    this.tcp?.uncork();
  }
}

function ignore(): void {}
