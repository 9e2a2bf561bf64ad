/**
 * Business events and webhooks on AWS (issue 14, item 5), on the synthesized templates: the bus and its archive, the
 * publisher (scheduled, woken by the processor, PutEvents on this bus only), the webhook FIFO queue with one message
 * group per endpoint and its DLQ, the deliverer (the one function with HTTPS to anywhere), the scheduler, the webhook
 * secrets key (read by the api function and the deliverer only); and the five entry points bundled from their files.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { WebhookDeliveryQueue, WebhookDeliveryQueueConfigError } from '../../lib/constructs/webhook-delivery-queue.js';
import { buildStage } from '../../lib/stage.js';
import { actionsOf, grantedStatements, roleStatements, stageConfig, synthesizeStage, type SynthesizedStage } from './stage-fixture.js';

let dev: SynthesizedStage;
let prod: SynthesizedStage;
beforeAll(() => {
  dev = synthesizeStage(stageConfig('dev'));
  prod = synthesizeStage(stageConfig('prod'));
}, 180_000);

type Resource = { Type: string; Properties: Record<string, unknown> };
const resources = (template: Template, type: string) =>
  Object.entries(template.toJSON().Resources as Record<string, Resource>).filter(([, resource]) => resource.Type === type);
const idOf = (template: Template, prefix: string, type: string) => {
  const found = resources(template, type).filter(([id]) => new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id));
  expect(found, `${type} ${prefix}`).toHaveLength(1);
  return found[0]![0];
};

describe('the event bus', () => {
  it('is named after the stage and archives every event for the configured retention', () => {
    for (const stage of [dev, prod]) {
      const template = stage.templates.events;
      const bus = idOf(template, 'Bus', 'AWS::Events::EventBus');
      template.hasResourceProperties('AWS::Events::EventBus', { Name: `payment-monitor-${stage.config.stage}-events` });
      template.hasResourceProperties('AWS::Events::Archive', {
        ArchiveName: `payment-monitor-${stage.config.stage}-events`,
        SourceArn: { 'Fn::GetAtt': [bus, 'Arn'] },
        RetentionDays: stage.config.events.archiveRetentionDays,
        EventPattern: { account: [stage.config.account] },
      });
    }
    expect(dev.config.events.archiveRetentionDays).not.toBe(prod.config.events.archiveRetentionDays);
  });
});

describe('the publisher', () => {
  it('may put events on this bus only, and send deliverer wake-ups', () => {
    const template = dev.templates.events;
    const bus = idOf(template, 'Bus', 'AWS::Events::EventBus');
    const statements = grantedStatements(template, 'EventPublisherServiceRole');
    const putEvents = statements.filter((statement) => JSON.stringify(statement.Action).includes('events:'));
    expect(putEvents).toEqual([{ Effect: 'Allow', Action: 'events:PutEvents', Resource: { 'Fn::GetAtt': [bus, 'Arn'] } }]);
    expect(actionsOf(statements)).toEqual([
      'events:PutEvents',
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:SendMessage',
    ]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'payment-monitor-dev-event-publisher',
      Environment: {
        Variables: Match.objectLike({
          EVENT_BUS_NAME: { Ref: bus },
          WEBHOOK_QUEUE_URL: { Ref: Match.stringLikeRegexp('^WebhooksQueue') },
          DATABASE_SECRET_ARN: Match.anyValue(),
        }),
      },
    });
  });

  it('runs every minute (no retry: the next minute is the retry)', () => {
    dev.templates.events.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'payment-monitor-dev-event-publisher-every-minute',
      ScheduleExpression: 'rate(1 minute)',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EventPublisher'), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
      }),
    });
  });

  it('is woken by the processor, which may invoke it by name and deploys after it', () => {
    dev.templates.processing.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'payment-monitor-dev-processor',
      Environment: { Variables: Match.objectLike({ EVENT_PUBLISHER_FUNCTION_NAME: 'payment-monitor-dev-event-publisher' }) },
    });
    const invokes = roleStatements(dev.templates.processing, 'ProcessorServiceRole').filter((statement) =>
      JSON.stringify(statement.Action).includes('lambda:'),
    );
    expect(invokes).toHaveLength(1);
    expect(invokes[0]!.Action).toBe('lambda:InvokeFunction');
    expect(JSON.stringify(invokes[0]!.Resource)).toMatch(/:function:payment-monitor-dev-event-publisher"\]\]\}$/);
    expect(JSON.stringify(dev.templates.processing.toJSON())).not.toContain('PaymentMonitor-dev-Events:');
    expect(dev.stage.processing.dependencies.map((stack) => stack.stackName).sort()).toEqual([
      'PaymentMonitor-dev-Data',
      'PaymentMonitor-dev-Events',
    ]);
  });
});

describe('webhook delivery', () => {
  it('queues wake-ups in a FIFO queue with explicit deduplication ids, a visibility of 6 × the deliverer timeout and a FIFO DLQ', () => {
    const template = dev.templates.events;
    const dlq = idOf(template, 'WebhooksDeadLetterQueue', 'AWS::SQS::Queue');
    const [, deliverer] = resources(template, 'AWS::Lambda::Function').find(
      ([, fn]) => fn.Properties.FunctionName === 'payment-monitor-dev-webhook-deliverer',
    )!;
    const timeout = deliverer.Properties.Timeout as number;
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'payment-monitor-dev-webhooks.fifo',
      FifoQueue: true,
      ContentBasedDeduplication: false,
      VisibilityTimeout: 6 * timeout,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 5 },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'payment-monitor-dev-webhooks-dlq.fifo',
      FifoQueue: true,
      MessageRetentionPeriod: Duration.days(14).toSeconds(),
    });
    // Longer than one 10 s attempt with its bookkeeping.
    expect(timeout).toBeGreaterThanOrEqual(20);
    // TLS only.
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });

  it('hands the deliverer one wake-up at a time, failures reported per message, ten endpoints at once', () => {
    const template = dev.templates.events;
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WebhooksQueue'), 'Arn'] },
      FunctionName: { Ref: Match.stringLikeRegexp('^WebhookDeliverer') },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });

  it('gives the deliverer the database, the webhook secrets key and its queue (to wake its endpoint again), and nothing to publish', () => {
    const statements = grantedStatements(dev.templates.events, 'WebhookDelivererServiceRole');
    expect(actionsOf(statements)).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'secretsmanager:GetSecretValue',
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
      'sqs:SendMessage',
    ]);
    dev.templates.events.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'payment-monitor-dev-webhook-deliverer',
      Environment: {
        Variables: Match.objectLike({
          WEBHOOK_SECRETS_KEY_SECRET_ARN: Match.anyValue(),
          WEBHOOK_ALLOW_PRIVATE_DESTINATIONS: 'false',
          WEBHOOK_QUEUE_URL: Match.anyValue(),
        }),
      },
    });
  });

  it('schedules the wake-ups every minute through the scheduler, which may only send them', () => {
    dev.templates.events.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'payment-monitor-dev-webhook-scheduler-every-minute',
      ScheduleExpression: 'rate(1 minute)',
      Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WebhookScheduler'), 'Arn'] } }),
    });
    expect(actionsOf(grantedStatements(dev.templates.events, 'WebhookSchedulerServiceRole'))).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:SendMessage',
    ]);
  });
});

describe('the webhook secrets key', () => {
  it('is {"key": <64 hex digits>} (32 bytes) generated by Secrets Manager, kept with the database', () => {
    const [, secret] = resources(dev.templates.data, 'AWS::SecretsManager::Secret').find(
      ([, s]) => s.Properties.Name === 'payment-monitor/dev/webhook-secrets-key',
    )!;
    const generate = secret.Properties.GenerateSecretString as Record<string, unknown>;
    // {"key": "…"}: the field the sealer reads (aes-gcm-sealer.ts, secretsManagerKey).
    expect(generate).toMatchObject({
      SecretStringTemplate: '{}',
      GenerateStringKey: 'key',
      PasswordLength: 64,
      ExcludeUppercase: true,
      ExcludePunctuation: true,
      IncludeSpace: false,
    });
    expect(secret.Properties.SecretString).toBeUndefined();
    // What Secrets Manager can draw from: printable ASCII without upper case, punctuation, space and the excluded letters.
    const excluded = new Set(String(generate.ExcludeCharacters));
    const alphabet = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).filter(
      (c) => !/[A-Z]/.test(c) && /[a-z0-9]/.test(c) && !excluded.has(c),
    );
    expect(alphabet.join('')).toBe('0123456789abcdef');
    dev.templates.data.hasResource('AWS::SecretsManager::Secret', {
      Properties: Match.objectLike({ Name: 'payment-monitor/dev/webhook-secrets-key' }),
      DeletionPolicy: 'RetainExceptOnCreate',
    });
  });

  it('is read by the api function and the deliverer, and by no other role of the stage', () => {
    const readers = Object.values(dev.templates).flatMap((template) =>
      resources(template, 'AWS::IAM::Policy')
        .filter(([, policy]) => JSON.stringify(policy.Properties.PolicyDocument).includes('WebhookSecretsKey'))
        .flatMap(([, policy]) => (policy.Properties.Roles as { Ref: string }[]).map((role) => role.Ref.replace(/[0-9A-F]{8}$/, ''))),
    );
    expect(readers.sort()).toEqual(['ApiServiceRole', 'WebhookDelivererServiceRole']);
  });
});

describe('egress', () => {
  it('puts each new function in a group of its own with HTTPS out only, and in the database client group', () => {
    for (const [template, ids] of [
      [dev.templates.events, ['EventPublisher', 'WebhookScheduler', 'WebhookDeliverer']],
      [dev.templates.api, ['Api', 'ApiAuthorizer']],
    ] as const) {
      for (const id of ids) {
        const fn = idOf(template, id, 'AWS::Lambda::Function');
        const groups = JSON.stringify(
          ((template.toJSON().Resources as Record<string, Resource>)[fn]!.Properties.VpcConfig as { SecurityGroupIds: unknown })
            .SecurityGroupIds,
        );
        expect(groups).toContain(`"${id}SecurityGroup`);
        expect(groups).toContain('DatabaseClientSecurityGroup');
        const group = idOf(template, `${id}SecurityGroup`, 'AWS::EC2::SecurityGroup');
        const [, resource] = resources(template, 'AWS::EC2::SecurityGroup').find(([g]) => g === group)!;
        expect(resource.Properties.SecurityGroupEgress).toEqual([
          expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '0.0.0.0/0' }),
        ]);
        expect(resource.Properties.SecurityGroupIngress).toBeUndefined();
      }
    }
    dev.templates.events.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^payment-monitor-dev-webhook-deliverer: HTTPS to the webhook endpoints'),
    });
  });
});

describe('WebhookDeliveryQueue invariants', () => {
  const stack = () => new Stack(new App(), 'T');
  const props = { queueName: 'w.fifo', deadLetterQueueName: 'w-dlq.fifo', consumerTimeout: Duration.seconds(60) };

  it('refuses a deliverer timeout shorter than two attempts, and names without .fifo, before the queues exist', () => {
    const scope = stack();
    expect(() => new WebhookDeliveryQueue(scope, 'Q', { ...props, consumerTimeout: Duration.seconds(15) })).toThrow(
      /consumerTimeout \(15 seconds\) must be at least twice the 10 seconds of one attempt/,
    );
    expect(() => new WebhookDeliveryQueue(scope, 'Q', { ...props, queueName: 'w' })).toThrow(WebhookDeliveryQueueConfigError);
    expect(scope.node.tryFindChild('Q')).toBeUndefined();
    expect(() => new WebhookDeliveryQueue(scope, 'Q', props)).not.toThrow();
  });

  it('refuses a deliverer whose timeout the visibility timeout does not cover six times', () => {
    const scope = stack();
    const queue = new WebhookDeliveryQueue(scope, 'Q', props);
    const fn = (seconds: number) =>
      new LambdaFunction(scope, `Fn${seconds}`, {
        runtime: Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: Code.fromInline('exports.handler = async () => ({})'),
        timeout: Duration.seconds(seconds),
      });
    expect(() => queue.addDeliverer(fn(61), 10)).toThrow(/must be at least 6 × the timeout/);
    expect(() => queue.addDeliverer(fn(60), 1)).toThrow(/maxConcurrency must be between 2 and 1000/);
    expect(() => queue.addDeliverer(fn(59), 10)).not.toThrow();
    Template.fromStack(scope).resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
  });
});

describe('bundling', () => {
  // The Events and Api stacks bundled for real (local esbuild): each function's source map names its entry file.
  let functions: Map<string, string[]>;
  beforeAll(() => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': ['PaymentMonitor-dev-Events', 'PaymentMonitor-dev-Api'] } });
    const stage = buildStage(app, stageConfig('dev'));
    const assembly = app.synth();
    functions = new Map(
      [stage.events, stage.api].flatMap((stack) =>
        resources(Template.fromStack(stack), 'AWS::Lambda::Function')
          .filter(([, fn]) => typeof fn.Properties.FunctionName === 'string')
          .map(([, fn]) => {
            const key = (fn.Properties.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '');
            const map = JSON.parse(readFileSync(join(assembly.directory, `asset.${key}`, 'index.mjs.map'), 'utf8')) as {
              sources: string[];
            };
            return [fn.Properties.FunctionName as string, map.sources] as const;
          }),
      ),
    );
  }, 300_000);

  it.each([
    ['payment-monitor-dev-api', 'api.ts'],
    ['payment-monitor-dev-api-authorizer', 'api-authorizer.ts'],
    ['payment-monitor-dev-event-publisher', 'event-publisher.ts'],
    ['payment-monitor-dev-webhook-deliverer', 'webhook-deliverer.ts'],
    ['payment-monitor-dev-webhook-scheduler', 'webhook-scheduler.ts'],
  ])('bundles %s from functions/handlers/%s', (fn, entry) => {
    const sources = functions.get(fn);
    expect(sources, fn).toBeDefined();
    // Its own entry, not another's.
    expect(sources!.some((source) => source.endsWith(`functions/handlers/${entry}`))).toBe(true);
    const otherEntries = ['api.ts', 'api-authorizer.ts', 'event-publisher.ts', 'webhook-deliverer.ts', 'webhook-scheduler.ts'].filter(
      (other) => other !== entry,
    );
    for (const other of otherEntries)
      expect(
        sources!.some((source) => source.endsWith(`functions/handlers/${other}`)),
        other,
      ).toBe(false);
  });
});
