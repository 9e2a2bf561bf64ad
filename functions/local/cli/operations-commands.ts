/**
 * The CLI's operations commands: rebuild, pipeline resume, backup, restore, partitions. Each runs the same core
 * as its Lambda.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { BACKUP_TABLES, isBackupTable } from '../../domain/backup.js';
import { LogEvent } from '../../domain/observability.js';
import type { Logger } from '../../domain/ports.js';
import type { RebuildRequestNames } from '../../domain/rebuild.js';
import { directoryDestination } from '../../adapters/backup/directory-destination.js';
import { InMemoryMetrics } from '../../adapters/observability/in-memory-metrics.js';
import { JsonLogger } from '../../adapters/observability/json-logger.js';
import { PostgresPipelineRecoveryStore } from '../../adapters/postgres/pipeline-recovery-store.js';
import { PostgresRebuildStore } from '../../adapters/postgres/rebuild-store.js';
import { exportBackup } from '../../handlers/backup-export-core.js';
import { maintainPartitions } from '../../handlers/partition-maintenance-core.js';
import { resumePipeline } from '../../handlers/pipeline-resume-core.js';
import { runRebuild } from '../../handlers/rebuild-core.js';
import { jsonText } from './output.js';
import { restoreExport } from './restore.js';

export interface OperationsContext {
  pool: pg.Pool;
  write: (text: string) => void;
  json: boolean;
  actor: string;
  options: { 'days-ago'?: string; slot?: string; point?: string; out?: string; 'months-ahead'?: string; forensic?: boolean };
  /** Log lines go to stderr, so that stdout stays the command's answer. */
  logger?: Logger;
  /** The prefix of backup exports (STAGE, `local` when unset). */
  stage: string;
  /** How a rebuild's refusals name its fields (the CLI's flags); the Lambda payload's keys otherwise. */
  rebuildFlags?: RebuildRequestNames;
}

export const OPERATIONS_USAGE = `  rebuild --days-ago <n> | --slot <n> | --point <slot>.<blockId>
  pipeline resume                    after PipelineHalted, once the cause is fixed
  backup ${Object.keys(BACKUP_TABLES).join('|')} [--out <dir>]
  restore <export.ndjson.gz | export.manifest.json | s3://bucket/key> [--forensic]
  partitions ensure [--months-ahead n]`;

/** Runs the command if it is one of these; undefined when it is not. */
export async function operationsCommand(positionals: string[], context: OperationsContext): Promise<number | undefined> {
  const logger = context.logger ?? new JsonLogger({ service: 'payment-monitor-cli' }, 'info', (line) => process.stderr.write(`${line}\n`));
  const { pool, write, options } = context;
  const print = (value: Record<string, unknown>, text: string) => write(context.json ? JSON.stringify(value, jsonText, 2) : text);
  switch (positionals[0]) {
    case 'rebuild': {
      const named = [
        options['days-ago'] !== undefined && { daysAgo: options['days-ago'] },
        options.slot !== undefined && { slot: options.slot },
        options.point !== undefined && { point: options.point },
      ].filter(Boolean);
      if (named.length !== 1) throw new Error('rebuild needs exactly one of --days-ago <n>, --slot <n>, --point <slot>.<blockId>');
      const summary = await runRebuild(named[0], {
        store: new PostgresRebuildStore(pool),
        logger,
        metrics: new InMemoryMetrics(),
        clock: { now: () => new Date() },
        actor: context.actor,
        ...(context.rebuildFlags ? { requestNames: context.rebuildFlags } : {}),
      });
      print(
        { ...summary },
        `Rebuild ${summary.run} started from ${summary.point} (height ${summary.point_height}, ${summary.point_time}): ` +
          `${summary.blocks_cleared} blocks cleared, ${summary.payments_held} payments held until the chain settles them, ` +
          `generation ${summary.generation}. The follower re-derives up to height ${summary.target_height}; watch "status".`,
      );
      return 0;
    }
    case 'pipeline': {
      if (positionals[1] !== 'resume') return undefined;
      const summary = await resumePipeline({
        recovery: new PostgresPipelineRecoveryStore(pool),
        logger,
        metrics: new InMemoryMetrics(),
        actor: context.actor,
      });
      print(
        { ...summary },
        summary.resumed
          ? `Pipeline resumed: the leader follows again from the database's points (generation ${summary.generation}).`
          : 'The pipeline was not halted: nothing to resume.',
      );
      return 0;
    }
    case 'backup': {
      const table = positionals[1];
      if (!isBackupTable(table)) throw new Error(`backup needs a table: ${Object.keys(BACKUP_TABLES).join(', ')}`);
      const exported = await exportBackup(table, {
        pool,
        destination: directoryDestination(options.out ?? '.'),
        logger,
        metrics: new InMemoryMetrics(),
        clock: { now: () => new Date() },
        stage: context.stage,
      });
      const held = exported.manifest.held_by_rebuild;
      const heldNote = held ? `; a rebuild was running: the ${held.row_count} payments it holds are in ${held.data_file}` : '';
      print(
        { ...exported.manifest, data: exported.data, manifest: exported.manifestLocation },
        `Exported ${exported.manifest.row_count} rows of ${table} to ${exported.data} (manifest ${exported.manifestLocation})${heldNote}.`,
      );
      return 0;
    }
    case 'restore': {
      const source = positionals[1];
      if (!source) throw new Error('restore needs an export: a .ndjson.gz or .manifest.json file, or an s3:// URI');
      const restored = await restoreExport(source, {
        pool,
        s3: () => new S3Client({}),
        actor: context.actor,
        forensic: options.forensic === true,
      });
      logger.info(LogEvent.backupRestored, restored);
      const heldNote =
        restored.heldByRebuildRows === null ? '' : `, and ${restored.heldByRebuildRows} payments a rebuild held into rebuild_held_payments`;
      print(restored, `Restored ${restored.rows} rows into ${restored.table} from ${restored.source}${heldNote}.`);
      return 0;
    }
    case 'partitions': {
      if (positionals[1] !== 'ensure') return undefined;
      const monthsAhead = options['months-ahead'] === undefined ? undefined : Number(options['months-ahead']);
      if (monthsAhead !== undefined && (!Number.isInteger(monthsAhead) || monthsAhead < 0))
        throw new Error('--months-ahead must be a whole number');
      const result = await maintainPartitions(pool, { logger, ...(monthsAhead === undefined ? {} : { monthsAhead }) });
      const moved = result.moved_rows > 0 ? ` Moved ${result.moved_rows} rows out of the default partition.` : '';
      print(
        result,
        (result.created.length > 0
          ? `Created ${result.created.join(', ')}.`
          : `Nothing to create: ${result.partitions} partitions exist.`) + moved,
      );
      return 0;
    }
    default:
      return undefined;
  }
}
