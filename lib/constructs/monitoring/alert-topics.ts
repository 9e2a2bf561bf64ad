import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { MonitoringConfigError, SEVERITIES, type Severity } from './alarm-thresholds.js';

export interface AlertTopicsProps {
  readonly stage: string;
  /** Subscribed by e-mail to the topic of each severity (each address confirms its subscription once). */
  readonly emails: { readonly warning: readonly string[]; readonly critical: readonly string[] };
}

const EMAIL = /^[^@\s]+@[^@\s]+$/;

/**
 * One SNS topic per severity, encrypted with a customer-managed KMS key and TLS-only. Not the AWS-managed
 * `alias/aws/sns` key: its policy cannot be changed, so CloudWatch could not use it to publish an alarm.
 */
export class AlertTopics extends Construct {
  readonly key: Key;
  readonly topics: Readonly<Record<Severity, Topic>>;

  constructor(scope: Construct, id: string, props: AlertTopicsProps) {
    super(scope, id);
    const invalid = SEVERITIES.flatMap((severity) =>
      props.emails[severity].filter((email) => !EMAIL.test(email)).map((email) => `${severity}: "${email}"`),
    );
    if (invalid.length > 0) throw new MonitoringConfigError(`AlertTopics "${id}": not e-mail addresses: ${invalid.join(', ')}`);

    const { account, region, partition } = Stack.of(this);
    // Only CloudWatch alarms of this account may publish (confused-deputy guard on both key and topics).
    const fromOwnAlarms = {
      StringEquals: { 'aws:SourceAccount': account },
      ArnLike: { 'aws:SourceArn': `arn:${partition}:cloudwatch:${region}:${account}:alarm:*` },
    };
    // Retained when the stack goes, but not by a failed deploy that created it (no key left behind by each attempt).
    this.key = new Key(this, 'Key', {
      description: `payment-monitor ${props.stage}: encrypts the alert topics`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToAlertTopics',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'], // in a key policy, "*" is this key
        conditions: fromOwnAlarms,
      }),
    );

    const topic = (severity: Severity) => {
      const created = new Topic(this, severity === 'warning' ? 'Warning' : 'Critical', {
        topicName: `payment-monitor-${props.stage}-${severity}`,
        displayName: `payment-monitor ${props.stage} ${severity}`,
        masterKey: this.key,
        enforceSSL: true,
      });
      created.addToResourcePolicy(
        new PolicyStatement({
          sid: 'CloudWatchAlarmsPublish',
          principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [created.topicArn],
          conditions: fromOwnAlarms,
        }),
      );
      for (const email of props.emails[severity]) created.addSubscription(new EmailSubscription(email));
      return created;
    };
    this.topics = { warning: topic('warning'), critical: topic('critical') };
  }
}
