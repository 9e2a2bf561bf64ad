/**
 * Issue 13, item 9 (security), on the synthesized templates of dev and prod: egress limited to what each workload
 * talks to, the VPC's default security group restricted, the backup bucket versioned and access-logged, and Lambda
 * roles that write to their own log group only (no AWSLambdaBasicExecutionRole / AWSLambdaVPCAccessExecutionRole).
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ogmiosPorts } from '../../lib/constructs/egress.js';
import { VPC_NETWORK_INTERFACE_ACTIONS } from '../../lib/constructs/function-role.js';
import { PrivateBucket, PrivateBucketConfigError } from '../../lib/constructs/private-bucket.js';
import { stageConfig, synthesizeStage, type SynthesizedStage } from './stage-fixture.js';

let dev: SynthesizedStage;
let prod: SynthesizedStage;
/**
 * A stage whose relays are a plain ws:// one on Ogmios' own port and a wss:// one, with a hot wallet, and no IAM
 * principal (so no IAM API).
 */
let relays: SynthesizedStage;
beforeAll(() => {
  dev = synthesizeStage(stageConfig('dev'));
  prod = synthesizeStage(stageConfig('prod'));
  relays = synthesizeStage(
    stageConfig('dev', {
      ogmiosUrls: ['ws://ogmios.internal:1337', 'wss://preprod-v6.ogmios-m1.demeter.run'],
      hotWalletAddresses: ['addr_test1qz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgs68faae'],
      api: { ...stageConfig('dev').api, iamPrincipals: [] },
    }),
  );
}, 180_000);

type Resource = { Type: string; Properties: Record<string, unknown> };
type Rule = { IpProtocol: string; FromPort?: unknown; ToPort?: unknown; CidrIp?: string; DestinationSecurityGroupId?: unknown };

const resources = (template: Template, type: string) =>
  Object.entries(template.toJSON().Resources as Record<string, Resource>).filter(([, resource]) => resource.Type === type);

/** Every egress rule of every group of the stage, inline or a resource of its own, by the logical id of its group. */
function egressRules(stage: SynthesizedStage): { group: string; rule: Rule }[] {
  return Object.values(stage.templates).flatMap((template) => [
    ...resources(template, 'AWS::EC2::SecurityGroup').flatMap(([group, resource]) =>
      ((resource.Properties.SecurityGroupEgress as Rule[] | undefined) ?? []).map((rule) => ({ group, rule })),
    ),
    ...resources(template, 'AWS::EC2::SecurityGroupEgress').map(([, resource]) => ({
      group: (resource.Properties.GroupId as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0],
      rule: resource.Properties as unknown as Rule,
    })),
  ]);
}

/** An egress rule as "tcp 443 0.0.0.0/0" or "tcp 5432 group DatabaseSecurityGroup". */
function ruleString(rule: Rule): string {
  const to = rule.CidrIp ?? `group ${JSON.stringify(rule.DestinationSecurityGroupId).match(/"(\w+?)[0-9A-F]{8}"/)?.[1]}`;
  const port = typeof rule.FromPort === 'number' ? rule.FromPort : 'database port';
  return `${rule.IpProtocol} ${port} ${to}`;
}

/** The egress rules of the groups whose logical id starts with `prefix`. */
function egressOf(stage: SynthesizedStage, prefix: string): string[] {
  return egressRules(stage)
    .filter(({ group }) => group.startsWith(prefix))
    .map(({ rule }) => ruleString(rule))
    .sort();
}

const HTTPS = 'tcp 443 0.0.0.0/0';
const POSTGRES = 'tcp 5432 group DatabaseSecurityGroup';
const NO_TRAFFIC = 'icmp 252 255.255.255.255/32'; // CDK's rule that matches nothing, in a group allowed no egress

