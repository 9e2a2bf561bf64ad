import { CfnOutput, Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/**
 * Stack outputs for people (`cdk deploy` prints them; `aws cloudformation describe-stacks` lists them): URLs and
 * names an operator needs. Never exported: no other stack may import them, so none of them pins its resource.
 */
export function operatorOutputs(scope: Construct, outputs: Record<string, { value: string; description: string }>): void {
  for (const [id, { value, description }] of Object.entries(outputs)) new CfnOutput(scope, id, { value, description });
}

/** The CloudWatch console page of a dashboard in the stack's region. */
export function dashboardUrl(scope: Construct, dashboardName: string): string {
  const { region } = Stack.of(scope);
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${dashboardName}`;
}
