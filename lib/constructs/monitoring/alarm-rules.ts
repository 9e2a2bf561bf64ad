/**
 * The alarm catalogue: what each alarm watches, how it compares, what missing data means, and its runbook line.
 * The numbers (threshold, duration) live in alarm-thresholds.ts so a stage can override them; this file is the
 * CloudWatch counterpart of the tutorial's Prometheus rule file, and the README's "Alarm catalogue" mirrors it
 * (test/infra/monitoring-projection.test.ts keeps the three in agreement).
 */
import {
  FollowerMetric,
  LeaseMetric,
  Metric,
  OutboxMetric,
  PayoutRequestMetric,
  ProcessorMetric,
  WebhookMetric,
} from '../../../functions/domain/observability.js';
import type { AlarmKey, AlarmSetting, Severity } from './alarm-thresholds.js';

export type Statistic = 'Sum' | 'Maximum' | 'Minimum' | 'Average';

/** What an alarm watches; the facade resolves it against the resources it is given. */
export type WatchedMetric =
  /** Namespace PaymentMonitor, dimensions service + stage: written by the Lambdas or by the follower (EMF). */
  | { readonly kind: 'custom'; readonly emitter: 'lambdas' | 'follower'; readonly metricName: string; readonly statistic: Statistic }
  | {
      readonly kind: 'queue';
      readonly queue: 'chainEvents' | 'deadLetter' | 'webhooks' | 'webhookDeadLetter';
      readonly metricName: 'ApproximateNumberOfMessagesVisible' | 'ApproximateAgeOfOldestMessage';
      readonly statistic: Statistic;
    }
  /** AWS/Lambda of the processor, or of each operations function for a per-function rule. */
  | { readonly kind: 'function'; readonly metricName: 'Errors' | 'Throttles'; readonly statistic: Statistic }
  | {
      readonly kind: 'database';
      readonly metricName: 'CPUUtilization' | 'FreeStorageSpace' | 'DatabaseConnections';
      readonly statistic: Statistic;
    }
  /** AWS/ApiGateway, added up over the REST APIs that serve the OpenAPI document (API keys and IAM). */
  | { readonly kind: 'api'; readonly metricName: '5XXError' | '4XXError' | 'Count'; readonly statistic: 'Sum' }
  /** ECS/ContainerInsights of the follower's service (needs Container Insights on the cluster, FollowerService enables it). */
  | { readonly kind: 'followerService'; readonly metricName: 'RunningTaskCount'; readonly statistic: Statistic };

/**
 * What CloudWatch does when a period has no data point:
 * - `breaching`: silence is the problem (no payment detected, no leader, no reconciliation run);
 * - `notBreaching`: the metric is only written when something happens (errors, reversals, DLQ depth);
 * - `ignore`: keep the last state (a daily result stays visible until the next run reports).
 */
export type MissingData = 'breaching' | 'notBreaching' | 'ignore';

/** What a rule may need to know about the stage its alarm is created for. */
export interface AlarmContext {
  /** The most storage the database may grow to (storage autoscaling's ceiling), for thresholds given as a percentage of it. */
  readonly maxAllocatedStorageGiB: number;
  /** Whether the stage lists hot-wallet addresses (otherwise nothing writes the balance metric). */
  readonly hotWalletMonitored: boolean;
}

export interface AlarmRule {
  readonly key: AlarmKey;
  readonly severity: Severity;
  /** The alarm's name after `payment-monitor-<stage>-`. A per-function rule prefixes the function's label. */
  readonly name: string;
  /** The tutorial's alert rule this alarm mirrors, if any. */
  readonly tutorialRule?: string;
  readonly metric: WatchedMetric;
  readonly comparison: '>' | '>=' | '<';
  /** How the threshold reads in the catalogue (`blocks`, `ADA`, `%`, …). */
  readonly unit: string;
  readonly missingData: MissingData;
  /**
   * The condition is an event, not a state (a reversal happened in that minute): the alarm clears by itself a period
   * later, so it notifies on ALARM only; an OK after every ALARM would say nothing.
   */
  readonly event?: boolean;
  /** One alarm per operations function (health, reconciliation, …) rather than one alarm. */
  readonly perFunction?: boolean;
  /** False when the stage gets no such alarm; every stage does when absent. */
  readonly appliesTo?: (context: AlarmContext) => boolean;
  /** The value CloudWatch compares with, when it is not the setting's threshold as written. */
  readonly thresholdFor?: (setting: AlarmSetting, context: AlarmContext) => number;
  /** The runbook line: what it means, first checks, what to do. Becomes the alarm's description. */
  readonly runbook: (setting: AlarmSetting) => string;
}

