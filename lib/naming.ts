/** Every stack and named resource carries the stage, so that stages can share an account without colliding. */
export const PRODUCT = 'payment-monitor';

/** `payment-monitor-<stage>-<part>`: queues, tables, functions, clusters, buckets (with the account appended). */
export function resourceName(stage: string, part: string): string {
  return `${PRODUCT}-${stage}-${part}`;
}

/** `PaymentMonitor-<stage>-<Part>`: the CloudFormation stack names `cdk deploy` shows. */
export function stackName(stage: string, part: string): string {
  return `PaymentMonitor-${stage}-${part}`;
}

/** The reconciliation function's fixed name: the follower and the function itself invoke it by name. */
export function reconciliationFunctionName(stage: string): string {
  return resourceName(stage, 'reconciliation');
}

/** The stage's Lambda functions, by the part of their fixed name (`payment-monitor-<stage>-<part>`). */
export const FUNCTION_PARTS = {
  processor: 'processor',
  health: 'health',
  reconciliation: 'reconciliation',
  rebuild: 'rebuild',
  backupExport: 'backup-export',
  partitionMaintenance: 'partition-maintenance',
  hotWallet: 'hot-wallet',
  payoutProcessor: 'payout-processor',
  migration: 'migrate',
  api: 'api',
  apiAuthorizer: 'api-authorizer',
  eventPublisher: 'event-publisher',
  webhookDeliverer: 'webhook-deliverer',
  webhookScheduler: 'webhook-scheduler',
} as const;
export type StageFunction = keyof typeof FUNCTION_PARTS;

export function functionName(stage: string, fn: StageFunction): string {
  return resourceName(stage, FUNCTION_PARTS[fn]);
}

/** Where a function logs: Lambda's own convention, so `aws logs tail /aws/lambda/<function name>` finds it. */
export function lambdaLogGroupName(fnName: string): string {
  return `/aws/lambda/${fnName}`;
}

/**
 * The fixed names of one stage's resources. A stack that needs another stack's resource by name computes it here
 * instead of importing it (no CloudFormation export to pin the producer), and the README and the outputs give
 * operators the same names.
 */
export function stageNames(stage: string) {
  const name = (part: string) => resourceName(stage, part);
  return {
    chainEventQueue: `${name('chain-events')}.fifo`,
    deadLetterQueue: `${name('chain-events-dlq')}.fifo`,
    cluster: name('cluster'),
    followerService: name('follower'),
    followerLogGroup: `/ecs/${name('follower')}`,
    databaseInstance: name('database'),
    databaseSecret: `${PRODUCT}/${stage}/database`,
    leaseTable: name('leases'),
    backupVault: name('database'),
    /** The business-event bus (EventBridge) and its archive. */
    eventBus: name('events'),
    eventArchive: name('events'),
    webhookQueue: `${name('webhooks')}.fifo`,
    webhookDeadLetterQueue: `${name('webhooks-dlq')}.fifo`,
    webhookSecretsKey: `${PRODUCT}/${stage}/webhook-secrets-key`,
    /** The HTTP API (API keys through the Lambda authorizer) and its twin for callers inside AWS (SigV4, AWS_IAM). */
    restApi: name('api'),
    iamRestApi: name('api-iam'),
    webAcl: name('api'),
    /** The hot wallet's KMS key (payouts, issue 16): found by this alias. */
    payoutSignerKeyAlias: `alias/${PRODUCT}/${stage}/payout-signer`,
    /** The dashboard, and the prefix of every alarm name. */
    dashboard: `${PRODUCT}-${stage}`,
  };
}
