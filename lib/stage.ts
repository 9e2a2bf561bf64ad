import type { App } from 'aws-cdk-lib';
import type { ContainerImage } from 'aws-cdk-lib/aws-ecs';
import type { StageConfig } from './config.js';
import { stackName } from './naming.js';
import { DataStack } from './stacks/data-stack.js';
import { IngestStack } from './stacks/ingest-stack.js';
import { ObservabilityStack } from './stacks/observability-stack.js';
import { OperationsStack } from './stacks/operations-stack.js';
import { ProcessingStack } from './stacks/processing-stack.js';

export interface PaymentMonitorStage {
  readonly data: DataStack;
  readonly processing: ProcessingStack;
  readonly ingest: IngestStack;
  readonly operations: OperationsStack;
  readonly observability: ObservabilityStack;
}

export interface StageOptions {
  /** Tests pass a prebuilt image; deploys build docker/follower/Dockerfile. */
  readonly followerImage?: ContainerImage;
}

/**
 * One stage's stacks. References run one way only: processing, ingest and operations use data; ingest uses
 * processing (the queue); observability watches all of them. Nothing refers back, so there is no cross-stack cycle.
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
  const processing = new ProcessingStack(app, stackName(config.stage, 'Processing'), {
    ...common,
    data,
    stackName: stackName(config.stage, 'Processing'),
    description: `payment-monitor ${config.stage}: chain-event queue and processor`,
  });
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
    description: `payment-monitor ${config.stage}: health, reconciliation, rebuild, hot wallet, backups`,
  });
  const observability = new ObservabilityStack(app, stackName(config.stage, 'Observability'), {
    ...common,
    data,
    processing,
    ingest,
    operations,
    stackName: stackName(config.stage, 'Observability'),
    description: `payment-monitor ${config.stage}: alarms, alert topics, dashboard`,
  });
  return { data, processing, ingest, operations, observability };
}
