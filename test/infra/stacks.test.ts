/**
 * The stage's stacks as CloudFormation sees them, for dev and prod from cdk.json: every decision of the
 * infrastructure (isolation, encryption, backups, queue, service, schedules, IAM scope) and cdk-nag's verdict.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Vpc } from 'aws-cdk-lib/aws-ec2';
import { ContainerImage } from 'aws-cdk-lib/aws-ecs';
import { Match } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SHUTDOWN_BUDGET_MS } from '../../functions/config/variables.js';
import { assertStopTimeoutCovers, FollowerService, FollowerServiceConfigError } from '../../lib/constructs/follower-service.js';
import { migrationsFingerprint } from '../../lib/constructs/schema-migrations.js';
import { receivesWithin } from '../../functions/domain/retry-schedule.js';
import { actionsOf, grantedStatements, roleStatements, stageConfig, synthesizeStage, type SynthesizedStage } from './stage-fixture.js';

let dev: SynthesizedStage;
let prod: SynthesizedStage;
beforeAll(() => {
  dev = synthesizeStage(stageConfig('dev'));
  prod = synthesizeStage(stageConfig('prod'));
}, 120_000);

const both = () =>
  [
    ['dev', dev],
    ['prod', prod],
  ] as const;

describe('stage composition', () => {
  it('synthesizes every stack of dev and prod without error (no cross-stack cycle, no lookup)', () => {
    expect(dev.synthError).toBeUndefined();
    expect(prod.synthError).toBeUndefined();
  });

  it('needs no AWS lookup (the CLI would need credentials): the AZs are named, nothing is missing from the context', () => {
    expect(dev.missingContext).toEqual([]);
    expect(prod.missingContext).toEqual([]);
    expect(prod.stage.data.availabilityZones).toEqual(['eu-west-1a', 'eu-west-1b']);
  });

  it('names stacks and resources after the stage', () => {
    expect(
      [dev.stage.data, dev.stage.events, dev.stage.processing, dev.stage.ingest, dev.stage.operations, dev.stage.api].map(
        (stack) => stack.stackName,
      ),
    ).toEqual([
      'PaymentMonitor-dev-Data',
      'PaymentMonitor-dev-Events',
      'PaymentMonitor-dev-Processing',
      'PaymentMonitor-dev-Ingest',
      'PaymentMonitor-dev-Operations',
      'PaymentMonitor-dev-Api',
    ]);
    expect(dev.stage.observability.stackName).toBe('PaymentMonitor-dev-Observability');
    prod.templates.processing.hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'payment-monitor-prod-processor' });
    prod.templates.data.hasResourceProperties('AWS::DynamoDB::GlobalTable', { TableName: 'payment-monitor-prod-leases' });
    prod.templates.ingest.hasResourceProperties('AWS::ECS::Service', { ServiceName: 'payment-monitor-prod-follower' });
    expect(prod.stage.data.account).toBe('333333333333');
    expect(prod.stage.data.region).toBe('eu-west-1');
  });

  it('runs every Lambda on ARM64 and Node.js 22, inside the VPC', () => {
    for (const [, stage] of both()) {
      for (const template of [stage.templates.processing, stage.templates.operations, stage.templates.events, stage.templates.api]) {
        const functions = Object.values(template.findResources('AWS::Lambda::Function')) as { Properties: Record<string, unknown> }[];
        expect(functions.length).toBeGreaterThan(0);
        for (const fn of functions) {
          expect(fn.Properties.Architectures).toEqual(['arm64']);
          expect(fn.Properties.Runtime).toBe('nodejs22.x');
          expect(fn.Properties.VpcConfig).toBeDefined();
        }
      }
    }
  });
});

describe('network', () => {
  it('has NAT egress per the stage (1 in dev, 2 in prod) and never maps public IPs', () => {
    dev.templates.data.resourceCountIs('AWS::EC2::NatGateway', 1);
    prod.templates.data.resourceCountIs('AWS::EC2::NatGateway', 2);
    for (const [, stage] of both()) {
      const subnets = Object.values(stage.templates.data.findResources('AWS::EC2::Subnet')) as {
        Properties: { MapPublicIpOnLaunch?: boolean };
      }[];
      expect(subnets).toHaveLength(6);
      expect(subnets.every((subnet) => subnet.Properties.MapPublicIpOnLaunch !== true)).toBe(true);
    }
  });

  it('uses free gateway endpoints for S3 and DynamoDB and no paid interface endpoints', () => {
    const endpoints = Object.values(dev.templates.data.findResources('AWS::EC2::VPCEndpoint')) as {
      Properties: { VpcEndpointType: string; ServiceName: unknown };
    }[];
    expect(endpoints.map((endpoint) => endpoint.Properties.VpcEndpointType)).toEqual(['Gateway', 'Gateway']);
    expect(JSON.stringify(endpoints.map((endpoint) => endpoint.Properties.ServiceName))).toMatch(/\.s3".*\.dynamodb"/);
  });

  it('logs rejected traffic', () => {
    dev.templates.data.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT', ResourceType: 'VPC' });
  });

  it('opens no port to the internet anywhere, and the database only to its client group on 5432', () => {
    for (const [, stage] of both()) {
      for (const template of Object.values(stage.templates)) {
        const groups = Object.values(template.findResources('AWS::EC2::SecurityGroup')) as {
          Properties: { SecurityGroupIngress?: unknown };
        }[];
        const json = JSON.stringify([
          groups.map((group) => group.Properties.SecurityGroupIngress ?? []),
          template.findResources('AWS::EC2::SecurityGroupIngress'),
        ]);
        expect(json).not.toMatch(/"CidrIp":"0\.0\.0\.0\/0"/);
        expect(json).not.toMatch(/"CidrIpv6":"::\/0"/);
      }
    }
    const groups = dev.templates.data.findResources('AWS::EC2::SecurityGroup');
    const [databaseGroupId, databaseGroup] = Object.entries(groups).find(([id]) => id.startsWith('DatabaseSecurityGroup')) as [
      string,
      { Properties: Record<string, unknown> },
    ];
    // Its rules are resources of their own (the client group's egress rule refers to it inline).
    expect(databaseGroup.Properties.SecurityGroupIngress).toBeUndefined();
    // The ways in: the client group, and the password-rotation Lambda's own group.
    const separateRules = Object.values(dev.templates.data.findResources('AWS::EC2::SecurityGroupIngress')) as {
      Properties: Record<string, unknown>;
    }[];
    expect(separateRules.map((rule) => rule.Properties)).toEqual([
      {
        Description: 'PostgreSQL from database clients',
        GroupId: { 'Fn::GetAtt': [databaseGroupId, 'GroupId'] },
        IpProtocol: 'tcp',
        FromPort: 5432,
        ToPort: 5432,
        SourceSecurityGroupId: { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseClientSecurityGroup/), 'GroupId'] },
      },
      expect.objectContaining({
        GroupId: { 'Fn::GetAtt': [databaseGroupId, 'GroupId'] },
        SourceSecurityGroupId: { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseRotationSecurityGroup/), 'GroupId'] },
      }),
    ]);
  });
});

describe('database', () => {
  it('is PostgreSQL in isolated subnets, encrypted, not public, with TLS forced and the RSA2048 CA', () => {
    for (const [, stage] of both()) {
      stage.templates.data.hasResourceProperties('AWS::RDS::DBInstance', {
        Engine: 'postgres',
        StorageEncrypted: true,
        PubliclyAccessible: false,
        CACertificateIdentifier: 'rds-ca-rsa2048-g1',
        DBInstanceIdentifier: `payment-monitor-${stage.config.stage}-database`,
        EnableCloudwatchLogsExports: ['postgresql'],
      });
      stage.templates.data.hasResourceProperties('AWS::RDS::DBParameterGroup', { Parameters: Match.objectLike({ 'rds.force_ssl': '1' }) });
      stage.templates.data.hasResourceProperties('AWS::RDS::DBSubnetGroup', {
        SubnetIds: Match.arrayWith([{ Ref: Match.stringLikeRegexp('isolatedSubnet1') }]),
      });
    }
  });

  it('is Multi-AZ with deletion protection and a final snapshot in prod; single-AZ and removable in dev', () => {
    // Prod's deletion protection is switched on by a custom resource after the first deploy (see "retry" below).
    prod.templates.data.hasResource('AWS::RDS::DBInstance', {
      Properties: Match.objectLike({ MultiAZ: true, DeletionProtection: Match.absent(), BackupRetentionPeriod: 14 }),
      DeletionPolicy: 'Snapshot',
    });
    prod.templates.data.hasResourceProperties('Custom::DatabaseDeletionProtection', {
      Create: Match.serializedJson(
        Match.objectLike({ action: 'modifyDBInstance', parameters: Match.objectLike({ DeletionProtection: true }) }),
      ),
    });
    dev.templates.data.resourceCountIs('Custom::DatabaseDeletionProtection', 0);
    dev.templates.data.hasResource('AWS::RDS::DBInstance', {
      Properties: Match.objectLike({ MultiAZ: false, DeletionProtection: false, BackupRetentionPeriod: 7 }),
      DeletionPolicy: 'Delete',
    });
    expect(prod.stage.data.terminationProtection).toBe(true);
    expect(dev.stage.data.terminationProtection).toBe(false);
  });

  it('keeps its generated credentials in Secrets Manager, rotated every 30 days', () => {
    dev.templates.data.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'payment-monitor/dev/database',
      GenerateSecretString: Match.objectLike({ GenerateStringKey: 'password' }),
    });
    dev.templates.data.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    });
  });

  it('rotates the password from the private subnets with NAT egress (Secrets Manager reachable), never the isolated ones', () => {
    for (const [, stage] of both()) {
      const template = stage.templates.data;
      const [rotation] = Object.values(template.findResources('AWS::Serverless::Application')) as {
        Properties: { Parameters: { vpcSubnetIds: unknown } };
      }[];
      const rotationSubnets = JSON.stringify(rotation!.Properties.Parameters.vpcSubnetIds)
        .match(/"Ref":"[^"]+"/g)!
        .map((ref) => ref.slice(7, -1))
        .sort();
      const subnets = Object.entries(template.findResources('AWS::EC2::Subnet')) as [
        string,
        { Properties: { Tags: { Key: string; Value: string }[] } },
      ][];
      const ofType = (type: string) =>
        subnets
          .filter(([, subnet]) => subnet.Properties.Tags.some((tag) => tag.Key === 'aws-cdk:subnet-type' && tag.Value === type))
          .map(([id]) => id)
          .sort();
      expect(rotationSubnets).toEqual(ofType('Private'));
      expect(rotationSubnets).toHaveLength(2);
      expect(rotationSubnets.some((id) => ofType('Isolated').includes(id))).toBe(false);
      // Each of those subnets routes 0.0.0.0/0 through a NAT gateway: the Secrets Manager API is reachable.
      const natRoutes = Object.values(template.findResources('AWS::EC2::Route')) as {
        Properties: { RouteTableId: { Ref: string }; NatGatewayId?: unknown };
      }[];
      for (const subnet of rotationSubnets) {
        const routeTable = subnet.replace(/Subnet[0-9A-F]{8}$/, 'RouteTable');
        expect(
          natRoutes.some(
            (route) => route.Properties.NatGatewayId !== undefined && route.Properties.RouteTableId.Ref.startsWith(routeTable),
          ),
          subnet,
        ).toBe(true);
      }
    }
  });

  it('is backed up by AWS Backup: daily kept 30 days, weekly kept 90 days, selecting the instance', () => {
    prod.templates.data.hasResourceProperties('AWS::Backup::BackupPlan', {
      BackupPlan: {
        BackupPlanName: 'payment-monitor-prod-database',
        BackupPlanRule: Match.arrayWith([
          Match.objectLike({ RuleName: 'daily-30d', ScheduleExpression: 'cron(0 1 * * ? *)', Lifecycle: { DeleteAfterDays: 30 } }),
          Match.objectLike({ RuleName: 'weekly-90d', ScheduleExpression: 'cron(0 5 ? * SUN *)', Lifecycle: { DeleteAfterDays: 90 } }),
        ]),
      },
    });
    const selection = JSON.stringify(prod.templates.data.findResources('AWS::Backup::BackupSelection'));
    expect(selection).toMatch(/:db:/);
    expect(selection).toContain('DatabaseInstance');
    prod.templates.data.hasResource('AWS::Backup::BackupVault', { DeletionPolicy: 'RetainExceptOnCreate' });
  });

  it('applies the migrations through a custom resource that re-runs when the SQL changes, after the instance exists', () => {
    const resources = dev.templates.data.findResources('Custom::SchemaMigrations');
    const [resource] = Object.values(resources) as { Properties: Record<string, unknown>; DependsOn: string[] }[];
    expect(Object.keys(resources)).toHaveLength(1);
    expect(resource!.Properties.MigrationsFingerprint).toBe(migrationsFingerprint());
    expect(resource!.DependsOn.some((id) => id.startsWith('DatabaseInstance'))).toBe(true);
    dev.templates.data.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'payment-monitor-dev-migrate',
      Timeout: 300,
      Environment: {
        Variables: Match.objectLike({ MIGRATIONS_DIRECTORY: '/var/task/migrations', NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem' }),
      },
    });
  });
});

describe('lease table, buckets and secrets', () => {
  it('keys the lease table by leaseName, on demand, encrypted, with point-in-time recovery', () => {
    prod.templates.data.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [{ AttributeName: 'leaseName', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      Replicas: [
        Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, DeletionProtectionEnabled: false }),
      ],
    });
  });

  it('encrypts every bucket (claim checks, backups, access logs), blocks public access, refuses plain HTTP and retains them', () => {
    const template = dev.templates.data;
    template.resourceCountIs('AWS::S3::Bucket', 3);
    template.allResourcesProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    template.allResources('AWS::S3::Bucket', { DeletionPolicy: 'RetainExceptOnCreate' });
    template.allResourcesProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });

  it('expires claim checks after 30 days (queue 14 + DLQ 14 + margin) and backup exports per table (30/7/90 days)', () => {
    const template = dev.templates.data;
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'payment-monitor-dev-claim-checks-111111111111',
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 30, Status: 'Enabled' })] },
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'payment-monitor-dev-backups-111111111111',
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({ Prefix: 'payment_addresses/', ExpirationInDays: 30 }),
          Match.objectLike({ Prefix: 'user_balances/', ExpirationInDays: 7 }),
          Match.objectLike({ Prefix: 'incoming_payments/', ExpirationInDays: 90 }),
        ],
      },
    });
  });

  it('creates the Ogmios key secret under the configured name with empty fields only', () => {
    prod.templates.data.hasResource('AWS::SecretsManager::Secret', {
      Properties: Match.objectLike({ Name: 'payment-monitor/prod/ogmios-api-keys', SecretString: '{"primary":"","secondary":""}' }),
      DeletionPolicy: 'RetainExceptOnCreate',
    });
  });
});

describe('chain-event queue and processor', () => {
  it('is a FIFO queue with a FIFO DLQ, SSE, and a visibility timeout of 6 × the processor timeout', () => {
    const template = dev.templates.processing;
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'payment-monitor-dev-chain-events.fifo',
      FifoQueue: true,
      VisibilityTimeout: 180,
      SqsManagedSseEnabled: true,
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'payment-monitor-dev-chain-events-dlq.fifo',
      FifoQueue: true,
      SqsManagedSseEnabled: true,
    });
    template.hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'payment-monitor-dev-processor', Timeout: 30 });
  });

  it('keeps chain events 14 days in the queue and 14 in the DLQ, and dead-letters only after 1000 receives', () => {
    for (const [name, stage] of both()) {
      const queues = Object.values(stage.templates.processing.findResources('AWS::SQS::Queue')) as {
        Properties: Record<string, unknown>;
      }[];
      const byName = new Map(queues.map(({ Properties }) => [Properties.QueueName, Properties]));
      const main = byName.get(`payment-monitor-${name}-chain-events.fifo`)!;
      const dlq = byName.get(`payment-monitor-${name}-chain-events-dlq.fifo`)!;
      expect(main.MessageRetentionPeriod, name).toBe(14 * 24 * 3600);
      expect(dlq.MessageRetentionPeriod, name).toBe(14 * 24 * 3600);
      expect(main.RedrivePolicy, name).toMatchObject({ maxReceiveCount: 1000 });
      // 1000 receives are more than the processor's retry schedule makes in the retention: nothing valid is dead-lettered.
      expect(receivesWithin(main.MessageRetentionPeriod as number)).toBeLessThan(1000);
    }
  });

  it("lets the processor change the visibility of the queue's messages (its retry backoff), on that queue only", () => {
    const statements = roleStatements(dev.templates.processing, 'ProcessorServiceRole');
    const granting = statements.filter((statement) => actionsOf([statement]).includes('sqs:ChangeMessageVisibility'));
    expect(granting).toHaveLength(1);
    const queueId = dev.stage.processing.getLogicalId(dev.stage.processing.chainEvents.queue.node.defaultChild as never);
    expect(granting[0]!.Effect).toBe('Allow');
    expect(granting[0]!.Resource).toEqual({ 'Fn::GetAtt': [queueId, 'Arn'] });
  });

  it('feeds the processor batches of 10 with partial batch responses and at most 2 concurrent instances', () => {
    dev.templates.processing.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('gives the processor its settings and the database secret, never a password', () => {
    dev.templates.processing.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'payment-monitor-dev-processor',
      Environment: {
        Variables: Match.objectLike({
          NETWORK: 'preprod',
          CONFIRMATIONS: '15',
          DB_POOL_MAX: '1',
          CLAIM_CHECK_BUCKET: Match.anyValue(),
          CHAIN_EVENT_QUEUE_URL: { Ref: Match.stringLikeRegexp('^ChainEventsQueue') },
          DATABASE_SECRET_ARN: Match.anyValue(),
          PGSSLMODE: 'verify-full',
          NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
        }),
      },
    });
    expect(JSON.stringify(dev.templates.processing.toJSON())).not.toMatch(/DATABASE_URL|PGPASSWORD/);
  });

  it("scopes the processor's role: the queue, the database secret, reading claim checks and waking the publisher; never the lease table", () => {
    const statements = grantedStatements(dev.templates.processing, 'ProcessorServiceRole');
    expect(actionsOf(statements)).toEqual(
      [
        'lambda:InvokeFunction',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        's3:GetObject',
        's3:ListBucket',
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:ReceiveMessage',
      ].sort(),
    );
    const json = JSON.stringify(statements);
    expect(json).not.toMatch(/dynamodb|LeaseTable/i);
    expect(json).toContain('payment-monitor-dev-claim-checks-111111111111/chain-events/*');
    expect(json).not.toMatch(/"Resource":"\*"/);
    // Without ListBucket S3 answers a missing claim check with 403, which the processor would postpone as transient.
    const listing = statements.find((statement) => statement.Action === 's3:ListBucket');
    expect(listing?.Condition).toEqual({ StringLike: { 's3:prefix': ['chain-events/*'] } });
  });
});

describe('follower service', () => {
  it('runs two tasks in private subnets without public IPs, with the circuit breaker rolling back', () => {
    for (const [, stage] of both()) {
      stage.templates.ingest.hasResourceProperties('AWS::ECS::Service', {
        DesiredCount: 2,
        LaunchType: 'FARGATE',
        DeploymentConfiguration: {
          DeploymentCircuitBreaker: { Enable: true, Rollback: true },
          MinimumHealthyPercent: 100,
          MaximumPercent: 200,
        },
        NetworkConfiguration: {
          AwsvpcConfiguration: Match.objectLike({
            AssignPublicIp: 'DISABLED',
            Subnets: Match.arrayWith([Match.objectLike({ 'Fn::ImportValue': Match.stringLikeRegexp('privateSubnet') })]),
          }),
        },
      });
    }
  });

  it('stops within the shutdown budget + 2 s, checks its health without curl, and logs to CloudWatch', () => {
    dev.templates.ingest.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      Cpu: '256',
      Memory: '512',
      ContainerDefinitions: [
        Match.objectLike({
          StopTimeout: DEFAULT_SHUTDOWN_BUDGET_MS / 1000 + 2,
          ReadonlyRootFilesystem: true,
          HealthCheck: { Command: ['CMD', 'node', '/app/health-check.mjs'], Interval: 30, Timeout: 5, Retries: 3, StartPeriod: 60 },
          LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
        }),
      ],
    });
    prod.templates.ingest.hasResourceProperties('AWS::ECS::TaskDefinition', { Cpu: '512', Memory: '1024' });
  });

  it('gets plain settings and the ARNs of the database and Ogmios key secrets in the environment, nothing injected from Secrets Manager', () => {
    const [task] = Object.values(dev.templates.ingest.findResources('AWS::ECS::TaskDefinition')) as {
      Properties: { ContainerDefinitions: { Environment: { Name: string; Value: unknown }[]; Secrets?: unknown[] }[] };
    }[];
    const container = task!.Properties.ContainerDefinitions[0]!;
    const environment = Object.fromEntries(container.Environment.map((entry) => [entry.Name, entry.Value]));
    expect(environment).toMatchObject({
      NETWORK: 'preprod',
      STAGE: 'dev',
      OGMIOS_URL: 'wss://preprod-v6.ogmios-m1.demeter.run',
      PGSSLMODE: 'verify-full',
      HEALTH_PORT: '8080',
      SHUTDOWN_BUDGET_MS: String(DEFAULT_SHUTDOWN_BUDGET_MS),
      RECONCILIATION_FUNCTION_NAME: 'payment-monitor-dev-reconciliation',
    });
    expect(Object.keys(environment)).toEqual(expect.arrayContaining(['LEASE_TABLE', 'CHAIN_EVENT_QUEUE_URL', 'CLAIM_CHECK_BUCKET']));
    expect(environment).not.toHaveProperty('DATABASE_URL');
    // The database secret by ARN: the follower reads the password per new connection (a rotation needs no restart).
    expect(JSON.stringify(environment.DATABASE_SECRET_ARN)).toMatch(
      /PaymentMonitor-dev-Data:ExportsOutputRefDatabaseInstanceSecretAttachment/,
    );
    // The Ogmios keys by ARN too, read when a connection opens and again after a refusal (a rotated key needs no restart).
    expect(JSON.stringify(environment.OGMIOS_API_KEYS_SECRET_ARN)).toMatch(/PaymentMonitor-dev-Data:ExportsOutputRefOgmiosApiKeys/);
    expect(environment).not.toHaveProperty('OGMIOS_API_KEY');
    expect(container.Secrets).toBeUndefined();
  });

  it('has Container Insights on its cluster (the FollowerTasksBelowTwo alarm reads its RunningTaskCount)', () => {
    for (const [name, stage] of both()) {
      stage.templates.ingest.hasResourceProperties('AWS::ECS::Cluster', {
        ClusterName: `payment-monitor-${name}-cluster`,
        ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
      });
    }
    const alarms = Object.values(prod.templates.observability.findResources('AWS::CloudWatch::Alarm')) as {
      Properties: Record<string, unknown>;
    }[];
    const tasks = alarms.find(({ Properties }) => Properties.AlarmName === 'payment-monitor-prod-FollowerTasksBelowTwo')!.Properties;
    expect(tasks).toMatchObject({ Namespace: 'ECS/ContainerInsights', MetricName: 'RunningTaskCount', Threshold: 2 });
    // The alarm watches the stage's own follower service, by the fixed cluster and service names (no import).
    expect(tasks.Dimensions).toEqual([
      { Name: 'ClusterName', Value: 'payment-monitor-prod-cluster' },
      { Name: 'ServiceName', Value: 'payment-monitor-prod-follower' },
    ]);
  });

  it('has no ingress at all', () => {
    const groups = Object.entries(dev.templates.ingest.findResources('AWS::EC2::SecurityGroup')) as [
      string,
      { Properties: Record<string, unknown> },
    ][];
    const follower = groups.find(([id]) => id.startsWith('FollowerSecurityGroup'));
    expect(follower).toBeDefined();
    expect(follower![1].Properties.SecurityGroupIngress).toBeUndefined();
    dev.templates.ingest.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  it('scopes the task role to the lease item calls, sending to the queue, putting claim checks and reading the database and Ogmios key secrets', () => {
    const statements = roleStatements(dev.templates.ingest, 'FollowerTaskTaskRole');
    expect(actionsOf(statements)).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'lambda:InvokeFunction',
      's3:PutObject',
      'secretsmanager:GetSecretValue',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:SendMessage',
    ]);
    const json = JSON.stringify(statements);
    // Only the reconciliation function, after an Ogmios outage (RECONCILIATION_FUNCTION_NAME).
    expect(JSON.stringify(statements.filter((statement) => statement.Action === 'lambda:InvokeFunction'))).toContain(
      ':function:payment-monitor-dev-reconciliation"',
    );
    // Only the database secret and the Ogmios key secret, in one statement.
    const secretReads = statements.filter((statement) => JSON.stringify(statement.Action).includes('secretsmanager'));
    expect(secretReads).toHaveLength(1);
    expect(JSON.stringify(secretReads[0]!.Resource)).toMatch(
      /^\[\{"Fn::ImportValue":"PaymentMonitor-dev-Data:ExportsOutputRefDatabaseInstanceSecretAttachment[^"]*"\},\{"Fn::ImportValue":"PaymentMonitor-dev-Data:ExportsOutputRefOgmiosApiKeys[^"]*"\}\]$/,
    );
    expect(json).toContain('payment-monitor-dev-claim-checks-111111111111/chain-events/*');
    expect(json).not.toMatch(/secretsmanager:(DescribeSecret|\*)|s3:GetObject|dynamodb:(Scan|Query|DeleteItem)/);
  });

  it('builds its image from the esbuild Dockerfile for ARM64 (an asset: Docker only at deploy)', () => {
    const [task] = Object.values(dev.templates.ingest.findResources('AWS::ECS::TaskDefinition')) as {
      Properties: { ContainerDefinitions: { Image: unknown }[] };
    }[];
    expect(JSON.stringify(task!.Properties.ContainerDefinitions[0]!.Image)).toMatch(/cdk-hnb659fds-container-assets/);
  });

  it.each<[string, Duration, Duration, RegExp | null]>([
    ['exactly the budget + 2 s', Duration.seconds(32), Duration.seconds(30), null],
    ['the Fargate maximum', Duration.seconds(120), Duration.seconds(118), null],
    [
      'less than the budget + 2 s',
      Duration.seconds(31),
      Duration.seconds(30),
      /stopTimeout \(31 s\) must be at least SHUTDOWN_BUDGET_MS \+ 2 s = 32 s/,
    ],
    ['over 120 s', Duration.seconds(121), Duration.seconds(30), /exceeds Fargate's maximum of 120 s/],
  ])('stop timeout: %s', (_name, stopTimeout, budget, error) => {
    // The construct runs the same check in its constructor, before any resource exists.
    const check = () => assertStopTimeoutCovers('Follower', stopTimeout, budget);
    if (error) {
      expect(check).toThrow(FollowerServiceConfigError);
      expect(check).toThrow(error);
    } else {
      expect(check).not.toThrow();
    }
  });
});

describe('FollowerService construct', () => {
  it('refuses a stop timeout shorter than its shutdown budget + 2 s in the constructor', () => {
    const stack = new Stack(new App(), 'T', { env: { account: '123456789012', region: 'eu-west-1' } });
    const vpc = new Vpc(stack, 'Vpc', { availabilityZones: ['eu-west-1a', 'eu-west-1b'] });
    const build = () =>
      new FollowerService(stack, 'Follower', {
        vpc,
        clusterName: 'c',
        serviceName: 's',
        image: ContainerImage.fromRegistry('public.ecr.aws/docker/library/node:22-slim'),
        cpu: 256,
        memoryMiB: 512,
        shutdownBudget: Duration.seconds(60),
        stopTimeout: Duration.seconds(45),
        logRetentionDays: 7,
        environment: {},
        securityGroups: [],
      });
    expect(build).toThrow(/FollowerService "Follower": stopTimeout \(45 s\) must be at least SHUTDOWN_BUDGET_MS \+ 2 s = 62 s/);
    expect(stack.node.tryFindChild('Follower')?.node.tryFindChild('Cluster')).toBeUndefined();
  });
});

describe('operations', () => {
  it('serves health behind an IAM-authenticated function URL', () => {
    dev.templates.operations.resourceCountIs('AWS::Lambda::Url', 1);
    dev.templates.operations.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'AWS_IAM',
      TargetFunctionArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Health'), 'Arn'] },
    });
    expect(JSON.stringify(dev.templates.operations.findResources('AWS::Lambda::Permission'))).not.toMatch(/"FunctionUrlAuthType":"NONE"/);
  });

  it('schedules health every minute and reconciliation at 03:00 in the stage time zone', () => {
    const template = dev.templates.operations;
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'payment-monitor-dev-health-every-minute',
      ScheduleExpression: 'rate(1 minute)',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Health'), 'Arn'] },
        Input: '{}',
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
      }),
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'payment-monitor-dev-reconciliation-daily',
      ScheduleExpression: 'cron(0 3 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Reconciliation'), 'Arn'] } }),
    });
  });

  it('follows the configured time zone', () => {
    const paris = synthesizeStage(stageConfig('dev', { scheduleTimeZone: 'Europe/Paris' }));
    paris.templates.operations.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 3 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
    });
  }, 60_000);

  it('lets reconciliation invoke only itself, by a formatted ARN (no self-reference), and rebuild invoke nothing', () => {
    const invokes = (prefix: string) =>
      roleStatements(dev.templates.operations, prefix).filter((statement) => JSON.stringify(statement.Action).includes('lambda:'));
    const reconciliation = invokes('ReconciliationServiceRole');
    expect(reconciliation).toHaveLength(1);
    expect(reconciliation[0]!.Action).toBe('lambda:InvokeFunction');
    expect(JSON.stringify(reconciliation[0]!.Resource)).toContain(':function:payment-monitor-dev-reconciliation"');
    expect(JSON.stringify(reconciliation[0]!.Resource)).not.toContain('Fn::GetAtt');
    // The rebuild only resets the database (the follower re-derives the rest): it never continues itself.
    expect(roleStatements(dev.templates.operations, 'RebuildServiceRole').length).toBeGreaterThan(0);
    expect(invokes('RebuildServiceRole')).toEqual([]);
  });

  it('gives each operations function only the secrets of what it reaches', () => {
    const secretsOf = (prefix: string) =>
      JSON.stringify(roleStatements(dev.templates.operations, prefix).filter((s) => JSON.stringify(s.Action).includes('secretsmanager')));
    expect(secretsOf('HealthServiceRole')).toMatch(/DatabaseInstanceSecret.*OgmiosApiKeys/);
    expect(secretsOf('RebuildServiceRole')).toContain('DatabaseInstanceSecret');
    expect(secretsOf('RebuildServiceRole')).not.toContain('OgmiosApiKeys');
    expect(JSON.stringify(roleStatements(dev.templates.operations, 'HealthServiceRole'))).not.toMatch(/dynamodb|sqs:|s3:/);
  });

  it('measures the hot wallet every minute only when the stage lists addresses', () => {
    dev.templates.operations.resourcePropertiesCountIs('AWS::Lambda::Function', { FunctionName: 'payment-monitor-dev-hot-wallet' }, 0);
    const address = 'addr_test1qz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgs68faae';
    const withWallet = synthesizeStage(stageConfig('dev', { hotWalletAddresses: [address] }));
    expect(withWallet.unacknowledged).toEqual([]);
    withWallet.templates.operations.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'payment-monitor-dev-hot-wallet',
      Environment: {
        Variables: Match.objectLike({
          HOT_WALLET_ADDRESSES: address,
          NETWORK: 'preprod',
          OGMIOS_URL: 'wss://preprod-v6.ogmios-m1.demeter.run',
        }),
      },
    });
    withWallet.templates.operations.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'payment-monitor-dev-hot-wallet-every-minute',
      ScheduleExpression: 'rate(1 minute)',
    });
  }, 60_000);
});

describe('backups and partitions', () => {
  it('exports each table on its own schedule with its payload, in the stage time zone', () => {
    const template = dev.templates.operations;
    const target = Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BackupExport'), 'Arn'] } });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'payment-monitor-dev-backup-payment-addresses',
      ScheduleExpression: 'cron(0 2 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      Target: Match.objectLike({ Input: '{"table":"payment_addresses"}' }),
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'payment-monitor-dev-backup-user-balances',
      ScheduleExpression: 'rate(1 hour)',
      Target: Match.objectLike({ Input: '{"table":"user_balances"}' }),
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'payment-monitor-dev-backup-incoming-payments',
      ScheduleExpression: 'cron(0 2 * * ? *)',
      Target: Match.objectLike({ Input: '{"table":"incoming_payments"}' }),
    });
    template.resourcePropertiesCountIs('AWS::Scheduler::Schedule', { Target: target }, 3);
  });

  it('lets the export function write under the three table prefixes only, and read the database secret', () => {
    const statements = grantedStatements(dev.templates.operations, 'BackupExportServiceRole');
    expect(actionsOf(statements)).toEqual([
      's3:AbortMultipartUpload',
      's3:PutObject',
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
    const s3 = JSON.stringify(statements.filter((statement) => JSON.stringify(statement.Action).includes('s3:')));
    for (const prefix of ['payment_addresses/*', 'user_balances/*', 'incoming_payments/*'])
      expect(s3).toContain(`payment-monitor-dev-backups-111111111111/${prefix}`);
    dev.templates.operations.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'payment-monitor-dev-backup-export',
      Environment: { Variables: Match.objectLike({ BACKUP_BUCKET: Match.anyValue(), DATABASE_SECRET_ARN: Match.anyValue() }) },
    });
  });

  it('maintains the incoming_payments partitions daily, 3 months ahead', () => {
    dev.templates.operations.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'payment-monitor-dev-partition-maintenance-daily',
      ScheduleExpression: 'cron(30 1 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
    });
    dev.templates.operations.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'payment-monitor-dev-partition-maintenance',
      Environment: { Variables: Match.objectLike({ PARTITION_MONTHS_AHEAD: '3' }) },
    });
  });
});

describe('observability wiring', () => {
  it("watches the stage's own queue, DLQ, processor, functions and database", () => {
    const alarms = Object.values(prod.templates.observability.findResources('AWS::CloudWatch::Alarm')) as {
      Properties: { AlarmName: string };
    }[];
    const names = alarms.map((alarm) => alarm.Properties.AlarmName);
    expect(names.every((name) => name.startsWith('payment-monitor-prod-'))).toBe(true);
    for (const label of ['Health', 'Reconciliation', 'Rebuild', 'BackupExport', 'PartitionMaintenance', 'Migration']) {
      expect(
        names.some((name) => name.startsWith(`payment-monitor-prod-${label}`)),
        label,
      ).toBe(true);
    }
    // By their fixed names, which the producing stacks give them (lib/naming.ts), not by import.
    const json = JSON.stringify(prod.templates.observability.toJSON());
    expect(json).not.toContain('Fn::ImportValue');
    for (const name of [
      '"payment-monitor-prod-database"',
      '"payment-monitor-prod-chain-events-dlq.fifo"',
      '"payment-monitor-prod-processor"',
      '"payment-monitor-prod-migrate"',
    ])
      expect(json).toContain(name);
    prod.templates.observability.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it.each(['dev', 'prod'])('finds nothing unacknowledged in %s, and every acknowledgement carries a reason', (name) => {
    const stage = name === 'dev' ? dev : prod;
    expect(stage.synthError).toBeUndefined();
    expect(stage.unacknowledged).toEqual([]);
    expect(stage.acknowledgements.length).toBeGreaterThan(10);
    for (const { id, reason } of stage.acknowledgements) {
      expect(id).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      expect(reason.length, id).toBeGreaterThanOrEqual(20);
    }
  });

  it('fails the synth on a finding nobody acknowledged (the check can fail)', () => {
    const flawed = synthesizeStage(stageConfig('dev'), (stage) => {
      new Bucket(stage.data, 'UnloggedUnencryptedBucket');
    });
    expect(flawed.synthError?.message).toMatch(/The S3 Bucket has server access logs disabled/);
    expect(flawed.unacknowledged).toEqual(
      expect.arrayContaining(['AwsSolutions-S1 at PaymentMonitor-dev-Data/UnloggedUnencryptedBucket/Resource']),
    );
  }, 60_000);

  it('acknowledges no access logs per bucket, and single-AZ / no deletion protection only where the stage asks for them', () => {
    const ids = (stage: SynthesizedStage) => stage.acknowledgements.map((a) => a.id);
    const unlogged = new Set(
      dev.acknowledgements.filter((a) => a.id === 'AwsSolutions-S1').map((a) => a.resource.replace(/Bucket(Policy)?[0-9A-F]{8}$/, '')),
    );
    // The access-log bucket is where the backup bucket's logs go; the claim checks are transient public chain data.
    expect([...unlogged].sort()).toEqual(['AccessLogs', 'ClaimChecks']);
    expect(ids(dev)).toEqual(expect.arrayContaining(['AwsSolutions-RDS3', 'AwsSolutions-RDS10']));
    expect(ids(prod)).not.toContain('AwsSolutions-RDS3');
    // Prod's RDS10 says why the protection is not a template property (the custom resource turns it on).
    expect(prod.acknowledgements.find((a) => a.id === 'AwsSolutions-RDS10')?.reason).toMatch(/custom resource after the first deploy/);
  });
});
