/**
 * Idempotency-Key on every POST. In the SAME PostgreSQL transaction as the write:
 *
 * 1. `pg_try_advisory_xact_lock` on a hash of (principal, key): not acquired means the first request with this key
 *    is still in flight → 409;
 * 2. a stored response for this (principal, key) from the last 24 hours: another request hash (method, path,
 *    canonical body) → 422; the same → replay its status and body, with `Idempotent-Replayed: true`;
 * 3. otherwise the write runs, its response is stored, and both commit together (or neither).
 *
 * Only a successful write's response is stored: a refused one (4xx) rolls back with everything else, so the key
 * can be used again for the corrected request. Rows older than 24 hours are deleted after each stored response
 * (a bounded batch), so the table holds about a day of POSTs.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { ApiProblem } from './problem.js';
import type { ApiResponse } from './types.js';

/** The class id of the API's advisory locks (the second key is the hash): apart from every other lock. */
const IDEMPOTENCY_LOCK_CLASS = 0x41504931; // "API1"
const CLEANUP_BATCH = 500;
export const IDEMPOTENCY_WINDOW_HOURS = 24;

export interface IdempotentRequest {
  principal: string;
  idempotencyKey: string;
  method: string;
  path: string;
  body: unknown;
}

/** What a write answers; `stored` is the body kept for replays when it differs (a secret shown once is not kept). */
export interface WriteResult extends ApiResponse {
  storedBody?: unknown;
}

/** JSON with object keys sorted at every level: the same body however its keys were ordered. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function requestHash(request: Pick<IdempotentRequest, 'method' | 'path' | 'body'>): Buffer {
  return createHash('sha256')
    .update(`${request.method.toUpperCase()}\n${request.path}\n${request.body === undefined ? '' : canonicalJson(request.body)}`)
    .digest();
}

/** The advisory lock of (principal, idempotency key): the API's class id and 32 bits of their SHA-256. */
export function idempotencyLock(principal: string, idempotencyKey: string): [number, number] {
  return [IDEMPOTENCY_LOCK_CLASS, createHash('sha256').update(`${principal}\0${idempotencyKey}`).digest().readInt32BE(0)];
}

export async function idempotentWrite(
  pool: pg.Pool,
  request: IdempotentRequest,
  write: (client: pg.PoolClient) => Promise<WriteResult>,
): Promise<ApiResponse> {
  const hash = requestHash(request);
  const client = await pool.connect();
  let broken: Error | undefined;
  let stored = false;
  try {
    await client.query('BEGIN');
    const { rows: locked } = await client.query<{ acquired: boolean }>(
      'SELECT pg_try_advisory_xact_lock($1::int, $2::int) AS acquired',
      idempotencyLock(request.principal, request.idempotencyKey),
    );
    if (!locked[0]?.acquired) {
      throw new ApiProblem(409, 'A request with this Idempotency-Key is in flight: retry once it has finished.', [
        { field: 'Idempotency-Key', message: 'is in use by a request in flight' },
      ]);
    }
    const { rows } = await client.query<{ request_hash: Buffer; response_status: number; response_body: string; fresh: boolean }>(
      `SELECT request_hash, response_status, response_body,
              created_at > now() - make_interval(hours => $3) AS fresh
         FROM idempotency_keys WHERE principal = $1 AND idempotency_key = $2`,
      [request.principal, request.idempotencyKey, IDEMPOTENCY_WINDOW_HOURS],
    );
    const previous = rows[0];
    if (previous?.fresh) {
      await client.query('ROLLBACK');
      if (!previous.request_hash.equals(hash)) {
        throw new ApiProblem(422, 'This Idempotency-Key was used with another request (method, path or body).', [
          { field: 'Idempotency-Key', message: 'was used with another request' },
        ]);
      }
      return {
        status: previous.response_status,
        headers: { 'content-type': 'application/json', 'idempotent-replayed': 'true' },
        body: previous.response_body === '' ? undefined : JSON.parse(previous.response_body),
      };
    }
    if (previous) {
      await client.query('DELETE FROM idempotency_keys WHERE principal = $1 AND idempotency_key = $2', [
        request.principal,
        request.idempotencyKey,
      ]);
    }
    const result = await write(client);
    const { storedBody, ...response } = result;
    if (response.status >= 200 && response.status < 300) {
      const kept = storedBody === undefined ? response.body : storedBody;
      await client.query(
        `INSERT INTO idempotency_keys (principal, idempotency_key, request_hash, response_status, response_body)
         VALUES ($1, $2, $3, $4, $5)`,
        [request.principal, request.idempotencyKey, hash, response.status, kept === undefined ? '' : JSON.stringify(kept)],
      );
      stored = true;
    }
    await client.query('COMMIT');
    return response;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    if (stored && !broken) await deleteExpired(client).catch(() => undefined);
    client.release(broken);
  }
}

/** Deletes a bounded batch of responses older than the window (after each stored response). */
export async function deleteExpired(db: Pick<pg.ClientBase, 'query'>): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM idempotency_keys WHERE (principal, idempotency_key) IN (
       SELECT principal, idempotency_key FROM idempotency_keys
        WHERE created_at < now() - make_interval(hours => $1) ORDER BY created_at LIMIT $2)`,
    [IDEMPOTENCY_WINDOW_HOURS, CLEANUP_BATCH],
  );
  return rowCount ?? 0;
}
