/**
 * Reads one incoming JSON-RPC message. Messages are parsed with the project's lossless parser, so an `id` that
 * holds a big integer or keys like `__proto__` is mirrored back exactly.
 */
import { isLosslessJsonObject, parseLosslessJson, type JsonObject, type JsonValue } from '../../domain/ogmios/lossless-json.js';
import { writeJson } from './json-writer.js';
import { INVALID_REQUEST_MESSAGES } from './rpc-messages.js';

export interface RpcRequest {
  readonly method: string;
  /** `params` as sent (undefined when absent). */
  readonly params: JsonValue | undefined;
  /** The request's `id` written back as JSON ("null" when there was none). */
  readonly idJson: string;
}

export type ParsedMessage =
  | { readonly kind: 'request'; readonly request: RpcRequest }
  | { readonly kind: 'invalid'; readonly message: string; readonly idJson: string };

export function parseRequest(text: string, knownMethods: ReadonlySet<string>): ParsedMessage {
  let message: JsonValue;
  try {
    message = parseLosslessJson(text);
  } catch {
    return { kind: 'invalid', message: INVALID_REQUEST_MESSAGES.notAnObject, idJson: 'null' };
  }
  if (!isLosslessJsonObject(message)) return { kind: 'invalid', message: INVALID_REQUEST_MESSAGES.notAnObject, idJson: 'null' };
  const idJson = idJsonOf(message);
  if (message.jsonrpc !== '2.0') return { kind: 'invalid', message: INVALID_REQUEST_MESSAGES.missingJsonRpc, idJson };
  const method = message.method;
  if (typeof method !== 'string') return { kind: 'invalid', message: INVALID_REQUEST_MESSAGES.missingMethod, idJson };
  if (!knownMethods.has(method)) return { kind: 'invalid', message: INVALID_REQUEST_MESSAGES.unknownMethod, idJson };
  return { kind: 'request', request: { method, params: message.params, idJson } };
}

function idJsonOf(message: JsonObject): string {
  const id = message.id;
  return id === undefined ? 'null' : writeJson(id);
}
