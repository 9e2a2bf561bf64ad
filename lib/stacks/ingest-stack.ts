import { fileURLToPath } from 'node:url';
import { Duration, IgnoreMode, Stack, type StackProps } from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { ContainerImage } from 'aws-cdk-lib/aws-ecs';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { DEFAULT_SHUTDOWN_BUDGET_MS } from '../../functions/config/variables.js';
import type { StageConfig } from '../config.js';
import { FollowerService } from '../constructs/follower-service.js';
import { reconciliationFunctionName, stageNames } from '../naming.js';
import { claimCheckBucketName, type DataStack } from './data-stack.js';
import type { ProcessingStack } from './processing-stack.js';
import { acknowledgeNag } from '../nag.js';
import { operatorOutputs } from './outputs.js';
import { claimCheckObjects, functionArnByName, ogmiosEnvironment, queueByName } from './runtime-access.js';

const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The follower's image, built at deploy time by Docker from docker/follower/Dockerfile (esbuild in its build stage).
 * Only what the build needs is sent as context; `cdk synth` only fingerprints these files and needs no Docker.
 */
export function followerImage(): ContainerImage {
  return ContainerImage.fromAsset(REPOSITORY_ROOT, {
    file: 'docker/follower/Dockerfile',
    platform: Platform.LINUX_ARM64,
    ignoreMode: IgnoreMode.DOCKER,
    exclude: ['*', '!package.json', '!package-lock.json', '!tsconfig.json', '!functions', '!docker/follower', 'functions/local'],
  });
}

export interface IngestStackProps extends StackProps {
  readonly config: StageConfig;
  readonly data: DataStack;
  /** Deployed first (the follower sends to its queue), but referred to by the queue's fixed name only. */
  readonly processing: ProcessingStack;
  /** Defaults to followerImage(); tests may pass a prebuilt image. */
  readonly followerImage?: ContainerImage;
}

/** The follower on Fargate: reads the chain from Ogmios and emits chain events to the processing queue. */
export class IngestStack extends Stack {
  readonly follower: FollowerService;

  constructor(scope: Construct, id: string, props: IngestStackProps) {
    super(scope, id, props);
    const { config, data, processing } = props;
    const names = stageNames(config.stage);
    const databaseSecret = data.database.secret;
    // The queue and the lease table by their fixed names, not by reference: no export pins them (README, Deploy).
    this.addStackDependency(processing, 'the follower sends to the chain-event queue');
    const chainEvents = queueByName(this, 'ChainEventQueue', names.chainEventQueue);
    const leaseTableArn = this.formatArn({ service: 'dynamodb', resource: 'table', resourceName: names.leaseTable });

    this.follower = new FollowerService(this, 'Follower', {
      vpc: data.network.vpc,
      clusterName: names.cluster,
      serviceName: names.followerService,
      logGroupName: names.followerLogGroup,
      image: props.followerImage ?? followerImage(),
      cpu: config.follower.cpu,
      memoryMiB: config.follower.memoryMiB,
      shutdownBudget: Duration.millis(DEFAULT_SHUTDOWN_BUDGET_MS),
      logRetentionDays: config.logRetentionDays,
      environment: {
        NETWORK: config.network,
        STAGE: config.stage,
        // The Ogmios keys by their secret's ARN, as the Lambdas get them: read when a connection opens and again
        // after a refusal (ogmios-settings.ts), so a rotated key needs no task restart.
        ...ogmiosEnvironment(config, data),
        LEASE_TABLE: names.leaseTable,
        CHAIN_EVENT_QUEUE_URL: chainEvents.queueUrl,
        CLAIM_CHECK_BUCKET: claimCheckBucketName(config),
        // The follower reads the password from this secret per new connection, and again when it is refused after
        // a rotation (rds-secret-connection.ts): nothing injected at task start goes stale.
        DATABASE_SECRET_ARN: databaseSecret.secretArn,
        PGSSLMODE: 'verify-full',
        RECONCILIATION_FUNCTION_NAME: reconciliationFunctionName(config.stage),
      },
      securityGroups: [data.database.clientSecurityGroup],
      ogmiosUrls: config.ogmiosUrls,
    });

    const taskRole = this.follower.taskDefinition.taskRole;
    // The lease protocol needs exactly these three calls on its one table (lease-table.ts), nothing else.
    taskRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [leaseTableArn],
      }),
    );
    chainEvents.grantSendMessages(taskRole);
    // Reads the database secret and the Ogmios keys itself (not through ECS injection): only GetSecretValue, only those.
    taskRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [databaseSecret.secretArn, data.ogmiosApiKeys.secretArn],
      }),
    );
    // After an Ogmios outage the leader asks for a reconciliation run (by name: no dependency on the Operations stack).
    taskRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [functionArnByName(this, reconciliationFunctionName(config.stage))],
      }),
    );
    const claimChecks = claimCheckObjects(config);
    taskRole.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:PutObject'], resources: [claimChecks.arn] }));
    acknowledgeNag(
      taskRole,
      claimChecks.nagFinding,
      'Claim-check keys are content hashes under chain-events/; the follower may only put objects under that prefix.',
    );
    acknowledgeNag(
      this.follower.taskDefinition.obtainExecutionRole(),
      'IAM5[Resource::*]',
      'ecr:GetAuthorizationToken, which pulling the image needs, has no resource-level permissions; the other execution-role grants are scoped to the image repository and the log group.',
    );

    operatorOutputs(this, {
      ClusterName: { value: names.cluster, description: 'ECS cluster of the follower' },
      FollowerServiceName: { value: names.followerService, description: 'The two follower tasks (leader and standby)' },
      FollowerLogGroupName: { value: names.followerLogGroup, description: 'Follower logs: aws logs tail <this> --follow' },
    });
  }
}
