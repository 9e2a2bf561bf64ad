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
