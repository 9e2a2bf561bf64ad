import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { acknowledgeNag } from '../nag.js';

/**
 * What a function in a VPC needs to attach its network interfaces. AWS documents these for the execution role; EC2
 * has no resource-level permission for the Describe calls, so they are granted on "*".
 */
export const VPC_NETWORK_INTERFACE_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];

export interface FunctionRoleProps {
  /** The only log group the function may write to. */
  readonly logGroup: ILogGroup;
  /** The function runs in a VPC: it may manage its network interfaces. */
  readonly inVpc: boolean;
  readonly description?: string;
}

/**
 * A Lambda execution role in place of AWSLambdaBasicExecutionRole / AWSLambdaVPCAccessExecutionRole, which let a
 * function create log groups and write to every log group of the account: this one may write (CreateLogStream,
 * PutLogEvents) to the function's own log group only, plus the ENI actions when the function is in a VPC.
 */
export function functionRole(scope: Construct, id: string, props: FunctionRoleProps): Role {
  const role = new Role(scope, id, {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    description: props.description,
  });
  role.addToPrincipalPolicy(
    new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [props.logGroup.logGroupArn] }),
  );
  if (props.inVpc) {
    role.addToPrincipalPolicy(new PolicyStatement({ actions: VPC_NETWORK_INTERFACE_ACTIONS, resources: ['*'] }));
    acknowledgeNag(
      role,
      'IAM5[Resource::*]',
      'The network-interface actions a function in a VPC needs (ec2:CreateNetworkInterface, DescribeNetworkInterfaces, …): EC2 grants the Describe calls only on "*", and Lambda checks them on the role; the role has nothing else on "*".',
    );
  }
  return role;
}
