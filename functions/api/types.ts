/** The HTTP API's request, response and caller, the same for the local server and the API Gateway adapter. */
import type { Principal } from '../domain/api-keys.js';

export { impliedScopes, SCOPES, type Principal, type Scope } from '../domain/api-keys.js';

export interface ApiRequest {
  method: string;
  /** The path without the query, e.g. /v1/payments/abc/0. */
  path: string;
  /** Each query parameter's values (a repeated parameter has several). */
  query: Record<string, string[]>;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** The body as received ('' when none). */
  rawBody: string;
}

/** A request matched to its route: path parameters, query and body validated by the document. */
export interface RouteRequest {
  method: string;
  path: string;
  pathParams: Record<string, string | number>;
  query: Record<string, unknown>;
  headers: Record<string, string>;
  rawBody: string;
  /** The parsed body (undefined when none). */
  body: unknown;
  principal: Principal;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  /** JSON-serialisable; undefined for an empty body (204). */
  body?: unknown;
}
