/**
 * A load balancer in front of several Ogmios servers, message by message: each new client connection is sent to
 * the backend `route` picks for it, and a connection can be closed right after a given number of answers (as a
 * balancer draining a node, or an idle timeout). What a client sent is kept, for schema checks.
 */
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

export interface RelayProxyOptions {
  backends: readonly string[];
  /** The backend (index into `backends`) of the n-th client connection, from 0. */
  route: (connection: number) => number;
  /** Close the n-th client connection after this many answers (undefined: never). */
  closeAfterAnswers?: (connection: number) => number | undefined;
}

export interface RelayedRequest {
  connection: number;
  backend: number;
  text: string;
}

export class OgmiosRelayProxy {
  readonly requests: RelayedRequest[] = [];
  private connections = 0;

  private constructor(
    private readonly server: WebSocketServer,
    private readonly options: RelayProxyOptions,
  ) {
    server.on('connection', (client) => this.relay(client));
  }

  static async start(options: RelayProxyOptions): Promise<OgmiosRelayProxy> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    return new OgmiosRelayProxy(server, options);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Client connections opened so far. */
  get connectionCount(): number {
    return this.connections;
  }

  async stop(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: WebSocket): void {
    const connection = this.connections++;
    const backendIndex = this.options.route(connection);
    const backend = new WebSocket(this.options.backends[backendIndex]!, { perMessageDeflate: false, maxPayload: 0 });
    const closeAfter = this.options.closeAfterAnswers?.(connection);
    const waiting: string[] = [];
    let answers = 0;
    let closing = false;
    const end = (): void => {
      closing = true;
      if (client.readyState === WebSocket.OPEN) client.close(1001, 'relay closed');
      backend.terminate();
    };
    client.on('message', (data) => {
      // A draining balancer forwards nothing more once it decided to close.
      if (closing) return;
      const text = data.toString();
      this.requests.push({ connection, backend: backendIndex, text });
      if (backend.readyState === WebSocket.OPEN) backend.send(text);
      else waiting.push(text);
    });
    backend.on('open', () => {
      for (const text of waiting.splice(0)) backend.send(text);
    });
    backend.on('message', (data) => {
      if (closing) return;
      client.send(data.toString());
      if (closeAfter !== undefined && ++answers >= closeAfter) end();
    });
    backend.on('error', () => end());
    backend.on('close', () => end());
    client.on('close', () => {
      closing = true;
      backend.terminate();
    });
  }
}