describe('egress: HTTPS to AWS APIs and Ogmios, PostgreSQL to the database group, nothing else', () => {
  it('allows all outbound traffic nowhere, in any stack of dev or prod', () => {
    for (const stage of [dev, prod]) {
      const rules = egressRules(stage);
      expect(rules.length).toBeGreaterThan(10);
      for (const { group, rule } of rules) {
        expect(rule.IpProtocol, group).not.toBe('-1');
        expect([HTTPS, NO_TRAFFIC, POSTGRES, 'tcp database port group DatabaseSecurityGroup'], group).toContain(ruleString(rule));
      }
      // Every group has at least one rule of its own: none is left with EC2's default allow-all.
      for (const template of Object.values(stage.templates)) {
        for (const [group] of resources(template, 'AWS::EC2::SecurityGroup'))
          expect(egressOf(stage, group).length, group).toBeGreaterThan(0);
      }
    }
  });

  it("gives the database clients' group PostgreSQL to the database group only (inline, so no default allow-all)", () => {
    for (const stage of [dev, prod]) {
      expect(egressOf(stage, 'DatabaseClientSecurityGroup')).toEqual([POSTGRES]);
      stage.templates.data.hasResourceProperties('AWS::EC2::SecurityGroup', {
        GroupDescription: 'payment-monitor database clients (no ingress)',
        SecurityGroupEgress: [Match.objectLike({ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432 })],
      });
      expect(egressOf(stage, 'DatabaseSecurityGroup')).toEqual([NO_TRAFFIC]);
    }
  });

  it('gives the follower HTTPS only with wss:// relays (PostgreSQL through the client group), and each Ogmios port otherwise', () => {
    expect(egressOf(dev, 'FollowerSecurityGroup')).toEqual([HTTPS]);
    expect(egressOf(relays, 'FollowerSecurityGroup')).toEqual([HTTPS, 'tcp 1337 0.0.0.0/0'].sort());
    const [, service] = resources(dev.templates.ingest, 'AWS::ECS::Service')[0]!;
    const groups = JSON.stringify(service.Properties.NetworkConfiguration);
    expect(groups).toMatch(/FollowerSecurityGroup/);
    expect(groups).toMatch(/DatabaseClientSecurityGroup/);
  });

  it('opens the Ogmios port only to the functions that query Ogmios (health, reconciliation, hot wallet)', () => {
    const withOgmios = ['HealthSecurityGroup', 'ReconciliationSecurityGroup', 'HotWalletSecurityGroup'];
    const httpsOnly = ['RebuildSecurityGroup', 'BackupExportSecurityGroup', 'PartitionMaintenanceSecurityGroup', 'ProcessorSecurityGroup'];
    for (const group of withOgmios) expect(egressOf(relays, group), group).toEqual([HTTPS, 'tcp 1337 0.0.0.0/0'].sort());
    for (const group of httpsOnly) expect(egressOf(relays, group), group).toEqual([HTTPS]);
    for (const group of [...withOgmios.slice(0, 2), ...httpsOnly]) expect(egressOf(dev, group), group).toEqual([HTTPS]);
    expect(egressOf(dev, 'SchemaMigrationsSecurityGroup')).toEqual([HTTPS]);
    // The rotation function: HTTPS to Secrets Manager, and the database port to the database group (added by the rotation).
    expect(egressOf(dev, 'DatabaseRotationSecurityGroup')).toEqual([HTTPS, 'tcp database port group DatabaseSecurityGroup'].sort());
  });

  it('puts every function in the VPC in a group with HTTPS, and those that use the database in the client group too', () => {
    for (const template of [
      dev.templates.data,
      dev.templates.processing,
      dev.templates.operations,
      dev.templates.events,
      dev.templates.api,
    ]) {
      for (const [id, fn] of resources(template, 'AWS::Lambda::Function')) {
        const vpc = fn.Properties.VpcConfig as { SecurityGroupIds: unknown[] } | undefined;
        if (!vpc) continue;
        const groups = JSON.stringify(vpc.SecurityGroupIds);
        expect(groups, id).toMatch(
          /(Health|Reconciliation|Rebuild|BackupExport|PartitionMaintenance|Processor|SchemaMigrations|EventPublisher|WebhookScheduler|WebhookDeliverer|Api|ApiAuthorizer)SecurityGroup/,
        );
        const usesDatabase = JSON.stringify(fn.Properties.Environment ?? {}).includes('DATABASE_SECRET_ARN');
        expect(groups.includes('DatabaseClientSecurityGroup'), id).toBe(usesDatabase);
      }
    }
  });

  it('derives Ogmios ports from the URLs: explicit, else 443 for wss:// and 80 for ws://', () => {
    expect(ogmiosPorts(['wss://a.example', 'ws://b.example', 'ws://c.example:1337', 'wss://d.example:8443', 'wss://e.example'])).toEqual([
      80, 443, 1337, 8443,
    ]);
  });
});

describe("the VPC's default security group", () => {
  it('is restricted: a deploy-time custom resource removes its rules', () => {
    for (const stage of [dev, prod]) {
      stage.templates.data.hasResourceProperties('Custom::VpcRestrictDefaultSG', {
        DefaultSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^NetworkVpc'), 'DefaultSecurityGroup'] },
      });
    }
  });
});

