/**
 * The CLI's way to a deployed stage: the HTTP API, with the key from PAYMENT_MONITOR_API_KEY (never a flag: a flag
 * lands in the shell's history and the process list). A problem+json answer becomes an ApiProblemError carrying its
 * detail and the fields it names, so the CLI prints what the API said.
 */
import { randomUUID } from 'node:crypto';

export interface ApiProblem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  errors?: { field: string; message: string }[];
}

export class ApiProblemError extends Error {
  override readonly name = 'ApiProblemError';
  constructor(readonly problem: ApiProblem) {
    const fields = problem.errors?.map((error) => `${error.field}: ${error.message}`).join('; ');
    super(`${problem.status} ${problem.title ?? 'error'}${problem.detail ? `: ${problem.detail}` : ''}${fields ? ` (${fields})` : ''}`);
  }
}

export class ApiClient {
  private readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly apiKey: string,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  get(path: string, query: Record<string, string | undefined> = {}): Promise<unknown> {
    const search = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined));
    const suffix = search.size > 0 ? `?${search}` : '';
    return this.request('GET', `${path}${suffix}`);
  }

  /** A POST always carries an Idempotency-Key: the one given (to repeat a command safely), else a new one. */
  post(path: string, body: unknown, idempotencyKey: string = randomUUID()): Promise<unknown> {
    return this.request('POST', path, body, idempotencyKey);
  }

  delete(path: string): Promise<unknown> {
    return this.request('DELETE', path);
  }

  private async request(method: string, path: string, body?: unknown, idempotencyKey?: string): Promise<unknown> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.apiKey}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`Cannot reach the API at ${this.baseUrl}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
    }
    const text = await response.text();
    const parsed = text === '' ? undefined : parseJson(text);
    if (!response.ok) {
      throw new ApiProblemError(
        isProblem(parsed)
          ? { ...parsed, status: response.status }
          : { status: response.status, title: response.statusText, detail: text.slice(0, 200) },
      );
    }
    return parsed;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function isProblem(value: unknown): value is ApiProblem {
  return typeof value === 'object' && value !== null && ('title' in value || 'detail' in value);
}
