import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_ALARM_THRESHOLDS,
  MonitoringConfigError,
  PaymentMonitorMonitoring,
  resolveAlarmThresholds,
} from '../../lib/constructs/monitoring/index.js';
import { ACCOUNT, buildMonitoringStack, REGION, watchedResources, type MonitoringFixture } from './monitoring-fixture.js';

type AlarmProperties = Record<string, unknown> & { AlarmName: string; AlarmActions: unknown[]; OKActions: unknown[] };

const LAMBDAS = [
  { Name: 'service', Value: 'payment-monitor' },
  { Name: 'stage', Value: 'prod' },
];
const FOLLOWER = [
  { Name: 'service', Value: 'payment-monitor-follower' },
  { Name: 'stage', Value: 'prod' },
];

function alarmsOf(template: Template): Map<string, AlarmProperties> {
  const resources = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as { Properties: AlarmProperties }[];
  return new Map(resources.map(({ Properties }) => [Properties.AlarmName, Properties]));
}

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as never);
}

describe('PaymentMonitorMonitoring: the tutorial alert rules', () => {
  let f: MonitoringFixture;
  let alarms: Map<string, AlarmProperties>;
  let warningTopic: object;
  let criticalTopic: object;
  beforeAll(() => {
    f = buildMonitoringStack();
    alarms = alarmsOf(f.template);
    warningTopic = { Ref: logicalId(f.stack, f.monitoring.topics.warning as never) };
    criticalTopic = { Ref: logicalId(f.stack, f.monitoring.topics.critical as never) };
  });

  // Each tutorial rule: metric, statistic, threshold, periods, missing data, and the topic of its severity.
  it.each([
    ['payment-monitor-prod-SyncLag', 'sync_lag_blocks', 'Maximum', 'GreaterThanThreshold', 50, 60, 5, 'breaching', 'warning'],
    ['payment-monitor-prod-SyncLagCritical', 'sync_lag_blocks', 'Maximum', 'GreaterThanThreshold', 200, 60, 2, 'notBreaching', 'critical'],
    ['payment-monitor-prod-NoPaymentsDetected', 'payments_detected', 'Sum', 'LessThanThreshold', 1, 3600, 6, 'breaching', 'warning'],
    ['payment-monitor-prod-HotWalletLow', 'hot_wallet_balance_ada', 'Minimum', 'LessThanThreshold', 50_000, 60, 5, 'ignore', 'warning'],
    [
      'payment-monitor-prod-HotWalletCritical',
      'hot_wallet_balance_ada',
      'Minimum',
      'LessThanThreshold',
      10_000,
      60,
      1,
      'ignore',
      'critical',
    ],
  ] as const)(
    '%s watches %s (%s) %s %d, %ds × %d, missing data %s, to the %s topic',
    (name, metric, statistic, comparison, threshold, period, periods, missing, severity) => {
      const alarm = alarms.get(name);
      expect(alarm, `${name} exists`).toBeDefined();
      expect(alarm).toMatchObject({
        Namespace: 'PaymentMonitor',
        MetricName: metric,
        Dimensions: LAMBDAS,
        Statistic: statistic,
        ComparisonOperator: comparison,
        Threshold: threshold,
        Period: period,
        // The hot-wallet alarms tolerate one missing minute in their window (M of N): the count does not start over.
        EvaluationPeriods: name.includes('HotWallet') ? periods + 1 : periods,
        DatapointsToAlarm: periods,
        TreatMissingData: missing,
      });
      const topic = severity === 'warning' ? warningTopic : criticalTopic;
      expect(alarm!.AlarmActions).toEqual([topic]);
      expect(alarm!.OKActions).toEqual([topic]);
    },
  );

  it('alarms on payments over all reference types (the aggregate series, no reference_type dimension)', () => {
    for (const name of ['payment-monitor-prod-NoPaymentsDetected', 'payment-monitor-prod-PaymentReversed']) {
      expect(alarms.get(name)!.Dimensions).toEqual(LAMBDAS);
    }
  });
});

