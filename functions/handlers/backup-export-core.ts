/**
 * One table's export, independent of where it goes: streamed from a cursor, compressed, checksummed, then the
 * manifest next to it. The Lambda writes to S3, the CLI to a folder; the files are the same.
 */
import type pg from 'pg';
import {
  BACKUP_FORMAT,
  backupBaseName,
  DATA_SUFFIX,
  HELD_BY_REBUILD_SUFFIX,
  MANIFEST_SUFFIX,
  type BackupManifest,
  type BackupTable,
  type HeldByRebuildExport,
} from '../domain/backup.js';
import { LogEvent, Metric } from '../domain/observability.js';
import type { Clock, Logger, Metrics } from '../domain/ports.js';
import type { ExportDestination } from '../adapters/backup/export-destination.js';
import { writeCompressed, type WrittenExport } from '../adapters/backup/ndjson-gzip.js';
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

export async function exportBackup(
  table: BackupTable,
  { pool, destination, logger, metrics, clock, stage }: BackupExportOptions,
): Promise<ExportedBackup> {
  const exportedAt = clock.now();
  const base = backupBaseName(table, exportedAt);
  const dataName = `${base}${DATA_SUFFIX}`;
  const fileName = (name: string) => name.slice(name.lastIndexOf('/') + 1);
  const snapshot = await exportTable(pool, table);
  let written: WrittenExport;
  let heldByRebuild: HeldByRebuildExport | null = null;
  const heldName = `${base}${HELD_BY_REBUILD_SUFFIX}`;
  try {
    written = await writeCompressed(snapshot.lines, destination.open(dataName));
    if (snapshot.heldByRebuild) {
      const held = await writeCompressed(snapshot.heldByRebuild.lines, destination.open(heldName));
      heldByRebuild = {
        rebuild_run_id: snapshot.heldByRebuild.rebuildRunId?.toString() ?? null,
        data_file: fileName(heldName),
        row_count: held.rows,
        sha256: held.sha256,
        bytes: held.bytes,
      };
    }
  } finally {
    await snapshot.close();
  }
  const manifest: BackupManifest = {
    table,
    format: BACKUP_FORMAT,
    row_count: written.rows,
    sha256: written.sha256,
    bytes: written.bytes,
    schema_version: snapshot.schemaVersion,
    exported_at: exportedAt.toISOString(),
    stage,
    data_file: fileName(dataName),
    ...(table === 'incoming_payments' ? { held_by_rebuild: heldByRebuild } : {}),
  };
  // The manifest is written last: an export without one is incomplete and a restore refuses it.
  const manifestName = `${base}${MANIFEST_SUFFIX}`;
  await destination.writeText(manifestName, `${JSON.stringify(manifest, null, 2)}\n`);
  metrics.count(Metric.backupRowsExported, written.rows, { table });
  logger.info(LogEvent.backupExported, {
    table,
    rows: written.rows,
    bytes: written.bytes,
    sha256: written.sha256,
    location: destination.locate(dataName),
    ...(heldByRebuild ? { held_by_rebuild_rows: heldByRebuild.row_count } : {}),
  });
  if (heldByRebuild) {
    // The data file alone lacks these payments (confirmed, credited ones among them): whoever reads it must know.
    logger.warn(LogEvent.backupHeldByRebuild, {
      table,
      rebuild_run_id: heldByRebuild.rebuild_run_id,
      held_rows: heldByRebuild.row_count,
      location: destination.locate(heldName),
      manifest: destination.locate(manifestName),
    });
  }
  return { manifest, data: destination.locate(dataName), manifestLocation: destination.locate(manifestName) };
}
