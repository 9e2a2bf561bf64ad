import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { receivesWithin } from '../../functions/domain/retry-schedule.js';
import { ChainEventQueue, ChainEventQueueConfigError, type ChainEventQueueProps } from '../../lib/constructs/chain-event-queue.js';
import {
  HouseFunction,
  HouseFunctionConfigError,
  validateHouseFunctionProps,
  type HouseFunctionProps,
} from '../../lib/constructs/house-function.js';

const HEALTH_ENTRY = fileURLToPath(new URL('../../functions/handlers/health.ts', import.meta.url));

function newStack(): Stack {
  return new Stack(new App(), 'TestStack', { env: { account: '123456789012', region: 'eu-west-1' } });
}

function validProps(overrides: Partial<HouseFunctionProps> = {}): HouseFunctionProps {
  return { entry: HEALTH_ENTRY, stage: 'dev', timeout: Duration.seconds(30), memorySize: 256, logRetentionDays: 30, ...overrides };
}

/** A pre-built function for the queue tests: no bundling needed to test the event source mapping. */
function inlineFunction(stack: Stack, id: string, timeout: Duration): LambdaFunction {
  return new LambdaFunction(stack, id, {
    runtime: Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: Code.fromInline('exports.handler = async () => ({})'),
    timeout,
  });
}

