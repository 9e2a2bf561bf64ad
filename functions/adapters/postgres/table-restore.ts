/**
 * Loads an export into an empty table, all in one transaction: the rows, the identity sequences, the
 * partitions for the months the rows belong to, and the audit row. The checksum and the row count are checked
 * before the commit, so a damaged or truncated export leaves the database as it was.
 *
 * An incoming_payments export taken during a rebuild also restores the payments the rebuild held aside into
 * rebuild_held_payments, as they were in the source: the restored database reads as the source did at the export.
 */
import type pg from 'pg';
import { restoreRefusal, type BackupManifest, type BackupTable } from '../../domain/backup.js';
import { forgetStoredFilters, ID_SEQUENCES } from './filter-store.js';
import { inTransaction } from './pool.js';
import { schemaVersion } from './table-export.js';

const ROWS_PER_INSERT = 1000;

export class RestoreRefusedError extends Error {
  override readonly name = 'RestoreRefusedError';
}

export interface RestoreSource {
  lines: AsyncIterable<string>;
  /** Resolves once the data is read to the end: its sha256 (hex) and rows. */
  verified(): { sha256: string; rows: number };
  description: string;
}

/** The export's sources: its data file and, when the manifest names one, the rebuild's held payments beside it. */
export interface RestoreSources {
  data: RestoreSource;
  heldByRebuild?: RestoreSource;
}

export interface RestoreOptions {
  /** The operator restores a money table for reading only, into a database that will never run the engine. */
  forensic?: boolean;
}

export async function restoreTable(
  pool: pg.Pool,
  manifest: BackupManifest,
  sources: RestoreSources,
  actor: string,
  { forensic = false }: RestoreOptions = {},
): Promise<{ rows: number; heldByRebuildRows: number | null }> {
  const { table } = manifest;
  const refusal = restoreRefusal(table, { forensic });
  if (refusal) throw new RestoreRefusedError(refusal);
  const held = manifest.held_by_rebuild ?? null;
  if (held && !sources.heldByRebuild)
    throw new RestoreRefusedError(`the manifest names ${held.data_file} (payments held by a rebuild); it must be restored with the export`);
  return inTransaction(pool, async (client) => {
    const target = await schemaVersion(client);
    if (target < manifest.schema_version) {
      throw new RestoreRefusedError(
        `the export has schema version ${manifest.schema_version}, newer than the target's ${target}: migrate the target first`,
      );
    }
    await lockEmpty(client, table);
    if (held) await lockEmpty(client, 'rebuild_held_payments');
    const rows = await load(client, table, sources.data, manifest);
    const heldRows = held && sources.heldByRebuild ? await load(client, 'rebuild_held_payments', sources.heldByRebuild, held) : null;
    // Each table's id sequence is advanced past the restored ids, so that new rows never collide with them.
    const sequence = table in ID_SEQUENCES ? ID_SEQUENCES[table as keyof typeof ID_SEQUENCES] : undefined;
    if (sequence && rows + (heldRows ?? 0) > 0) {
      // Held payments keep their incoming_payments ids: new rows must come after those too.
      const highest = heldRows
        ? `SELECT max(id) FROM (SELECT id FROM ${table} UNION ALL SELECT id FROM rebuild_held_payments) ids`
        : `SELECT max(id) FROM ${table}`;
      await client.query(`SELECT setval(${sequence}, (${highest}))`);
    }
    // The stored candidate filters were caught up by id: rows restored with their ids may be ids they have passed.
    await forgetStoredFilters(client);
    if (table === 'incoming_payments' && rows > 0) {
      // Rows of months without a partition landed in the default one; this gives them theirs.
      await client.query(`SELECT ensure_incoming_payment_partitions(3, (SELECT min(block_time) FROM incoming_payments)::date)`);
    }
    await client.query(
      `INSERT INTO audit_log (action, entity_type, entity_id, actor, details) VALUES ('backup_restored', 'table', $1, $2, $3)`,
      [
        table,
        actor,
        JSON.stringify({
          source: sources.data.description,
          rows,
          sha256: manifest.sha256,
          schema_version: manifest.schema_version,
          exported_at: manifest.exported_at,
          forensic,
          ...(held
            ? { held_by_rebuild: { source: sources.heldByRebuild!.description, rows: heldRows, rebuild_run_id: held.rebuild_run_id } }
            : {}),
        }),
      ],
    );
    return { rows, heldByRebuildRows: heldRows };
  });
}

type RestoredTable = BackupTable | 'rebuild_held_payments';

async function lockEmpty(client: pg.PoolClient, table: RestoredTable): Promise<void> {
  // Serialises concurrent restores of the same table and makes the emptiness check hold until the commit.
  await client.query(`LOCK TABLE ${table} IN EXCLUSIVE MODE`);
  const { rows: existing } = await client.query(`SELECT 1 FROM ${table} LIMIT 1`);
  if (existing.length > 0) {
    throw new RestoreRefusedError(`${table} already has rows: a restore loads into an empty table only (restore into a fresh database)`);
  }
}

/** Loads one data file and checks it against what the manifest says of it; returns the rows. */
async function load(
  client: pg.PoolClient,
  table: RestoredTable,
  source: RestoreSource,
  expected: { sha256: string; row_count: number },
): Promise<number> {
  let batch: string[] = [];
  let rows = 0;
  const insert = async () => {
    if (batch.length === 0) return;
    await client.query(`INSERT INTO ${table} OVERRIDING SYSTEM VALUE SELECT * FROM json_populate_recordset(NULL::${table}, $1::json)`, [
      `[${batch.join(',')}]`,
    ]);
    rows += batch.length;
    batch = [];
  };
  for await (const line of source.lines) {
    if (line.length === 0) continue;
    batch.push(line);
    if (batch.length === ROWS_PER_INSERT) await insert();
  }
  await insert();

  const read = source.verified();
  if (read.sha256 !== expected.sha256) {
    throw new RestoreRefusedError(
      `${source.description}: checksum ${read.sha256} does not match the manifest's ${expected.sha256}; nothing was restored`,
    );
  }
  if (rows !== expected.row_count) {
    throw new RestoreRefusedError(`${source.description}: ${rows} rows, the manifest says ${expected.row_count}; nothing was restored`);
  }
  return rows;
}
