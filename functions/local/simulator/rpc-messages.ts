/**
 * JSON-RPC 2.0 envelopes in Ogmios v6 form: `{"jsonrpc","method","result"|"error","id"}`, with `method` in every
 * response to a recognised request (errors included) and `id` always present, mirrored verbatim or null.
 * Requests that cannot be routed get a bare `{"jsonrpc","error","id"}` without `method`, as Ogmios sends them.
 *
 * Parts of a message are passed as JSON text already written, so that large pre-serialised parts (blocks) are
 * spliced in rather than written again.
 */
import { writeJson, type JsonWritable } from './json-writer.js';

export interface RpcError {
  readonly code: number;
  readonly message: string;
  readonly data?: JsonWritable;
}

/** Where a session's responses go, with whether each is an error (HTTP answers 400 for those). */
export interface MessageSink {
  send(message: string | Buffer, kind: 'result' | 'error'): void;
  /** One message given in consecutive parts (large pre-serialised parts are passed as they are). */
  sendParts(parts: readonly Buffer[], kind: 'result' | 'error'): void;
}

export function resultMessage(method: string, resultJson: string, idJson: string): string {
  return `{"jsonrpc":"2.0","method":${JSON.stringify(method)},"result":${resultJson},"id":${idJson}}`;
}

export function errorMessage(method: string, error: RpcError, idJson: string): string {
  return `{"jsonrpc":"2.0","method":${JSON.stringify(method)},"error":${writeJson(errorObject(error))},"id":${idJson}}`;
}

/** The error for a request that could not be routed: no `method`. */
export function invalidRequestMessage(message: string, idJson: string, data?: JsonWritable): string {
  return `{"jsonrpc":"2.0","error":${writeJson(errorObject({ code: INVALID_REQUEST, message, data }))},"id":${idJson}}`;
}

function errorObject(error: RpcError): JsonWritable {
  return { code: error.code, message: error.message, data: error.data };
}

/** Ogmios answers every request it cannot route (bad JSON, unknown method, bad parameters) with this code. */
export const INVALID_REQUEST = -32600;

export const INVALID_REQUEST_MESSAGES = {
  notAnObject: 'Invalid request: must be a well-formed JSON object.',
  missingJsonRpc: 'Invalid request: field \'jsonrpc\' must be present and be "2.0".',
  missingMethod: "Invalid request: field 'method' must be present and be a string.",
  unknownMethod: "Invalid request: unknown method in 'method' (beware names are case-sensitive).",
} as const;
