import { fileURLToPath } from 'node:url';
import { Duration, IgnoreMode, Stack, type StackProps } from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { ContainerImage } from 'aws-cdk-lib/aws-ecs';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { DEFAULT_SHUTDOWN_BUDGET_MS } from '../../functions/config/variables.js';
import type { StageConfig } from '../config.js';
import { FollowerService } from '../constructs/follower-service.js';
import { reconciliationFunctionName, resourceName } from '../naming.js';
import type { DataStack } from './data-stack.js';
import type { ProcessingStack } from './processing-stack.js';
import { acknowledgeNag } from '../nag.js';
import { claimCheckObjects, functionArnByName, ogmiosEnvironment } from './runtime-access.js';

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
    const name = (part: string) => resourceName(config.stage, part);
    const databaseSecret = data.database.secret;

    this.follower = new FollowerService(this, 'Follower', {
      vpc: data.network.vpc,
      clusterName: name('cluster'),
      serviceName: name('follower'),
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
        LEASE_TABLE: data.leaseTable.tableName,
        CHAIN_EVENT_QUEUE_URL: processing.chainEvents.queue.queueUrl,
        CLAIM_CHECK_BUCKET: data.claimCheckBucket.bucket.bucketName,
        // The follower reads the password from this secret per new connection, and again when it is refused after
        // a rotation (rds-secret-connection.ts): nothing injected at task start goes stale.
        DATABASE_SECRET_ARN: databaseSecret.secretArn,
        PGSSLMODE: 'verify-full',
        RECONCILIATION_FUNCTION_NAME: reconciliationFunctionName(config.stage),
      },
      securityGroups: [data.database.clientSecurityGroup],
    });

    const taskRole = this.follower.taskDefinition.taskRole;
    // The lease protocol needs exactly these three calls on its one table (lease-table.ts), nothing else.
    taskRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [data.leaseTable.tableArn],
      }),
    );
    processing.chainEvents.queue.grantSendMessages(taskRole);
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
  }
}
