/**
 * Backups: which tables are exported, how often, where, and for how long they are kept (the tutorial's table).
 * The CDK reads the prefixes and retentions from here for the bucket's lifecycle rules and the schedules (the bucket
 * holds exports only, so each table's prefix is its name).
 *
 * An export is two objects side by side: `<name>.ndjson.gz` (one JSON object per row, gzip; every integer column
 * as a decimal string, so quantities beyond 2^53 survive any JSON reader) and `<name>.manifest.json`.
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
    throw new InvalidBackupRequestError(`a backup needs { "table": ${Object.keys(BACKUP_TABLES).map((name) => `"${name}"`).join(' | ')} }; got ${JSON.stringify(payload)}`);
  }
  return table;
}

/** `<prefix><yyyy>/<mm>/<dd>/<table>-<yyyymmddThhmmssZ>`: sorted by time within the table's prefix. */
export function backupBaseName(table: BackupTable, exportedAt: Date): string {
  const iso = exportedAt.toISOString();
  const stamp = iso.replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return `${BACKUP_TABLES[table].prefix}${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${table}-${stamp}`;
}

/** The data and manifest names of an export, from either of the two. */
export function exportFileNames(name: string): { data: string; manifest: string } {
  const base = name.endsWith(DATA_SUFFIX) ? name.slice(0, -DATA_SUFFIX.length) : name.endsWith(MANIFEST_SUFFIX) ? name.slice(0, -MANIFEST_SUFFIX.length) : null;
  if (base === null) throw new InvalidBackupRequestError(`"${name}" is not an export: expected a name ending in ${DATA_SUFFIX} or ${MANIFEST_SUFFIX}`);
  return { data: `${base}${DATA_SUFFIX}`, manifest: `${base}${MANIFEST_SUFFIX}` };
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
  if (problems.length > 0) throw new InvalidBackupRequestError(`${source} is not a valid backup manifest (bad ${problems.join(', ')})`);
  return manifest as BackupManifest;
}
