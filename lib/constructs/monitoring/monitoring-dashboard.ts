import { Duration } from 'aws-cdk-lib';
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  MathExpression,
  TextWidget,
  type HorizontalAnnotation,
  type IAlarm,
  type IMetric,
  type IWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import {
  FollowerMetric,
  LeaseMetric,
  Metric,
  MetricDimension,
  OgmiosMetric,
  OutboxMetric,
  PayoutRequestMetric,
  ProcessorMetric,
  WebhookMetric,
} from '../../../functions/domain/observability.js';
import { GIB } from './alarm-rules.js';
import type { AlarmThresholds } from './alarm-thresholds.js';
import { FUNCTION_LABELS, OPERATIONS_FUNCTIONS, type WatchedMetrics } from './watched-metrics.js';

export interface MonitoringDashboardProps {
  readonly dashboardName: string;
  readonly metrics: WatchedMetrics;
  readonly thresholds: AlarmThresholds;
  readonly alarms: readonly IAlarm[];
  /** False when the stage watches no hot-wallet address: the widget says so instead of an empty graph. */
  readonly hotWalletMonitored: boolean;
}

const MINUTE = Duration.minutes(1);
const FIVE_MINUTES = Duration.minutes(5);
const HOUR = Duration.hours(1);

/**
 * The stage's one dashboard, top to bottom: alarm status; chain following (height vs tip, lag); payments
 * (by reference type, value distribution, block processing, rollbacks); the queue and the processor; every
 * function's errors and durations; the follower; reconciliation and the hot wallet; the HTTP API; the outbox and
 * the webhooks; payouts; the database.
 */
