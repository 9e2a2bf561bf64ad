import { fileURLToPath } from 'node:url';
import { Duration, Stack, TimeZone, type StackProps } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { FunctionUrlAuthType, type FunctionUrl } from 'aws-cdk-lib/aws-lambda';
import { ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config.js';
import { outboundSecurityGroup } from '../constructs/egress.js';
import { clockTime, EVERY_MINUTE_RETRY, FunctionSchedule } from '../constructs/function-schedule.js';
import { HouseFunction, type HouseFunctionProps } from '../constructs/house-function.js';
import { PayoutSignerKey } from '../constructs/payout-signer-key.js';
import { functionName, lambdaLogGroupName, reconciliationFunctionName, resourceName, stageNames, type StageFunction } from '../naming.js';
import { BACKUP_TABLES } from '../../functions/domain/backup.js';
import { DEFAULT_PARTITION_MONTHS_AHEAD } from '../../functions/domain/partitions.js';
import { MAX_READY_LAG_BLOCKS } from '../../functions/domain/readiness.js';
import { acknowledgeNag } from '../nag.js';
import { backupBucketName, type DataStack } from './data-stack.js';
import { operatorOutputs } from './outputs.js';
import { DAILY_BACKUP_TIME, PARTITION_MAINTENANCE_TIME, RECONCILIATION_TIME } from './nightly-jobs.js';
import { BACKUP_TABLE_NAMES } from './retention.js';
import {
  backupObjects,
  databaseEnvironment,
  functionArnByName,
  FUNCTION_SUBNETS,
  grantDatabase,
  grantOgmios,
  ogmiosEnvironment,
} from './runtime-access.js';

const handler = (file: string) => fileURLToPath(new URL(`../../functions/handlers/${file}`, import.meta.url));

// The nightly jobs' times live beside the database's windows, which are placed around them (nightly-jobs.ts).
export { DAILY_BACKUP_TIME, PARTITION_MAINTENANCE_TIME, RECONCILIATION_TIME };

export interface OperationsStackProps extends StackProps {
  readonly config: StageConfig;
  readonly data: DataStack;
}

type FunctionSettings = Pick<
  HouseFunctionProps,
  'timeout' | 'memorySize' | 'description' | 'reservedConcurrentExecutions' | 'retryAttempts' | 'maxEventAge' | 'bundling'
> & {
  readonly entry: string;
  readonly reaches: { readonly database: boolean; readonly ogmios: boolean };
  readonly environment?: Record<string, string>;
};

/**
 * The operator's tools: health (IAM-authenticated URL + every-minute lag metric), daily reconciliation, on-demand
 * rebuild, backup exports, partition maintenance, the hot-wallet balance (only when the stage lists hot-wallet
 * addresses), with their schedules.
 */
export class OperationsStack extends Stack {
  readonly health: HouseFunction;
  readonly healthUrl: FunctionUrl;
  readonly reconciliation: HouseFunction;
  readonly rebuild: HouseFunction;
  readonly hotWallet?: HouseFunction;
  readonly backupExport: HouseFunction;
  readonly partitionMaintenance: HouseFunction;
  /** Payouts (issue 16): the hot wallet's KMS key and the one function that signs with it. */
  readonly payoutSignerKey: PayoutSignerKey;
  readonly payoutProcessor: HouseFunction;

  private readonly config: StageConfig;
  private readonly data: DataStack;

  constructor(scope: Construct, id: string, props: OperationsStackProps) {
    super(scope, id, props);
    this.config = props.config;
    this.data = props.data;
    const { config } = props;
    const name = (part: string) => resourceName(config.stage, part);
    const timeZone = TimeZone.of(config.scheduleTimeZone);

    this.health = this.operationsFunction('Health', functionName(config.stage, 'health'), {
      entry: handler('health.ts'),
      description: 'Readiness behind an IAM-authenticated URL; the sync-lag metric every minute',
      timeout: Duration.seconds(30),
      memorySize: 256,
      reaches: { database: true, ogmios: true },
      environment: { NETWORK: config.network, MAX_READY_LAG_BLOCKS: String(MAX_READY_LAG_BLOCKS) },
    });
    this.healthUrl = this.health.addFunctionUrl({ authType: FunctionUrlAuthType.AWS_IAM });
    new FunctionSchedule(this, 'HealthEveryMinute', {
      function: this.health,
      scheduleName: name('health-every-minute'),
      // Also the DatabaseUnreachable and PipelineHalted alarms' metrics: their missing data or 0/1 come from this run.
      description: 'Records sync_lag_blocks, database_reachable and pipeline_halted even when the processor has stopped',
      expression: ScheduleExpression.rate(Duration.minutes(1)),
      retry: EVERY_MINUTE_RETRY,
    });

    const reconciliationName = reconciliationFunctionName(config.stage);
    this.reconciliation = this.operationsFunction('Reconciliation', reconciliationName, {
      entry: handler('reconciliation.ts'),
      description: 'Daily: payments against the chain, balances against the ledger; continues itself when time runs short',
      timeout: Duration.minutes(15),
      memorySize: 512,
      reaches: { database: true, ogmios: true },
      environment: { NETWORK: config.network },
    });
    this.allowSelfInvocation(this.reconciliation, reconciliationName);
    new FunctionSchedule(this, 'ReconciliationDaily', {
      function: this.reconciliation,
      scheduleName: name('reconciliation-daily'),
      description: `Reconciliation every day at ${clockTime(RECONCILIATION_TIME)} ${config.scheduleTimeZone}`,
      expression: ScheduleExpression.cron({ ...RECONCILIATION_TIME, timeZone }),
    });

    // Only resets the database to a point (the follower re-derives the rest), well within one invocation: it never
    // continues itself, so it may not invoke anything.
    this.rebuild = this.operationsFunction('Rebuild', functionName(config.stage, 'rebuild'), {
      entry: handler('rebuild.ts'),
      description: 'On demand: resets the engine to a retained point ({"daysAgo": n} | {"slot": n} | {"point": "<slot>.<id>"})',
      timeout: Duration.minutes(15),
      memorySize: 512,
      reaches: { database: true, ogmios: false },
      environment: { NETWORK: config.network },
    });

    this.backupExport = this.operationsFunction('BackupExport', functionName(config.stage, 'backupExport'), {
      entry: handler('backup-export.ts'),
      description: 'Exports one table ({"table": …}) as gzip NDJSON with a manifest to the backup bucket',
      timeout: Duration.minutes(15),
      memorySize: 512,
      reaches: { database: true, ogmios: false },
      environment: { BACKUP_BUCKET: backupBucketName(config) },
    });
    // Writes (multipart included) under the three table prefixes; never reads, lists or deletes (lifecycle expires).
    const exportObjects = BACKUP_TABLE_NAMES.map((table) => backupObjects(config, BACKUP_TABLES[table].prefix));
    this.backupExport.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: exportObjects.map((objects) => objects.arn) }),
    );
    for (const { nagFinding } of exportObjects) {
      acknowledgeNag(
        this.backupExport.role!,
        nagFinding,
        'Export keys carry the date and time of the export under the table prefix; the function may write only there.',
      );
    }
    for (const table of BACKUP_TABLE_NAMES) {
      const hourly = BACKUP_TABLES[table].every === 'hour';
      new FunctionSchedule(this, `Backup-${table}`, {
        function: this.backupExport,
        scheduleName: name(`backup-${table.replaceAll('_', '-')}`),
        description: `Exports ${table} ${hourly ? 'every hour' : `every day at ${clockTime(DAILY_BACKUP_TIME)} ${config.scheduleTimeZone}`}, kept ${BACKUP_TABLES[table].retentionDays} days`,
        expression: hourly ? ScheduleExpression.rate(Duration.hours(1)) : ScheduleExpression.cron({ ...DAILY_BACKUP_TIME, timeZone }),
        payload: { table },
      });
    }

    this.partitionMaintenance = this.operationsFunction('PartitionMaintenance', functionName(config.stage, 'partitionMaintenance'), {
      entry: handler('partition-maintenance.ts'),
      description: "Creates the coming months' incoming_payments partitions",
      timeout: Duration.minutes(5),
      memorySize: 256,
      reaches: { database: true, ogmios: false },
      environment: { PARTITION_MONTHS_AHEAD: String(DEFAULT_PARTITION_MONTHS_AHEAD) },
    });
    new FunctionSchedule(this, 'PartitionMaintenanceDaily', {
      function: this.partitionMaintenance,
      scheduleName: name('partition-maintenance-daily'),
      description: `Partition maintenance every day at ${clockTime(PARTITION_MAINTENANCE_TIME)} ${config.scheduleTimeZone}`,
      expression: ScheduleExpression.cron({ ...PARTITION_MAINTENANCE_TIME, timeZone }),
    });

    // Without addresses there is nothing to measure (the handler refuses an empty list) and no HotWallet alarm.
    if (config.hotWalletAddresses.length > 0) {
      this.hotWallet = this.operationsFunction('HotWallet', functionName(config.stage, 'hotWallet'), {
        entry: handler('hot-wallet.ts'),
        description: 'Every minute: the hot-wallet balance through Ogmios as hot_wallet_balance_ada',
        timeout: Duration.seconds(45),
        memorySize: 256,
        reaches: { database: false, ogmios: true },
        environment: { NETWORK: config.network, HOT_WALLET_ADDRESSES: config.hotWalletAddresses.join(',') },
      });
      new FunctionSchedule(this, 'HotWalletEveryMinute', {
        function: this.hotWallet,
        scheduleName: name('hot-wallet-every-minute'),
        description: 'Hot-wallet balance gauge for HotWalletLow / HotWalletCritical',
        expression: ScheduleExpression.rate(Duration.minutes(1)),
        retry: EVERY_MINUTE_RETRY,
      });
    }

    // Payouts (issue 16): expire, build, sign with the KMS key, submit, every minute; one run at a time (reserved
    // concurrency 1: one processor per hot wallet). A run that would overlap the next minute's is throttled, and the
    // schedule's event is dropped rather than queued (no retry, one minute's age at most): the next minute runs afresh.
    this.payoutSignerKey = new PayoutSignerKey(this, 'PayoutSignerKey', {
      stage: config.stage,
      aliasName: stageNames(config.stage).payoutSignerKeyAlias,
      breakGlassRoleArn: config.payouts.breakGlassRoleArn,
    });
    this.payoutProcessor = this.operationsFunction('PayoutProcessor', functionName(config.stage, 'payoutProcessor'), {
      entry: handler('payout-processor.ts'),
      description: 'Every minute: approved payouts built, signed with the KMS key, submitted through Ogmios; resubmitted, expired',
      timeout: Duration.seconds(55),
      memorySize: 512,
      reservedConcurrentExecutions: 1,
      retryAttempts: 0,
      maxEventAge: Duration.minutes(1),
      reaches: { database: true, ogmios: true },
      // The transaction library loads its .wasm from beside its own file (__dirname): installed, not bundled.
      bundling: { nodeModules: ['@emurgo/cardano-serialization-lib-nodejs'] },
      environment: {
        NETWORK: config.network,
        CONFIRMATIONS: String(config.confirmations),
        PAYOUT_SIGNER_KMS_KEY_ID: this.payoutSignerKey.key.keyArn,
      },
    });
    this.payoutSignerKey.grantSign(this.payoutProcessor.role!);
    new FunctionSchedule(this, 'PayoutProcessorEveryMinute', {
      function: this.payoutProcessor,
      scheduleName: name('payout-processor-every-minute'),
      description: 'Payout processor run; also payout_oldest_submitted_minutes for PayoutStuck',
      expression: ScheduleExpression.rate(Duration.minutes(1)),
      retry: EVERY_MINUTE_RETRY,
    });

    const region = this.region;
    const functions: [string, StageFunction, string][] = [
      ['Health', 'health', 'readiness (the URL below) and the every-minute lag metric'],
      ['Reconciliation', 'reconciliation', 'invoke with --invocation-type Event (a run outlasts the CLI read timeout)'],
      ['Rebuild', 'rebuild', 'on demand: {"daysAgo": n} | {"slot": n} | {"point": "<slot>.<id>"} | {"resumePipeline": true}'],
      ['BackupExport', 'backupExport', 'exports {"table": "<table>"} to the backup bucket'],
      ['PartitionMaintenance', 'partitionMaintenance', "creates the coming months' partitions"],
      ...(this.hotWallet ? ([['HotWallet', 'hotWallet', 'the hot-wallet balance every minute']] as [string, StageFunction, string][]) : []),
      ['PayoutProcessor', 'payoutProcessor', 'payouts every minute: build, sign (KMS), submit'],
    ];
    operatorOutputs(this, {
      PayoutSignerKeyArn: {
        value: this.payoutSignerKey.key.keyArn,
        description: "The hot wallet's KMS key: aws kms get-public-key --key-id <this> gives its address (README, Payouts on AWS)",
      },
      PayoutSignerKeyAlias: { value: this.payoutSignerKey.alias.aliasName, description: "The hot wallet's KMS key, by alias" },
      HealthUrl: {
        value: this.healthUrl.url,
        description: `IAM-authenticated (SigV4): awscurl --service lambda --region ${region} <this>health/ready`,
      },
      ...Object.fromEntries(
        functions.flatMap(([label, fn, what]) => [
          [`${label}FunctionName`, { value: functionName(config.stage, fn), description: what }],
          [
            `${label}LogGroupName`,
            { value: lambdaLogGroupName(functionName(config.stage, fn)), description: 'aws logs tail <this> --follow' },
          ],
        ]),
      ),
    });
  }

  /** A house function in the VPC, granted exactly the secrets of what it reaches. */
  private operationsFunction(id: string, functionName: string, settings: FunctionSettings): HouseFunction {
    const { config, data } = this;
    const fn = new HouseFunction(this, id, {
      entry: settings.entry,
      functionName,
      description: settings.description,
      stage: config.stage,
      timeout: settings.timeout,
      memorySize: settings.memorySize,
      logRetentionDays: config.logRetentionDays,
      vpc: data.network.vpc,
      vpcSubnets: FUNCTION_SUBNETS,
      // Its own group: HTTPS (AWS APIs, wss:// Ogmios) and the Ogmios relays' ports when it queries them; PostgreSQL
      // through the database's client group.
      reservedConcurrentExecutions: settings.reservedConcurrentExecutions,
      retryAttempts: settings.retryAttempts,
      maxEventAge: settings.maxEventAge,
      bundling: settings.bundling,
      securityGroups: [
        outboundSecurityGroup(this, `${id}SecurityGroup`, {
          vpc: data.network.vpc,
          description: `${functionName}: HTTPS${settings.reaches.ogmios ? ' and Ogmios' : ''}`,
          ogmiosUrls: settings.reaches.ogmios ? config.ogmiosUrls : undefined,
        }),
        ...(settings.reaches.database ? [data.database.clientSecurityGroup] : []),
      ],
      environment: {
        ...(settings.reaches.database ? databaseEnvironment(data) : {}),
        ...(settings.reaches.ogmios ? ogmiosEnvironment(config, data) : {}),
        ...settings.environment,
      },
    });
    if (settings.reaches.database) grantDatabase(fn, data);
    if (settings.reaches.ogmios) grantOgmios(fn, data);
    return fn;
  }

  /**
   * Long jobs continue by invoking themselves asynchronously. The ARN is formatted from the fixed function name,
   * not taken from the function, so the role's policy does not depend on the function it belongs to.
   */
  private allowSelfInvocation(fn: HouseFunction, functionName: string): void {
    fn.addToRolePolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [functionArnByName(this, functionName)] }));
  }
}
