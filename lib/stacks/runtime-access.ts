import { ArnFormat, Aws, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { SubnetType, type SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { CLAIM_CHECK_KEY_PREFIX } from '../../functions/domain/chain-event-message.js';

export { CLAIM_CHECK_KEY_PREFIX };
import { PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { type IQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import type { StageConfig } from '../config.js';
import { backupBucketName, claimCheckBucketName, type DataStack } from './data-stack.js';

/** Lambda functions that reach the database or Ogmios run here (NAT egress for Ogmios and AWS APIs). */
export const FUNCTION_SUBNETS: SubnetSelection = { subnetType: SubnetType.PRIVATE_WITH_EGRESS };

/** Node's extra CAs on Lambda: the runtime's bundle includes the RDS CAs, for sslmode=verify-full. */
export const LAMBDA_RDS_CA_BUNDLE = '/var/runtime/ca-cert.pem';

/** Environment of a function that reads the database through the RDS-managed secret (functions/config/database-settings.ts). */
export function databaseEnvironment(data: DataStack): Record<string, string> {
  return { DATABASE_SECRET_ARN: data.database.secret.secretArn, PGSSLMODE: 'verify-full', NODE_EXTRA_CA_CERTS: LAMBDA_RDS_CA_BUNDLE };
}

/** Environment of a process that queries Ogmios, its keys read from the API-key secret when a connection opens. */
export function ogmiosEnvironment(config: StageConfig, data: DataStack): Record<string, string> {
  return { OGMIOS_URL: config.ogmiosUrls.join(','), OGMIOS_API_KEYS_SECRET_ARN: data.ogmiosApiKeys.secretArn };
}

export function grantDatabase(grantee: IGrantable, data: DataStack): void {
  data.database.secret.grantRead(grantee);
}

export function grantOgmios(grantee: IGrantable, data: DataStack): void {
  data.ogmiosApiKeys.grantRead(grantee);
}

/**
 * The claim-check objects (`chain-events/<sha256>.json`), as an ARN built from the bucket's fixed name: the key is a
 * content hash, so the prefix wildcard is as narrow as the grant can be. `nagFinding` is the matching cdk-nag id.
 */
export function claimCheckObjects(config: StageConfig): { arn: string; nagFinding: string } {
  return objectsUnder(claimCheckBucketName(config), CLAIM_CHECK_KEY_PREFIX);
}

/**
 * Listing the claim-check prefix, which only changes how S3 answers a missing object: 404 NoSuchKey (poison, set
 * aside at once) instead of 403 AccessDenied (transient, postponed until the queue's retention expires it).
 */
export function claimCheckListing(config: StageConfig): PolicyStatement {
  return new PolicyStatement({
    actions: ['s3:ListBucket'],
    resources: [`arn:${Aws.PARTITION}:s3:::${claimCheckBucketName(config)}`],
    conditions: { StringLike: { 's3:prefix': [`${CLAIM_CHECK_KEY_PREFIX}*`] } },
  });
}

/** One table's exports in the backup bucket (`<table>/<date>/…`), as for claimCheckObjects. */
export function backupObjects(config: StageConfig, prefix: string): { arn: string; nagFinding: string } {
  return objectsUnder(backupBucketName(config), prefix);
}

function objectsUnder(bucketName: string, prefix: string): { arn: string; nagFinding: string } {
  const pattern = `${bucketName}/${prefix}*`;
  return { arn: `arn:${Aws.PARTITION}:s3:::${pattern}`, nagFinding: `IAM5[Resource::arn:<AWS::Partition>:s3:::${pattern}]` };
}

/**
 * A function's ARN from its fixed name: grants to invoke a function (itself, or one in another stack) without a
 * reference to it, so neither a role nor a stack depends on the function it may invoke.
 */
export function functionArnByName(scope: IConstruct, functionName: string): string {
  return Stack.of(scope).formatArn({
    service: 'lambda',
    resource: 'function',
    resourceName: functionName,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/**
 * A queue of the stage by its fixed name (ARN and URL formatted from it): another stack sends to it or watches it
 * without a reference, so no CloudFormation export pins it.
 */
export function queueByName(scope: IConstruct, id: string, queueName: string): IQueue {
  const stack = Stack.of(scope);
  return Queue.fromQueueAttributes(stack, id, {
    queueName,
    queueArn: stack.formatArn({ service: 'sqs', resource: queueName, arnFormat: ArnFormat.NO_RESOURCE_NAME }),
    queueUrl: `https://sqs.${stack.region}.${stack.urlSuffix}/${stack.account}/${queueName}`,
  });
}
