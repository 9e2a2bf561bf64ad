/**
 * One table's export, independent of where it goes: streamed from a cursor, compressed, checksummed, then the
 * manifest next to it. The Lambda writes to S3, the CLI to a folder; the files are the same.
 */
import type pg from 'pg';
import { BACKUP_FORMAT, backupBaseName, DATA_SUFFIX, MANIFEST_SUFFIX, type BackupManifest, type BackupTable } from '../domain/backup.js';
import { LogEvent, Metric } from '../domain/observability.js';
import type { Clock, Logger, Metrics } from '../domain/ports.js';
import type { ExportDestination } from '../adapters/backup/export-destination.js';
import { writeCompressed } from '../adapters/backup/ndjson-gzip.js';
import { exportTable } from '../adapters/postgres/table-export.js';

export interface BackupExportOptions {
  pool: pg.Pool;
  destination: ExportDestination;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  stage: string;
}

export interface ExportedBackup {
  manifest: BackupManifest;
  data: string;
  manifestLocation: string;
}

export async function exportBackup(table: BackupTable, { pool, destination, logger, metrics, clock, stage }: BackupExportOptions): Promise<ExportedBackup> {
  const exportedAt = clock.now();
  const base = backupBaseName(table, exportedAt);
  const dataName = `${base}${DATA_SUFFIX}`;
  const { schemaVersion, lines } = await exportTable(pool, table);
  const written = await writeCompressed(lines, destination.open(dataName));
  const manifest: BackupManifest = {
    table,
    format: BACKUP_FORMAT,
    row_count: written.rows,
    sha256: written.sha256,
    bytes: written.bytes,
    schema_version: schemaVersion,
    exported_at: exportedAt.toISOString(),
    stage,
    data_file: dataName.slice(dataName.lastIndexOf('/') + 1),
  };
  // The manifest is written last: an export without one is incomplete and a restore refuses it.
  const manifestName = `${base}${MANIFEST_SUFFIX}`;
  await destination.writeText(manifestName, `${JSON.stringify(manifest, null, 2)}\n`);
  metrics.count(Metric.backupRowsExported, written.rows, { table });
  logger.info(LogEvent.backupExported, { table, rows: written.rows, bytes: written.bytes, sha256: written.sha256, location: destination.locate(dataName) });
  return { manifest, data: destination.locate(dataName), manifestLocation: destination.locate(manifestName) };
}
