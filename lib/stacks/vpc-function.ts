import { fileURLToPath } from 'node:url';
import type { Duration } from 'aws-cdk-lib';
import type { ISecurityGroup } from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config.js';
import { outboundSecurityGroup } from '../constructs/egress.js';
import { HouseFunction } from '../constructs/house-function.js';
import { functionName, type StageFunction } from '../naming.js';
import type { DataStack } from './data-stack.js';
import { databaseEnvironment, FUNCTION_SUBNETS, grantDatabase } from './runtime-access.js';

/** A handler file under functions/handlers/, as an absolute path for NodejsFunction. */
export function handlerEntry(file: string): string {
  return fileURLToPath(new URL(`../../functions/handlers/${file}`, import.meta.url));
}

export interface VpcFunctionSettings {
  readonly entry: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  /** What its own security group's HTTPS egress carries, for the group's description. */
  readonly egress: string;
  readonly environment?: Record<string, string>;
}

/**
 * A house function of the stage in the private subnets, named `payment-monitor-<stage>-<part>`, reading the database
 * through the RDS secret (the client group), with a security group of its own allowing HTTPS out and nothing else.
 */
export function databaseFunction(
  scope: Construct,
  id: string,
  config: StageConfig,
  data: DataStack,
  fn: StageFunction,
  settings: VpcFunctionSettings,
): HouseFunction {
  const name = functionName(config.stage, fn);
  const group: ISecurityGroup = outboundSecurityGroup(scope, `${id}SecurityGroup`, {
    vpc: data.network.vpc,
    description: `${name}: HTTPS to ${settings.egress}`,
  });
  const created = new HouseFunction(scope, id, {
    entry: settings.entry,
    functionName: name,
    description: settings.description,
    stage: config.stage,
    timeout: settings.timeout,
    memorySize: settings.memorySize,
    logRetentionDays: config.logRetentionDays,
    vpc: data.network.vpc,
    vpcSubnets: FUNCTION_SUBNETS,
    securityGroups: [group, data.database.clientSecurityGroup],
    environment: { ...databaseEnvironment(data), ...settings.environment },
  });
  grantDatabase(created, data);
  return created;
}