describe('PaymentMonitorMonitoring: the product alarms', () => {
  let f: MonitoringFixture;
  let alarms: Map<string, AlarmProperties>;
  beforeAll(() => {
    f = buildMonitoringStack();
    alarms = alarmsOf(f.template);
  });

  it('DLQ not empty: visible messages of the DLQ > 0 in one minute, critical', () => {
    expect(alarms.get('payment-monitor-prod-DeadLetterQueueNotEmpty')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(f.stack, f.queue.deadLetterQueue), 'QueueName'] } }],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      Period: 60,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: logicalId(f.stack, f.monitoring.topics.critical as never) }],
    });
  });

  it('queue age: the oldest message of the main queue older than 300 s for 5 minutes', () => {
    expect(alarms.get('payment-monitor-prod-QueueOldestMessageAge')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(f.stack, f.queue.queue), 'QueueName'] } }],
      Threshold: 300,
      Period: 60,
      EvaluationPeriods: 5,
    });
  });

  it('stale chain events: the oldest message of the main queue older than 900 s pages at once (critical), next to the 300 s warning', () => {
    const critical = { Ref: logicalId(f.stack, f.monitoring.topics.critical as never) };
    expect(alarms.get('payment-monitor-prod-ChainEventsStale')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(f.stack, f.queue.queue), 'QueueName'] } }],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 900,
      Period: 60,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [critical],
    });
    expect(alarms.get('payment-monitor-prod-QueueOldestMessageAge')!.AlarmActions).toEqual([
      { Ref: logicalId(f.stack, f.monitoring.topics.warning as never) },
    ]);
  });

  it('database unreachable: database_reachable < 1 in 3 of 3 minutes, missing data breaching, critical (pages within 5 minutes)', () => {
    const alarm = alarms.get('payment-monitor-prod-DatabaseUnreachable');
    expect(alarm).toMatchObject({
      Namespace: 'PaymentMonitor',
      MetricName: 'database_reachable',
      Dimensions: LAMBDAS,
      Statistic: 'Minimum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      Period: 60,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: logicalId(f.stack, f.monitoring.topics.critical as never) }],
    });
    // The bound: the window the alarm needs, plus a minute for the last run and CloudWatch, within 5 minutes.
    expect(((alarm!.Period as number) * (alarm!.DatapointsToAlarm as number)) / 60 + 1).toBeLessThanOrEqual(5);
  });

  it('follower tasks below two: Container Insights RunningTaskCount of the service < 2 in every minute for 10 minutes, missing data breaching, warning', () => {
    expect(alarms.get('payment-monitor-prod-FollowerTasksBelowTwo')).toMatchObject({
      Namespace: 'ECS/ContainerInsights',
      MetricName: 'RunningTaskCount',
      Dimensions: [
        { Name: 'ClusterName', Value: 'payment-monitor-prod' },
        { Name: 'ServiceName', Value: 'payment-monitor-prod-follower' },
      ],
      Statistic: 'Minimum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 2,
      Period: 60,
      EvaluationPeriods: 10,
      DatapointsToAlarm: 10,
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: logicalId(f.stack, f.monitoring.topics.warning as never) }],
    });
  });

  it('pipeline halted: pipeline_halted > 0 in one minute, critical, the last state kept while nothing is reported', () => {
    const alarm = alarms.get('payment-monitor-prod-PipelineHalted');
    expect(alarm).toMatchObject({
      Namespace: 'PaymentMonitor',
      MetricName: 'pipeline_halted',
      Dimensions: LAMBDAS,
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      Period: 60,
      EvaluationPeriods: 1,
      TreatMissingData: 'ignore',
      AlarmActions: [{ Ref: logicalId(f.stack, f.monitoring.topics.critical as never) }],
    });
    expect(alarm!.AlarmDescription).toContain('npm run cli -- pipeline resume');
    expect(alarm!.AlarmDescription).toContain('{"resumePipeline": true}');
    expect(alarm!.AlarmDescription).toContain('SELECT * FROM pipeline_recoveries ORDER BY id DESC LIMIT 20');
  });

  it('pipeline recoveries: more than 2 in an hour over both kinds (the series without the kind dimension), warning', () => {
    expect(alarms.get('payment-monitor-prod-PipelineRecoveries')).toMatchObject({
      Namespace: 'PaymentMonitor',
      MetricName: 'pipeline_recoveries',
      Dimensions: LAMBDAS,
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 2,
      Period: 3600,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: logicalId(f.stack, f.monitoring.topics.warning as never) }],
    });
  });

  it('messages of another release dropped in every 5 minutes for 15 minutes (a stranded deploy), critical', () => {
    const alarm = alarms.get('payment-monitor-prod-OtherReleaseMessages');
    expect(alarm).toMatchObject({
      Namespace: 'PaymentMonitor',
      MetricName: 'other_release_messages_dropped',
      Dimensions: LAMBDAS,
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      Period: 300,
      EvaluationPeriods: 3,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: logicalId(f.stack, f.monitoring.topics.critical as never) }],
    });
    expect(alarm!.AlarmDescription).toContain('Deploy one release to both');
  });

  it('processor errors, throttles and failed records, each in every 5 minutes for 10 minutes', () => {
    const processor = { Ref: logicalId(f.stack, f.stack.node.findChild('Processor') as never) };
    for (const [name, metric] of [
      ['ProcessorErrors', 'Errors'],
      ['ProcessorThrottles', 'Throttles'],
    ] as const) {
      expect(alarms.get(`payment-monitor-prod-${name}`)).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: metric,
        Dimensions: [{ Name: 'FunctionName', Value: processor }],
        Statistic: 'Sum',
        Threshold: 0,
        Period: 300,
        EvaluationPeriods: 2,
        TreatMissingData: 'notBreaching',
      });
    }
    expect(alarms.get('payment-monitor-prod-ProcessorMessagesFailed')).toMatchObject({
      Namespace: 'PaymentMonitor',
      MetricName: 'messages_failed',
      Dimensions: LAMBDAS,
      Statistic: 'Sum',
    });
  });

  it('one errors alarm per operations function, on that function', () => {
    const labels = ['Health', 'Reconciliation', 'Rebuild', 'HotWalletFunction', 'BackupExport', 'Migration', 'PartitionMaintenance'];
    const names = ['health', 'reconciliation', 'rebuild', 'hot-wallet', 'backup-export', 'migration', 'partition-maintenance'];
    labels.forEach((label, i) => {
      expect(alarms.get(`payment-monitor-prod-${label}Errors`)).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: `payment-monitor-prod-${names[i]}` }],
        Period: 300,
        EvaluationPeriods: 1,
      });
    });
  });

  it('follower: no leader (sum of follower_leader < 1) and not emitting, silence counting as breaching', () => {
    expect(alarms.get('payment-monitor-prod-FollowerNoLeader')).toMatchObject({
      Namespace: 'PaymentMonitor',
      MetricName: 'follower_leader',
      Dimensions: FOLLOWER,
      Statistic: 'Sum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      Period: 60,
      EvaluationPeriods: 5,
      TreatMissingData: 'breaching',
    });
    expect(alarms.get('payment-monitor-prod-FollowerNotEmitting')).toMatchObject({
      MetricName: 'follower_events_emitted',
      Dimensions: FOLLOWER,
      Statistic: 'Sum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      Period: 300,
      EvaluationPeriods: 2,
      TreatMissingData: 'breaching',
    });
  });

  it('reconciliation: discrepancies and balance mismatches > 0 keep their state until the next run; a missed run after 26 h', () => {
    for (const [name, metric] of [
      ['ReconciliationDiscrepancies', 'reconciliation_discrepancies'],
      ['BalanceMismatches', 'balance_mismatches'],
    ] as const) {
      expect(alarms.get(`payment-monitor-prod-${name}`)).toMatchObject({
        MetricName: metric,
        Dimensions: LAMBDAS,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'ignore',
      });
    }
    expect(alarms.get('payment-monitor-prod-ReconciliationMissed')).toMatchObject({
      MetricName: 'reconciliation_runs',
      Statistic: 'Sum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      Period: 3600,
      EvaluationPeriods: 26,
      DatapointsToAlarm: 26,
      TreatMissingData: 'breaching',
    });
  });

  it('any reversed payment pages at once (critical), with no OK mail after it (an event: it clears itself a minute later)', () => {
    const reversed = alarms.get('payment-monitor-prod-PaymentReversed')!;
    expect(reversed).toMatchObject({
      MetricName: 'payments_reversed',
      Statistic: 'Sum',
      Threshold: 0,
      Period: 60,
      EvaluationPeriods: 1,
      AlarmActions: [{ Ref: logicalId(f.stack, f.monitoring.topics.critical as never) }],
    });
    expect(reversed.OKActions).toBeUndefined();
  });

  it('a missed hot-wallet minute neither raises, clears nor restarts the hot-wallet alarms (ignore, 5 of 6 and 1 of 2 minutes)', () => {
    expect(alarms.get('payment-monitor-prod-HotWalletLow')).toMatchObject({
      EvaluationPeriods: 6,
      DatapointsToAlarm: 5,
      TreatMissingData: 'ignore',
    });
    expect(alarms.get('payment-monitor-prod-HotWalletCritical')).toMatchObject({
      EvaluationPeriods: 2,
      DatapointsToAlarm: 1,
      TreatMissingData: 'ignore',
    });
    // A stage's longest window still fits CloudWatch's one-day range with the tolerated minute.
    expect(resolveAlarmThresholds({ hotWalletBalance: { warning: { forMinutes: 1440 } } }).problems).toEqual([
      "alarms.hotWalletBalance.warning.forMinutes must be at most 1439 (CloudWatch's evaluation range for a 1-minute period; got 1440)",
    ]);
  });

  it('database CPU, connections and free storage as a share of the maximum storage (autoscaling ceiling)', () => {
    const db = [{ Name: 'DBInstanceIdentifier', Value: 'payment-monitor-prod-db' }];
    expect(alarms.get('payment-monitor-prod-DatabaseCpuHigh')).toMatchObject({
      Namespace: 'AWS/RDS',
      MetricName: 'CPUUtilization',
      Dimensions: db,
      Statistic: 'Average',
      Threshold: 80,
      Period: 300,
      EvaluationPeriods: 3,
    });
    expect(alarms.get('payment-monitor-prod-DatabaseConnectionsHigh')).toMatchObject({
      MetricName: 'DatabaseConnections',
      Dimensions: db,
      Threshold: 80,
    });
    // 5% and 2% of the fixture's 400 GiB maximum (200 GiB allocated, autoscaling to 2×), in bytes.
    expect(alarms.get('payment-monitor-prod-DatabaseFreeStorageLow')).toMatchObject({
      MetricName: 'FreeStorageSpace',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 20 * 1024 ** 3,
      EvaluationPeriods: 6,
    });
    expect(alarms.get('payment-monitor-prod-DatabaseFreeStorageCritical')).toMatchObject({
      MetricName: 'FreeStorageSpace',
      Threshold: 8 * 1024 ** 3,
    });
    // Both lie below autoscaling's own trigger (10% free of the current allocation: 20 GiB at the first 200 GiB, 40 GiB
    // at the ceiling), so neither fires while autoscaling can still add space; the warning gives it 30 minutes.
    const allocated = 200 * 1024 ** 3;
    expect(alarms.get('payment-monitor-prod-DatabaseFreeStorageLow')!.Threshold as number).toBeLessThanOrEqual(0.1 * allocated);
    expect(alarms.get('payment-monitor-prod-DatabaseFreeStorageCritical')!.Threshold as number).toBeLessThan(0.1 * allocated);
  });

  it('names every alarm after the stage and gives each a runbook line as its description', () => {
    expect(alarms.size).toBe(f.monitoring.alarms.length);
    for (const [name, alarm] of alarms) {
      expect(name).toMatch(/^payment-monitor-prod-[A-Za-z]+$/);
      expect(alarm.AlarmDescription).toMatch(/^\[(warning|critical)\] .{60,}/);
      expect((alarm.AlarmDescription as string).length).toBeLessThanOrEqual(1024);
      // ALARM and OK to the same topic, except for an event (PaymentReversed, InvoiceInvalidated, PayoutFailed,
      // PayoutDailyLimitReached): ALARM only.
      if (/(PaymentReversed|InvoiceInvalidated|PayoutFailed|PayoutDailyLimitReached)$/.test(name)) expect(alarm.OKActions).toBeUndefined();
      else expect(alarm.AlarmActions).toEqual(alarm.OKActions);
    }
  });
});

