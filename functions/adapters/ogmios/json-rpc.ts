/**
 * The JSON-RPC 2.0 envelope as Ogmios v6 speaks it, and a request/response channel for one-shot calls.
 * Everything is parsed with the lossless parser: slots, heights and amounts can exceed 2^53.
 */
import type WebSocket from 'ws';
import { JsonSyntaxError, parseLosslessJson, type JsonObject, type JsonValue } from '../../domain/ogmios/lossless-json.js';
import { messageBytes } from './connection.js';
import {
  OgmiosAnswerTooLargeError,
  OgmiosConnectionLostError,
  OgmiosProtocolError,
  OgmiosRequestTimeoutError,
  OgmiosRpcError,
} from './errors.js';
import type { Redactor } from './redact.js';

/** A request as text. `params` may hold bigints; they are written as bare JSON numbers, as Ogmios expects. */
export function encodeRequest(method: string, params?: JsonValue, id?: string): string {
  const request: JsonObject = { jsonrpc: '2.0', method };
  if (params !== undefined) request.params = params;
  if (id !== undefined) request.id = id;
  return toJsonText(request);
}

/** JSON.stringify with bigint support (JSON.rawJSON is not in Node 20). */
export function toJsonText(value: JsonValue): string {
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'number':
    case 'boolean':
    case 'string':
      return JSON.stringify(value);
    default:
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
      return `{${Object.keys(value)
        .filter((key) => value[key] !== undefined)
        .map((key) => `${JSON.stringify(key)}:${toJsonText(value[key] as JsonValue)}`)
        .join(',')}}`;
  }
}

export interface RpcErrorBody {
  code: number;
  message: string;
  data?: JsonValue;
}

export interface RpcResponse {
  /** Absent with --strict-rpc and in generic errors (-32600). */
  method: string | undefined;
  id: JsonValue;
  result?: JsonValue;
  error?: RpcErrorBody;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a response envelope; throws `OgmiosProtocolError` when it is not one. */
export function parseResponse(data: WebSocket.RawData | string): RpcResponse {
  let message: JsonValue;
  try {
    message = parseLosslessJson(typeof data === 'string' ? data : utf8.decode(messageBytes(data)));
  } catch (error) {
    const detail = error instanceof JsonSyntaxError ? error.message : 'not UTF-8';
    throw new OgmiosProtocolError(`the server sent a message that is not JSON: ${detail}`);
  }
  if (!isObject(message)) throw new OgmiosProtocolError('the server sent a message that is not a JSON object');
  const method = typeof message.method === 'string' ? message.method : undefined;
  const response: RpcResponse = { method, id: message.id ?? null };
  if (message.error !== undefined) {
    const error = message.error;
    if (!isObject(error) || typeof error.code !== 'number') throw new OgmiosProtocolError('the server sent a malformed JSON-RPC error');
    response.error = { code: error.code, message: typeof error.message === 'string' ? error.message : '(no message)' };
    if (error.data !== undefined) response.error.data = error.data;
  } else if (message.result !== undefined) {
    response.result = message.result;
  } else {
    throw new OgmiosProtocolError(`the server sent a response without result or error${method ? ` to ${method}` : ''}`);
  }
  return response;
}

export function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** ws' error code for a message over `maxPayload`. */
const WS_MESSAGE_TOO_LARGE = 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';

interface PendingRequest {
  method: string;
  resolve: (result: JsonValue) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Request/response over one socket, correlated by id. For stateless calls (ledger-state queries); chain sync
 * has its own ordered, pipelined reader.
 */
export class RpcChannel {
  private readonly pending = new Map<string, PendingRequest>();
  private nextId = 1;
  private closedBecause: Error | undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly redactor: Redactor,
    private readonly requestTimeoutMs: number,
  ) {
    socket.on('message', (data) => this.onMessage(data));
    socket.on('close', (code, reason) =>
      this.failAll(
        new OgmiosConnectionLostError(
          `connection closed (code ${code}${reason.length > 0 ? `, ${this.redactor.text(reason.toString())}` : ''})`,
        ),
      ),
    );
    socket.on('error', (error) =>
      this.failAll(
        // Not a connection to retry on: the same request would get the same answer.
        (error as NodeJS.ErrnoException).code === WS_MESSAGE_TOO_LARGE
          ? new OgmiosAnswerTooLargeError(`an answer exceeded the limit on one message (${this.redactor.errorMessage(error)})`)
          : new OgmiosConnectionLostError(`connection failed: ${this.redactor.errorMessage(error)}`),
      ),
    );
  }

  get isOpen(): boolean {
    return this.closedBecause === undefined;
  }

  request(method: string, params?: JsonValue): Promise<JsonValue> {
    if (this.closedBecause) return Promise.reject(this.closedBecause);
    const id = `rpc-${this.nextId++}`;
    return new Promise<JsonValue>((resolve, reject) => {
      const timer = setTimeout(() => {
        // A request without an answer leaves the socket in an unknown state: do not reuse it.
        this.failAll(new OgmiosRequestTimeoutError(`${method} got no answer within ${this.requestTimeoutMs} ms`));
        this.socket.terminate();
      }, this.requestTimeoutMs);
      this.pending.set(id, { method, resolve, reject, timer });
      this.socket.send(encodeRequest(method, params, id));
    });
  }

  private onMessage(data: WebSocket.RawData): void {
    let response: RpcResponse;
    try {
      response = parseResponse(data);
    } catch (error) {
      this.failAll(
        error instanceof Error ? new OgmiosProtocolError(this.redactor.errorMessage(error)) : new OgmiosProtocolError('unreadable message'),
      );
      this.socket.terminate();
      return;
    }
    const id = typeof response.id === 'string' ? response.id : undefined;
    const request = id === undefined ? undefined : this.pending.get(id);
    if (id === undefined || request === undefined) {
      // Only a generic -32600 error can lack our id, and only when our request was unreadable: a bug on our side.
      this.failAll(
        new OgmiosProtocolError(`unexpected message${response.error ? `: error ${response.error.code} ${response.error.message}` : ''}`),
      );
      this.socket.terminate();
      return;
    }
    this.pending.delete(id);
    clearTimeout(request.timer);
    if (response.error) {
      request.reject(
        new OgmiosRpcError(request.method, response.error.code, this.redactor.text(response.error.message), response.error.data),
      );
    } else {
      request.resolve(response.result as JsonValue);
    }
  }

  private failAll(error: Error): void {
    this.closedBecause ??= error;
    for (const request of this.pending.values()) {
      clearTimeout(request.timer);
      request.reject(error);
    }
    this.pending.clear();
  }
}
