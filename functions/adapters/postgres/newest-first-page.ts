/**
 * One page of a resource's rows, newest first, for the API's cursor pagination: the rows whose columns equal the
 * filters given, after the cursor's (created_at, id), one more than the limit (the caller knows so whether another
 * page follows). `created_us` is created_at in microseconds since the epoch: the cursor's exact position.
 */
import type pg from 'pg';

export interface NewestFirstPageQuery {
  /** A table (a constant of the caller's, never a request's text). */
  table: string;
  columns: string;
  /** column → value; an undefined value filters nothing. Column names are the caller's constants. */
  filters: Readonly<Record<string, unknown>>;
  limit: number;
  position?: { createdUs: bigint | string; id: string };
}

export async function newestFirstPage<R extends pg.QueryResultRow>(
  db: Pick<pg.Pool | pg.ClientBase, 'query'>,
  { table, columns, filters, limit, position }: NewestFirstPageQuery,
): Promise<(R & { created_us: bigint })[]> {
  const conditions: string[] = [];
  const values: unknown[] = [];
  for (const [column, value] of Object.entries(filters)) {
    if (value === undefined) continue;
    values.push(value);
    conditions.push(`${column} = $${values.length}`);
  }
  if (position) {
    values.push(position.createdUs, position.id);
    conditions.push(
      `(created_at, id) < (timestamptz 'epoch' + $${values.length - 1}::bigint * interval '1 microsecond', $${values.length}::text)`,
    );
  }
  values.push(limit + 1);
  const { rows } = await db.query<R & { created_us: bigint }>(
    `SELECT ${columns}, (extract(epoch FROM created_at) * 1000000)::bigint AS created_us FROM ${table}
      ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
      ORDER BY created_at DESC, id DESC LIMIT $${values.length}`,
    values,
  );
  return rows;
}
