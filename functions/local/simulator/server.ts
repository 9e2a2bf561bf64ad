/**
 * One port, as Ogmios: WebSocket JSON-RPC on any path, `GET /health`, and `POST /` with a single JSON-RPC
 * request answered over a throw-away session (HTTP 400 when the answer is an error).
 *
 * Optional API keys model a hosted provider's gateway: every request (upgrade included) must carry the header
 * `dmtr-api-key` with a current key, or gets HTTP 401. Keys can be replaced while running, to test rotation.
 *
 * Back-pressure: a connection with `maxInFlight` `nextBlock` requests waiting at the tip stops being read until
 * the chain moves, as Ogmios stops pipelining beyond `--max-in-flight`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Network } from '../../domain/network.js';
import type { ChainProducer } from './chain-producer.js';
import { ClientSession, type SessionCounters } from './client-session.js';
import { healthReport } from './health.js';
import { writeJson } from './json-writer.js';
import type { MessageSink } from './rpc-messages.js';

export interface ServerSettings {
  readonly host: string;
  readonly port: number;
  readonly network: Network;
  readonly maxInFlight: number;
  readonly clock: () => number;
  readonly apiKeys: readonly string[] | undefined;
}

/** How `dropConnections` ends connections: a close frame (as Ogmios when it loses its node), or a reset. */
export type DropMode = 'close' | 'terminate';

const API_KEY_HEADER = 'dmtr-api-key';
const MAX_HTTP_BODY_BYTES = 16 * 1024 * 1024;
/** Close code and reason Ogmios uses when its node connection is lost (the reason is a bare JSON-RPC fault). */
const NODE_LOST_CLOSE_CODE = 1011;
const NODE_LOST_REASON = '{"id":null,"code":-32000,"message":"Connection with the node lost or failed."}';
const FELL_BEHIND_REASON = 'Fell behind the retained history of the simulator; intersect again at a recent point.';
const JSON_CONTENT_TYPE = 'application/json;charset=utf-8';

interface Connection {
  readonly session: ClientSession;
  readonly openedAt: number;
}

export class SimulatorServer {
  private readonly http: Server;
  private readonly webSockets = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly connections = new Map<WebSocket, Connection>();
  private readonly counters: SessionCounters = { totalMessages: 0, totalUnrouted: 0 };
  private readonly startedAt: number;
  private totalConnections = 0;
  private readonly endedSessions = { count: 0, totalMs: 0, maxMs: 0, minMs: 0 };
  private apiKeys: readonly string[] | undefined;

