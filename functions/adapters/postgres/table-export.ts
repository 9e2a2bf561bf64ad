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

/**
 * One export's snapshot: the table's rows and, for incoming_payments during a rebuild, the payments the rebuild
 * holds aside, both read in the same transaction (a payment settled between two snapshots would be in both files or
 * in neither). Read `lines`, then `heldByRebuild.lines`, then close.
 */
export interface TableExport {
  schemaVersion: string;
  lines: AsyncIterable<string>;
  /** null when no rebuild ran and none held a payment. */
  heldByRebuild: { rebuildRunId: bigint | null; lines: AsyncIterable<string> } | null;
  /** Ends the snapshot's (read-only) transaction and releases its connection; call it whatever happened. */
  close(): Promise<void>;
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
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await client.query('ROLLBACK').catch(() => undefined); // read only: nothing to commit
    client.release();
  };
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const version = await schemaVersion(client);
    await client.query(`DECLARE backup_rows NO SCROLL CURSOR FOR ${asJsonLines(table, ORDER_BY[table])}`);
    const held = table === 'incoming_payments' ? await heldByRebuild(client) : null;
    if (held) await client.query(`DECLARE held_rows NO SCROLL CURSOR FOR ${asJsonLines('rebuild_held_payments', 'id, block_time')}`);
    return {
      schemaVersion: version,
      lines: fetchAll(client, 'backup_rows'),
      heldByRebuild: held && { rebuildRunId: held.runId, lines: fetchAll(client, 'held_rows') },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Each row as one JSON object, every JSON number (bigint, integer) as a decimal string. */
function asJsonLines(table: string, orderBy: string): string {
  return `SELECT (SELECT json_object_agg(key, CASE WHEN json_typeof(value) = 'number' THEN to_json(value #>> '{}') ELSE value END)
                    FROM json_each(row_to_json(t)))::text AS line
            FROM ${table} t ORDER BY ${orderBy}`;
}

/** In the export's snapshot: the running rebuild, if one runs or rows are held (held rows without one are exported too). */
async function heldByRebuild(client: pg.PoolClient): Promise<{ runId: bigint | null } | null> {
  const { rows } = await client.query<{ run_id: bigint | null; holds: boolean }>(
    `SELECT (SELECT id FROM rebuild_runs WHERE status = 'running') AS run_id, EXISTS (SELECT 1 FROM rebuild_held_payments) AS holds`,
  );
  const { run_id: runId, holds } = rows[0]!;
  return runId !== null || holds ? { runId } : null;
}

async function* fetchAll(client: pg.PoolClient, cursor: string): AsyncGenerator<string> {
  for (;;) {
    const { rows } = await client.query<{ line: string }>(`FETCH ${ROWS_PER_FETCH} FROM ${cursor}`);
    for (const row of rows) yield row.line;
    if (rows.length < ROWS_PER_FETCH) break;
  }
}
