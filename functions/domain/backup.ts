/**
 * Backups: which tables are exported, how often, where, and for how long they are kept (the tutorial's table).
 * The CDK reads the prefixes and retentions from here for the bucket's lifecycle rules and the schedules (the bucket
 * holds exports only, so each table's prefix is its name).
 *
 * An export is two objects side by side: `<name>.ndjson.gz` (one JSON object per row, gzip; every integer column
 * as a decimal string, so quantities beyond 2^53 survive any JSON reader) and `<name>.manifest.json`. An
 * `incoming_payments` export taken while a rebuild runs has a third, `<name>.rebuild_held_payments.ndjson.gz`: the
 * payments the rebuild took out of `incoming_payments` until the re-derived chain settles them (confirmed and
 * credited ones among them), from the same snapshot, named in the manifest (`held_by_rebuild`).
 */

export type BackupTable = 'payment_addresses' | 'user_balances' | 'incoming_payments';

export interface BackupSchedule {
  /** The object key prefix: one per table, so that lifecycle rules can differ per table. */
  prefix: string;
  /** How often the scheduler exports it. */
  every: 'hour' | 'day';
  /** Lifecycle: exports older than this are expired. */
  retentionDays: number;
}

export const BACKUP_TABLES: Readonly<Record<BackupTable, BackupSchedule>> = {
  payment_addresses: { prefix: 'payment_addresses/', every: 'day', retentionDays: 30 },
  user_balances: { prefix: 'user_balances/', every: 'hour', retentionDays: 7 },
  incoming_payments: { prefix: 'incoming_payments/', every: 'day', retentionDays: 90 },
};

/**
 * The money tables' exports are per-table copies for audit and business reporting, not a recovery of the engine's
 * state: they are taken at different times (balances hourly, payments daily), the ledger (balance_transactions),
 * the chain points and the checkpoints are not exported, so a database restored from them and then followed
 * again would credit a payment the balances already hold, or find no credit to reverse. They are restored only
 * into a database that will never run the engine, and the operator says so. Recovery of the money tables is
 * RDS point-in-time recovery (or an AWS Backup snapshot) of the whole database.
 */
export const FORENSIC_ONLY_TABLES: ReadonlySet<BackupTable> = new Set(['user_balances', 'incoming_payments']);

/** Why a restore of this table must not go ahead; null when it may. */
export function restoreRefusal(table: BackupTable, { forensic }: { forensic: boolean }): string | null {
  if (!FORENSIC_ONLY_TABLES.has(table) || forensic) return null;
  return (
    `${table} is restored only for reading (audit, reporting) into a database that will never run the engine: ` +
    'the exports are taken at different times and without the ledger, so following the chain on top of them ' +
    'credits or reverses payments wrongly. Recover a running database with RDS point-in-time recovery; ' +
    'to restore for reading, say so with --forensic'
  );
}

export const BACKUP_FORMAT = 'ndjson.gz';
export const DATA_SUFFIX = '.ndjson.gz';
export const MANIFEST_SUFFIX = '.manifest.json';
/** The rows of rebuild_held_payments, beside an incoming_payments export taken during a rebuild. */
export const HELD_BY_REBUILD_SUFFIX = '.rebuild_held_payments.ndjson.gz';

/** The payments a running rebuild held aside when an incoming_payments export was taken: their own data file. */
export interface HeldByRebuildExport {
  /** The rebuild_runs row running at the export (null only if rows were held without a running rebuild). */
  rebuild_run_id: string | null;
  data_file: string;
  row_count: number;
  sha256: string;
  bytes: number;
}

export interface BackupManifest {
  table: BackupTable;
  format: typeof BACKUP_FORMAT;
  row_count: number;
  /** sha256 (hex) of the compressed data object's bytes. */
  sha256: string;
  bytes: number;
  /** The newest migration applied to the exporting database. */
  schema_version: string;
  exported_at: string;
  stage: string;
  data_file: string;
  /**
   * incoming_payments only: null when no rebuild ran at the export; otherwise the payments it held aside, which
   * the data file lacks. Absent in exports made before this field existed (and in other tables').
   */
  held_by_rebuild?: HeldByRebuildExport | null;
}

