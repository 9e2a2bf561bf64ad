/**
 * Streams a table's rows as NDJSON lines through a cursor, in one consistent snapshot, never holding more
 * than one fetch in memory. Every JSON number (bigint, integer) becomes a decimal string in PostgreSQL itself,
 * so no value passes through a JavaScript number.
 */
import type pg from 'pg';
import type { BackupTable } from '../../domain/backup.js';

const ORDER_BY: Record<BackupTable, string> = {
  payment_addresses: 'id',
  user_balances: 'user_id',
  incoming_payments: 'id, block_time',
};

const ROWS_PER_FETCH = 2000;

export interface TableExport {
  schemaVersion: string;
  lines: AsyncIterable<string>;
}

/** The newest migration applied: an export records it, a restore compares it. */
export async function schemaVersion(db: Pick<pg.Pool, 'query'> | pg.PoolClient): Promise<string> {
  const { rows } = await db.query<{ version: string | null }>('SELECT max(version) AS version FROM schema_migrations');
  const version = rows[0]?.version;
  if (!version) throw new Error('the database has no applied migrations');
  return version;
}

export async function exportTable(pool: pg.Pool, table: BackupTable): Promise<TableExport> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const version = await schemaVersion(client);
    await client.query(
      `DECLARE backup_rows NO SCROLL CURSOR FOR
       SELECT (SELECT json_object_agg(key, CASE WHEN json_typeof(value) = 'number' THEN to_json(value #>> '{}') ELSE value END)
                 FROM json_each(row_to_json(t)))::text AS line
         FROM ${table} t ORDER BY ${ORDER_BY[table]}`,
    );
    return { schemaVersion: version, lines: fetchAll(client) };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
    throw error;
  }
}

async function* fetchAll(client: pg.PoolClient): AsyncGenerator<string> {
  let failed = false;
  try {
    for (;;) {
      const { rows } = await client.query<{ line: string }>(`FETCH ${ROWS_PER_FETCH} FROM backup_rows`);
      for (const row of rows) yield row.line;
      if (rows.length < ROWS_PER_FETCH) break;
    }
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    await client.query(failed ? 'ROLLBACK' : 'COMMIT').catch(() => undefined);
    client.release();
  }
}
