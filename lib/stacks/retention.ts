import { Duration } from 'aws-cdk-lib';
import type { LifecycleRule } from 'aws-cdk-lib/aws-s3';

/**
 * A claim check is read within the queue's retention (4 days) or lands in the DLQ (14 days); kept a little longer
 * so a redriven DLQ message still finds its object.
 */
export const CLAIM_CHECK_EXPIRY = Duration.days(15);

/**
 * The tutorial's backup table: payment_addresses daily kept 30 days, user_balances hourly kept 7 days,
 * incoming_payments daily kept 90 days. One prefix per table, one expiry rule per prefix.
 */
export const BACKUP_EXPORT_RETENTION = [
  { table: 'payment_addresses', prefix: 'payment_addresses/', days: 30 },
  { table: 'user_balances', prefix: 'user_balances/', days: 7 },
  { table: 'incoming_payments', prefix: 'incoming_payments/', days: 90 },
] as const;

export const BACKUP_EXPORT_LIFECYCLE: LifecycleRule[] = BACKUP_EXPORT_RETENTION.map(({ table, prefix, days }) => ({
  id: `expire-${table}`,
  prefix,
  expiration: Duration.days(days),
}));