export class InvalidBackupRequestError extends Error {
  override readonly name = 'InvalidBackupRequestError';
}

export function isBackupTable(value: unknown): value is BackupTable {
  return typeof value === 'string' && Object.hasOwn(BACKUP_TABLES, value);
}

/** `{ "table": "payment_addresses" | "user_balances" | "incoming_payments" }` */
export function parseBackupRequest(payload: unknown): BackupTable {
  const table = typeof payload === 'object' && payload !== null ? (payload as { table?: unknown }).table : undefined;
  if (!isBackupTable(table)) {
    throw new InvalidBackupRequestError(
      `a backup needs { "table": ${Object.keys(BACKUP_TABLES)
        .map((name) => `"${name}"`)
        .join(' | ')} }; got ${JSON.stringify(payload)}`,
    );
  }
  return table;
}

/** `<prefix><yyyy>/<mm>/<dd>/<table>-<yyyymmddThhmmssZ>`: sorted by time within the table's prefix. */
export function backupBaseName(table: BackupTable, exportedAt: Date): string {
  const iso = exportedAt.toISOString();
  const stamp = iso.replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return `${BACKUP_TABLES[table].prefix}${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${table}-${stamp}`;
}

/** The names of an export's files (the held payments' whether or not it has them), from any of them. */
export function exportFileNames(name: string): { data: string; manifest: string; heldByRebuild: string } {
  const suffix = [HELD_BY_REBUILD_SUFFIX, DATA_SUFFIX, MANIFEST_SUFFIX].find((candidate) => name.endsWith(candidate));
  if (suffix === undefined)
    throw new InvalidBackupRequestError(`"${name}" is not an export: expected a name ending in ${DATA_SUFFIX} or ${MANIFEST_SUFFIX}`);
  const base = name.slice(0, -suffix.length);
  return { data: `${base}${DATA_SUFFIX}`, manifest: `${base}${MANIFEST_SUFFIX}`, heldByRebuild: `${base}${HELD_BY_REBUILD_SUFFIX}` };
}

/** A manifest as read back, checked field by field. */
export function parseManifest(text: string, source: string): BackupManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidBackupRequestError(`${source} is not JSON`);
  }
  const manifest = value as Partial<BackupManifest>;
  const problems: string[] = [];
  if (!isBackupTable(manifest.table)) problems.push('table');
  if (manifest.format !== BACKUP_FORMAT) problems.push('format');
  if (!Number.isSafeInteger(manifest.row_count) || (manifest.row_count ?? -1) < 0) problems.push('row_count');
  if (typeof manifest.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(manifest.sha256)) problems.push('sha256');
  if (typeof manifest.schema_version !== 'string' || !/^\d{4}$/.test(manifest.schema_version)) problems.push('schema_version');
  if (!validHeldByRebuild(manifest.held_by_rebuild, manifest.table)) problems.push('held_by_rebuild');
  if (problems.length > 0) throw new InvalidBackupRequestError(`${source} is not a valid backup manifest (bad ${problems.join(', ')})`);
  return manifest as BackupManifest;
}

function validHeldByRebuild(value: unknown, table: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (table !== 'incoming_payments' || typeof value !== 'object') return false;
  const held = value as Partial<HeldByRebuildExport>;
  return (
    (held.rebuild_run_id === null || (typeof held.rebuild_run_id === 'string' && /^\d+$/.test(held.rebuild_run_id))) &&
    typeof held.data_file === 'string' &&
    held.data_file.endsWith(HELD_BY_REBUILD_SUFFIX) &&
    Number.isSafeInteger(held.row_count) &&
    (held.row_count ?? -1) >= 0 &&
    typeof held.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(held.sha256)
  );
}
