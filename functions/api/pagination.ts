/** Cursor pagination: `limit` (default 100, at most 1,000), an opaque base64url `cursor`, `next_cursor` or null. */
import { badRequest } from './problem.js';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export function encodeCursor(position: Record<string, string>): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/** The position a cursor holds, each named field a string; a cursor that is not one of ours is a 400 naming it. */
export function decodeCursor<K extends string>(cursor: unknown, fields: readonly K[], parameter = 'cursor'): Record<K, string> | undefined {
  if (cursor === undefined) return undefined;
  const refuse = () => badRequest('The cursor is not one this API gave.', [{ field: parameter, message: 'is not a valid cursor' }]);
  if (typeof cursor !== 'string' || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw refuse();
  let position: unknown;
  try {
    position = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  if (position === null || typeof position !== 'object') throw refuse();
  const result = {} as Record<K, string>;
  for (const field of fields) {
    const value = (position as Record<string, unknown>)[field];
    if (typeof value !== 'string' || value.length === 0 || value.length > 200) throw refuse();
    result[field] = value;
  }
  return result;
}

/** A decimal id from a cursor (a bigint column), refused when it is not one. */
export function cursorId(value: string, parameter = 'cursor'): bigint {
  if (!/^(0|[1-9][0-9]{0,18})$/.test(value))
    throw badRequest('The cursor is not one this API gave.', [{ field: parameter, message: 'is not a valid cursor' }]);
  return BigInt(value);
}

/** Reads limit + 1 rows: the extra one says whether a next page exists, and is not returned. */
export function pageOf<Row, T>(
  rows: Row[],
  limit: number,
  toItem: (row: Row) => T,
  positionOf: (row: Row) => Record<string, string>,
): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const last = kept.at(-1);
  return { data: kept.map(toItem), next_cursor: more && last !== undefined ? encodeCursor(positionOf(last)) : null };
}
