/**
 * The synthesized alarms projected back into a rule table (name, metric, condition, duration, severity, missing
 * data), printed so it reads like the tutorial's rule file, asserted against that file's rules, and compared
 * with the README's "Alarm catalogue" so the documentation cannot drift from the template.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CreatedAlarm } from '../../lib/constructs/monitoring/index.js';
import { buildMonitoringStack, type MonitoringFixture } from './monitoring-fixture.js';

interface Row {
  alarm: string;
  tutorialRule: string;
  metric: string;
  condition: string;
  duration: string;
  severity: string;
  missingData: string;
}

type MetricStat = {
  Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: unknown }[] };
  Period: number;
  Stat: string;
};
type AlarmProperties = {
  AlarmName: string;
  AlarmDescription: string;
  Namespace: string;
  MetricName: string;
  Dimensions: { Name: string; Value: unknown }[];
  Statistic: string;
  /** A metric-math alarm (a sum over the REST APIs): the series it adds up, and the expression. */
  Metrics?: { Id: string; Expression?: string; MetricStat?: MetricStat }[];
  ComparisonOperator: string;
  Threshold: number;
  Period: number;
  EvaluationPeriods: number;
  DatapointsToAlarm: number;
  TreatMissingData: string;
  AlarmActions: { Ref: string }[];
};

const MAX_STORAGE_GIB = 400; // the fixture's database: 200 GiB autoscaling to 2×
const PER_FUNCTION = '<Function>Errors';

/** What an operator reads: the alarm as CloudWatch will evaluate it, from the template alone (plus the rule's unit). */
function project(f: MonitoringFixture): { rows: Row[]; descriptions: Map<string, string> } {
  const byLogicalId = f.template.findResources('AWS::CloudWatch::Alarm') as Record<string, { Properties: AlarmProperties }>;
  const topicSeverity = new Map(
    (['warning', 'critical'] as const).map((severity) => [
      f.stack.getLogicalId(f.monitoring.topics[severity].node.defaultChild as never),
      severity,
    ]),
  );
  const rows: Row[] = [];
  const descriptions = new Map<string, string>();
  for (const created of f.monitoring.alarms) {
    const alarm = flatten(byLogicalId[f.stack.getLogicalId(created.alarm.node.defaultChild as never)]!.Properties);
    const name = alarm.AlarmName.replace(/^payment-monitor-prod-/, '');
    const shownName = created.functionName ? PER_FUNCTION : name;
    if (rows.some((row) => row.alarm === shownName)) continue;
    rows.push({
      alarm: shownName,
      tutorialRule: created.rule.tutorialRule ?? '',
      metric: metricOf(alarm, created),
      condition: conditionOf(alarm, created),
      duration: durationOf(alarm),
      severity: topicSeverity.get(alarm.AlarmActions[0]!.Ref)!,
      missingData: alarm.TreatMissingData,
    });
    descriptions.set(shownName, alarm.AlarmDescription.replace(/^\[(warning|critical)\] /, ''));
  }
  return { rows, descriptions };
}

/**
 * A metric-math alarm read as one metric: `FILL(a, 0) + FILL(b, 0) …` over the same metric of several REST APIs becomes
 * "<metric> (all APIs)" with their common statistic and period; anything else fails the test.
 */
function flatten(alarm: AlarmProperties): AlarmProperties & { allApis?: boolean } {
  if (!alarm.Metrics) return alarm;
  const stats = alarm.Metrics.filter((metric) => metric.MetricStat).map((metric) => metric.MetricStat!);
  const [expression] = alarm.Metrics.filter((metric) => metric.Expression);
  expect(expression!.Expression).toBe(stats.map((_, i) => `FILL(${alarm.Metrics!.filter((m) => m.MetricStat)[i]!.Id}, 0)`).join(' + '));
  const first = stats[0]!;
  for (const stat of stats) {
    expect([stat.Metric.Namespace, stat.Metric.MetricName, stat.Stat, stat.Period]).toEqual([
      first.Metric.Namespace,
      first.Metric.MetricName,
      first.Stat,
      first.Period,
    ]);
  }
  expect(new Set(stats.map((stat) => JSON.stringify(stat.Metric.Dimensions))).size).toBe(stats.length);
  return {
    ...alarm,
    Namespace: first.Metric.Namespace,
    MetricName: first.Metric.MetricName,
    Dimensions: first.Metric.Dimensions,
    Statistic: first.Stat,
    Period: first.Period,
    allApis: first.Metric.Namespace === 'AWS/ApiGateway' && stats.length > 1,
  };
}

