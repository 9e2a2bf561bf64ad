/** Errors as application/problem+json (RFC 9457): type, title, status, detail, and the bad fields. */
import type { ApiResponse } from './types.js';

export interface FieldError {
  /** A body path (`addresses[2].address`), a query or path parameter, or a header (`Idempotency-Key`). */
  field: string;
  message: string;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  501: 'Not Implemented',
};

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Thrown by a route (or the router) to answer a problem. */
export class ApiProblem extends Error {
  override readonly name = 'ApiProblem';
  constructor(
    readonly status: number,
    readonly detail?: string,
    readonly errors?: readonly FieldError[],
    readonly type = 'about:blank',
    readonly title = TITLES[status] ?? 'Error',
  ) {
    super(detail ?? title);
  }

  response(extraHeaders: Record<string, string> = {}): ApiResponse {
    return {
      status: this.status,
      headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...extraHeaders },
      body: {
        type: this.type,
        title: this.title,
        status: this.status,
        ...(this.detail === undefined ? {} : { detail: this.detail }),
        ...(this.errors === undefined ? {} : { errors: this.errors }),
      },
    };
  }
}

export function badRequest(detail: string, errors?: readonly FieldError[]): ApiProblem {
  return new ApiProblem(400, detail, errors);
}

export function unprocessable(detail: string, errors?: readonly FieldError[]): ApiProblem {
  return new ApiProblem(422, detail, errors);
}

export function notFound(detail: string): ApiProblem {
  return new ApiProblem(404, detail);
}