describe('HouseFunction', () => {
  // One real synth with local esbuild (no Docker): bundles the real health handler.
  let template: Template;
  let assemblyDir: string;
  beforeAll(() => {
    const stack = newStack();
    new HouseFunction(stack, 'Health', validProps({ environment: { EXTRA: 'yes' } }));
    template = Template.fromStack(stack);
    assemblyDir = stack.node.root instanceof App ? stack.node.root.synth().directory : '';
  }, 60_000);

  it('bundles minified ESM with a createRequire banner and a source map', () => {
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0] as {
      Properties: { Code: { S3Key: string }; Handler: string };
    };
    expect(fn.Properties.Handler).toBe('index.handler');
    const assetDir = join(assemblyDir, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`);
    const bundle = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
    expect(bundle.startsWith("import { createRequire as __houseCreateRequire } from 'module';")).toBe(true);
    expect(bundle).toMatch(/sourceMappingURL=index\.mjs\.map/);
    expect(readFileSync(join(assetDir, 'index.mjs.map'), 'utf8').length).toBeGreaterThan(0);
  });

  it('runs Node.js 22 on ARM64 with the house environment and tracing off', () => {
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Timeout: 30,
      MemorySize: 256,
      Environment: {
        Variables: { POWERTOOLS_SERVICE_NAME: 'payment-monitor', STAGE: 'dev', NODE_OPTIONS: '--enable-source-maps', EXTRA: 'yes' },
      },
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^HealthLogGroup') } },
    });
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0] as { Properties: Record<string, unknown> };
    expect(fn.Properties.TracingConfig).toBeUndefined();
  });

  it('writes to an explicit log group with the given retention (no LogRetention custom resource)', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    template.resourceCountIs('Custom::LogRetention', 0);
  });

  it.each<[string, Partial<HouseFunctionProps>, RegExp]>([
    ['timeout over 15 minutes', { timeout: Duration.minutes(16) }, /timeout must be between 1 second and 15 minutes \(got 16 minutes\)/],
    ['memory below 128 MB', { memorySize: 64 }, /memorySize must be .* between 128 and 10240 \(got 64\)/],
    ['memory above 10240 MB', { memorySize: 10_241 }, /memorySize .* \(got 10241\)/],
    [
      'entry outside functions/handlers',
      { entry: fileURLToPath(new URL('../../functions/domain/network.ts', import.meta.url)) },
      /entry must be a file under functions\/handlers\//,
    ],
    ['unsupported log retention', { logRetentionDays: 2 }, /logRetentionDays must be one of 1, 3, 5, 7, 14, .* \(got 2\)/],
  ])('rejects %s with a clear error before bundling', (_name, overrides, message) => {
    const stack = newStack();
    expect(() => new HouseFunction(stack, 'Bad', validProps(overrides))).toThrow(HouseFunctionConfigError);
    expect(() => new HouseFunction(stack, 'Bad2', validProps(overrides))).toThrow(message);
  });

  it('reports every problem at once', () => {
    expect(() => validateHouseFunctionProps('Bad', validProps({ timeout: Duration.minutes(20), memorySize: 1 }))).toThrow(
      /timeout[\s\S]*memorySize/,
    );
  });

  it('accepts the limits themselves', () => {
    expect(() => validateHouseFunctionProps('Edge', validProps({ timeout: Duration.minutes(15), memorySize: 10_240 }))).not.toThrow();
    expect(() => validateHouseFunctionProps('Edge', validProps({ memorySize: 128 }))).not.toThrow();
  });
});

/** The stage's claim-check expiry: long enough for any retention this construct accepts. */
const CLAIM_CHECKS_30_DAYS = Duration.days(30);

function queueProps(overrides: Partial<ChainEventQueueProps> = {}): ChainEventQueueProps {
  return { consumerTimeout: Duration.seconds(30), claimCheckExpiry: CLAIM_CHECKS_30_DAYS, ...overrides };
}

describe('ChainEventQueue', () => {
  function synthQueue(encryption: 'kms' | 'sqs' = 'sqs') {
    const stack = newStack();
    const queue = new ChainEventQueue(stack, 'ChainEvents', queueProps({ queueName: 'pm-dev-chain-events.fifo', encryption }));
    const processor = inlineFunction(stack, 'Processor', Duration.seconds(30));
    queue.addConsumer(processor);
    return { stack, queue, template: Template.fromStack(stack) };
  }

  it('is a FIFO queue with explicit dedup ids, TLS-only access, SSE and a redrive to a FIFO DLQ', () => {
    const { stack, queue, template } = synthQueue();
    template.resourceCountIs('AWS::SQS::Queue', 2);
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'pm-dev-chain-events.fifo',
      FifoQueue: true,
      ContentBasedDeduplication: false,
      VisibilityTimeout: 180,
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [stack.getLogicalId(queue.deadLetterQueue.node.defaultChild as never), 'Arn'] },
        maxReceiveCount: 1000,
      },
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'pm-dev-chain-events-dlq.fifo',
      FifoQueue: true,
      ContentBasedDeduplication: false,
      MessageRetentionPeriod: 14 * 24 * 3600,
      SqsManagedSseEnabled: true,
    });
    // enforceSSL: a deny on aws:SecureTransport=false for both queues.
    template.resourceCountIs('AWS::SQS::QueuePolicy', 2);
    template.allResourcesProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });

  it('subscribes the consumer with a batch of ≤ 10, partial batch responses and max concurrency 2', () => {
    const { template } = synthQueue();
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    const mapping = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'))[0] as { Properties: { BatchSize: number } };
    expect(mapping.Properties.BatchSize).toBeLessThanOrEqual(10);
  });

  it('uses KMS encryption when asked', () => {
    const { template } = synthQueue('kms');
    template.allResourcesProperties('AWS::SQS::Queue', { KmsMasterKeyId: 'alias/aws/sqs' });
  });

  it('honours a custom maxReceiveCount and retention that the retry schedule fits in', () => {
    const stack = newStack();
    // One day: the retry schedule receives a message far fewer than 200 times.
    new ChainEventQueue(
      stack,
      'Q',
      queueProps({ consumerTimeout: Duration.seconds(10), maxReceiveCount: 200, retentionPeriod: Duration.days(1) }),
    );
    Template.fromStack(stack).hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 200 }),
      MessageRetentionPeriod: 24 * 3600,
    });
  });

  it('refuses a maxReceiveCount the retry schedule reaches within the retention (a valid event would be dead-lettered)', () => {
    const receives = receivesWithin(14 * 24 * 3600);
    expect(receives).toBeGreaterThan(700);
    expect(receives).toBeLessThan(1000);
    const create = (maxReceiveCount: number) => () => new ChainEventQueue(newStack(), 'Q', queueProps({ maxReceiveCount }));
    expect(create(5)).toThrow(ChainEventQueueConfigError);
    expect(create(receives)).toThrow(
      new RegExp(
        `maxReceiveCount \\(${receives}\\) must exceed the ${receives} receives the processor's retry schedule makes within the retention \\(14 days\\)`,
      ),
    );
    expect(create(receives + 1)).not.toThrow();
    // A shorter retention needs fewer receives: the same check, against that retention.
    const oneDay = receivesWithin(24 * 3600);
    expect(() => new ChainEventQueue(newStack(), 'Q', queueProps({ maxReceiveCount: oneDay, retentionPeriod: Duration.days(1) }))).toThrow(
      /retention \(1 day\)/,
    );
  });

  it('refuses a retention outside the SQS limits', () => {
    expect(() => new ChainEventQueue(newStack(), 'Q', queueProps({ retentionPeriod: Duration.days(15) }))).toThrow(
      /retentionPeriod must be between 60 seconds and 14 days, the SQS limits \(got 15 days\)/,
    );
    expect(() => new ChainEventQueue(newStack(), 'Q', queueProps({ retentionPeriod: Duration.seconds(59) }))).toThrow(
      /retentionPeriod must be between/,
    );
  });

  it('refuses claim checks that expire before a message pointing to one can (queue + DLQ retention + 1 day)', () => {
    const create = (claimCheckExpiry: Duration | undefined, retentionPeriod?: Duration) => () =>
      new ChainEventQueue(newStack(), 'ChainEvents', queueProps({ claimCheckExpiry, ...(retentionPeriod ? { retentionPeriod } : {}) }));
    expect(create(Duration.days(15))).toThrow(ChainEventQueueConfigError);
    expect(create(Duration.days(15))).toThrow(
      /ChainEventQueue "ChainEvents": claim checks expire after 15 days, but a message pointing to one may live 14 days in the queue and then 14 days in the DLQ \(a FIFO DLQ restarts the clock on the move\); the claim-check lifecycle expiry must be at least 29 days/,
    );
    expect(create(Duration.days(28))).toThrow(/must be at least 29 days/);
    expect(create(Duration.days(29))).not.toThrow();
    // A shorter queue retention asks for less; objects that never expire always outlive their messages.
    expect(create(Duration.days(16), Duration.days(1))).not.toThrow();
    expect(create(Duration.days(15), Duration.days(1))).toThrow(/must be at least 16 days/);
    expect(create(undefined)).not.toThrow();
  });

  it('requires the .fifo suffix on a given queue name', () => {
    expect(() => new ChainEventQueue(newStack(), 'Q', queueProps({ queueName: 'pm-dev-chain-events' }))).toThrow(
      /queueName must end with "\.fifo" \(got "pm-dev-chain-events"\)/,
    );
  });

  it('throws naming both values when the visibility timeout is under 6 × the consumer timeout', () => {
    const create = () => new ChainEventQueue(newStack(), 'Q', queueProps({ visibilityTimeout: Duration.seconds(179) }));
    expect(create).toThrow(ChainEventQueueConfigError);
    expect(create).toThrow(/visibilityTimeout \(2 minutes 59 seconds\) must be at least 6 × consumerTimeout \(30 seconds\) = 180 seconds/);
    expect(() => new ChainEventQueue(newStack(), 'Q', queueProps({ visibilityTimeout: Duration.seconds(180) }))).not.toThrow();
  });

  it('refuses a consumer whose timeout × 6 exceeds the visibility timeout', () => {
    const stack = newStack();
    const queue = new ChainEventQueue(stack, 'Q', queueProps());
    expect(() => queue.addConsumer(inlineFunction(stack, 'Slow', Duration.seconds(31)))).toThrow(
      /visibilityTimeout \(3 minutes\) must be at least 6 × timeout of TestStack\/Slow \(31 seconds\)/,
    );
  });

  it('validates batch size and max concurrency ranges', () => {
    const stack = newStack();
    const queue = new ChainEventQueue(stack, 'Q', queueProps());
    const fn = inlineFunction(stack, 'Fn', Duration.seconds(30));
    expect(() => queue.addConsumer(fn, { batchSize: 11 })).toThrow(/batchSize must be between 1 and 10 \(got 11\)/);
    expect(() => queue.addConsumer(fn, { maxConcurrency: 1 })).toThrow(/maxConcurrency must be between 2 and 1000 \(got 1\)/);
  });
});