describe('PaymentMonitorMonitoring: alert topics', () => {
  let f: MonitoringFixture;
  beforeAll(() => {
    f = buildMonitoringStack();
  });

  it('encrypts both topics with a rotated customer-managed key that CloudWatch alarms of this account may use', () => {
    f.template.resourceCountIs('AWS::KMS::Key', 1);
    f.template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': ACCOUNT } }),
          }),
        ]),
      },
    });
    const keyArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^MonitoringAlertTopicsKey'), 'Arn'] };
    f.template.resourceCountIs('AWS::SNS::Topic', 2);
    f.template.hasResourceProperties('AWS::SNS::Topic', { TopicName: 'payment-monitor-prod-warning', KmsMasterKeyId: keyArn });
    f.template.hasResourceProperties('AWS::SNS::Topic', { TopicName: 'payment-monitor-prod-critical', KmsMasterKeyId: keyArn });
  });

  it("accepts only TLS and lets only this account's alarms publish", () => {
    f.template.resourceCountIs('AWS::SNS::TopicPolicy', 2);
    f.template.allResourcesProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: {
              StringEquals: { 'aws:SourceAccount': ACCOUNT },
              ArnLike: {
                'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:cloudwatch:${REGION}:${ACCOUNT}:alarm:*`]] },
              },
            },
          }),
        ]),
      },
    });
  });

  it("subscribes the stage's addresses by e-mail to the topic of their severity", () => {
    const subscriptions = Object.values(f.template.findResources('AWS::SNS::Subscription')) as {
      Properties: { Protocol: string; Endpoint: string; TopicArn: { Ref: string } };
    }[];
    const bySeverity = (topic: object) =>
      subscriptions
        .filter((s) => s.Properties.TopicArn.Ref === logicalId(f.stack, topic as never))
        .map((s) => [s.Properties.Protocol, s.Properties.Endpoint]);
    expect(bySeverity(f.monitoring.topics.warning)).toEqual([['email', 'oncall@example.com']]);
    expect(bySeverity(f.monitoring.topics.critical)).toEqual([
      ['email', 'oncall@example.com'],
      ['email', 'lead@example.com'],
    ]);
  });

  it('creates the topics without subscriptions when a stage has no addresses', () => {
    const { template } = buildMonitoringStack({ alertEmails: { warning: [], critical: [] } }, 'dev');
    template.resourceCountIs('AWS::SNS::Topic', 2);
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('PaymentMonitorMonitoring: stage choices and invariants', () => {
  it('creates no hot-wallet alarm in a stage that watches no hot-wallet address, and says so on the dashboard', () => {
    const { monitoring, template } = buildMonitoringStack({ hotWalletAddresses: [] });
    expect(monitoring.alarms.map((a) => a.rule.name)).not.toContain('HotWalletLow');
    expect([...alarmsOf(template).keys()].filter((name) => /HotWallet(Low|Critical)$/.test(name))).toEqual([]);
    expect(JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'))).toContain('watches no hot-wallet address');
  });

  it("applies a stage's overrides and leaves out a disabled alarm", () => {
    const { thresholds, problems } = resolveAlarmThresholds({
      syncLag: { warning: { threshold: 100, forMinutes: 10 } },
      noPaymentsDetected: { warning: { enabled: false } },
    });
    expect(problems).toEqual([]);
    const alarms = alarmsOf(buildMonitoringStack({ thresholds }).template);
    expect(alarms.get('payment-monitor-prod-SyncLag')).toMatchObject({ Threshold: 100, EvaluationPeriods: 10, DatapointsToAlarm: 10 });
    expect(alarms.get('payment-monitor-prod-SyncLagCritical')).toMatchObject({ Threshold: 200, EvaluationPeriods: 2 });
    expect(alarms.has('payment-monitor-prod-NoPaymentsDetected')).toBe(false);
  });

  it('watches only the operations functions it is given', () => {
    const alarms = alarmsOf(buildMonitoringStack({ functions: {}, hotWalletAddresses: [] }).template);
    // ApiServerErrors watches API Gateway's 5xx, PayoutSignerErrors the payout processor's own count: not a function.
    expect(
      [...alarms.keys()].filter((name) => name.endsWith('Errors') && !name.endsWith('ServerErrors') && !name.endsWith('SignerErrors')),
    ).toEqual(['payment-monitor-prod-ProcessorErrors']);
  });

  it('takes the database by identifier as well as by construct', () => {
    const alarms = alarmsOf(buildMonitoringStack({ database: { instanceIdentifier: 'pm-db', maxAllocatedStorageGiB: 100 } }).template);
    expect(alarms.get('payment-monitor-prod-DatabaseCpuHigh')!.Dimensions).toEqual([{ Name: 'DBInstanceIdentifier', Value: 'pm-db' }]);
    expect(alarms.get('payment-monitor-prod-DatabaseFreeStorageLow')!.Threshold).toBe(5 * 1024 ** 3);
  });

  it('refuses invalid props before creating anything, listing every problem', () => {
    const stack = new Stack(new App(), 'Invalid', { env: { account: ACCOUNT, region: REGION } });
    const props = watchedResources(stack);
    const create = () =>
      new PaymentMonitorMonitoring(stack, 'Monitoring', {
        ...props,
        stage: 'Prod!',
        deadLetterQueue: props.chainEventQueue,
        database: { instanceIdentifier: 'db', maxAllocatedStorageGiB: 5 },
        functions: { health: props.functions!.health! },
        frontDoor: { apis: [], webhookQueue: props.frontDoor.webhookQueue, webhookDeadLetterQueue: props.frontDoor.webhookQueue },
        thresholds: {
          ...DEFAULT_ALARM_THRESHOLDS,
          syncLag: { warning: DEFAULT_ALARM_THRESHOLDS.syncLag.critical, critical: DEFAULT_ALARM_THRESHOLDS.syncLag.warning },
        },
      });
    expect(create).toThrow(MonitoringConfigError);
    expect(create).toThrow(
      new RegExp(
        [
          'critical threshold \\(50\\) must be above the warning threshold \\(200\\)',
          'stage must be lower-case',
          'deadLetterQueue must be the DLQ',
          'frontDoor.webhookDeadLetterQueue must be the DLQ',
          'frontDoor.apis must name the REST API',
          'maxAllocatedStorageGiB must be a whole number ≥ 20 \\(got 5\\)',
          'hotWalletAddresses are set but functions.hotWallet is missing',
        ].join('[\\s\\S]*'),
      ),
    );
    expect(stack.node.tryFindChild('Monitoring')?.node.children.length ?? 0).toBe(0);
  });

  it('refuses an alert address that is not one', () => {
    expect(() => buildMonitoringStack({ alertEmails: { warning: ['oncall'], critical: [] } })).toThrow(
      /not e-mail addresses: warning: "oncall"/,
    );
  });
});

describe('PaymentMonitorMonitoring: dashboard', () => {
  let body: string;
  let f: MonitoringFixture;
  beforeAll(() => {
    f = buildMonitoringStack();
    const dashboards = Object.values(f.template.findResources('AWS::CloudWatch::Dashboard')) as {
      Properties: { DashboardName: string; DashboardBody: unknown };
    }[];
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0]!.Properties.DashboardName).toBe('payment-monitor-prod');
    body = JSON.stringify(dashboards[0]!.Properties.DashboardBody);
  });

  it('has a widget for every view the issue asks for', () => {
    const titles = [
      'Alarms',
      'Applied height vs network tip',
      'Sync lag (blocks)',
      'Payments detected by reference type',
      'Payments confirmed by reference type',
      'Payment value (ADA)',
      'Block processing (seconds per event)',
      'Rollbacks',
      'Chain-event queue: depth and age',
      'Dead-letter queue',
      'Lambda errors',
      'Lambda duration p99 (ms)',
      'Follower: leader and Ogmios connection',
      'Reconciliation results (per hour)',
      'Hot-wallet balance (ADA)',
    ];
    for (const title of titles) expect(body, title).toContain(title);
  });

  it('splits payments by reference type with SEARCH expressions of the stage', () => {
    for (const metric of ['payments_detected', 'payments_confirmed']) {
      expect(body).toContain(
        `SEARCH('{PaymentMonitor,reference_type,service,stage} MetricName=\\\\\\"${metric}\\\\\\" service=\\\\\\"payment-monitor\\\\\\" stage=\\\\\\"prod\\\\\\"', 'Sum', 300)`,
      );
    }
  });

  it('shows payment value p50/p90/p99, block processing p50/p99 and the tip next to the applied height', () => {
    for (const stat of ['p50', 'p90', 'p99']) expect(body).toMatch(new RegExp(`payment_value_ada[^\\]]*"stat\\\\":\\\\"${stat}`));
    for (const stat of ['p50', 'p99']) expect(body).toMatch(new RegExp(`block_processing_seconds[^\\]]*"stat\\\\":\\\\"${stat}`));
    expect(body).toContain('chain_tip_height');
    expect(body).toContain('sync_height');
  });

  it('lists every alarm in the alarm status widget', () => {
    for (const { alarm } of f.monitoring.alarms) expect(body).toContain(logicalId(f.stack, alarm));
  });
});

describe('PaymentMonitorMonitoring: cdk-nag', () => {
  it("has no AwsSolutions finding (the fixture's own processor acknowledged)", () => {
    const app = new App();
    const stack = new Stack(app, 'Nag', { env: { account: ACCOUNT, region: REGION } });
    new PaymentMonitorMonitoring(stack, 'Monitoring', watchedResources(stack));
    // The throwaway processor is not part of the monitoring; the real one is built and checked by its stack.
    const processor = stack.node.findChild('Processor');
    Validations.of(processor).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'Test fixture: the inline processor uses the basic execution role.',
    });
    Validations.of(processor).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'Test fixture: the inline processor pins a runtime for a stable template.',
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});
