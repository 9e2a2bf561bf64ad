import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeNag } from '../nag.js';

/** S3 server access logs are kept this long: a year of who read or wrote the backups. */
export const ACCESS_LOG_EXPIRY = Duration.days(365);

/**
 * The target of S3 server access logs: SSE-S3 (S3 cannot deliver logs to a KMS-encrypted bucket), TLS-only, private,
 * ACLs off, so S3's log delivery may write only through the bucket policy (`logging.s3.amazonaws.com`, this account's
 * source buckets). Retained when its stack goes (the logs are an audit trail), except by a failed deploy that created
 * it; its name is generated, so nothing of it can block a retry.
 */
export class AccessLogBucket extends Construct {
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // With this flag the CDK grants log delivery by bucket policy; without it, by the LogDeliveryWrite ACL, which
    // ObjectOwnership.BUCKET_OWNER_ENFORCED (ACLs off) rules out. Set here, before the bucket exists, for it alone.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: ACCESS_LOG_EXPIRY, abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    acknowledgeNag(
      this.bucket,
      'S1',
      'This is the bucket the server access logs are delivered to: logging it as well would log the log deliveries themselves.',
    );
  }
}