  constructor(
    private readonly settings: ServerSettings,
    private readonly producer: ChainProducer,
  ) {
    this.startedAt = settings.clock();
    this.apiKeys = settings.apiKeys;
    this.http = createServer((request, response) => this.handleHttp(request, response));
    this.http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.handleUpgrade(request, socket, head));
    this.webSockets.on('connection', (socket: WebSocket) => this.handleConnection(socket));
  }

  /** Starts listening; resolves with the port (useful when the settings ask for port 0). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.settings.port, this.settings.host, () => {
        this.http.off('error', reject);
        resolve((this.http.address() as AddressInfo).port);
      });
    });
  }

  get activeConnections(): number {
    return this.connections.size;
  }

  /** Replaces the accepted API keys (undefined: no key required). Open connections are not affected. */
  setApiKeys(keys: readonly string[] | undefined): void {
    this.apiKeys = keys === undefined ? undefined : [...keys];
  }

  /** Ends every open WebSocket connection; returns how many there were. */
  dropConnections(mode: DropMode = 'close'): number {
    const sockets = [...this.connections.keys()];
    for (const socket of sockets) {
      if (mode === 'terminate') socket.terminate();
      else socket.close(NODE_LOST_CLOSE_CODE, NODE_LOST_REASON);
    }
    return sockets.length;
  }

  async close(): Promise<void> {
    for (const socket of this.connections.keys()) socket.terminate();
    await new Promise<void>((resolve) => this.webSockets.close(() => resolve()));
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  private handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!this.isAuthorised(request)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.webSockets.handleUpgrade(request, socket, head, (webSocket) => this.webSockets.emit('connection', webSocket, request));
  }

  private handleConnection(socket: WebSocket): void {
    this.totalConnections++;
    const { maxInFlight } = this.settings;
    const sink: MessageSink = {
      send: (message) => socket.send(message),
      // One WebSocket message in several frames (continuation frames, RFC 6455 §5.4): the block is not copied.
      sendParts: (parts) =>
        parts.forEach((part, index) => {
          socket.send(part, { binary: false, fin: index === parts.length - 1 });
        }),
    };
    const session = new ClientSession(this.settings.network, this.producer, sink, this.counters, {
      onFellBehind: () => socket.close(NODE_LOST_CLOSE_CODE, FELL_BEHIND_REASON),
      onWaitingDrained: (waitingCount) => {
        if (socket.isPaused && waitingCount < maxInFlight) socket.resume();
      },
    });
    const connection: Connection = { session, openedAt: this.settings.clock() };
    this.connections.set(socket, connection);

    socket.on('message', (data: RawData) => {
      session.handleMessage(rawDataToText(data));
      // As Ogmios stops pipelining beyond --max-in-flight: stop reading until the chain answers some.
      if (session.chainSync.waitingCount >= maxInFlight) socket.pause();
    });
    socket.on('close', () => this.endConnection(socket, connection));
    socket.on('error', () => socket.terminate());
  }

  private endConnection(socket: WebSocket, connection: Connection): void {
    if (!this.connections.delete(socket)) return;
    connection.session.close();
    const duration = this.settings.clock() - connection.openedAt;
    const ended = this.endedSessions;
    ended.maxMs = ended.count === 0 ? duration : Math.max(ended.maxMs, duration);
    ended.minMs = ended.count === 0 ? duration : Math.min(ended.minMs, duration);
    ended.totalMs += duration;
    ended.count++;
  }

  private handleHttp(request: IncomingMessage, response: ServerResponse): void {
    if (!this.isAuthorised(request)) {
      sendJson(response, 401, '{"error":"Unauthorized: missing or invalid dmtr-api-key header."}');
      return;
    }
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/health' && request.method === 'GET') {
      const { status, body } = healthReport({
        network: this.settings.network,
        now: this.settings.clock(),
        startedAt: this.startedAt,
        lastTipUpdate: this.producer.lastChangeAt,
        tip: this.producer.chain.tip,
        activeConnections: this.connections.size,
        totalConnections: this.totalConnections,
        sessionDurations: {
          max: this.endedSessions.maxMs,
          mean: this.endedSessions.count === 0 ? 0 : this.endedSessions.totalMs / this.endedSessions.count,
          min: this.endedSessions.minMs,
        },
        totalMessages: this.counters.totalMessages,
        totalUnrouted: this.counters.totalUnrouted,
      });
      sendJson(response, status, writeJson(body));
      return;
    }
    if (path === '/' && request.method === 'POST') {
      void this.handleHttpRequest(request, response);
      return;
    }
    sendJson(response, 404, '{"error":"Not found. The simulator serves WebSocket JSON-RPC, GET /health and POST /."}');
  }

  /** A single JSON-RPC request over HTTP: answered by a session that lives for this request only. */
  private async handleHttpRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text: string;
    try {
      text = await readBody(request, MAX_HTTP_BODY_BYTES);
    } catch {
      sendJson(response, 413, '{"error":"Request body too large."}');
      return;
    }
    let answer: { message: string | Buffer; kind: 'result' | 'error' } | undefined;
    const sink: MessageSink = {
      send: (message, kind) => (answer ??= { message, kind }),
      sendParts: (parts, kind) => (answer ??= { message: Buffer.concat(parts), kind }),
    };
    const session = new ClientSession(this.settings.network, this.producer, sink, this.counters, {
      onFellBehind: () => undefined,
      onWaitingDrained: () => undefined,
    });
    try {
      session.handleMessage(text);
    } finally {
      session.close();
    }
    if (answer === undefined) {
      sendJson(
        response,
        500,
        '{"jsonrpc":"2.0","error":{"code":-32603,"message":"The request got no immediate answer; use a WebSocket for it."},"id":null}',
      );
      return;
    }
    sendJson(response, answer.kind === 'error' ? 400 : 200, answer.message);
  }

  private isAuthorised(request: IncomingMessage): boolean {
    if (this.apiKeys === undefined) return true;
    const key = request.headers[API_KEY_HEADER];
    return typeof key === 'string' && this.apiKeys.includes(key);
  }
}

function rawDataToText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function sendJson(response: ServerResponse, status: number, body: string | Buffer): void {
  response.writeHead(status, { 'content-type': JSON_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

function readBody(request: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('body too large'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