const lambdas = (metricName: string, statistic: Statistic): WatchedMetric => ({
  kind: 'custom',
  emitter: 'lambdas',
  metricName,
  statistic,
});
const follower = (metricName: string, statistic: Statistic): WatchedMetric => ({
  kind: 'custom',
  emitter: 'follower',
  metricName,
  statistic,
});
// An alarm on a balance nothing measures would only sit in INSUFFICIENT_DATA.
const hotWalletMonitored = (context: AlarmContext): boolean => context.hotWalletMonitored;
// The setting is a percentage of the maximum storage; CloudWatch's FreeStorageSpace is in bytes.
export const GIB = 1024 ** 3;
const percentOfMaxStorage = (setting: AlarmSetting, context: AlarmContext): number =>
  (setting.threshold / 100) * context.maxAllocatedStorageGiB * GIB;

export const ALARM_RULES: readonly AlarmRule[] = [
  {
    key: 'syncLag',
    severity: 'warning',
    name: 'SyncLag',
    tutorialRule: 'PaymentMonitorSyncLag',
    metric: lambdas(Metric.syncLag, 'Maximum'),
    comparison: '>',
    unit: 'blocks',
    missingData: 'breaching',
    runbook: (s) =>
      `Applied height more than ${s.threshold} blocks behind the tip for ${s.forMinutes} min, or the health check stopped reporting lag. ` +
      'Check the dashboard (height vs tip, queue depth/age, processor errors, follower leader). ' +
      'Queue growing: the processor is slow or failing (its logs); queue empty: the follower is not emitting (FollowerNoLeader, ogmios_reconnects); no lag data: the health function (HealthErrors).',
  },
  {
    key: 'syncLag',
    severity: 'critical',
    name: 'SyncLagCritical',
    tutorialRule: 'PaymentMonitorSyncLagCritical',
    metric: lambdas(Metric.syncLag, 'Maximum'),
    comparison: '>',
    unit: 'blocks',
    missingData: 'notBreaching',
    runbook: (s) =>
      `Applied height more than ${s.threshold} blocks behind the tip for ${s.forMinutes} min: payments are detected late. ` +
      'Same checks as SyncLag; also the DLQ and the database (CPU, connections). ' +
      'Fix the stuck stage first (processor, follower or Ogmios provider); tell the business that confirmations are delayed.',
  },
  {
    key: 'noPaymentsDetected',
    severity: 'warning',
    name: 'NoPaymentsDetected',
    tutorialRule: 'NoPaymentsDetected',
    metric: lambdas(Metric.paymentsDetected, 'Sum'),
    comparison: '<',
    unit: 'payments',
    missingData: 'breaching',
    runbook: (s) =>
      `Fewer than ${s.threshold} payment detected (all reference types) in every hour for ${s.forMinutes / 60} h. ` +
      'Check that the engine is applying blocks (SyncLag, sync_height) and that addresses are registered (cli addresses list). ' +
      'If blocks are applied and addresses exist, confirm with the business that payments were expected; compare a known payment on an explorer.',
  },
  {
    key: 'hotWalletBalance',
    severity: 'warning',
    name: 'HotWalletLow',
    tutorialRule: 'HotWalletLow',
    metric: lambdas(Metric.hotWalletBalanceAda, 'Minimum'),
    comparison: '<',
    unit: 'ADA',
    // A minute the every-minute run missed neither raises nor clears it, nor starts its count over (one missing period
    // tolerated, MISSING_PERIODS_TOLERATED): the balance is unknown then. The run's failures are HotWalletFunctionErrors.
    missingData: 'ignore',
    appliesTo: hotWalletMonitored,
    runbook: (s) =>
      `Hot-wallet balance below ${s.threshold.toLocaleString('en-US')} ADA for ${s.forMinutes} min. ` +
      'Check recent withdrawals and the hot-wallet addresses in the stage config. Top the hot wallet up from cold storage.',
  },
  {
    key: 'hotWalletBalance',
    severity: 'critical',
    name: 'HotWalletCritical',
    tutorialRule: 'HotWalletCritical',
    metric: lambdas(Metric.hotWalletBalanceAda, 'Minimum'),
    comparison: '<',
    unit: 'ADA',
    missingData: 'ignore',
    appliesTo: hotWalletMonitored,
    runbook: (s) =>
      `Hot-wallet balance below ${s.threshold.toLocaleString('en-US')} ADA for ${s.forMinutes} min: withdrawals may fail. ` +
      'Check for an unexpected outflow (explorer, balance_transactions). Top up now; pause withdrawals if the outflow is not understood.',
  },
  {
    key: 'deadLetterQueue',
    severity: 'critical',
    name: 'DeadLetterQueueNotEmpty',
    metric: { kind: 'queue', queue: 'deadLetter', metricName: 'ApproximateNumberOfMessagesVisible', statistic: 'Maximum' },
    comparison: '>',
    unit: 'messages',
    missingData: 'notBreaching',
    runbook: () =>
      'A chain event was received 1000 times without being applied (the processor sets poison aside and postpones transient failures, so this takes about two weeks of failing): something has failed that long. ' +
      'Read the message and the processor logs (message_failed) for the reason, and fix it. Do not redrive: nothing is lost, the pipeline derives ' +
      'the blocks again from Ogmios (the next message of that leader session is out of step and the leader follows again from the database). ' +
      'Purge the DLQ once the cause is understood.',
  },
  {
    key: 'queueAge',
    severity: 'warning',
    name: 'QueueOldestMessageAge',
    metric: { kind: 'queue', queue: 'chainEvents', metricName: 'ApproximateAgeOfOldestMessage', statistic: 'Maximum' },
    comparison: '>',
    unit: 's',
    missingData: 'notBreaching',
    runbook: (s) =>
      `The oldest chain event has waited more than ${s.threshold} s for ${s.forMinutes} min: the processor is behind or retrying a message. ` +
      'Check processor errors, throttles and duration, DatabaseUnreachable, PipelineHalted and the database CPU. ' +
      'A message failing for a transient cause is retried by the processor (its FIFO group waits) and applies by itself once the cause clears.',
  },
  {
    key: 'queueAge',
    severity: 'critical',
    name: 'ChainEventsStale',
    metric: { kind: 'queue', queue: 'chainEvents', metricName: 'ApproximateAgeOfOldestMessage', statistic: 'Maximum' },
    comparison: '>',
    unit: 's',
    missingData: 'notBreaching',
    runbook: (s) =>
      `The oldest chain event has waited more than ${s.threshold / 60} min: payments are detected and confirmed late. ` +
      'Look first at DatabaseUnreachable, PipelineHalted and ProcessorErrors/ProcessorThrottles, then the processor logs (message_failed, poison_message). ' +
      'Fix the cause; the queue keeps events 14 days and the processor applies them in order by itself. Tell the business that confirmations are delayed.',
  },
  {
    key: 'processorErrors',
    severity: 'warning',
    name: 'ProcessorErrors',
    metric: { kind: 'function', metricName: 'Errors', statistic: 'Sum' },
    comparison: '>',
    unit: 'errors',
    missingData: 'notBreaching',
    runbook: (s) =>
      `The processor failed whole invocations (crash, timeout) in every 5 min for ${s.forMinutes} min. ` +
      'Check its logs and duration against the timeout, and database reachability. Fix the cause; SQS redelivers the batch.',
  },
  {
    key: 'processorFailedMessages',
    severity: 'warning',
    name: 'ProcessorMessagesFailed',
    metric: lambdas(ProcessorMetric.messagesFailed, 'Sum'),
    comparison: '>',
    unit: 'messages',
    missingData: 'notBreaching',
    runbook: (s) =>
      `The processor reported chain events as failed (partial batch response) in every 5 min for ${s.forMinutes} min. ` +
      'Check its logs for message_failed and poison_message. A transient cause (database, S3) clears by itself: the message is retried with a growing delay (5 s to 30 min); a poison message is set aside (PipelineRecoveries).',
  },
  {
    key: 'processorThrottles',
    severity: 'warning',
    name: 'ProcessorThrottles',
    metric: { kind: 'function', metricName: 'Throttles', statistic: 'Sum' },
    comparison: '>',
    unit: 'throttles',
    missingData: 'notBreaching',
    runbook: (s) =>
      `The processor was throttled in every 5 min for ${s.forMinutes} min. ` +
      "Check the account's concurrency (other functions, reserved concurrency). Raise the limit or reserve concurrency for the processor.",
  },
  {
    key: 'pipelineHalted',
    severity: 'critical',
    name: 'PipelineHalted',
    metric: lambdas(Metric.pipelineHalted, 'Maximum'),
    comparison: '>',
    unit: '(1 = halted)',
    // Written by the health function every minute while the database answers (and by the processor): no data means
    // the database is unreachable (DatabaseUnreachable pages for that), so the last known state is kept.
    missingData: 'ignore',
    runbook: () =>
      'The processor halted: recoveries kept failing (poison messages or divergences in a row without progress), so it applies nothing and the chain is not followed; readiness says pipeline_halted with the reason. ' +
      'Look at SELECT * FROM pipeline_recoveries ORDER BY id DESC LIMIT 20 and sync_state.halted_reason, and the processor logs (pipeline_halted). ' +
      'Fix the cause, then resume the pipeline: npm run cli -- pipeline resume locally, or invoke the rebuild function with {"resumePipeline": true} on AWS; the chain is re-derived from the database\'s points.',
  },
  {
    key: 'pipelineRecoveries',
    severity: 'warning',
    name: 'PipelineRecoveries',
    metric: lambdas(Metric.pipelineRecoveries, 'Sum'),
    comparison: '>',
    unit: 'recoveries',
    missingData: 'notBreaching',
    runbook: (s) =>
      `More than ${s.threshold} pipeline recoveries in ${s.forMinutes / 60} h: each healed itself (a poison message set aside, or a divergence resolved by the leader following again from the database), but something keeps breaking the stream. ` +
      'Read SELECT * FROM pipeline_recoveries ORDER BY id DESC LIMIT 20 (kind, reason) and the pipeline_recovered log lines; check for repeated failovers (lease_acquired) and rebuilds. ' +
      'Fix the source before recoveries stop making progress and the pipeline halts (PipelineHalted).',
  },
  {
    key: 'otherReleaseMessages',
    severity: 'critical',
    name: 'OtherReleaseMessages',
    metric: lambdas(ProcessorMetric.otherReleaseMessagesDropped, 'Sum'),
    comparison: '>',
    unit: 'messages',
    missingData: 'notBreaching',
    runbook: (s) =>
      `The processor dropped chain events of another format version in every 5 min for ${s.forMinutes} min: the follower that leads and the processor run different releases, and nothing is applied. ` +
      "A deploy stopped halfway (the Ingest stack failed, or the follower's deployment rolled back), or the stacks were deployed out of order. " +
      "Deploy one release to both (Processing, then Ingest); once a follower of the processor's release leads, it follows again from the database's points and nothing is lost.",
  },
  {
    key: 'functionErrors',
    severity: 'warning',
    name: 'Errors',
    metric: { kind: 'function', metricName: 'Errors', statistic: 'Sum' },
    comparison: '>',
    unit: 'errors',
    missingData: 'notBreaching',
    perFunction: true,
    runbook: (s) =>
      `This operations function failed in every 5 min for ${s.forMinutes} min. ` +
      'Check its log group, /aws/lambda/<function name> (aws logs tail /aws/lambda/payment-monitor-<stage>-<function> --since 1h; the stack outputs list them), and what it reaches (database, Ogmios, S3). Fix the cause; a scheduled run retries on its next schedule.',
  },
  {
    key: 'followerLeader',
    severity: 'critical',
    name: 'FollowerNoLeader',
    metric: follower(LeaseMetric.leader, 'Sum'),
    comparison: '<',
    unit: 'leaders',
    missingData: 'breaching',
    runbook: (s) =>
      `No follower task held the lease for ${s.forMinutes} min (a failover takes under a minute), or no task reports at all: nothing follows the chain. ` +
      'Check the ECS service (running tasks, stopped-task reasons), the follower logs (lease_renewal_failed, lease_lost) and DynamoDB. Restore the tasks; a new leader resumes from the database.',
  },
  {
    key: 'followerEmitting',
    severity: 'warning',
    name: 'FollowerNotEmitting',
    metric: follower(FollowerMetric.eventsEmitted, 'Sum'),
    comparison: '<',
    unit: 'events',
    missingData: 'breaching',
    runbook: (s) =>
      `The follower emitted no chain event in every 5 min for ${s.forMinutes} min (a block comes every ~20 s). ` +
      'Check ogmios_connected/ogmios_reconnects and follower_emit_failures on the dashboard, and the provider status. Switch relay or API key if the provider is down.',
  },
  {
    key: 'followerTasks',
    severity: 'warning',
    name: 'FollowerTasksBelowTwo',
    metric: { kind: 'followerService', metricName: 'RunningTaskCount', statistic: 'Minimum' },
    comparison: '<',
    unit: 'tasks',
    // Container Insights writes nothing for a service with no running task, and nothing at all when it is off.
    missingData: 'breaching',
    runbook: (s) =>
      `Fewer than ${s.threshold} follower tasks running in every minute for ${s.forMinutes} min, or no task count reported (Container Insights): the leader, if any, has no standby to take over. ` +
      "Check the ECS service events and the stopped tasks' reasons (image pull, health check, memory, Fargate capacity) and the follower logs. " +
      'Fix the cause; ECS starts replacements by itself (force a new deployment if it is stuck).',
  },
  {
    key: 'reconciliationDiscrepancies',
    severity: 'critical',
    name: 'ReconciliationDiscrepancies',
    metric: lambdas(Metric.reconciliationDiscrepancies, 'Maximum'),
    comparison: '>',
    unit: 'discrepancies',
    missingData: 'ignore',
    runbook: () =>
      'The last reconciliation found payments that differ from the chain (missing, extra, amount or assets), or invoices whose stored judgement differs from their on-chain payments (invoice_mismatch). ' +
      'Read its reconciliation_discrepancy and invoice_mismatch log lines. Do not credit or edit invoices by hand: rebuild from a checkpoint before the first discrepancy (the re-derived payments judge their invoices again), then run reconciliation again.',
  },
  {
    key: 'balanceMismatches',
    severity: 'critical',
    name: 'BalanceMismatches',
    metric: lambdas(Metric.balanceMismatches, 'Maximum'),
    comparison: '>',
    unit: 'users',
    missingData: 'ignore',
    runbook: () =>
      'A stored user balance differs from the sum of its ledger rows. ' +
      'Read the balance_mismatch log lines (user, stored, ledger sum) and the audit_log. Freeze withdrawals for those users; recompute the balance from balance_transactions.',
  },
  {
    key: 'paymentsReversed',
    severity: 'critical',
    name: 'PaymentReversed',
    metric: lambdas(Metric.paymentsReversed, 'Sum'),
    comparison: '>',
    unit: 'payments',
    missingData: 'notBreaching',
    event: true,
    runbook: () =>
      'A confirmed, credited payment left the chain in a rollback and was debited back (payment_reversed, critical). ' +
      'Read the log line (user, amount, reference) and the rollback depth. Tell the business: the user may have withdrawn already; consider raising confirmations.',
  },
  {
    key: 'invoicesInvalidated',
    severity: 'critical',
    name: 'InvoiceInvalidated',
    metric: lambdas(Metric.invoicesInvalidated, 'Sum'),
    comparison: '>',
    unit: 'invoices',
    missingData: 'notBreaching',
    event: true,
    runbook: () =>
      'An invoice the business was told settled lost its completing payment in a rollback or a rebuild (invoice.invalid; invoice_invalidated, critical). ' +
      'Read the log line (invoice, reference) and the rollback depth. Tell the business before it ships; the invoice settles again if the transaction lands again. Consider deeper invoice confirmations.',
  },
  {
    key: 'reconciliationRuns',
    severity: 'warning',
    name: 'ReconciliationMissed',
    metric: lambdas(Metric.reconciliationRuns, 'Sum'),
    comparison: '<',
    unit: 'runs',
    missingData: 'breaching',
    runbook: (s) =>
      `No reconciliation completed in ${s.forMinutes / 60} h (a fresh stage reports this until its first nightly run). ` +
      'Check the schedule and ReconciliationErrors, and the function logs. Invoke the reconciliation function by hand once fixed (aws lambda invoke --invocation-type Event: a run outlasts the 60 s read timeout of the CLI).',
  },
  {
    key: 'databaseReachable',
    severity: 'critical',
    name: 'DatabaseUnreachable',
    metric: lambdas(Metric.databaseReachable, 'Minimum'),
    comparison: '<',
    unit: '(1 = reachable)',
    // The health function writes it every minute; silence means it did not run or failed, also a reason to page.
    missingData: 'breaching',
    runbook: (s) =>
      `The health function's query to the database failed in every minute for ${s.forMinutes} min, or the health function stopped reporting: nothing is applied and chain events wait in the queue. ` +
      'Check the RDS instance (status, events: failover, reboot, storage full, maintenance), DatabaseConnectionsHigh, the health logs (health_database_unreachable with the reason) and HealthErrors. ' +
      'Restore the database; the processor resumes by itself and the queue keeps events 14 days: nothing to redrive.',
  },
  {
    key: 'databaseCpu',
    severity: 'warning',
    name: 'DatabaseCpuHigh',
    metric: { kind: 'database', metricName: 'CPUUtilization', statistic: 'Average' },
    comparison: '>',
    unit: '%',
    missingData: 'notBreaching',
    runbook: (s) =>
      `Database CPU above ${s.threshold}% for ${s.forMinutes} min. ` +
      'Check Performance Insights for the top statements, a rebuild or backup export running, and processor concurrency. Scale the instance class if it is sustained load.',
  },
  {
    key: 'databaseFreeStorage',
    severity: 'warning',
    name: 'DatabaseFreeStorageLow',
    metric: { kind: 'database', metricName: 'FreeStorageSpace', statistic: 'Minimum' },
    comparison: '<',
    unit: '% of max storage free',
    missingData: 'notBreaching',
    thresholdFor: percentOfMaxStorage,
    runbook: (s) =>
      `Free database storage below ${s.threshold}% of the maximum storage (storage autoscaling's ceiling, 2× allocatedStorageGiB) for ${s.forMinutes} min: autoscaling, which adds space below 10% free, has not kept up or has reached the ceiling. ` +
      'Check the RDS events (storage autoscaling, storage-optimization), table sizes (incoming_payments partitions, blocks pruning) and WAL growth. Raise allocatedStorageGiB in the stage config (the ceiling follows) and deploy.',
  },
  {
    key: 'databaseFreeStorage',
    severity: 'critical',
    name: 'DatabaseFreeStorageCritical',
    metric: { kind: 'database', metricName: 'FreeStorageSpace', statistic: 'Minimum' },
    comparison: '<',
    unit: '% of max storage free',
    missingData: 'notBreaching',
    thresholdFor: percentOfMaxStorage,
    runbook: (s) =>
      `Free database storage below ${s.threshold}% of the maximum storage for ${s.forMinutes} min: autoscaling cannot add more, and writes stop when it runs out. ` +
      'Raise the allocated and maximum storage now (console: modify the instance; then the stage config, so the next deploy agrees); then find what grew.',
  },
  {
    key: 'databaseConnections',
    severity: 'warning',
    name: 'DatabaseConnectionsHigh',
    metric: { kind: 'database', metricName: 'DatabaseConnections', statistic: 'Maximum' },
    comparison: '>',
    unit: 'connections',
    missingData: 'notBreaching',
    runbook: (s) =>
      `More than ${s.threshold} database connections for ${s.forMinutes} min (max_connections depends on the instance class). ` +
      'Check processor concurrency and functions that do not release connections (pg_stat_activity by application_name). Lower concurrency or put RDS Proxy in front.',
  },
  {
    key: 'apiServerErrors',
    severity: 'warning',
    name: 'ApiServerErrors',
    metric: { kind: 'api', metricName: '5XXError', statistic: 'Sum' },
    comparison: '>',
    unit: 'responses',
    missingData: 'notBreaching',
    runbook: (s) =>
      `The HTTP API answered 5xx (more than ${s.threshold} per 5 min, both REST APIs together) in every 5 min for ${s.forMinutes} min: businesses' calls fail. ` +
      "Look at ApiErrors and ApiAuthorizerErrors, the api function's logs (api_request_failed) and the access logs (/aws/apigateway/payment-monitor-<stage>-api/access: status, integrationStatus, authorizerStatus, error), then DatabaseUnreachable and the database. " +
      'A 502/504 with no function error is a timeout or a crash at start (its logs); fix the cause: the businesses retry (POSTs with their Idempotency-Key are replayed, not done twice).',
  },
  {
    key: 'outboxAge',
    severity: 'warning',
    name: 'OutboxStale',
    metric: lambdas(OutboxMetric.oldestUnpublishedAgeSeconds, 'Maximum'),
    comparison: '>',
    unit: 's',
    // The publisher writes it every minute (0 when nothing waits): silence means it is not running.
    missingData: 'breaching',
    runbook: (s) =>
      `A business event has waited more than ${s.threshold / 60} min to be published, in every minute for ${s.forMinutes} min, or the publisher stopped reporting: EventBridge subscribers and webhooks get nothing new. ` +
      'Look at EventPublisherErrors and its logs (outbox_publish_failed: EventBridge refusing, throttling, or the database), outbox_publish_failures and the backlog on the dashboard. ' +
      'Fix the cause; the publisher picks up where it stopped, in order, by itself (every minute): nothing is lost, the events wait in the outbox.',
  },
  {
    key: 'webhookFailing',
    severity: 'warning',
    name: 'WebhookEndpointFailing',
    metric: lambdas(WebhookMetric.longestFailingSeconds, 'Maximum'),
    comparison: '>=',
    unit: 's',
    missingData: 'notBreaching',
    runbook: (s) =>
      `A webhook endpoint has failed every delivery for ${s.threshold / 3600} h or more (every retry since its first failure). Its events wait, in order; it is disabled after 3 days. ` +
      'Find it (GET /v1/webhook-endpoints, the webhook_delivery_failed log lines of the deliverer: status, duration, response excerpt, webhook_destination_refused). ' +
      'Tell the business: their receiver is down, refuses the signature or answers slowly (10 s timeout). Once it answers 2xx the backlog is delivered by itself; other endpoints are not delayed.',
  },
  {
    key: 'webhookDisabled',
    severity: 'critical',
    name: 'WebhookEndpointDisabled',
    metric: lambdas(WebhookMetric.endpointsDisabled, 'Maximum'),
    comparison: '>',
    unit: 'endpoints',
    missingData: 'notBreaching',
    runbook: (s) =>
      `Webhook endpoints disabled after 3 days of failed deliveries: more than ${s.threshold}. A business receives no webhook any more (EventBridge subscribers and GET /v1/events are not affected). ` +
      'Find it (GET /v1/webhook-endpoints; webhook_endpoint_disabled in the deliverer logs) and tell the business. ' +
      'Once their receiver works, subscribe it again and redeliver what it missed (GET /v1/events?after=<cursor> lists the events, POST /v1/events/{id}/redeliver); the alarm clears when no endpoint is disabled any more (the old one deleted).',
  },
  {
    key: 'webhookDeadLetterQueue',
    severity: 'warning',
    name: 'WebhookDeadLetterQueueNotEmpty',
    metric: { kind: 'queue', queue: 'webhookDeadLetter', metricName: 'ApproximateNumberOfMessagesVisible', statistic: 'Maximum' },
    comparison: '>',
    unit: 'messages',
    missingData: 'notBreaching',
    runbook: () =>
      'The webhook deliverer failed 5 times (crash or timeout) on the wake-up of one endpoint. Nothing is lost: what is due and every attempt are in PostgreSQL, and the scheduler wakes the deliverer again every minute. ' +
      'Read the message (its group is the endpoint id) and WebhookDelivererErrors and its logs for the reason (database, a receiver that holds the connection, the time budget), and fix it. ' +
      'Purge the DLQ once understood; do not redrive (the scheduler already did).',
  },
  {
    key: 'webhookRunFailures',
    severity: 'warning',
    name: 'WebhookDeliveryRunsFailing',
    metric: lambdas(WebhookMetric.runFailures, 'Sum'),
    comparison: '>',
    unit: 'runs',
    missingData: 'notBreaching',
    runbook: (s) =>
      `Webhook deliverer runs failed on the database (more than ${s.threshold} in every 5 min for ${s.forMinutes} min). Such a run is acknowledged, not retried by SQS (the state is in PostgreSQL; the scheduler wakes the endpoint again every minute), so it shows neither as a Lambda error nor in the DLQ: webhooks are not going out. ` +
      'Look at the deliverer logs (webhook_delivery_run_failed: the error), then DatabaseUnreachable and DatabaseConnections. Fix the cause; the endpoints are served again from their cursors by themselves, in order.',
  },
  {
    key: 'payoutStuck',
    severity: 'warning',
    name: 'PayoutStuck',
    metric: lambdas(Metric.payoutOldestSubmittedMinutes, 'Maximum'),
    comparison: '>',
    unit: 'min',
    // Written by every run of the payout processor (0 when nothing waits). A minute it missed (a run throttled by its
    // reserved concurrency of 1, or failed: PayoutProcessorErrors) neither raises nor clears it.
    missingData: 'ignore',
    runbook: (s) =>
      `A payout transaction has been submitted for more than ${s.threshold} min without reaching a block (it is resubmitted every PAYOUT_RESUBMIT_SECONDS). ` +
      "Find it (GET /v1/payouts?status=submitted, its transaction_id on an explorer) and read the payout processor logs (payout_submission_refused, payout_submission_failed: the node's answer). " +
      'Check the Ogmios relays (FollowerNotEmitting, SyncLag) and the fee parameters. Do not build it again by hand: it expires once its validity interval has passed with its inputs unspent, and only then is a new transaction built, so it can never be paid twice.',
  },
  {
    key: 'payoutNotSent',
    severity: 'warning',
    name: 'PayoutNotSent',
    metric: lambdas(Metric.payoutOldestApprovedMinutes, 'Maximum'),
    comparison: '>',
    unit: 'min',
    // Written by every run of the payout processor (0 when nothing waits), like PayoutStuck's gauge.
    missingData: 'ignore',
    runbook: (s) =>
      `An approved payout has waited more than ${s.threshold} min for a transaction: the processor does not send it. Read the payout processor logs: payout_deferred (alone: too large for any transaction, or more than the hot wallet holds: refill it, see HotWalletLow; a payout no build can take is left out for 10 minutes at a time so it never holds back the others), payout_build_failed (PayoutBuildFailures), payout_signer_error. A payout whose transaction expired goes again with all that transaction's inputs and payouts (payout_deferred naming it; payout_carried_waiting while one is off the chain after a deep rollback) and cannot be cancelled. Compare hot_wallet_spendable_ada with what is approved (GET /v1/payouts?status=approved); cancel a payout that can never go and request it again.`,
  },
  {
    key: 'payoutFailed',
    severity: 'critical',
    name: 'PayoutFailed',
    metric: lambdas(Metric.payoutsFailed, 'Sum'),
    comparison: '>',
    unit: 'payouts',
    missingData: 'notBreaching',
    event: true,
    runbook: () =>
      "A transaction that is not ours spent an input reserved for a payout (payout_failed, critical; the payout is failed and the user's hold released): the hot wallet's key signed something the processor did not, or its outputs are spent elsewhere. " +
      'Read the log line (payout, input, the spending transaction) and look the transaction up on an explorer; check CloudTrail for kms:Sign on the payout signer key by anyone but the payout processor role. ' +
      'A payout_paid_after_close line instead: an expired transaction landed after a deep rollback and paid a payout already closed; debit its user by hand. ' +
      'Until it is understood, stop payouts (aws lambda put-function-concurrency --function-name payment-monitor-<stage>-payout-processor --reserved-concurrent-executions 0; the next deploy sets 1 again) and move the remaining funds to cold storage; request the failed payout again only after that.',
  },
  {
    key: 'payoutSignerErrors',
    severity: 'warning',
    name: 'PayoutSignerErrors',
    metric: lambdas(Metric.payoutSignerErrors, 'Sum'),
    comparison: '>',
    unit: 'errors',
    missingData: 'notBreaching',
    runbook: (s) =>
      `The payout signer failed (more than ${s.threshold} per 5 min) in every 5 min for ${s.forMinutes} min: no payout is being signed. ` +
      'Read the payout processor logs (payout_signer_error: KMS throttling, AccessDenied, a disabled key or one pending deletion, a signature that did not verify). ' +
      'Throttling clears by itself; AccessDenied: the key policy or the processor role changed (redeploy); disabled or pending deletion: only the break-glass role can do either (its key policy), so find who in CloudTrail, then undo it (aws kms enable-key, aws kms cancel-key-deletion). A signature that does not verify is never used: open a case with AWS.',
  },
  {
    key: 'payoutBuildFailures',
    severity: 'warning',
    name: 'PayoutBuildFailures',
    metric: lambdas(Metric.payoutBuildFailures, 'Sum'),
    comparison: '>',
    unit: 'builds',
    missingData: 'notBreaching',
    runbook: (s) =>
      `Payout builds failed (more than ${s.threshold} per 5 min) in every 5 min for ${s.forMinutes} min: approved payouts are not being sent (what was sent before still moves on). ` +
      'Read the payout processor logs (payout_build_failed: the error says whether Ogmios did not answer the protocol parameters query, or the transaction library refused a payout, naming it). ' +
      'Ogmios: see OgmiosDisconnected and the relays; a refused payout: cancel it (POST /v1/payouts/{id}/cancel) and request it again with a destination and amount the library accepts.',
  },
  {
    key: 'payoutDailyLimitReached',
    severity: 'warning',
    name: 'PayoutDailyLimitReached',
    metric: lambdas(PayoutRequestMetric.dailyLimitReached, 'Sum'),
    comparison: '>',
    unit: 'requests',
    missingData: 'notBreaching',
    event: true,
    runbook: () =>
      'The API refused payout requests because the payouts requested today (UTC) would exceed PAYOUT_DAILY_LIMIT_LOVELACE (409 daily_limit_reached; payout_limit_reached log lines of the api function, limit daily_limit_reached). ' +
      'Check whether the volume is expected (GET /v1/payouts, the audit log: who requested what). Expected: the requests can be made again after 00:00 UTC, or the limit raised (payouts.policy.dailyLimitLovelace in cdk.json, then deploy the Api stack); not expected: revoke the requesting API key.',
  },
];
