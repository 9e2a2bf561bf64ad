/** The data constructs' invariants, and the migration bundle carrying its SQL (one real esbuild bundle, no Docker). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { SecurityGroup, SubnetType, Vpc } from 'aws-cdk-lib/aws-ec2';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS_DIRECTORY } from '../../functions/adapters/postgres/migrate.js';
import { DatabaseBackupPlan, DatabaseBackupPlanConfigError } from '../../lib/constructs/database-backup-plan.js';
import { PaymentDatabase, PaymentDatabaseConfigError } from '../../lib/constructs/payment-database.js';
import { PrivateBucket, PrivateBucketConfigError } from '../../lib/constructs/private-bucket.js';
import { SchemaMigrations } from '../../lib/constructs/schema-migrations.js';

function newStack(app = new App()): Stack {
  return new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'eu-west-1' } });
}

function newVpc(stack: Stack): Vpc {
  return new Vpc(stack, 'Vpc', {
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    natGateways: 1,
    subnetConfiguration: [
      { name: 'public', subnetType: SubnetType.PUBLIC },
      { name: 'private', subnetType: SubnetType.PRIVATE_WITH_EGRESS },
      { name: 'isolated', subnetType: SubnetType.PRIVATE_ISOLATED },
    ],
  });
}

function databaseProps(stack: Stack, overrides: Partial<ConstructorParameters<typeof PaymentDatabase>[2]> = {}) {
  return {
    vpc: newVpc(stack),
    stage: 'dev',
    instanceClass: 't4g.micro',
    allocatedStorageGiB: 20,
    multiAz: false,
    deletionProtection: false,
    backupRetentionDays: 7,
    logRetentionDays: 14,
    secretName: 'payment-monitor/dev/database',
    instanceIdentifier: 'payment-monitor-dev-database',
    ...overrides,
  };
}

describe('PaymentDatabase', () => {
  it.each([0, 36])('refuses a backup retention of %i days (0 would disable point-in-time recovery)', (days) => {
    const create = () => {
      const stack = newStack();
      return new PaymentDatabase(stack, 'Db', databaseProps(stack, { backupRetentionDays: days }));
    };
    expect(create).toThrow(PaymentDatabaseConfigError);
    expect(create).toThrow(/backupRetentionDays must be 1–35/);
  });

  it('writes PostgreSQL logs to a log group of its own with the stage retention (no log-retention Lambda)', () => {
    const stack = newStack();
    new PaymentDatabase(stack, 'Db', databaseProps(stack));
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/rds/instance/payment-monitor-dev-database/postgresql',
      RetentionInDays: 14,
    });
    template.resourceCountIs('Custom::LogRetention', 0);
  });
});

describe('DatabaseBackupPlan', () => {
  it('refuses weekly retention shorter than daily retention', () => {
    const create = () => {
      const stack = newStack();
      const database = new PaymentDatabase(stack, 'Db', databaseProps(stack));
      return new DatabaseBackupPlan(stack, 'Backups', {
        instance: database.instance,
        vaultName: 'v',
        planName: 'p',
        dailyRetentionDays: 30,
        weeklyRetentionDays: 14,
      });
    };
    expect(create).toThrow(DatabaseBackupPlanConfigError);
    expect(create).toThrow(/weeklyRetentionDays \(14\) must be ≥ dailyRetentionDays \(30\)/);
  });
});

describe('PrivateBucket', () => {
  it('refuses a bucket without lifecycle rules, or with a rule that never expires', () => {
    expect(() => new PrivateBucket(newStack(), 'B', { lifecycleRules: [], noAccessLogsReason: 'a reason long enough to count' })).toThrow(
      PrivateBucketConfigError,
    );
    expect(
      () =>
        new PrivateBucket(newStack(), 'B', {
          lifecycleRules: [{ id: 'forever', prefix: 'x/' }],
          noAccessLogsReason: 'a reason long enough to count',
        }),
    ).toThrow(/lifecycle rule forever must expire its objects/);
  });

  it('is encrypted, TLS-only, private, and aborts incomplete uploads after a day', () => {
    const stack = newStack();
    new PrivateBucket(stack, 'B', {
      lifecycleRules: [{ id: 'expire', expiration: Duration.days(3) }],
      noAccessLogsReason: 'a reason long enough to count',
    });
    Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LifecycleConfiguration: {
        Rules: [{ Id: 'expire', ExpirationInDays: 3, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }],
      },
    });
  });
});

describe('SchemaMigrations bundle', () => {
  it('ships every functions/migrations/*.sql next to the handler, where MIGRATIONS_DIRECTORY points', () => {
    const app = new App();
    const stack = newStack(app);
    const vpc = newVpc(stack);
    const migrations = new SchemaMigrations(stack, 'Migrations', {
      stage: 'dev',
      functionName: 'payment-monitor-dev-migrate',
      vpc,
      vpcSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS },
      securityGroup: new SecurityGroup(stack, 'Clients', { vpc }),
      databaseSecret: new Secret(stack, 'DbSecret'),
      logRetentionDays: 14,
      after: [],
    });
    const assembly = app.synth();
    const code = (
      Template.fromStack(stack).toJSON().Resources as Record<
        string,
        { Type: string; Properties: { FunctionName?: string; Code?: { S3Key: string } } }
      >
    )[stack.getLogicalId(migrations.function.node.defaultChild as never)]!.Properties.Code!;
    const assetDir = join(assembly.directory, `asset.${code.S3Key.replace(/\.zip$/, '')}`);
    const expected = readdirSync(MIGRATIONS_DIRECTORY)
      .filter((file) => file.endsWith('.sql'))
      .sort();
    expect(expected.length).toBeGreaterThan(0);
    expect(readdirSync(join(assetDir, 'migrations')).sort()).toEqual(expected);
    for (const file of expected) {
      expect(readFileSync(join(assetDir, 'migrations', file), 'utf8')).toBe(readFileSync(join(MIGRATIONS_DIRECTORY, file), 'utf8'));
    }
    expect(readdirSync(assetDir)).toContain('index.mjs');
  }, 60_000);
});

describe('PrivateBucket.expiryOf', () => {
  const bucket = (rules: ConstructorParameters<typeof PrivateBucket>[2]['lifecycleRules']) =>
    new PrivateBucket(newStack(), 'B', { lifecycleRules: rules, noAccessLogsReason: 'a reason long enough to count' });

  it('is the shortest expiry of the enabled rules that may reach keys under the prefix', () => {
    const b = bucket([
      { id: 'all', expiration: Duration.days(40) },
      { id: 'events', prefix: 'chain-events/', expiration: Duration.days(30) },
      { id: 'some-events', prefix: 'chain-events/ab', expiration: Duration.days(20) },
      { id: 'other', prefix: 'exports/', expiration: Duration.days(1) },
      { id: 'off', prefix: 'chain-events/', expiration: Duration.days(2), enabled: false },
    ]);
    expect(b.expiryOf('chain-events/')?.toDays()).toBe(20);
    expect(b.expiryOf('exports/')?.toDays()).toBe(1);
    expect(b.expiryOf('elsewhere/')?.toDays()).toBe(40);
  });

  it('is undefined when no rule reaches the prefix (those objects are kept)', () => {
    expect(bucket([{ id: 'other', prefix: 'exports/', expiration: Duration.days(1) }]).expiryOf('chain-events/')).toBeUndefined();
  });
});