describe('the backup bucket (balances, the address registry)', () => {
  const backupBucket = (stage: SynthesizedStage) =>
    resources(stage.templates.data, 'AWS::S3::Bucket').find(([, bucket]) =>
      String(bucket.Properties.BucketName).startsWith(`payment-monitor-${stage.config.stage}-backups-`),
    )!;

  it('is versioned, each expiry rule removing noncurrent versions after 14 days', () => {
    for (const stage of [dev, prod]) {
      const [, bucket] = backupBucket(stage);
      expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      const rules = (bucket.Properties.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
      expect(rules).toHaveLength(3);
      for (const rule of rules) expect(rule).toMatchObject({ NoncurrentVersionExpiration: { NoncurrentDays: 14 }, Status: 'Enabled' });
    }
    // The claim checks (transient public chain data) are not versioned.
    dev.templates.data.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'payment-monitor-dev-claim-checks-111111111111',
      VersioningConfiguration: Match.absent(),
    });
  });

  it('writes server access logs to a log bucket of its own, which only S3 log delivery for that bucket may write to', () => {
    for (const stage of [dev, prod]) {
      const [backupId, bucket] = backupBucket(stage);
      const logging = bucket.Properties.LoggingConfiguration as { DestinationBucketName: { Ref: string }; LogFilePrefix: string };
      expect(logging.LogFilePrefix).toBe('backup-exports/');
      const logBucketId = logging.DestinationBucketName.Ref;
      expect(logBucketId).toMatch(/^AccessLogsBucket/);
      stage.templates.data.hasResource('AWS::S3::Bucket', {
        Properties: Match.objectLike({
          BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
          OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
          AccessControl: Match.absent(),
          LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 365 })] },
        }),
      });
      stage.templates.data.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: logBucketId },
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Effect: 'Allow',
              Principal: { Service: 'logging.s3.amazonaws.com' },
              Action: 's3:PutObject',
              Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logBucketId, 'Arn'] }, '/backup-exports/*']] },
              Condition: {
                ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [backupId, 'Arn'] } },
                StringEquals: { 'aws:SourceAccount': stage.config.account },
              },
            },
          ]),
        },
      });
    }
  });
});

describe('PrivateBucket access logs', () => {
  it('needs either where its access logs go or why it has none', () => {
    const rules = [{ id: 'expire', expiration: Duration.days(1) }];
    const bucket = (props: Partial<ConstructorParameters<typeof PrivateBucket>[2]>) => () =>
      new PrivateBucket(new Stack(new App()), 'B', { lifecycleRules: rules, ...props });
    expect(bucket({})).toThrow(PrivateBucketConfigError);
    const logs = new PrivateBucket(new Stack(new App()), 'Logs', {
      lifecycleRules: rules,
      noAccessLogsReason: 'a reason long enough to count',
    });
    expect(bucket({ accessLogs: { bucket: logs.bucket, prefix: 'b/' }, noAccessLogsReason: 'a reason long enough to count' })).toThrow(
      /either accessLogs or noAccessLogsReason/,
    );
  });
});

