import { Duration } from 'aws-cdk-lib';
import type { LifecycleRule } from 'aws-cdk-lib/aws-s3';
import { BACKUP_TABLES, type BackupTable } from '../../functions/domain/backup.js';

/**
 * A message pointing to a claim check lives up to 14 days in the queue, then up to 14 days more in the FIFO DLQ
 * (whose retention restarts on the move): its object is kept 30 days, so a late or redriven message still finds it.
 * ChainEventQueue refuses a shorter expiry (queue + DLQ retention + 1 day) at synth.
 */
export const CLAIM_CHECK_EXPIRY = Duration.days(30);

/**
 * The backup bucket is versioned: an export overwritten or deleted (by mistake, or by a compromised writer) can be
 * restored for this long; an expired export is gone this long after its expiry. Two weeks: time to notice.
 */
export const BACKUP_NONCURRENT_VERSION_EXPIRY = Duration.days(14);

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
