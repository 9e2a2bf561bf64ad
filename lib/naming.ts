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
