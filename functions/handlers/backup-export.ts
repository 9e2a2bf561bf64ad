/**
 * Backup export Lambda (EventBridge Scheduler): `{ "table": "payment_addresses" | "user_balances" |
 * "incoming_payments" }` → `s3://$BACKUP_BUCKET/<table prefix>/…ndjson.gz` and its manifest. Env: STAGE,
 * BACKUP_BUCKET, DATABASE_URL or DATABASE_SECRET_ARN. Schedules and retention: domain/backup.ts.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { s3Destination } from '../adapters/s3/backup-objects.js';
import { readBackupExportSettings } from '../config/lambda-settings.js';
import { parseBackupRequest } from '../domain/backup.js';
import { exportBackup } from './backup-export-core.js';
import { lambdaHandler, lambdaPool, logger, metrics } from './lambda-handler.js';
import { once } from './lazy.js';

const settings = readBackupExportSettings();
const pool = lambdaPool({ max: 1, applicationName: 'payment-monitor-backup' });
const destination = once(async () => s3Destination(new S3Client({}), settings.bucket));

export const handler = lambdaHandler<unknown, Record<string, unknown>>(async (event) => {
  const table = parseBackupRequest(event);
  const exported = await exportBackup(table, {
    pool: await pool(),
    destination: await destination(),
    logger,
    metrics,
    clock: { now: () => new Date() },
    stage: settings.stage,
  });
  return { ...exported.manifest, data: exported.data, manifest: exported.manifestLocation };
});
