import type { App } from 'aws-cdk-lib';
import type { ContainerImage } from 'aws-cdk-lib/aws-ecs';
import type { StageConfig } from './config.js';
import { stackName } from './naming.js';
import { ApiStack } from './stacks/api-stack.js';
import { DataStack } from './stacks/data-stack.js';
import { EventsStack } from './stacks/events-stack.js';
import { IngestStack } from './stacks/ingest-stack.js';
import { ObservabilityStack } from './stacks/observability-stack.js';
import { OperationsStack } from './stacks/operations-stack.js';
import { ProcessingStack } from './stacks/processing-stack.js';

export interface PaymentMonitorStage {
  readonly data: DataStack;
  readonly events: EventsStack;
  readonly processing: ProcessingStack;
  readonly ingest: IngestStack;
  readonly operations: OperationsStack;
  readonly api: ApiStack;
  readonly observability: ObservabilityStack;
}

export interface StageOptions {
  /** Tests pass a prebuilt image; deploys build docker/follower/Dockerfile. */
  readonly followerImage?: ContainerImage;
}

/**
 * One stage's stacks. References run one way only: every stack uses data; processing follows events (the processor
 * wakes the publisher); ingest follows processing (the queue); observability watches all of them. Other than the Data stack's exports they refer to each other by fixed names, so nothing is pinned.
 */
export function buildStage(app: App, config: StageConfig, options: StageOptions = {}): PaymentMonitorStage {
  const env = { account: config.account, region: config.region };
  const tags = { product: 'payment-monitor', stage: config.stage };
  const common = { env, tags, config };
  const data = new DataStack(app, stackName(config.stage, 'Data'), {
    ...common,
    stackName: stackName(config.stage, 'Data'),
    description: `payment-monitor ${config.stage}: network, database, lease table, buckets, secrets`,
    terminationProtection: config.database.deletionProtection,
  });
  const events = new EventsStack(app, stackName(config.stage, 'Events'), {
    ...common,
    data,
    stackName: stackName(config.stage, 'Events'),
    description: `payment-monitor ${config.stage}: business-event bus and archive, outbox publisher, webhook delivery`,
  });
  const processing = new ProcessingStack(app, stackName(config.stage, 'Processing'), {
    ...common,
    data,
    stackName: stackName(config.stage, 'Processing'),
    description: `payment-monitor ${config.stage}: chain-event queue and processor`,
  });
  processing.addStackDependency(events, 'the processor wakes the event publisher');
  const ingest = new IngestStack(app, stackName(config.stage, 'Ingest'), {
    ...common,
    data,
    processing,
    followerImage: options.followerImage,
    stackName: stackName(config.stage, 'Ingest'),
    description: `payment-monitor ${config.stage}: the follower on Fargate`,
  });
  const operations = new OperationsStack(app, stackName(config.stage, 'Operations'), {
    ...common,
    data,
    stackName: stackName(config.stage, 'Operations'),
    description: `payment-monitor ${config.stage}: health, reconciliation, rebuild, hot wallet, backups, payouts (the KMS key and the processor)`,
  });
  const api = new ApiStack(app, stackName(config.stage, 'Api'), {
    ...common,
    data,
    stackName: stackName(config.stage, 'Api'),
    description: `payment-monitor ${config.stage}: the /v1 HTTP API (API Gateway, Lambda authorizer, AWS WAF)`,
  });
  const observability = new ObservabilityStack(app, stackName(config.stage, 'Observability'), {
    ...common,
    data,
    processing,
    ingest,
    operations,
    events,
    api,
    stackName: stackName(config.stage, 'Observability'),
    description: `payment-monitor ${config.stage}: alarms, alert topics, dashboard`,
  });
  return { data, events, processing, ingest, operations, api, observability };
}