export function createMonitoringDashboard(scope: Construct, id: string, props: MonitoringDashboardProps): Dashboard {
  const { metrics: m, thresholds: t } = props;
  const lambdas = (name: string, statistic: string, period = MINUTE, label?: string) =>
    m.custom('lambdas', name, { statistic, period, label });
  const follower = (name: string, statistic: string, label?: string) => m.custom('follower', name, { statistic, period: MINUTE, label });
  const graph = (
    title: string,
    left: IMetric[],
    extra: { right?: IMetric[]; annotations?: HorizontalAnnotation[]; width?: number; stacked?: boolean } = {},
  ) =>
    new GraphWidget({
      title,
      left,
      right: extra.right,
      leftAnnotations: extra.annotations,
      width: extra.width ?? 8,
      height: 6,
      stacked: extra.stacked,
    });
  const line = (label: string, value: number, color: string): HorizontalAnnotation => ({ label, value, color });
  const functions = [
    { label: 'Processor', fn: m.watched.processor },
    ...OPERATIONS_FUNCTIONS.flatMap((name) =>
      m.watched.functions[name] ? [{ label: FUNCTION_LABELS[name], fn: m.watched.functions[name] }] : [],
    ),
  ];

  const rows: IWidget[][] = [
    [new AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: 24, height: 6 })],
    [
      graph(
        'Applied height vs network tip',
        [
          lambdas(Metric.syncHeight, 'Maximum', MINUTE, 'applied height'),
          follower(OgmiosMetric.tipHeight, 'Maximum', 'network tip (Ogmios)'),
          follower(FollowerMetric.emittedHeight, 'Maximum', 'emitted by the follower'),
        ],
        { width: 12 },
      ),
      graph('Sync lag (blocks)', [lambdas(Metric.syncLag, 'Maximum', MINUTE, 'lag')], {
        width: 12,
        annotations: [
          line('SyncLag', t.syncLag.warning.threshold, '#ff7f0e'),
          line('SyncLagCritical', t.syncLag.critical.threshold, '#d62728'),
        ],
      }),
    ],
    [
      graph(
        'Payments detected by reference type (per 5 min)',
        [m.searchBy(Metric.paymentsDetected, MetricDimension.referenceType, 'Sum', FIVE_MINUTES, '')],
        { stacked: true },
      ),
      graph(
        'Payments confirmed by reference type (per 5 min)',
        [m.searchBy(Metric.paymentsConfirmed, MetricDimension.referenceType, 'Sum', FIVE_MINUTES, '')],
        { stacked: true },
      ),
      graph('Payments reversed (all reference types)', [lambdas(Metric.paymentsReversed, 'Sum', FIVE_MINUTES, 'reversed')]),
    ],
    [
      graph(
        'Payment value (ADA)',
        ['p50', 'p90', 'p99'].map((p) => lambdas(Metric.paymentValueAda, p, FIVE_MINUTES, p)),
      ),
      graph(
        'Block processing (seconds per event)',
        ['p50', 'p99'].map((p) => lambdas(Metric.blockProcessingSeconds, p, FIVE_MINUTES, p)),
      ),
      graph('Rollbacks', [lambdas(Metric.rollbacks, 'Sum', FIVE_MINUTES, 'rollbacks')], {
        right: [lambdas(Metric.rollbackDepth, 'Maximum', FIVE_MINUTES, 'deepest (blocks)')],
      }),
    ],
    [
      graph(
        'Chain-event queue: depth and age',
        [
          m.queue('chainEvents', 'ApproximateNumberOfMessagesVisible', { statistic: 'Maximum', period: MINUTE, label: 'visible' }),
          m.queue('chainEvents', 'ApproximateNumberOfMessagesNotVisible', { statistic: 'Maximum', period: MINUTE, label: 'in flight' }),
        ],
        { right: [m.queue('chainEvents', 'ApproximateAgeOfOldestMessage', { statistic: 'Maximum', period: MINUTE, label: 'oldest (s)' })] },
      ),
      graph('Dead-letter queue', [
        m.queue('deadLetter', 'ApproximateNumberOfMessagesVisible', { statistic: 'Maximum', period: MINUTE, label: 'messages' }),
      ]),
      graph('Processor: failures', [
        m.lambda(m.watched.processor, 'Errors', { statistic: 'Sum', period: FIVE_MINUTES, label: 'invocation errors' }),
        m.lambda(m.watched.processor, 'Throttles', { statistic: 'Sum', period: FIVE_MINUTES, label: 'throttles' }),
        lambdas(ProcessorMetric.messagesFailed, 'Sum', FIVE_MINUTES, 'messages failed'),
        lambdas(ProcessorMetric.poisonMessages, 'Sum', FIVE_MINUTES, 'poison messages'),
        lambdas(Metric.staleEventsDropped, 'Sum', FIVE_MINUTES, 'stale events dropped'),
      ]),
    ],
    [
      graph(
        'Lambda errors',
        functions.map(({ label, fn }) => m.lambda(fn, 'Errors', { statistic: 'Sum', period: FIVE_MINUTES, label })),
        { width: 12 },
      ),
      graph(
        'Lambda duration p99 (ms)',
        functions.map(({ label, fn }) => m.lambda(fn, 'Duration', { statistic: 'p99', period: FIVE_MINUTES, label })),
        { width: 12 },
      ),
    ],
    [
      graph(
        'Follower: leader and Ogmios connection',
        [follower(LeaseMetric.leader, 'Sum', 'tasks holding the lease'), follower(OgmiosMetric.connected, 'Maximum', 'Ogmios connected')],
        { right: [follower(OgmiosMetric.reconnects, 'Sum', 'reconnects'), follower(FollowerMetric.emitFailures, 'Sum', 'emit failures')] },
      ),
      graph('Follower: chain events emitted', [follower(FollowerMetric.eventsEmitted, 'Sum', 'events')]),
      graph('Follower tasks (ECS)', [
        m.followerService('CPUUtilization', { statistic: 'Average', period: FIVE_MINUTES, label: 'CPU %' }),
        m.followerService('MemoryUtilization', { statistic: 'Average', period: FIVE_MINUTES, label: 'memory %' }),
      ]),
    ],
    [
      graph(
        'Reconciliation results (per hour)',
        [lambdas(Metric.reconciliationMatched, 'Sum', HOUR, 'matched'), lambdas(Metric.reconciliationTooRecent, 'Sum', HOUR, 'too recent')],
        {
          width: 12,
          right: [
            lambdas(Metric.reconciliationDiscrepancies, 'Sum', HOUR, 'discrepancies'),
            lambdas(Metric.balanceMismatches, 'Sum', HOUR, 'balance mismatches'),
            lambdas(Metric.reconciliationRuns, 'Sum', HOUR, 'runs'),
          ],
        },
      ),
      props.hotWalletMonitored
        ? graph(
            'Hot-wallet balance (ADA)',
            [
              lambdas(Metric.hotWalletBalanceAda, 'Minimum', MINUTE, 'balance (chain, Ogmios)'),
              // The payout processor's view, from the engine's own unspent outputs (reconciliation compares them with the chain).
              lambdas(Metric.hotWalletRecordedAda, 'Minimum', MINUTE, 'recorded (monitor)'),
              lambdas(Metric.hotWalletSpendableAda, 'Minimum', MINUTE, 'spendable (confirmed, unreserved)'),
            ],
            {
              width: 12,
              annotations: [
                line('HotWalletLow', t.hotWalletBalance.warning.threshold, '#ff7f0e'),
                line('HotWalletCritical', t.hotWalletBalance.critical.threshold, '#d62728'),
              ],
            },
          )
        : new TextWidget({
            markdown: '### Hot-wallet balance\nThis stage watches no hot-wallet address (`hotWalletAddresses` in cdk.json is empty).',
            width: 12,
            height: 6,
          }),
    ],
    [
      graph('HTTP API: requests (per 5 min)', [
        m.apisTotal('Count', 'Sum', FIVE_MINUTES, 'all APIs'),
        ...m.watched.frontDoor.apis.map((api) => m.api(api, 'Count', { statistic: 'Sum', period: FIVE_MINUTES, label: api.label })),
      ]),
      graph(
        'HTTP API: 4xx and 5xx (per 5 min)',
        [m.apisTotal('4XXError', 'Sum', FIVE_MINUTES, '4xx'), m.apisTotal('5XXError', 'Sum', FIVE_MINUTES, '5xx')],
        { annotations: [line('ApiServerErrors', t.apiServerErrors.warning.threshold, '#ff7f0e')] },
      ),
      graph(
        'HTTP API: latency (ms)',
        m.watched.frontDoor.apis.flatMap((api) =>
          ['p50', 'p99'].map((p) => m.api(api, 'Latency', { statistic: p, period: FIVE_MINUTES, label: `${api.label} ${p}` })),
        ),
      ),
    ],
    [
      graph(
        'Outbox: oldest unpublished event (s)',
        [lambdas(OutboxMetric.oldestUnpublishedAgeSeconds, 'Maximum', MINUTE, 'oldest unpublished (s)')],
        {
          right: [lambdas(OutboxMetric.unpublishedEvents, 'Maximum', MINUTE, 'unpublished events')],
          annotations: [line('OutboxStale', t.outboxAge.warning.threshold, '#ff7f0e')],
        },
      ),
      graph('Outbox: published and failures (per 5 min)', [
        lambdas(OutboxMetric.eventsPublished, 'Sum', FIVE_MINUTES, 'published'),
        lambdas(OutboxMetric.publishFailures, 'Sum', FIVE_MINUTES, 'publish failures'),
      ]),
      graph(
        'Webhooks: deliveries and failures (per 5 min)',
        [
          lambdas(WebhookMetric.deliveries, 'Sum', FIVE_MINUTES, 'delivered'),
          lambdas(WebhookMetric.deliveryFailures, 'Sum', FIVE_MINUTES, 'failed attempts'),
        ],
        { right: [lambdas(WebhookMetric.backlogEvents, 'Maximum', FIVE_MINUTES, 'backlog (events due)')] },
      ),
    ],
    [
      graph(
        'Webhooks: longest-failing endpoint (s) and disabled endpoints',
        [lambdas(WebhookMetric.longestFailingSeconds, 'Maximum', FIVE_MINUTES, 'longest failing (s)')],
        {
          right: [lambdas(WebhookMetric.endpointsDisabled, 'Maximum', FIVE_MINUTES, 'disabled endpoints')],
          annotations: [line('WebhookEndpointFailing', t.webhookFailing.warning.threshold, '#ff7f0e')],
        },
      ),
      graph(
        'Webhooks: attempt duration (s)',
        ['p50', 'p99'].map((p) => lambdas(WebhookMetric.deliverySeconds, p, FIVE_MINUTES, p)),
      ),
      graph('Webhook queue: wake-ups and DLQ', [
        m.queue('webhooks', 'ApproximateNumberOfMessagesVisible', { statistic: 'Maximum', period: MINUTE, label: 'visible' }),
        m.queue('webhooks', 'ApproximateNumberOfMessagesNotVisible', { statistic: 'Maximum', period: MINUTE, label: 'in flight' }),
        m.queue('webhookDeadLetter', 'ApproximateNumberOfMessagesVisible', { statistic: 'Maximum', period: MINUTE, label: 'DLQ' }),
      ]),
    ],
    [
      graph(
        'Payouts: transactions built and submissions (per 5 min)',
        [
          lambdas(Metric.payoutTransactionsBuilt, 'Sum', FIVE_MINUTES, 'transactions built'),
          lambdas(Metric.payoutSubmissions, 'Sum', FIVE_MINUTES, 'submissions (and resubmissions)'),
        ],
        { right: [m.searchBy(Metric.payoutAttemptMoves, MetricDimension.status, 'Sum', FIVE_MINUTES, '')] },
      ),
      graph(
        'Payouts: oldest submitted transaction, oldest approved payout (min)',
        [
          lambdas(Metric.payoutOldestSubmittedMinutes, 'Maximum', MINUTE, 'oldest submitted (min)'),
          lambdas(Metric.payoutOldestApprovedMinutes, 'Maximum', MINUTE, 'oldest approved, not sent (min)'),
        ],
        {
          annotations: [
            line('PayoutStuck', t.payoutStuck.warning.threshold, '#ff7f0e'),
            line('PayoutNotSent', t.payoutNotSent.warning.threshold, '#ffbb78'),
          ],
        },
      ),
      graph('Payouts: failed, signer errors, build failures, daily-limit refusals (per 5 min)', [
        lambdas(Metric.payoutsFailed, 'Sum', FIVE_MINUTES, 'failed (foreign spend)'),
        lambdas(Metric.payoutSignerErrors, 'Sum', FIVE_MINUTES, 'signer errors'),
        lambdas(Metric.payoutBuildFailures, 'Sum', FIVE_MINUTES, 'build failures'),
        lambdas(PayoutRequestMetric.dailyLimitReached, 'Sum', FIVE_MINUTES, 'refused: daily limit'),
      ]),
    ],
    [
      graph('Database CPU (%)', [m.database('CPUUtilization', { statistic: 'Average', period: FIVE_MINUTES, label: 'CPU' })], {
        annotations: [line('DatabaseCpuHigh', t.databaseCpu.warning.threshold, '#ff7f0e')],
      }),
      graph(
        'Database connections',
        [m.database('DatabaseConnections', { statistic: 'Maximum', period: FIVE_MINUTES, label: 'connections' })],
        {
          annotations: [line('DatabaseConnectionsHigh', t.databaseConnections.warning.threshold, '#ff7f0e')],
        },
      ),
      graph('Database free storage (GiB)', [
        new MathExpression({
          expression: `free / ${GIB}`,
          usingMetrics: { free: m.database('FreeStorageSpace', { statistic: 'Minimum', period: FIVE_MINUTES }) },
          label: 'free GiB',
          period: FIVE_MINUTES,
        }),
      ]),
    ],
  ];
  return new Dashboard(scope, id, { dashboardName: props.dashboardName, defaultInterval: Duration.hours(12), widgets: rows });
}
