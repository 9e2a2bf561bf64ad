import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { type SecurityGroup, SubnetType, type ISecurityGroup, type IVpc } from 'aws-cdk-lib/aws-ec2';
import {
  Cluster,
  type ContainerImage,
  ContainerInsights,
  CpuArchitecture,
  FargateService,
  FargateTaskDefinition,
  LogDrivers,
  OperatingSystemFamily,
} from 'aws-cdk-lib/aws-ecs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { MAX_SHUTDOWN_BUDGET_MS } from '../../functions/config/variables.js';
import { acknowledgeNag } from '../nag.js';
import { outboundSecurityGroup } from './egress.js';

/** ECS waits this long after SIGTERM before SIGKILL; Fargate allows at most 120 s. */
export const MAX_STOP_TIMEOUT = Duration.seconds(MAX_SHUTDOWN_BUDGET_MS / 1000);
/** Kept between the follower's own shutdown budget and ECS's SIGKILL: releasing the lease must not race the kill. */
export const STOP_TIMEOUT_MARGIN = Duration.seconds(2);
export const HEALTH_PORT = 8080;
/** Two tasks: the lease holder (leader) and a standby ready to take over. */
export const FOLLOWER_TASKS = 2;

export interface FollowerServiceProps {
  readonly vpc: IVpc;
  readonly clusterName: string;
  readonly serviceName: string;
  readonly image: ContainerImage;
  readonly cpu: number;
  readonly memoryMiB: number;
  /** SHUTDOWN_BUDGET_MS: how long the follower takes to stop cleanly. */
  readonly shutdownBudget: Duration;
  /** ECS stop timeout; ≥ shutdownBudget + 2 s and ≤ 120 s. Default shutdownBudget + 2 s. */
  readonly stopTimeout?: Duration;
  readonly logRetentionDays: number;
  /** Name of the follower's log group; generated when not given. */
  readonly logGroupName?: string;
  /** Plain settings (no secrets). */
  readonly environment: Record<string, string>;
  /** Extra groups, e.g. the database's client group. */
  readonly securityGroups: ISecurityGroup[];
  /** The Ogmios relays it follows: its own group opens their ports (HTTPS, 443, always is). */
  readonly ogmiosUrls?: readonly string[];
}

export class FollowerServiceConfigError extends Error {
  override readonly name = 'FollowerServiceConfigError';
}

/** Throws unless ECS gives the follower its whole shutdown budget (plus margin) and stays within Fargate's limit. */
export function assertStopTimeoutCovers(id: string, stopTimeout: Duration, shutdownBudget: Duration): void {
  const required = shutdownBudget.toSeconds() + STOP_TIMEOUT_MARGIN.toSeconds();
  if (stopTimeout.toSeconds() < required) {
    throw new FollowerServiceConfigError(
      `FollowerService "${id}": stopTimeout (${stopTimeout.toSeconds()} s) must be at least SHUTDOWN_BUDGET_MS + ${STOP_TIMEOUT_MARGIN.toSeconds()} s = ${required} s, ` +
        'or ECS kills the leader before it has released the lease',
    );
  }
  if (stopTimeout.toSeconds() > MAX_STOP_TIMEOUT.toSeconds()) {
    throw new FollowerServiceConfigError(
      `FollowerService "${id}": stopTimeout (${stopTimeout.toSeconds()} s) exceeds Fargate's maximum of ${MAX_STOP_TIMEOUT.toSeconds()} s`,
    );
  }
}

/**
 * The follower on Fargate (ARM64): two tasks in private subnets without public IPs or any ingress, the container
 * health check (`node /app/health-check.mjs`, no curl in the image), a stop timeout that covers the shutdown
 * budget, and the deployment circuit breaker rolling a failed deployment back. Deployments start new tasks before
 * stopping old ones (min 100 %, max 200 %): a standby is always there to take the lease.
 */
export class FollowerService extends Construct {
  readonly cluster: Cluster;
  readonly service: FargateService;
  readonly taskDefinition: FargateTaskDefinition;
  readonly securityGroup: SecurityGroup;
  readonly stopTimeout: Duration;

  constructor(scope: Construct, id: string, props: FollowerServiceProps) {
    super(scope, id);
    const stopTimeout = props.stopTimeout ?? Duration.seconds(props.shutdownBudget.toSeconds() + STOP_TIMEOUT_MARGIN.toSeconds());
    assertStopTimeoutCovers(id, stopTimeout, props.shutdownBudget);
    this.stopTimeout = stopTimeout;

    // Container Insights writes the service's RunningTaskCount, which the FollowerTasksBelowTwo alarm watches.
    this.cluster = new Cluster(this, 'Cluster', {
      vpc: props.vpc,
      clusterName: props.clusterName,
      containerInsightsV2: ContainerInsights.ENABLED,
    });
    this.taskDefinition = new FargateTaskDefinition(this, 'Task', {
      cpu: props.cpu,
      memoryLimitMiB: props.memoryMiB,
      runtimePlatform: { cpuArchitecture: CpuArchitecture.ARM64, operatingSystemFamily: OperatingSystemFamily.LINUX },
    });
    const logGroup = new LogGroup(this, 'Logs', {
      logGroupName: props.logGroupName,
      retention: props.logRetentionDays as RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.taskDefinition.addContainer('follower', {
      image: props.image,
      essential: true,
      readonlyRootFilesystem: true,
      environment: {
        ...props.environment,
        HEALTH_PORT: String(HEALTH_PORT),
        SHUTDOWN_BUDGET_MS: String(props.shutdownBudget.toMilliseconds()),
      },
      stopTimeout,
      healthCheck: {
        command: ['CMD', 'node', '/app/health-check.mjs'],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(60),
      },
      logging: LogDrivers.awsLogs({ logGroup, streamPrefix: 'follower' }),
    });

    // Egress: HTTPS (AWS APIs, wss:// Ogmios) and the relays' own ports; PostgreSQL comes with the client group.
    this.securityGroup = outboundSecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'payment-monitor follower: no ingress; egress to Ogmios, AWS APIs and the database',
      ogmiosUrls: props.ogmiosUrls,
    });
    this.service = new FargateService(this, 'Service', {
      cluster: this.cluster,
      serviceName: props.serviceName,
      taskDefinition: this.taskDefinition,
      desiredCount: FOLLOWER_TASKS,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      assignPublicIp: false,
      vpcSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroup, ...props.securityGroups],
      enableExecuteCommand: false,
    });

    acknowledgeNag(
      this.taskDefinition,
      'ECS2',
      'The environment holds only non-secret settings (queue URL, table and bucket names, network); the follower reads the database password and the Ogmios keys from Secrets Manager itself (DATABASE_SECRET_ARN, OGMIOS_API_KEYS_SECRET_ARN).',
    );
  }
}
