import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket, ObjectOwnership, type LifecycleRule } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeNag } from '../nag.js';

export interface PrivateBucketProps {
  /** Globally unique; the stack appends nothing. */
  readonly bucketName?: string;
  /** At least one rule, each expiring its objects: nothing here is kept forever by accident. */
  readonly lifecycleRules: LifecycleRule[];
  /**
   * Where S3 delivers the bucket's server access logs (who read, wrote or deleted which object), under `prefix`; or,
   * with `noAccessLogsReason`, why the bucket has none (cdk-nag S1), so the choice is written down.
   */
  readonly accessLogs?: { readonly bucket: IBucket; readonly prefix: string };
  readonly noAccessLogsReason?: string;
  /**
   * Versioning: an overwritten or deleted object (an expired one too) stays recoverable this long as a noncurrent
   * version, then the lifecycle removes it. None: not versioned.
   */
  readonly noncurrentVersionExpiry?: Duration;
}

export class PrivateBucketConfigError extends Error {
  override readonly name = 'PrivateBucketConfigError';
}

/**
 * A bucket only the account's roles reach: SSE-S3 encryption, TLS-only policy, public access blocked, ACLs off,
 * and lifecycle expiry on every rule. Retained when its stack is deleted (exports and claim checks are data), except
 * when the deploy that created it fails (CloudFormation's RetainExceptOnCreate).
 */
export class PrivateBucket extends Construct {
  readonly bucket: Bucket;
  readonly lifecycleRules: readonly LifecycleRule[];

  constructor(scope: Construct, id: string, props: PrivateBucketProps) {
    super(scope, id);
    if (props.lifecycleRules.length === 0) throw new PrivateBucketConfigError(`PrivateBucket "${id}" needs at least one lifecycle rule`);
    for (const rule of props.lifecycleRules) {
      if (rule.expiration === undefined)
        throw new PrivateBucketConfigError(`PrivateBucket "${id}": lifecycle rule ${rule.id ?? '(unnamed)'} must expire its objects`);
    }
    if ((props.accessLogs === undefined) === (props.noAccessLogsReason === undefined)) {
      throw new PrivateBucketConfigError(`PrivateBucket "${id}": give either accessLogs or noAccessLogsReason`);
    }
    this.lifecycleRules = props.lifecycleRules;
    const noncurrent = props.noncurrentVersionExpiry;
    this.bucket = new Bucket(this, 'Bucket', {
      bucketName: props.bucketName,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: noncurrent !== undefined,
      serverAccessLogsBucket: props.accessLogs?.bucket,
      serverAccessLogsPrefix: props.accessLogs?.prefix,
      lifecycleRules: props.lifecycleRules.map((rule) => ({
        abortIncompleteMultipartUploadAfter: Duration.days(1),
        ...(noncurrent ? { noncurrentVersionExpiration: noncurrent } : {}),
        ...rule,
      })),
      // Kept when its stack goes, except by the deploy that created it: a failed first deploy's rollback deletes the
      // (still empty) bucket, so the retry can create the same name.
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    if (props.noAccessLogsReason !== undefined) acknowledgeNag(this.bucket, 'S1', props.noAccessLogsReason);
  }

  /**
   * The soonest an object under `keyPrefix` can expire: the shortest expiry of the enabled rules that may apply to
   * such keys (no prefix, or a prefix overlapping it; other filters are ignored, so the answer errs on the short
   * side). `undefined` when no rule applies: those objects are kept.
   */
  expiryOf(keyPrefix: string): Duration | undefined {
    const applying = this.lifecycleRules.filter(
      (rule) => rule.enabled !== false && (!rule.prefix || keyPrefix.startsWith(rule.prefix) || rule.prefix.startsWith(keyPrefix)),
    );
    const expiries = applying.map((rule) => rule.expiration!);
    return expiries.reduce<Duration | undefined>(
      (shortest, expiry) => (shortest === undefined || expiry.toSeconds() < shortest.toSeconds() ? expiry : shortest),
      undefined,
    );
  }
}
