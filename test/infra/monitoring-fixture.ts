/**
 * A throwaway stack holding what the monitoring facade watches: the real chain-event queue construct (queue and
 * DLQ), a real processor function (inline code: no bundling needed to watch it), imported operations functions
 * and an imported RDS instance (fromXxx: only their names matter to alarms).
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { DatabaseInstance, DatabaseInstanceEngine, PostgresEngineVersion } from 'aws-cdk-lib/aws-rds';
import { ChainEventQueue } from '../../lib/constructs/chain-event-queue.js';
import { WebhookDeliveryQueue } from '../../lib/constructs/webhook-delivery-queue.js';
import { CLAIM_CHECK_EXPIRY } from '../../lib/stacks/retention.js';
import { PaymentMonitorMonitoring, type PaymentMonitorMonitoringProps } from '../../lib/constructs/monitoring/index.js';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const HOT_WALLET = 'addr1qx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgse35a3x';

export interface MonitoringFixture {
  stack: Stack;
  monitoring: PaymentMonitorMonitoring;
  queue: ChainEventQueue;
  template: Template;
}

export function buildMonitoringStack(overrides: Partial<PaymentMonitorMonitoringProps> = {}, stage = 'prod'): MonitoringFixture {
  const stack = new Stack(new App(), 'MonitoringTestStack', { env: { account: ACCOUNT, region: REGION } });
  const props = watchedResources(stack, stage);
  const monitoring = new PaymentMonitorMonitoring(stack, 'Monitoring', { ...props, ...overrides });
  return { stack, monitoring, queue: props.queue, template: Template.fromStack(stack) };
}

/** The resources of a stage, created in `stack`; the facade's props minus nothing. */
export function watchedResources(stack: Stack, stage = 'prod'): PaymentMonitorMonitoringProps & { queue: ChainEventQueue } {
  const queue = new ChainEventQueue(stack, 'ChainEvents', {
    queueName: `payment-monitor-${stage}-chain-events.fifo`,
    consumerTimeout: Duration.seconds(30),
    claimCheckExpiry: CLAIM_CHECK_EXPIRY,
  });
  const webhooks = new WebhookDeliveryQueue(stack, 'Webhooks', {
    queueName: `payment-monitor-${stage}-webhooks.fifo`,
    deadLetterQueueName: `payment-monitor-${stage}-webhooks-dlq.fifo`,
    consumerTimeout: Duration.seconds(60),
  });
  const processor = new LambdaFunction(stack, 'Processor', {
    functionName: `payment-monitor-${stage}-processor`,
    runtime: Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: Code.fromInline('exports.handler = async () => ({ batchItemFailures: [] })'),
    timeout: Duration.seconds(30),
  });
  const imported = (name: string) =>
    LambdaFunction.fromFunctionAttributes(stack, `Imported-${name}`, {
      functionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:payment-monitor-${stage}-${name}`,
      sameEnvironment: true,
    });
  const database = DatabaseInstance.fromDatabaseInstanceAttributes(stack, 'Database', {
    instanceIdentifier: `payment-monitor-${stage}-db`,
    instanceEndpointAddress: `payment-monitor-${stage}-db.abc.${REGION}.rds.amazonaws.com`,
    port: 5432,
    securityGroups: [],
    engine: DatabaseInstanceEngine.postgres({ version: PostgresEngineVersion.VER_17 }),
  });
  return {
    queue,
    stage,
    alertEmails: { warning: ['oncall@example.com'], critical: ['oncall@example.com', 'lead@example.com'] },
    chainEventQueue: queue.queue,
    deadLetterQueue: queue.deadLetterQueue,
    processor,
    functions: {
      health: imported('health'),
      reconciliation: imported('reconciliation'),
      rebuild: imported('rebuild'),
      hotWallet: imported('hot-wallet'),
      backupExport: imported('backup-export'),
      migration: imported('migration'),
      partitionMaintenance: imported('partition-maintenance'),
      api: imported('api'),
      apiAuthorizer: imported('api-authorizer'),
      eventPublisher: imported('event-publisher'),
      webhookScheduler: imported('webhook-scheduler'),
      webhookDeliverer: imported('webhook-deliverer'),
      payoutProcessor: imported('payout-processor'),
    },
    database: { instance: database, maxAllocatedStorageGiB: 400 },
    follower: { clusterName: `payment-monitor-${stage}`, serviceName: `payment-monitor-${stage}-follower` },
    hotWalletAddresses: [HOT_WALLET],
    frontDoor: {
      apis: [
        { label: 'API keys', apiName: `payment-monitor-${stage}-api`, stageName: stage },
        { label: 'IAM', apiName: `payment-monitor-${stage}-api-iam`, stageName: stage },
      ],
      webhookQueue: webhooks.queue,
      webhookDeadLetterQueue: webhooks.deadLetterQueue,
    },
  };
}