describe('Lambda execution roles', () => {
  /** The roles of the stage's own functions (payment-monitor-<stage>-…) and of the migration's provider relay. */
  function functionRoles(stage: SynthesizedStage): { fn: string; role: string; template: Template }[] {
    return Object.values(stage.templates).flatMap((template) =>
      resources(template, 'AWS::Lambda::Function')
        .filter(
          ([id, fn]) =>
            String(fn.Properties.FunctionName ?? '').startsWith('payment-monitor-') || id.startsWith('SchemaMigrationsProvider'),
        )
        .map(([fn, resource]) => ({
          fn,
          role: (resource.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0],
          template,
        })),
    );
  }

  it('carry no AWS managed policy: logs go to the function’s own log group, "*" only for the network-interface actions', () => {
    for (const stage of [dev, prod]) {
      const roles = functionRoles(stage);
      expect(roles.length).toBeGreaterThanOrEqual(8);
      for (const { fn, role, template } of roles) {
        const roleResource = (template.toJSON().Resources as Record<string, Resource>)[role]!;
        expect(roleResource.Properties.ManagedPolicyArns, fn).toBeUndefined();
        const statements = resources(template, 'AWS::IAM::Policy')
          .filter(([, policy]) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: role }]))
          .flatMap(([, policy]) => (policy.Properties.PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] }).Statement);
        const logs = statements.filter((statement) => JSON.stringify(statement.Action).includes('logs:'));
        expect(logs, fn).toHaveLength(1);
        expect(logs[0]!.Action, fn).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
        const fnResource = (template.toJSON().Resources as Record<string, Resource>)[fn]!;
        const logGroup = (fnResource.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
        expect(logs[0]!.Resource, fn).toEqual({ 'Fn::GetAtt': [logGroup, 'Arn'] });
        const everywhere = statements.filter((statement) => JSON.stringify(statement.Resource) === '"*"');
        const inVpc = fnResource.Properties.VpcConfig !== undefined;
        expect(
          everywhere.map((statement) => statement.Action),
          fn,
        ).toEqual(inVpc ? [VPC_NETWORK_INTERFACE_ACTIONS] : []);
      }
    }
  });

  it("leave an AWS managed policy only on the CDK's default-group provider, AWS Backup's role and API Gateway's account logging role (as the README says)", () => {
    for (const stage of [dev, prod]) {
      const managed = Object.values(stage.templates).flatMap((template) =>
        resources(template, 'AWS::IAM::Role')
          .filter(([, role]) => role.Properties.ManagedPolicyArns !== undefined)
          .map(
            ([id, role]) =>
              `${id.replace(/[0-9A-F]{8}$/, '')}: ${JSON.stringify(role.Properties.ManagedPolicyArns).match(/policy\/service-role\/(\w+)/)?.[1]}`,
          ),
      );
      expect(managed.sort()).toEqual([
        'CustomVpcRestrictDefaultSGCustomResourceProviderRole: AWSLambdaBasicExecutionRole',
        'DatabaseBackupsPlanDatabaseRole: AWSBackupServiceRolePolicyForBackup',
        'KeyApiCloudWatchRole: AmazonAPIGatewayPushToCloudWatchLogs',
      ]);
    }
  });

  it('need no acknowledgement of the managed Lambda execution policies any more', () => {
    for (const stage of [dev, prod]) {
      const managed = stage.acknowledgements.filter(({ id }) => /AWSLambda(Basic|VPCAccess)ExecutionRole/.test(id));
      const ours = new Set(functionRoles(stage).map(({ role }) => role));
      expect(managed.filter(({ resource }) => ours.has(resource))).toEqual([]);
      expect(stage.acknowledgements.some(({ id }) => id.includes('AWSLambdaVPCAccessExecutionRole'))).toBe(false);
    }
  });
});

describe('the IAM (SigV4) API', () => {
  const restApis = (stage: SynthesizedStage) => resources(stage.templates.api, 'AWS::ApiGateway::RestApi');

  it('admits only the roles of api.iamPrincipals: they may invoke it, every other identity is denied', () => {
    for (const stage of [dev, prod]) {
      const arns = stage.config.api.iamPrincipals.map((principal) => principal.arn);
      expect(arns.length).toBeGreaterThan(0);
      const iam = restApis(stage).filter(([id]) => id.startsWith('IamApi'));
      expect(iam).toHaveLength(1);
      const statements = (iam[0]![1].Properties.Policy as { Statement: Record<string, unknown>[] }).Statement;
      expect(statements).toEqual([
        {
          Sid: 'ConfiguredRolesMayInvoke',
          Effect: 'Allow',
          Principal: { AWS: arns.length === 1 ? arns[0] : arns },
          Action: 'execute-api:Invoke',
          Resource: 'execute-api:/*',
        },
        {
          // In its own account API Gateway admits a caller whom its IAM policy OR this policy allows: the Deny is the fence.
          Sid: 'EveryoneElseDenied',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 'execute-api:Invoke',
          Resource: 'execute-api:/*',
          Condition: { StringNotEquals: { 'aws:PrincipalArn': arns } },
        },
      ]);
      // The API-key API has no resource policy: its authorizer decides.
      const key = restApis(stage).filter(([id]) => id.startsWith('KeyApi'));
      expect(key[0]![1].Properties.Policy).toBeUndefined();
    }
    expect(dev.config.api.iamPrincipals).not.toEqual(prod.config.api.iamPrincipals);
  });

  it('does not exist on a stage with no IAM principal (and the API function refuses every IAM caller there)', () => {
    expect(relays.synthError).toBeUndefined();
    expect(restApis(relays).map(([id]) => id)).toEqual([expect.stringMatching(/^KeyApi/)]);
    relays.templates.api.resourceCountIs('AWS::ApiGateway::Stage', 1);
    relays.templates.api.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
    const outputs = Object.keys(relays.templates.api.toJSON().Outputs ?? {});
    expect(outputs).toContain('ApiUrl');
    expect(outputs.filter((name) => name.startsWith('IamApi'))).toEqual([]);
    const variables = resources(relays.templates.api, 'AWS::Lambda::Function')
      .map(([, fn]) => (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {})
      .filter((vars) => 'API_IAM_PRINCIPALS' in vars);
    expect(variables).toEqual([]);
    // The control: dev has both APIs.
    expect(restApis(dev)).toHaveLength(2);
  });
});
