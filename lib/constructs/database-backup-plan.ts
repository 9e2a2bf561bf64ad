import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { BackupPlan, BackupPlanRule, BackupResource, BackupVault } from 'aws-cdk-lib/aws-backup';
import { Schedule } from 'aws-cdk-lib/aws-events';
import type { IDatabaseInstance } from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { acknowledgeNag } from '../nag.js';

export interface DatabaseBackupPlanProps {
  readonly instance: IDatabaseInstance;
  readonly vaultName: string;
  readonly planName: string;
  /** Daily recovery points are kept this long (the tutorial's 30 days). */
  readonly dailyRetentionDays: number;
  /** Weekly recovery points are kept this long (the tutorial's 90 days), ≥ dailyRetentionDays. */
  readonly weeklyRetentionDays: number;
}

/** When the AWS Backup snapshots start (UTC, as AWS Backup schedules run), within their start window. */
export const DAILY_SNAPSHOT_UTC = { hour: '1', minute: '0' };
export const WEEKLY_SNAPSHOT_UTC = { hour: '5', minute: '0', weekDay: 'SUN' };
export const SNAPSHOT_START_WINDOW = Duration.hours(1);

export class DatabaseBackupPlanConfigError extends Error {
  override readonly name = 'DatabaseBackupPlanConfigError';
}

/**
 * AWS Backup on top of RDS's own PITR window: a daily snapshot kept 30 days and a weekly one kept 90 days, in a
 * vault encrypted by AWS Backup and retained when the stack goes (not when the deploy that created it fails). Times
 * are UTC, clear of the 03:00 reconciliation.
 */
export class DatabaseBackupPlan extends Construct {
  readonly plan: BackupPlan;
  readonly vault: BackupVault;

  constructor(scope: Construct, id: string, props: DatabaseBackupPlanProps) {
    super(scope, id);
    const { dailyRetentionDays: daily, weeklyRetentionDays: weekly } = props;
    if (!Number.isInteger(daily) || daily < 1)
      throw new DatabaseBackupPlanConfigError(`DatabaseBackupPlan "${id}": dailyRetentionDays must be ≥ 1 (got ${daily})`);
    if (!Number.isInteger(weekly) || weekly < daily) {
      throw new DatabaseBackupPlanConfigError(
        `DatabaseBackupPlan "${id}": weeklyRetentionDays (${weekly}) must be ≥ dailyRetentionDays (${daily})`,
      );
    }
    // Retained, except by a failed deploy that created it (still empty then): its retry can create the name again.
    this.vault = new BackupVault(this, 'Vault', {
      backupVaultName: props.vaultName,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    this.plan = new BackupPlan(this, 'Plan', { backupPlanName: props.planName, backupVault: this.vault });
    this.plan.addRule(
      new BackupPlanRule({
        ruleName: `daily-${daily}d`,
        scheduleExpression: Schedule.cron(DAILY_SNAPSHOT_UTC),
        startWindow: SNAPSHOT_START_WINDOW,
        completionWindow: Duration.hours(4),
        deleteAfter: Duration.days(daily),
      }),
    );
    this.plan.addRule(
      new BackupPlanRule({
        ruleName: `weekly-${weekly}d`,
        scheduleExpression: Schedule.cron(WEEKLY_SNAPSHOT_UTC),
        startWindow: SNAPSHOT_START_WINDOW,
        completionWindow: Duration.hours(4),
        deleteAfter: Duration.days(weekly),
      }),
    );
    const selection = this.plan.addSelection('Database', { resources: [BackupResource.fromRdsDatabaseInstance(props.instance)] });
    acknowledgeNag(
      selection,
      'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
      "AWS Backup's service policy, which AWS maintains as its services change: it is broad (backup actions across the services AWS Backup supports), but only AWS Backup may assume this role, and the plan's one selection points it at this database instance.",
    );
  }
}
