import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { FlowLogDestination, FlowLogTrafficType, GatewayVpcEndpointAwsService, IpAddresses, SubnetType, Vpc } from 'aws-cdk-lib/aws-ec2';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface MonitorNetworkProps {
  /** Two AZs, named so synth needs no lookup (the stack's availabilityZones must include them). */
  readonly availabilityZones: string[];
  readonly natGateways: number;
  readonly flowLogRetentionDays: number;
}

/**
 * Two AZs; public subnets hold only the NAT gateways; `private` (NAT egress) for the follower and the Lambdas that
 * reach Ogmios or AWS APIs; `isolated` (no route out) for the database. S3 and DynamoDB gateway endpoints are free
 * and keep claim checks, exports and lease writes off the NAT. Interface endpoints (SQS, Secrets Manager, Logs)
 * are not created: at ~$15/month each for two AZs they cost more than the NAT data they would save at this
 * traffic (a few MB of chain events a day; secrets read once per cold start).
 */
export class MonitorNetwork extends Construct {
  static readonly PRIVATE = SubnetType.PRIVATE_WITH_EGRESS;
  static readonly ISOLATED = SubnetType.PRIVATE_ISOLATED;
  readonly vpc: Vpc;

  constructor(scope: Construct, id: string, props: MonitorNetworkProps) {
    super(scope, id);
    this.vpc = new Vpc(this, 'Vpc', {
      ipAddresses: IpAddresses.cidr('10.40.0.0/16'),
      availabilityZones: props.availabilityZones,
      natGateways: props.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: 'private', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: 'isolated', subnetType: SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      // Nothing is placed in the default security group (every resource gets its own), and nothing may be: a
      // deploy-time custom resource removes its rules (all traffic within the group, all egress).
      restrictDefaultSecurityGroup: true,
      gatewayEndpoints: {
        S3: { service: GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: GatewayVpcEndpointAwsService.DYNAMODB },
      },
    });
    // cfn-lint's advice against named AZs does not apply: naming them is what keeps synth free of AWS lookups.
    Validations.of(this.vpc).acknowledge({
      id: 'CloudFormation-Validate::W3010',
      reason: 'AZs are named from the stage region so that cdk synth needs no lookup',
    });
    // Rejected traffic only: what an operator needs to see a blocked connection, at a fraction of full flow logs.
    const flowLogs = new LogGroup(this, 'FlowLogs', {
      retention: props.flowLogRetentionDays as RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog('RejectedTraffic', {
      destination: FlowLogDestination.toCloudWatchLogs(flowLogs),
      trafficType: FlowLogTrafficType.REJECT,
    });
  }
}
