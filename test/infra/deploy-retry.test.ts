/**
 * What makes a deploy retryable and a stage updatable, proved on the templates (no AWS account needed):
 * - a failed first deploy rolls back completely: nothing is retained by the deploy that created it, and nothing in a
 *   template is deletion-protected (RDS protection is switched on by a custom resource once everything else exists);
 * - the first deploy does not rotate the database password while the migrations run;
 * - stacks refer to each other's resources by fixed names, not CloudFormation exports, wherever the name is known;
 * - every URL and name an operator needs is a stack output, and every function logs under its own name.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { stageConfig, synthesizeStage, type SynthesizedStage } from './stage-fixture.js';

type Resource = { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string; DependsOn?: string[] };
type Output = { Value: unknown; Description?: string; Export?: unknown };

const TESTNET_ADDRESS = 'addr_test1qz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgs68faae';

let dev: SynthesizedStage;
let prod: SynthesizedStage;
let devWithWallet: SynthesizedStage;
beforeAll(() => {
  dev = synthesizeStage(stageConfig('dev'));
  prod = synthesizeStage(stageConfig('prod'));
  devWithWallet = synthesizeStage(stageConfig('dev', { hotWalletAddresses: [TESTNET_ADDRESS] }));
}, 180_000);

const resources = (template: Template) => Object.entries(template.toJSON().Resources as Record<string, Resource>);
const outputs = (template: Template) => Object.entries((template.toJSON().Outputs ?? {}) as Record<string, Output>);
const exportsOf = (template: Template) => outputs(template).filter(([, output]) => output.Export !== undefined);
const importsOf = (template: Template) => JSON.stringify(template.toJSON()).match(/"Fn::ImportValue":"[^"]+"/g) ?? [];
const stages = () =>
  [
    ['dev', dev],
    ['prod', prod],
    ['dev with a hot wallet', devWithWallet],
  ] as const;

describe('a failed first deploy can be retried', () => {
  it('retains nothing that the failed deploy itself created: RetainExceptOnCreate, never Retain', () => {
    for (const [name, stage] of stages()) {
      for (const template of Object.values(stage.templates)) {
        // The one exception, the hot wallet's KMS key (test/infra/payouts.test.ts): its own key policy refuses
        // CloudFormation its deletion, so a rollback deleting it would fail; it has no fixed name, a retry makes another.
        const retained = resources(template).filter(
          ([, resource]) =>
            resource.DeletionPolicy === 'Retain' &&
            !(resource.Type === 'AWS::KMS::Key' && resource.Properties?.KeySpec === 'ECC_NIST_EDWARDS25519'),
        );
        expect(
          retained.map(([id]) => id),
          name,
        ).toEqual([]);
      }
    }
    // What a protected stage keeps when its stack goes, each with a fixed name a retry must be able to create again.
    const kept = resources(prod.templates.data)
      .filter(([, resource]) => resource.DeletionPolicy === 'RetainExceptOnCreate')
      .map(([, resource]) => resource.Type)
      .sort();
    expect(kept).toEqual([
      'AWS::Backup::BackupVault',
      'AWS::DynamoDB::GlobalTable',
      'AWS::S3::Bucket',
      'AWS::S3::Bucket',
      'AWS::S3::Bucket',
      'AWS::SecretsManager::Secret',
      'AWS::SecretsManager::Secret',
    ]);
    // The API Gateway account's logging role, which every API of the account and region uses.
    const apiKept = resources(prod.templates.api)
      .filter(([, resource]) => resource.DeletionPolicy === 'RetainExceptOnCreate')
      .map(([, resource]) => resource.Type)
      .sort();
    expect(apiKept).toEqual(['AWS::ApiGateway::Account', 'AWS::IAM::Role']);
  });

  it('has no deletion protection in any template, which would stop the rollback (ROLLBACK_FAILED)', () => {
    for (const [name, stage] of stages()) {
      for (const template of Object.values(stage.templates)) {
        expect(JSON.stringify(template.toJSON()), name).not.toMatch(/"DeletionProtection(Enabled)?":true/);
      }
    }
  });

  it('switches RDS deletion protection on last, after every other resource of the Data stack, and only in protected stages', () => {
    const [[switchId, protection]] = resources(prod.templates.data).filter(([, r]) => r.Type === 'Custom::DatabaseDeletionProtection') as [
      [string, Resource],
    ];
    expect(JSON.parse(protection.Properties!.Create as string)).toMatchObject({
      service: 'RDS',
      action: 'modifyDBInstance',
      parameters: { DBInstanceIdentifier: 'payment-monitor-prod-database', DeletionProtection: true, ApplyImmediately: true },
    });
    // Nothing turns it off: no Delete call (a stack deletion must switch it off by hand first).
    expect(protection.Properties!.Delete).toBeUndefined();
    const dependsOn = new Set(protection.DependsOn);
    const mustPrecede = resources(prod.templates.data).filter(
      ([, r]) =>
        (r.DeletionPolicy !== undefined && r.DeletionPolicy !== 'Delete') ||
        [
          'Custom::SchemaMigrations',
          'AWS::SecretsManager::RotationSchedule',
          'AWS::Backup::BackupSelection',
          'AWS::Backup::BackupPlan',
        ].includes(r.Type),
    );
    expect(mustPrecede.length).toBeGreaterThanOrEqual(10);
    for (const [id] of mustPrecede) expect(dependsOn.has(id), id).toBe(true);
    // Nothing depends on it: it is the last thing the first deploy creates.
    const dependents = resources(prod.templates.data).filter(([, r]) => r.DependsOn?.includes(switchId));
    expect(dependents).toEqual([]);
    // Its role may make this one call on this instance.
    const policies = JSON.stringify(prod.templates.data.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('"Action":"rds:ModifyDBInstance"');
    expect(policies).toMatch(/:db:",\{"Ref":"DatabaseInstance[0-9A-F]{8}"\}/);
    dev.templates.data.resourceCountIs('Custom::DatabaseDeletionProtection', 0);
    dev.templates.data.hasResourceProperties('AWS::RDS::DBInstance', { DeletionProtection: false });
  });

  it('gives only the Data stack of a protected stage termination protection (the one stack a retry must unprotect first)', () => {
    const protectedStacks = (stage: SynthesizedStage) =>
      Object.values(stage.stage)
        .filter((stack) => stack.terminationProtection)
        .map((stack) => stack.stackName);
    expect(protectedStacks(prod)).toEqual(['PaymentMonitor-prod-Data']);
    expect(protectedStacks(dev)).toEqual([]);
  });

  it('does not rotate the database password during the first deploy (the migrations read it then)', () => {
    for (const [name, stage] of stages()) {
      const [schedule] = Object.values(stage.templates.data.findResources('AWS::SecretsManager::RotationSchedule')) as Resource[];
      expect(schedule!.Properties, name).toMatchObject({
        RotateImmediatelyOnUpdate: false,
        RotationRules: { ScheduleExpression: 'rate(30 days)' },
      });
    }
  });
});

describe('cross-stack references', () => {
  it('exports only what has no fixed name (network, client group, secret ARNs), from the Data stack alone', () => {
    for (const [name, stage] of stages()) {
      const { data, events, processing, ingest, operations, api, observability } = stage.templates;
      for (const template of [events, processing, ingest, operations, api, observability]) expect(exportsOf(template), name).toEqual([]);
      expect(
        exportsOf(data)
          .map(([id]) => id.replace(/^ExportsOutput(Ref|FnGetAtt)/, '').replace(/[0-9A-F]{8,}.*$/, ''))
          .sort(),
        name,
      ).toEqual([
        'DatabaseClientSecurityGroup',
        'DatabaseInstanceSecretAttachment',
        'NetworkVpc',
        'NetworkVpcprivateSubnet1Subnet',
        'NetworkVpcprivateSubnet2Subnet',
        'OgmiosApiKeys',
        'WebhookSecretsKey',
      ]);
      // Observability builds every name it watches itself (before: 44 imports in prod).
      expect(importsOf(observability), name).toEqual([]);
      // Whatever is still imported comes from the Data stack (before, Ingest imported the queue from Processing).
      for (const template of [events, processing, ingest, operations, api]) {
        const fromElsewhere = importsOf(template).filter((value) => !value.includes(`"PaymentMonitor-${stage.config.stage}-Data:`));
        expect(fromElsewhere, name).toEqual([]);
      }
    }
  });

  it('lets a stage stop watching its hot wallet: no stack exports anything a removed function could hold', () => {
    // Emptying hotWalletAddresses removes the function from Operations: with nothing exported there, the update
    // cannot fail with "Export … in use"; Observability drops the alarms by name afterwards.
    expect(exportsOf(devWithWallet.templates.operations)).toEqual([]);
    devWithWallet.templates.operations.hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'payment-monitor-dev-hot-wallet' });
    const alarms = JSON.stringify(devWithWallet.templates.observability.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toContain('"Value":"payment-monitor-dev-hot-wallet"');
    expect(JSON.stringify(dev.templates.observability.findResources('AWS::CloudWatch::Alarm'))).not.toContain('hot-wallet');
  });

  it('still deploys in order: the publisher before the processor wakes it, the follower after its queue, the alarms after what they watch', () => {
    const ids = (stack: { dependencies: { stackName: string }[] }) => stack.dependencies.map((dependency) => dependency.stackName).sort();
    expect(ids(prod.stage.events)).toEqual(['PaymentMonitor-prod-Data']);
    expect(ids(prod.stage.processing)).toEqual(['PaymentMonitor-prod-Data', 'PaymentMonitor-prod-Events']);
    expect(ids(prod.stage.ingest)).toEqual(['PaymentMonitor-prod-Data', 'PaymentMonitor-prod-Processing']);
    expect(ids(prod.stage.api)).toEqual(['PaymentMonitor-prod-Data']);
    expect(ids(prod.stage.observability)).toEqual([
      'PaymentMonitor-prod-Api',
      'PaymentMonitor-prod-Data',
      'PaymentMonitor-prod-Events',
      'PaymentMonitor-prod-Ingest',
      'PaymentMonitor-prod-Operations',
      'PaymentMonitor-prod-Processing',
    ]);
  });
});

describe('what an operator is given', () => {
  it('prints every URL and name an operator needs as stack outputs, none exported', () => {
    const keys = (template: Template) =>
      outputs(template)
        .filter(([, output]) => output.Export === undefined)
        .map(([id]) => id);
    const { data, events, processing, ingest, operations, api, observability } = prod.templates;
    expect(keys(data)).toEqual(
      expect.arrayContaining([
        'WebhookSecretsKeySecretName',
        'DatabaseEndpoint',
        'DatabaseInstanceIdentifier',
        'DatabaseSecretName',
        'DatabaseSecretArn',
        'OgmiosApiKeySecretName',
        'LeaseTableName',
        'ClaimCheckBucketName',
        'BackupBucketName',
        'BackupVaultName',
        'MigrationLogGroupName',
        'PostgresLogGroupName',
      ]),
    );
    expect(keys(processing)).toEqual(['ChainEventQueueUrl', 'DeadLetterQueueUrl', 'ProcessorFunctionName', 'ProcessorLogGroupName']);
    expect(keys(ingest)).toEqual(['ClusterName', 'FollowerServiceName', 'FollowerLogGroupName']);
    expect(keys(operations)).toEqual(
      expect.arrayContaining([
        'HealthUrl',
        'ReconciliationFunctionName',
        'ReconciliationLogGroupName',
        'RebuildFunctionName',
        'HealthLogGroupName',
      ]),
    );
    expect(keys(observability)).toEqual(['DashboardUrl', 'WarningTopicArn', 'CriticalTopicArn']);
    expect(keys(events)).toEqual(
      expect.arrayContaining(['EventBusName', 'EventBusArn', 'EventArchiveName', 'WebhookQueueUrl', 'WebhookDeadLetterQueueUrl']),
    );
    expect(keys(api)).toEqual(expect.arrayContaining(['ApiUrl', 'IamApiUrl', 'ApiAccessLogGroupName', 'WebAclName']));

    const value = (template: Template, key: string) => (template.toJSON().Outputs as Record<string, Output>)[key]!.Value;
    expect(value(observability, 'DashboardUrl')).toBe(
      'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/payment-monitor-prod',
    );
    expect(value(operations, 'HealthUrl')).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^HealthFunctionUrl/), 'FunctionUrl'] });
    expect(value(data, 'DatabaseEndpoint')).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^DatabaseInstance/), 'Endpoint.Address'] });
    expect(value(data, 'DatabaseSecretName')).toBe('payment-monitor/prod/database');
    expect(value(events, 'EventBusName')).toEqual({ Ref: expect.stringMatching(/^Bus/) });
    expect(JSON.stringify(value(api, 'ApiUrl'))).toMatch(/"Ref":"KeyApi[0-9A-F]{8}"\},"\.execute-api\.eu-west-1\.",.*"\/v1\/"\]\]\}$/);
    expect(value(data, 'OgmiosApiKeySecretName')).toBe('payment-monitor/prod/ogmios-api-keys');
    expect(value(ingest, 'FollowerLogGroupName')).toBe('/ecs/payment-monitor-prod-follower');
    prod.templates.ingest.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/ecs/payment-monitor-prod-follower' });
  });

  it('logs every house function under /aws/lambda/<its name>, so its logs are found by the function name', () => {
    let checked = 0;
    for (const template of Object.values(prod.templates)) {
      const all = Object.fromEntries(resources(template));
      for (const [, fn] of resources(template).filter(([, r]) => r.Type === 'AWS::Lambda::Function')) {
        const name = fn.Properties!.FunctionName;
        if (typeof name !== 'string') continue; // the CDK's own provider functions
        const logGroupId = (fn.Properties!.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
        expect(all[logGroupId]!.Properties!.LogGroupName, name).toBe(`/aws/lambda/${name}`);
        checked += 1;
      }
    }
    // processor, migrate, health, reconciliation, rebuild, backup export, partition maintenance, hot wallet; event
    // publisher, webhook scheduler and deliverer; api and its authorizer; the payout processor
    expect(checked).toBe(14);
  });

  it('keeps Performance Insights (7 days, the free tier) for the DatabaseCpuHigh runbook', () => {
    for (const [name, stage] of stages()) {
      stage.templates.data.hasResourceProperties('AWS::RDS::DBInstance', {
        EnablePerformanceInsights: true,
        PerformanceInsightsRetentionPeriod: 7,
      });
      expect(name).toBeTruthy();
    }
  });
});
