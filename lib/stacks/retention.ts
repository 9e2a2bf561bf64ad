import { Duration } from 'aws-cdk-lib';
import type { LifecycleRule } from 'aws-cdk-lib/aws-s3';
import { BACKUP_TABLES, type BackupTable } from '../../functions/domain/backup.js';

/**
 * A claim check is read within the queue's retention (4 days) or lands in the DLQ (14 days); kept a little longer
 * so a redriven DLQ message still finds its object.
 */
export const CLAIM_CHECK_EXPIRY = Duration.days(15);

export const BACKUP_TABLE_NAMES = Object.keys(BACKUP_TABLES) as BackupTable[];

/**
 * The tutorial's backup table, as the backup module defines it (functions/domain/backup.ts): one prefix per table,
 * one expiry rule per prefix (payment_addresses 30 days, user_balances 7, incoming_payments 90).
 */
export const BACKUP_EXPORT_LIFECYCLE: LifecycleRule[] = BACKUP_TABLE_NAMES.map((table) => ({
  id: `expire-${table}`,
  prefix: BACKUP_TABLES[table].prefix,
  expiration: Duration.days(BACKUP_TABLES[table].retentionDays),
}));
