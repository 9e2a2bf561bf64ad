/**
 * Payouts on AWS (issue 16), proved on the synthesized templates of a whole stage (cdk-nag registered): the hot wallet's
 * KMS key (spec, usage, retention, pending window, the key policy's denials: deleting, disabling, signing, and rewriting
 * its policy or granting on it), the single kms:Sign grant with its
 * algorithm condition, the payout processor (reserved concurrency 1, every minute, no retry, its settings without
 * secrets), its alarms and dashboard row, and the constructor checks that fail a synth early.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CliCredentialsStackSynthesizer, DefaultStackSynthesizer, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { KMS_SIGNING_ALGORITHM } from '../../functions/adapters/kms/kms-signer.js';
import { Metric, PayoutRequestMetric } from '../../functions/domain/observability.js';
import { readStageConfig, StageConfigError } from '../../lib/config.js';
import {
  GUARDED_KEY_ACTIONS,
  PAYOUT_SIGNING_ALGORITHM,
  POLICY_KEY_ACTIONS,
  PayoutSignerKey,
  PayoutSignerKeyConfigError,
} from '../../lib/constructs/payout-signer-key.js';
import { STAGES, stageConfig, synthesizeStage, type SynthesizedStage } from './stage-fixture.js';

type Statement = {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Principal?: unknown;
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};
type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string };

let dev: SynthesizedStage;
let staging: SynthesizedStage;
let prod: SynthesizedStage;
beforeAll(() => {
  dev = synthesizeStage(stageConfig('dev'));
  staging = synthesizeStage(stageConfig('staging'));
  prod = synthesizeStage(stageConfig('prod'));
}, 270_000);

const resourcesOf = (template: Template, type: string) =>
  Object.entries(template.toJSON().Resources as Record<string, Resource>).filter(([, resource]) => resource.Type === type);
const actionsOf = (statement: Statement) => (Array.isArray(statement.Action) ? statement.Action : [statement.Action]);
const keyOf = (stage: SynthesizedStage) => {
  const keys = resourcesOf(stage.templates.operations, 'AWS::KMS::Key');
  expect(keys).toHaveLength(1);
  return keys[0]!;
};
const processorOf = (stage: SynthesizedStage) => {
  const [entry] = resourcesOf(stage.templates.operations, 'AWS::Lambda::Function').filter(
    ([, fn]) => fn.Properties.FunctionName === `payment-monitor-${stage.config.stage}-payout-processor`,
  );
  expect(entry, 'the payout processor function').toBeDefined();
  return entry!;
};
const roleIdOf = (fn: Resource) => (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];

describe("the hot wallet's KMS key", () => {
  it('is an Ed25519 signing key, retained, with the longest pending window, found by its stage alias', () => {
    for (const stage of [dev, prod]) {
      const [keyId, key] = keyOf(stage);
      expect(key.Properties).toMatchObject({ KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY', PendingWindowInDays: 30 });
      expect(key.Properties.EnableKeyRotation).toBeUndefined();
      expect([key.DeletionPolicy, key.UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
      stage.templates.operations.hasResourceProperties('AWS::KMS::Alias', {
        AliasName: `alias/payment-monitor/${stage.config.stage}/payout-signer`,
        TargetKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      });
    }
    // One key per stage, in the Operations stack only.
    for (const [name, template] of Object.entries(prod.templates)) {
      if (name !== 'operations')
        expect(resourcesOf(template, 'AWS::KMS::Key').filter(([, k]) => k.Properties.KeySpec !== undefined)).toEqual([]);
    }
  });

  it('denies deleting or disabling it to everyone but the break-glass role, and signing to everyone but the processor', () => {
    const [, key] = keyOf(prod);
    const statements = (key.Properties.KeyPolicy as { Statement: Statement[] }).Statement;
    const denials = statements.filter((statement) => statement.Effect === 'Deny');
    expect(denials).toHaveLength(3);
    const guard = denials.find((statement) => actionsOf(statement).includes('kms:ScheduleKeyDeletion'))!;
    expect(actionsOf(guard).sort()).toEqual([...GUARDED_KEY_ACTIONS].sort());
    expect(guard).toMatchObject({
      Principal: { AWS: '*' },
      Resource: '*',
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': 'arn:aws:iam::333333333333:role/payment-monitor-break-glass' } },
    });
    const signing = denials.find((statement) => actionsOf(statement).includes('kms:Sign'))!;
    expect(actionsOf(signing)).toEqual(['kms:Sign']);
    expect(signing).toMatchObject({
      Principal: { AWS: '*' },
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': [roleIdOf(processorOf(prod)[1]), 'Arn'] } } },
    });
    const rewriting = denials.find((statement) => actionsOf(statement).includes('kms:PutKeyPolicy'))!;
    expect(actionsOf(rewriting)).toEqual(POLICY_KEY_ACTIONS);
    // The account administers it through IAM as every key does; nothing else is allowed by the key policy itself.
    const allowed = statements.filter((statement) => statement.Effect === 'Allow');
    expect(allowed).toHaveLength(1);
    expect(JSON.stringify(allowed[0]!.Principal)).toContain(':iam::333333333333:root');
  });

  it("denies rewriting its policy or granting on it to everyone but the break-glass role and the stage's deploy, in every stage", () => {
    expect(POLICY_KEY_ACTIONS).toEqual(['kms:PutKeyPolicy', 'kms:CreateGrant', 'kms:ReplicateKey', 'kms:UpdatePrimaryRegion']);
    for (const stage of [dev, staging, prod]) {
      const { account, region } = stage.config;
      const [, key] = keyOf(stage);
      // Single-Region: ReplicateKey and UpdatePrimaryRegion are refused by KMS itself today (denied all the same).
      expect(key.Properties.MultiRegion).toBeUndefined();
      const rewriting = (key.Properties.KeyPolicy as { Statement: Statement[] }).Statement.filter((statement) =>
        actionsOf(statement).some((action) => POLICY_KEY_ACTIONS.includes(action)),
      );
      expect(rewriting).toEqual([
        {
          Sid: 'OnlyBreakGlassOrTheDeployRewritesOrGrants',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: POLICY_KEY_ACTIONS,
          Resource: '*',
          Condition: {
            ArnNotLike: {
              'aws:PrincipalArn': [
                stage.config.payouts.breakGlassRoleArn,
                // CDK bootstrap's CloudFormation execution role, default qualifier: the role every deploy updates the key as.
                { 'Fn::Sub': `arn:\${AWS::Partition}:iam::${account}:role/cdk-hnb659fds-cfn-exec-role-${account}-${region}` },
              ],
            },
          },
        },
      ]);
    }
  });

  it('is signed with ED25519_SHA_512 by the payout processor role alone: no other role of any stack is granted kms:Sign', () => {
    expect(PAYOUT_SIGNING_ALGORITHM).toBe(KMS_SIGNING_ALGORITHM);
    for (const stage of [dev, prod]) {
      const [keyId] = keyOf(stage);
      const grants = Object.entries(stage.templates).flatMap(([stack, template]) =>
        resourcesOf(template, 'AWS::IAM::Policy').flatMap(([, policy]) =>
          (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement.filter(
            (statement) =>
              statement.Effect === 'Allow' &&
              actionsOf(statement).some((action) => ['kms:Sign', 'kms:*', '*', 'kms:Sign*'].includes(action)),
          ).map((statement) => ({ stack, roles: policy.Properties.Roles, statement })),
        ),
      );
      expect(grants).toHaveLength(1);
      const [grant] = grants;
      expect(grant!.stack).toBe('operations');
      expect(grant!.roles).toEqual([{ Ref: roleIdOf(processorOf(stage)[1]) }]);
      expect(grant!.statement).toEqual({
        Effect: 'Allow',
        Action: 'kms:Sign',
        Resource: { 'Fn::GetAtt': [keyId, 'Arn'] },
        Condition: { StringEquals: { 'kms:SigningAlgorithm': 'ED25519_SHA_512' } },
      });
      // Its public key too (the hot wallet's address), and nothing else on the key.
      const onKey = resourcesOf(stage.templates.operations, 'AWS::IAM::Policy')
        .flatMap(([, policy]) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement)
        .filter((statement) => JSON.stringify(statement.Resource).includes(keyId));
      expect(onKey.flatMap(actionsOf).sort()).toEqual(['kms:GetPublicKey', 'kms:Sign']);
    }
  });
});

describe('the payout processor', () => {
  it('runs one at a time: reserved concurrency 1, within the minute, no asynchronous retry', () => {
    const [fnId, fn] = processorOf(prod);
    expect(fn.Properties).toMatchObject({ ReservedConcurrentExecutions: 1, MemorySize: 512, Runtime: 'nodejs22.x' });
    expect(fn.Properties.Timeout as number).toBeLessThan(60);
    expect(fn.Properties.VpcConfig).toBeDefined();
    prod.templates.operations.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fnId },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
  });

  it('is invoked every minute by EventBridge Scheduler, a missed minute not retried', () => {
    const [fnId] = processorOf(prod);
    prod.templates.operations.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'payment-monitor-prod-payout-processor-every-minute',
      ScheduleExpression: 'rate(1 minute)',
      Target: { Arn: { 'Fn::GetAtt': [fnId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } },
    });
  });

  it('gets its settings and the key ARN, never a secret or a key', () => {
    const [keyId] = keyOf(prod);
    const [, fn] = processorOf(prod);
    const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(Object.keys(variables).sort()).toEqual(
      [
        'CONFIRMATIONS',
        'DATABASE_SECRET_ARN',
        'NETWORK',
        'NODE_EXTRA_CA_CERTS',
        'NODE_OPTIONS',
        'OGMIOS_API_KEYS_SECRET_ARN',
        'OGMIOS_URL',
        'PAYOUT_SIGNER_KMS_KEY_ID',
        'PGSSLMODE',
        'POWERTOOLS_SERVICE_NAME',
        'STAGE',
      ].sort(),
    );
    expect(variables).toMatchObject({
      NETWORK: 'mainnet',
      CONFIRMATIONS: '15',
      PAYOUT_SIGNER_KMS_KEY_ID: { 'Fn::GetAtt': [keyId, 'Arn'] },
      STAGE: 'prod',
    });
    // Secrets by ARN only (read at run time); no literal that looks like a key, a password or an API key.
    for (const [name, value] of Object.entries(variables)) {
      if (typeof value !== 'string') continue;
      expect(value, name).not.toMatch(/PRIVATE KEY|dmtr_|password|^[A-Za-z0-9+/]{40,}={0,2}$/i);
    }
  });

  it('is watched: its alarms and its errors, on the dashboard too', () => {
    const names = resourcesOf(prod.templates.observability, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties.AlarmName);
    for (const alarm of [
      'PayoutStuck',
      'PayoutNotSent',
      'PayoutFailed',
      'PayoutSignerErrors',
      'PayoutBuildFailures',
      'PayoutDailyLimitReached',
      'PayoutProcessorErrors',
    ]) {
      expect(names).toContain(`payment-monitor-prod-${alarm}`);
    }
    const dashboard = JSON.stringify(resourcesOf(prod.templates.observability, 'AWS::CloudWatch::Dashboard')[0]![1].Properties);
    for (const metric of [
      Metric.payoutTransactionsBuilt,
      Metric.payoutSubmissions,
      Metric.payoutOldestSubmittedMinutes,
      Metric.payoutOldestApprovedMinutes,
      Metric.payoutsFailed,
      Metric.payoutSignerErrors,
      Metric.payoutBuildFailures,
      PayoutRequestMetric.dailyLimitReached,
      Metric.hotWalletRecordedAda,
      Metric.hotWalletSpendableAda,
    ]) {
      expect(dashboard).toContain(`\\"${metric}\\"`);
    }
    expect(dashboard).toContain('payment-monitor-prod-payout-processor');
  });

  it("gives the api function the stage's payout policy (limits and four-eyes threshold, lovelace)", () => {
    prod.templates.api.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'payment-monitor-prod-api',
      Environment: {
        Variables: Match.objectLike({
          PAYOUT_MAX_LOVELACE: '5000000000',
          PAYOUT_DAILY_LIMIT_LOVELACE: '40000000000',
          PAYOUT_APPROVAL_THRESHOLD_LOVELACE: '500000000',
        }),
      },
    });
  });

  it('synthesizes dev, staging and prod with nothing for cdk-nag to report', () => {
    for (const stage of [dev, staging, prod]) {
      expect(stage.synthError).toBeUndefined();
      expect(stage.unacknowledged).toEqual([]);
    }
  });
});

describe('misconfigurations fail the synth early, each named', () => {
  const role = (stack: Stack) => new Role(stack, 'Signer', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  const stack = () => new Stack(new App(), 'KeyTest', { env: { account: '123456789012', region: 'eu-west-1' } });

  it('refuses a bad alias and a break-glass principal that is not a role of the account, all at once', () => {
    expect(
      () =>
        new PayoutSignerKey(stack(), 'Key', {
          stage: 'dev',
          aliasName: 'alias/aws/payout',
          breakGlassRoleArn: 'arn:aws:iam::123456789012:user/alice',
        }),
    ).toThrow(PayoutSignerKeyConfigError);
    let message = '';
    try {
      new PayoutSignerKey(stack(), 'Key', {
        stage: ' ',
        aliasName: 'payout-signer',
        breakGlassRoleArn: 'arn:aws:iam::999999999999:role/break-glass',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('stage must be set');
    expect(message).toContain('aliasName must be alias/');
    expect(message).toContain("breakGlassRoleArn must be a role of the stage's account 123456789012 (got account 999999999999)");
  });

  it("lets the deploy rewrite the policy as the stack's own bootstrap role (its qualifier), and refuses a stack deployed without one", () => {
    const props = {
      stage: 'dev',
      aliasName: 'alias/payment-monitor/dev/payout-signer',
      breakGlassRoleArn: 'arn:aws:iam::123456789012:role/break-glass',
    };
    const env = { account: '123456789012', region: 'eu-west-1' };
    const deployRoleOf = (stack: Stack) => {
      const key = new PayoutSignerKey(stack, 'Key', props);
      key.grantSign(role(stack));
      const [, resource] = resourcesOf(Template.fromStack(stack), 'AWS::KMS::Key')[0]!;
      const statement = (resource.Properties.KeyPolicy as { Statement: Statement[] }).Statement.find(
        (candidate) => candidate.Sid === 'OnlyBreakGlassOrTheDeployRewritesOrGrants',
      )!;
      return (statement.Condition!.ArnNotLike!['aws:PrincipalArn'] as unknown[])[1];
    };
    const qualified = new App({ context: { '@aws-cdk/core:bootstrapQualifier': 'pm4prod' } });
    expect(deployRoleOf(new Stack(qualified, 'ByContext', { env }))).toEqual({
      'Fn::Sub': `arn:\${AWS::Partition}:iam::123456789012:role/cdk-pm4prod-cfn-exec-role-123456789012-eu-west-1`,
    });
    const bySynthesizer = new Stack(new App(), 'BySynthesizer', { env, synthesizer: new DefaultStackSynthesizer({ qualifier: 'other1' }) });
    expect(deployRoleOf(bySynthesizer)).toEqual({
      'Fn::Sub': `arn:\${AWS::Partition}:iam::123456789012:role/cdk-other1-cfn-exec-role-123456789012-eu-west-1`,
    });
    const cliCredentials = new Stack(new App(), 'CliCredentials', { env, synthesizer: new CliCredentialsStackSynthesizer() });
    expect(() => new PayoutSignerKey(cliCredentials, 'Key', props)).toThrow(
      /must be deployed through CDK bootstrap's CloudFormation execution role \(DefaultStackSynthesizer\).*CliCredentialsStackSynthesizer/,
    );
  });

  it('has exactly one signer: a second grant is refused, none fails the synth', () => {
    const withKey = stack();
    const key = new PayoutSignerKey(withKey, 'Key', {
      stage: 'dev',
      aliasName: 'alias/payment-monitor/dev/payout-signer',
      breakGlassRoleArn: 'arn:aws:iam::123456789012:role/break-glass',
    });
    key.grantSign(role(withKey));
    expect(() => key.grantSign(new Role(withKey, 'Other', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') }))).toThrow(
      /already has its signer/,
    );
    const lonely = stack();
    new PayoutSignerKey(lonely, 'Key', {
      stage: 'dev',
      aliasName: 'alias/payment-monitor/dev/payout-signer',
      breakGlassRoleArn: 'arn:aws:iam::123456789012:role/break-glass',
    });
    expect(() => Template.fromStack(lonely)).toThrow(/no signer was granted kms:Sign/);
  });

  it('refuses a stage without a break-glass role of its own account or with a payout policy the API could not apply', () => {
    const stages = JSON.parse(JSON.stringify(STAGES)) as Record<string, Record<string, unknown>>;
    delete stages.dev!.payouts;
    expect(() => readStageConfig(stages, 'dev')).toThrow(StageConfigError);
    expect(() => readStageConfig(stages, 'dev')).toThrow(/payouts\.breakGlassRoleArn must be an IAM role ARN/);
    stages.dev!.payouts = {
      breakGlassRoleArn: 'arn:aws:iam::222222222222:role/break-glass',
      policy: { maxLovelace: '2000000000', dailyLimitLovelace: '1000000000', approvalThresholdLovelace: 100 },
    };
    let message = '';
    try {
      readStageConfig(stages, 'dev');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/payouts\.breakGlassRoleArn must be a role of the stage's account 111111111111/);
    expect(message).toContain('payouts.policy.approvalThresholdLovelace must be a whole number of lovelace as a decimal string');
    expect(message).toContain('payouts.policy.maxLovelace (2000000000) must not exceed payouts.policy.dailyLimitLovelace (1000000000)');
  });

  it('refuses a payout policy that makes no sense, naming the stage and the fields (the api function would refuse it at start)', () => {
    const stages = JSON.parse(JSON.stringify(STAGES)) as Record<string, { payouts: { policy: Record<string, string> } }>;
    stages.staging!.payouts.policy = { maxLovelace: '500000', dailyLimitLovelace: '10000000000', approvalThresholdLovelace: '600000' };
    expect(() => readStageConfig(stages, 'staging')).toThrow(StageConfigError);
    expect(() => readStageConfig(stages, 'staging')).toThrow(
      'Stage "staging" in cdk.json is invalid:\n' +
        '- payouts.policy.maxLovelace (500000) must be at least 1000000 lovelace (1 ADA, the least an ADA-only payout sends): below it every ADA-only payout would be refused\n' +
        '- payouts.policy.approvalThresholdLovelace (600000) must not exceed payouts.policy.maxLovelace (500000): four eyes would never apply',
    );
    // Equal: four eyes off for ADA-only payouts, a policy that holds.
    stages.staging!.payouts.policy = {
      maxLovelace: '1000000000',
      dailyLimitLovelace: '1000000000',
      approvalThresholdLovelace: '1000000000',
    };
    expect(readStageConfig(stages, 'staging').payouts.policy.approvalThresholdLovelace).toBe('1000000000');
  });

  it('`cdk synth` of such a stage exits non-zero before building anything, saying which stage and which fields', async () => {
    const stages = JSON.parse(JSON.stringify(STAGES)) as Record<string, { payouts: { policy: Record<string, string> } }>;
    stages.prod!.payouts.policy = { maxLovelace: '50000000000', dailyLimitLovelace: '40000000000', approvalThresholdLovelace: '500000000' };
    const outdir = mkdtempSync(join(tmpdir(), 'payout-policy-synth-'));
    try {
      // What the CDK CLI does for `cdk synth -c stage=prod`: the app with cdk.json's context (as edited) in CDK_CONTEXT_JSON.
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', 'bin/app.ts'],
          {
            env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ stages, stage: 'prod' }), CDK_OUTDIR: outdir },
            timeout: 240_000,
          },
          (error, _stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stderr }),
        );
      });
      expect(result.code).not.toBe(0);
      expect(result.code).not.toBeNull();
      expect(result.stderr).toContain('Stage "prod" in cdk.json is invalid');
      expect(result.stderr).toContain(
        'payouts.policy.maxLovelace (50000000000) must not exceed payouts.policy.dailyLimitLovelace (40000000000): a payout above the daily limit would always be refused',
      );
      expect(readdirSync(outdir)).toEqual([]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }, 240_000);
});
