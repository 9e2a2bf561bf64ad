import { RemovalPolicy, SecretValue, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, Billing, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { SubnetType } from 'aws-cdk-lib/aws-ec2';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config.js';
import { AccessLogBucket } from '../constructs/access-log-bucket.js';
import { DatabaseBackupPlan } from '../constructs/database-backup-plan.js';
import { MonitorNetwork } from '../constructs/monitor-network.js';
import { PaymentDatabase } from '../constructs/payment-database.js';
import { PrivateBucket } from '../constructs/private-bucket.js';
import { SchemaMigrations } from '../constructs/schema-migrations.js';
import { functionName, lambdaLogGroupName, resourceName, stageNames } from '../naming.js';
import { acknowledgeNag } from '../nag.js';
import { operatorOutputs } from './outputs.js';
import { databaseWindows } from './nightly-jobs.js';
import { CLAIM_CHECK_EXPIRY, BACKUP_EXPORT_LIFECYCLE, BACKUP_NONCURRENT_VERSION_EXPIRY } from './retention.js';

/** Fixed, so other stacks can scope object ARNs to it without a cross-stack token. */
export function claimCheckBucketName(config: StageConfig): string {
  return `${resourceName(config.stage, 'claim-checks')}-${config.account}`;
}

export function backupBucketName(config: StageConfig): string {
  return `${resourceName(config.stage, 'backups')}-${config.account}`;
}

export interface DataStackProps extends StackProps {
  readonly config: StageConfig;
}

/**
 * What the stage keeps: the network, the database (with its backups and migrations), the lease table, the
 * claim-check and backup-export buckets, and the Ogmios API-key secret. Every other stack builds on these.
 */
export class DataStack extends Stack {
  readonly network: MonitorNetwork;
  readonly database: PaymentDatabase;
  readonly leaseTable: TableV2;
  readonly claimCheckBucket: PrivateBucket;
  readonly backupBucket: PrivateBucket;
  readonly ogmiosApiKeys: Secret;
  readonly webhookSecretsKey: Secret;
  readonly migrations: SchemaMigrations;

  /**
   * The two AZs the VPC uses, named rather than looked up: with an explicit account the default getter asks AWS
   * (a context lookup), and synth must work offline. Every region has zones `a` and `b`.
   */
  override get availabilityZones(): string[] {
    return this.zones;
  }

  private readonly zones: string[];

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.zones = [`${config.region}a`, `${config.region}b`];
    const names = stageNames(config.stage);

    this.network = new MonitorNetwork(this, 'Network', {
      availabilityZones: this.zones,
      natGateways: config.natGateways,
      flowLogRetentionDays: config.logRetentionDays,
    });
    const vpc = this.network.vpc;

    this.database = new PaymentDatabase(this, 'Database', {
      vpc,
      stage: config.stage,
      instanceClass: config.database.instanceClass,
      allocatedStorageGiB: config.database.allocatedStorageGiB,
      multiAz: config.database.multiAz,
      deletionProtection: config.database.deletionProtection,
      backupRetentionDays: config.database.backupRetentionDays,
      logRetentionDays: config.logRetentionDays,
      // Away from the nightly jobs and the AWS Backup snapshots (nightly-jobs.ts).
      windows: databaseWindows(config.scheduleTimeZone),
      secretName: names.databaseSecret,
      instanceIdentifier: names.databaseInstance,
    });
    const backups = new DatabaseBackupPlan(this, 'DatabaseBackups', {
      instance: this.database.instance,
      vaultName: names.backupVault,
      planName: names.backupVault,
      dailyRetentionDays: config.backup.dailyRetentionDays,
      weeklyRetentionDays: config.backup.weeklyRetentionDays,
    });
    this.migrations = new SchemaMigrations(this, 'SchemaMigrations', {
      stage: config.stage,
      functionName: functionName(config.stage, 'migration'),
      vpc,
      vpcSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS },
      securityGroup: this.database.clientSecurityGroup,
      databaseSecret: this.database.secret,
      logRetentionDays: config.logRetentionDays,
      after: [this.database.instance],
    });

    // Partition key as functions/adapters/dynamodb/lease-table.ts writes it; one item per chain. It holds only the
    // current lease (the next acquisition writes it again), so no DynamoDB deletion protection: that would make a
    // failed first deploy's rollback fail. Retained when the stage is protected, except by the deploy that created it.
    this.leaseTable = new TableV2(this, 'LeaseTable', {
      tableName: names.leaseTable,
      partitionKey: { name: 'leaseName', type: AttributeType.STRING },
      billing: Billing.onDemand(),
      encryption: TableEncryptionV2.awsManagedKey(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: false,
      removalPolicy: config.database.deletionProtection ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY,
    });

    this.claimCheckBucket = new PrivateBucket(this, 'ClaimChecks', {
      bucketName: claimCheckBucketName(config),
      lifecycleRules: [{ id: 'expire-claim-checks', expiration: CLAIM_CHECK_EXPIRY }],
      noAccessLogsReason:
        'Claim checks are transient copies of chain events (public chain data) written by the follower and read by the processor; both are logged by the applications, and the objects expire.',
    });
    // Balances and the address registry: versioned (an overwritten or deleted export can be restored) and logged
    // (S3 server access logs: who read, wrote or deleted which export) to a bucket of their own.
    const accessLogs = new AccessLogBucket(this, 'AccessLogs');
    this.backupBucket = new PrivateBucket(this, 'BackupExports', {
      bucketName: backupBucketName(config),
      lifecycleRules: BACKUP_EXPORT_LIFECYCLE,
      noncurrentVersionExpiry: BACKUP_NONCURRENT_VERSION_EXPIRY,
      accessLogs: { bucket: accessLogs.bucket, prefix: 'backup-exports/' },
    });

    // The keys themselves are put in by hand (README, Deploy): the template holds only empty fields, and a later
    // deploy does not overwrite what was stored. Retained, except by a failed deploy that created it (CloudFormation
    // deletes a secret without a recovery window, so a retry can create the name again).
    this.ogmiosApiKeys = new Secret(this, 'OgmiosApiKeys', {
      secretName: config.ogmiosApiKeySecretName,
      description: `Ogmios provider API keys of ${config.stage}: {"primary": "…", "secondary": "…"}`,
      secretObjectValue: { primary: SecretValue.unsafePlainText(''), secondary: SecretValue.unsafePlainText('') },
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    acknowledgeNag(
      this.ogmiosApiKeys,
      'SMG4',
      'Provider API keys cannot be rotated by AWS: the operator issues a new key at the provider and puts it in as "secondary", then "primary" (the clients fail over between the two).',
    );

    // The key that seals the webhook endpoints' signing secrets in the database (AES-256-GCM): {"key": "<64 hex
    // digits>"}, 32 random bytes generated by Secrets Manager (never in a template or a log), the field the sealer
    // reads (functions/adapters/crypto/aes-gcm-sealer.ts). Here, not beside its readers: the API
    // and the deliverer live in two stacks, and the Data stack is the one that may export (a secret ARN has no fixed
    // name). Kept with the database it unlocks, except by a failed first deploy.
    this.webhookSecretsKey = new Secret(this, 'WebhookSecretsKey', {
      secretName: names.webhookSecretsKey,
      description: `payment-monitor ${config.stage}: 32-byte key (hex) sealing the webhook signing secrets in the database`,
      generateSecretString: {
        secretStringTemplate: '{}',
        generateStringKey: 'key',
        passwordLength: 64,
        excludeUppercase: true,
        excludePunctuation: true,
        includeSpace: false,
        excludeCharacters: 'ghijklmnopqrstuvwxyz',
        requireEachIncludedType: false,
      },
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    acknowledgeNag(
      this.webhookSecretsKey,
      'SMG4',
      'Rotating the key would leave every sealed webhook secret unreadable: a new key needs the secrets re-sealed, which the application does, not a rotation function; the key never leaves the API and deliverer functions.',
    );

    // Deletion protection last: a first deploy that fails before this point rolls back completely (README, Deploy).
    this.database.deletionProtectionSwitch?.node.addDependency(
      this.migrations,
      backups,
      this.leaseTable,
      this.claimCheckBucket,
      this.backupBucket,
      accessLogs,
      this.ogmiosApiKeys,
      this.webhookSecretsKey,
    );

    const instance = this.database.instance;
    operatorOutputs(this, {
      DatabaseEndpoint: {
        value: instance.dbInstanceEndpointAddress,
        description: 'PostgreSQL host (port 5432; isolated subnets: reachable from the VPC only)',
      },
      DatabaseInstanceIdentifier: {
        value: names.databaseInstance,
        description: 'RDS instance (console, aws rds describe-db-instances, Performance Insights)',
      },
      DatabaseSecretName: {
        value: names.databaseSecret,
        description: 'The rotated database credentials (host, port, username, password, dbname)',
      },
      DatabaseSecretArn: { value: this.database.secret.secretArn, description: 'DATABASE_SECRET_ARN of the functions and the follower' },
      OgmiosApiKeySecretName: {
        value: config.ogmiosApiKeySecretName,
        description: 'Put the Ogmios provider key here ({"primary": "...", "secondary": ""}) before deploying the other stacks',
      },
      WebhookSecretsKeySecretName: {
        value: names.webhookSecretsKey,
        description: 'The key sealing the webhook signing secrets (generated; read by the API and the deliverer only)',
      },
      LeaseTableName: { value: names.leaseTable, description: 'The follower lease (one item per chain)' },
      ClaimCheckBucketName: {
        value: claimCheckBucketName(config),
        description: 'Claim checks of large chain events (chain-events/, expire after 30 days)',
      },
      BackupBucketName: {
        value: backupBucketName(config),
        description: 'Table exports (<table>/<date>/...): restore with npm run cli -- restore',
      },
      BackupVaultName: { value: names.backupVault, description: 'AWS Backup vault of the database snapshots (daily and weekly)' },
      MigrationLogGroupName: {
        value: lambdaLogGroupName(functionName(config.stage, 'migration')),
        description: 'Logs of the schema migrations run by each deploy',
      },
      PostgresLogGroupName: {
        value: `/aws/rds/instance/${names.databaseInstance}/postgresql`,
        description: 'PostgreSQL log (errors, statements over 1 s)',
      },
    });
  }
}