function metricOf(alarm: AlarmProperties & { allApis?: boolean }, created: CreatedAlarm): string {
  const where =
    alarm.Namespace === 'PaymentMonitor'
      ? alarm.Dimensions.find((d) => d.Name === 'service')!.Value === 'payment-monitor-follower'
        ? ' (follower)'
        : ''
      : alarm.Namespace === 'AWS/SQS'
        ? created.rule.metric.kind === 'queue'
          ? { chainEvents: ' (queue)', deadLetter: ' (DLQ)', webhooks: ' (webhook queue)', webhookDeadLetter: ' (webhook DLQ)' }[
              created.rule.metric.queue
            ]
          : ''
        : alarm.allApis
          ? ' (all APIs)'
          : alarm.Namespace === 'AWS/Lambda'
            ? created.functionName
              ? ' (each function)'
              : ' (processor)'
            : alarm.Namespace === 'ECS/ContainerInsights'
              ? ' (follower service)'
              : '';
  const namespace = alarm.Namespace === 'PaymentMonitor' ? '' : `${alarm.Namespace} `;
  return `${namespace}${alarm.MetricName}${where}, ${alarm.Statistic}`;
}

function conditionOf(alarm: AlarmProperties, created: CreatedAlarm): string {
  const operator = ({ GreaterThanThreshold: '>', GreaterThanOrEqualToThreshold: '≥', LessThanThreshold: '<' } as Record<string, string>)[
    alarm.ComparisonOperator
  ]!;
  const threshold =
    alarm.MetricName === 'FreeStorageSpace'
      ? `${Math.round((alarm.Threshold / (MAX_STORAGE_GIB * 1024 ** 3)) * 100)}`
      : alarm.Threshold.toLocaleString('en-US');
  const unit = created.rule.unit;
  return `${operator} ${threshold}${unit.startsWith('%') || unit === 's' ? '' : ' '}${unit}`;
}

