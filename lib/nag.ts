import { Stack, Validations, type App, type CfnElement } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges one cdk-nag AwsSolutions finding on `scope` (and what it contains), with the reason it is
 * acceptable. `rule` is the bare rule id (`S1`, `IAM5[Resource::*]`); the pack prefix is added here. Keep the
 * scope as narrow as the finding: a resource or its parent construct, never a whole stack unless it applies to all.
 */
export function acknowledgeNag(scope: IConstruct, rule: string, reason: string): void {
  if (reason.trim().length < 20) throw new Error(`cdk-nag acknowledgement of ${rule} at ${scope.node.path} needs a real reason`);
  Validations.of(scope).acknowledge({ id: `AwsSolutions-${rule}`, reason });
}

/**
 * The finding cdk-nag reports for `lambda:InvokeFunction` on `<function ARN>:*` (every version and alias), which
 * CDK's grantInvoke adds next to the function's own ARN.
 */
export function functionVersionsFinding(fn: IFunction): string {
  const logicalId = Stack.of(fn).getLogicalId(fn.node.defaultChild as CfnElement);
  return `IAM5[Resource::<${logicalId}.Arn>:*]`;
}

/**
 * Registers the cdk-nag AwsSolutions pack on the whole app: any unacknowledged finding fails the synth. Every
 * acknowledgement is also written into the template's resource Metadata (`cdk_nag.rules_to_suppress`) as an audit trail.
 */
export function registerNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));
}
