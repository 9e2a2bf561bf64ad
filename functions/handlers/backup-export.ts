/**
 * Backup export Lambda (EventBridge Scheduler): `{ "table": "payment_addresses" | "user_balances" |
 * "incoming_payments" }` → `s3://$BACKUP_BUCKET/<table prefix>/…ndjson.gz` and its manifest. Env: STAGE,
 * BACKUP_BUCKET, DATABASE_URL or DATABASE_SECRET_ARN. Schedules and retention: domain/backup.ts.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { createPool } from '../adapters/postgres/pool.js';
import { logger, metrics } from '../adapters/powertools/instances.js';
import { s3Destination } from '../adapters/s3/backup-objects.js';
import { parseBackupRequest } from '../domain/backup.js';
import { exportBackup } from './backup-export-core.js';
import { once } from './lazy.js';
import { resolveDatabaseConnection } from './runtime-config.js';

const dependencies = once(async () => {
  const bucket = process.env.BACKUP_BUCKET?.trim();
  if (!bucket) throw new Error('BACKUP_BUCKET is not set: the bucket exports are written to');
  const stage = process.env.STAGE?.trim();
  if (!stage) throw new Error('STAGE is not set');
  const pool = createPool({ ...(await resolveDatabaseConnection(process.env)), max: 1, applicationName: 'payment-monitor-backup' });
  return { pool, destination: s3Destination(new S3Client({}), bucket), stage };
});

export async function handler(event: unknown, context: Context): Promise<Record<string, unknown>> {
  logger.addContext(context);
  metrics.captureColdStart(context.functionName);
  try {
    const table = parseBackupRequest(event);
    const { pool, destination, stage } = await dependencies();
    const exported = await exportBackup(table, { pool, destination, logger, metrics, clock: { now: () => new Date() }, stage });
    return { ...exported.manifest, data: exported.data, manifest: exported.manifestLocation };
  } finally {
    metrics.publish();
  }
}