/** "5 min (5 × 1 min)": every period breaches; "5 min (5 of 6 × 1 min)": M of N, a missing period tolerated. */
function durationOf(alarm: AlarmProperties): string {
  const minutes = alarm.Period / 60;
  const total = minutes * alarm.DatapointsToAlarm;
  const human = total % 60 === 0 ? `${total / 60} h` : `${total} min`;
  const each = minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`;
  if (alarm.DatapointsToAlarm !== alarm.EvaluationPeriods)
    return `${human} (${alarm.DatapointsToAlarm} of ${alarm.EvaluationPeriods} × ${each})`;
  return alarm.EvaluationPeriods === 1 ? `${human} (1 period)` : `${human} (${alarm.EvaluationPeriods} × ${each})`;
}

function markdown(rows: Row[]): string {
  const header = '| tutorial rule | alarm (`payment-monitor-<stage>-…`) | metric | condition | for | severity | missing data |';
  const lines = rows.map(
    (r) => `| ${r.tutorialRule || '—'} | ${r.alarm} | ${r.metric} | ${r.condition} | ${r.duration} | ${r.severity} | ${r.missingData} |`,
  );
  return [header, '| --- | --- | --- | --- | --- | --- | --- |', ...lines].join('\n');
}

/** The rule file: the tutorial's five rules first, then the product's own. Defaults, as shipped. */
const EXPECTED: string[] = [
  'PaymentMonitorSyncLag | SyncLag | sync_lag_blocks, Maximum | > 50 blocks | 5 min (5 × 1 min) | warning | breaching',
  'PaymentMonitorSyncLagCritical | SyncLagCritical | sync_lag_blocks, Maximum | > 200 blocks | 2 min (2 × 1 min) | critical | notBreaching',
  'NoPaymentsDetected | NoPaymentsDetected | payments_detected, Sum | < 1 payments | 6 h (6 × 1 h) | warning | breaching',
  'HotWalletLow | HotWalletLow | hot_wallet_balance_ada, Minimum | < 50,000 ADA | 5 min (5 of 6 × 1 min) | warning | ignore',
  'HotWalletCritical | HotWalletCritical | hot_wallet_balance_ada, Minimum | < 10,000 ADA | 1 min (1 of 2 × 1 min) | critical | ignore',
  ' | DeadLetterQueueNotEmpty | AWS/SQS ApproximateNumberOfMessagesVisible (DLQ), Maximum | > 0 messages | 1 min (1 period) | critical | notBreaching',
  ' | QueueOldestMessageAge | AWS/SQS ApproximateAgeOfOldestMessage (queue), Maximum | > 300s | 5 min (5 × 1 min) | warning | notBreaching',
  ' | ChainEventsStale | AWS/SQS ApproximateAgeOfOldestMessage (queue), Maximum | > 900s | 1 min (1 period) | critical | notBreaching',
  ' | ProcessorErrors | AWS/Lambda Errors (processor), Sum | > 0 errors | 10 min (2 × 5 min) | warning | notBreaching',
  ' | ProcessorMessagesFailed | messages_failed, Sum | > 0 messages | 10 min (2 × 5 min) | warning | notBreaching',
  ' | ProcessorThrottles | AWS/Lambda Throttles (processor), Sum | > 0 throttles | 10 min (2 × 5 min) | warning | notBreaching',
  ' | PipelineHalted | pipeline_halted, Maximum | > 0 (1 = halted) | 1 min (1 period) | critical | ignore',
  ' | PipelineRecoveries | pipeline_recoveries, Sum | > 2 recoveries | 1 h (1 period) | warning | notBreaching',
  ' | OtherReleaseMessages | other_release_messages_dropped, Sum | > 0 messages | 15 min (3 × 5 min) | critical | notBreaching',
  ' | <Function>Errors | AWS/Lambda Errors (each function), Sum | > 0 errors | 5 min (1 period) | warning | notBreaching',
  ' | FollowerNoLeader | follower_leader (follower), Sum | < 1 leaders | 5 min (5 × 1 min) | critical | breaching',
  ' | FollowerNotEmitting | follower_events_emitted (follower), Sum | < 1 events | 10 min (2 × 5 min) | warning | breaching',
  ' | FollowerTasksBelowTwo | ECS/ContainerInsights RunningTaskCount (follower service), Minimum | < 2 tasks | 10 min (10 × 1 min) | warning | breaching',
  ' | ReconciliationDiscrepancies | reconciliation_discrepancies, Maximum | > 0 discrepancies | 1 h (1 period) | critical | ignore',
  ' | BalanceMismatches | balance_mismatches, Maximum | > 0 users | 1 h (1 period) | critical | ignore',
  ' | PaymentReversed | payments_reversed, Sum | > 0 payments | 1 min (1 period) | critical | notBreaching',
  ' | InvoiceInvalidated | invoices_invalidated, Sum | > 0 invoices | 1 min (1 period) | critical | notBreaching',
  ' | ReconciliationMissed | reconciliation_runs, Sum | < 1 runs | 26 h (26 × 1 h) | warning | breaching',
  ' | DatabaseUnreachable | database_reachable, Minimum | < 1 (1 = reachable) | 3 min (3 × 1 min) | critical | breaching',
  ' | DatabaseCpuHigh | AWS/RDS CPUUtilization, Average | > 80% | 15 min (3 × 5 min) | warning | notBreaching',
  ' | DatabaseFreeStorageLow | AWS/RDS FreeStorageSpace, Minimum | < 5% of max storage free | 30 min (6 × 5 min) | warning | notBreaching',
  ' | DatabaseFreeStorageCritical | AWS/RDS FreeStorageSpace, Minimum | < 2% of max storage free | 5 min (1 period) | critical | notBreaching',
  ' | DatabaseConnectionsHigh | AWS/RDS DatabaseConnections, Maximum | > 80 connections | 10 min (2 × 5 min) | warning | notBreaching',
  ' | ApiServerErrors | AWS/ApiGateway 5XXError (all APIs), Sum | > 0 responses | 10 min (2 × 5 min) | warning | notBreaching',
  ' | OutboxStale | outbox_oldest_unpublished_age_seconds, Maximum | > 300s | 3 min (3 × 1 min) | warning | breaching',
  ' | WebhookEndpointFailing | webhook_longest_failing_seconds, Maximum | ≥ 3,600s | 5 min (1 period) | warning | notBreaching',
  ' | WebhookEndpointDisabled | webhook_endpoints_disabled, Maximum | > 0 endpoints | 5 min (1 period) | critical | notBreaching',
  ' | WebhookDeadLetterQueueNotEmpty | AWS/SQS ApproximateNumberOfMessagesVisible (webhook DLQ), Maximum | > 0 messages | 1 min (1 period) | warning | notBreaching',
  ' | WebhookDeliveryRunsFailing | webhook_delivery_run_failures, Sum | > 0 runs | 15 min (3 × 5 min) | warning | notBreaching',
  ' | PayoutStuck | payout_oldest_submitted_minutes, Maximum | > 30 min | 1 min (1 of 2 × 1 min) | warning | ignore',
  ' | PayoutNotSent | payout_oldest_approved_minutes, Maximum | > 30 min | 1 min (1 of 2 × 1 min) | warning | ignore',
  ' | PayoutFailed | payouts_failed, Sum | > 0 payouts | 1 min (1 period) | critical | notBreaching',
  ' | PayoutSignerErrors | payout_signer_errors, Sum | > 0 errors | 10 min (2 × 5 min) | warning | notBreaching',
  ' | PayoutBuildFailures | payout_build_failures, Sum | > 0 builds | 10 min (2 × 5 min) | warning | notBreaching',
  ' | PayoutDailyLimitReached | payout_daily_limit_refusals, Sum | > 0 requests | 5 min (1 period) | warning | notBreaching',
];

/** The README's catalogue table and runbook lines, as rows in the same shape. */
function readmeCatalogue(): { rows: string[]; runbooks: Map<string, string> } {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('## Alarm catalogue');
  expect(start, 'README has an "Alarm catalogue" section').toBeGreaterThan(0);
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const rows = section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| tutorial rule') && !line.startsWith('| ---'))
    .map((line) =>
      line
        .slice(2, -2)
        .split(' | ')
        .map((cell) => cell.replaceAll('`', '').replace(/^—$/, ''))
        .join(' | '),
    );
  const runbooks = new Map(
    section
      .split('\n')
      .map((line) => /^- \*\*(.+?)\*\*: (.*)$/.exec(line))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => [match[1]!.replaceAll('`', ''), match[2]!]),
  );
  return { rows, runbooks };
}

describe('the alarm table (projection of the synthesized template)', () => {
  let rows: Row[];
  let descriptions: Map<string, string>;
  beforeAll(() => {
    ({ rows, descriptions } = project(buildMonitoringStack()));
  });

  it('reads like the tutorial rule file, with the default thresholds', () => {
    const table = markdown(rows);
    console.log(`\nAlarms of a stage with the default thresholds:\n\n${table}\n`);
    expect(rows.map((r) => [r.tutorialRule, r.alarm, r.metric, r.condition, r.duration, r.severity, r.missingData].join(' | '))).toEqual(
      EXPECTED,
    );
  });

  it('agrees with the README alarm catalogue, row for row and runbook line for runbook line', () => {
    const readme = readmeCatalogue();
    expect(readme.rows).toEqual(EXPECTED);
    for (const [alarm, description] of descriptions) {
      expect(readme.runbooks.get(alarm), `README runbook line of ${alarm}`).toBe(description);
    }
    expect([...readme.runbooks.keys()].sort()).toEqual([...descriptions.keys()].sort());
  });
});
