/**
 * The alarms' thresholds, typed and keyed by severity, with the tutorial's alert rules as defaults. A stage may
 * override any of them in cdk.json (`stages.<name>.alarms`); overrides are validated here, for both
 * `lib/config.ts` (so `cdk synth` lists every mistake at once) and the monitoring facade (so a construct built
 * from code cannot skip the checks).
 */

export type Severity = 'warning' | 'critical';
export const SEVERITIES: readonly Severity[] = ['warning', 'critical'];

/** One alarm's settings: the threshold it compares to, how long the condition must hold, whether it exists. */
export interface AlarmSetting {
  readonly threshold: number;
  /** The condition must hold in every period of this many minutes (Prometheus' `for:`). */
  readonly forMinutes: number;
  readonly enabled: boolean;
}

export interface AlarmThresholds {
  /** sync_lag_blocks above `threshold` blocks (PaymentMonitorSyncLag, PaymentMonitorSyncLagCritical). */
  readonly syncLag: { readonly warning: AlarmSetting; readonly critical: AlarmSetting };
  /** Fewer than `threshold` payments detected in each hour, over all reference types (NoPaymentsDetected). */
  readonly noPaymentsDetected: { readonly warning: AlarmSetting };
  /** hot_wallet_balance_ada below `threshold` ADA (HotWalletLow, HotWalletCritical). */
  readonly hotWalletBalance: { readonly warning: AlarmSetting; readonly critical: AlarmSetting };
  /** Messages visible in the DLQ above `threshold`. */
  readonly deadLetterQueue: { readonly critical: AlarmSetting };
  /** Age of the oldest chain event in the queue above `threshold` seconds (warning: behind; critical: stale). */
  readonly queueAge: { readonly warning: AlarmSetting; readonly critical: AlarmSetting };
  /** Processor invocation errors (crashes, timeouts) above `threshold` per 5 minutes. */
  readonly processorErrors: { readonly warning: AlarmSetting };
  /** Records the processor reported as failed (partial batch responses are not Lambda errors). */
  readonly processorFailedMessages: { readonly warning: AlarmSetting };
  readonly processorThrottles: { readonly warning: AlarmSetting };
  /** pipeline_halted above `threshold` (1 while sync_state.halted_at is set): the processor applies nothing. */
  readonly pipelineHalted: { readonly critical: AlarmSetting };
  /** pipeline_recoveries (divergences and poison messages healed by re-following) above `threshold` per hour. */
  readonly pipelineRecoveries: { readonly warning: AlarmSetting };
  /** Messages of another format version dropped by the processor in every 5 minutes for `forMinutes`. */
  readonly otherReleaseMessages: { readonly critical: AlarmSetting };
  /** Errors of each operations function (health, reconciliation, rebuild, …), one alarm per function. */
  readonly functionErrors: { readonly warning: AlarmSetting };
  /** Sum over the follower tasks of follower_leader below `threshold` (no task holds the lease). */
  readonly followerLeader: { readonly critical: AlarmSetting };
  /** Chain events emitted by the follower below `threshold` per 5 minutes. */
  readonly followerEmitting: { readonly warning: AlarmSetting };
  /** Running follower tasks (ECS Container Insights RunningTaskCount) below `threshold`: no standby. */
  readonly followerTasks: { readonly warning: AlarmSetting };
  readonly reconciliationDiscrepancies: { readonly critical: AlarmSetting };
  readonly balanceMismatches: { readonly critical: AlarmSetting };
  /** Confirmed payments reversed by a rollback, over all reference types. */
  readonly paymentsReversed: { readonly critical: AlarmSetting };
  /** Invoices told settled whose completing payment then left the chain (invoice.invalid). */
  readonly invoicesInvalidated: { readonly critical: AlarmSetting };
  /** Completed reconciliation runs below `threshold` in `forMinutes` (26 h: the daily run plus slack). */
  readonly reconciliationRuns: { readonly warning: AlarmSetting };
  /** database_reachable (the health function's every-minute query: 1 answered, 0 not) below `threshold`. */
  readonly databaseReachable: { readonly critical: AlarmSetting };
  /** RDS CPUUtilization above `threshold` percent. */
  readonly databaseCpu: { readonly warning: AlarmSetting };
  /**
   * RDS FreeStorageSpace below `threshold` percent of the maximum storage (storage autoscaling's ceiling, 2× the
   * allocation): below the level at which autoscaling adds space (10% free of the current allocation, at least 5% of
   * the maximum), so it fires only when autoscaling has not kept up or has reached the ceiling.
   */
  readonly databaseFreeStorage: { readonly warning: AlarmSetting; readonly critical: AlarmSetting };
  /** RDS DatabaseConnections above `threshold` (max_connections depends on the instance class). */
  readonly databaseConnections: { readonly warning: AlarmSetting };
  /** 5xx answers of the HTTP API (both REST APIs) above `threshold` per 5 minutes. */
  readonly apiServerErrors: { readonly warning: AlarmSetting };
  /** Age of the oldest unpublished business event (outbox_oldest_unpublished_age_seconds) above `threshold` seconds. */
  readonly outboxAge: { readonly warning: AlarmSetting };
  /** Seconds the longest-failing webhook endpoint has been failing, at or above `threshold` (an hour). */
  readonly webhookFailing: { readonly warning: AlarmSetting };
  /** Webhook endpoints disabled after 3 days of failures, above `threshold`. */
  readonly webhookDisabled: { readonly critical: AlarmSetting };
  /** Wake-ups in the webhook deliverer's DLQ above `threshold`. */
  readonly webhookDeadLetterQueue: { readonly warning: AlarmSetting };
  /** Deliverer runs that failed on the database (acknowledged, retried by the scheduler) above `threshold` per 5 minutes. */
  readonly webhookRunFailures: { readonly warning: AlarmSetting };
  /** Minutes the oldest submitted payout transaction has waited for a block (payout_oldest_submitted_minutes) above `threshold`. */
  readonly payoutStuck: { readonly warning: AlarmSetting };
  /** Minutes the oldest approved payout has waited for a transaction (payout_oldest_approved_minutes) above `threshold`. */
  readonly payoutNotSent: { readonly warning: AlarmSetting };
  /** Payouts failed because a transaction that is not ours spent one of their inputs, above `threshold`. */
  readonly payoutFailed: { readonly critical: AlarmSetting };
  /** Signer failures of the payout processor (KMS refusing, throttling, a signature that did not verify) per 5 minutes. */
  readonly payoutSignerErrors: { readonly warning: AlarmSetting };
  /** Payout builds that failed (the transaction library refused a payout, no protocol parameters) per 5 minutes. */
  readonly payoutBuildFailures: { readonly warning: AlarmSetting };
  /** Payout requests the API refused for the daily limit (PAYOUT_DAILY_LIMIT_LOVELACE) per 5 minutes. */
  readonly payoutDailyLimitReached: { readonly warning: AlarmSetting };
}

export type AlarmKey = keyof AlarmThresholds;

const on = (threshold: number, forMinutes: number): AlarmSetting => ({ threshold, forMinutes, enabled: true });

/** The tutorial's alert rules (first five keys) and the product's own, as shipped. */
export const DEFAULT_ALARM_THRESHOLDS: AlarmThresholds = {
  syncLag: { warning: on(50, 5), critical: on(200, 2) },
  noPaymentsDetected: { warning: on(1, 6 * 60) },
  hotWalletBalance: { warning: on(50_000, 5), critical: on(10_000, 1) },
  deadLetterQueue: { critical: on(0, 1) },
  // 15 minutes: well past a failover or a deploy (seconds to a minute or two), well before confirmations are at risk.
  queueAge: { warning: on(300, 5), critical: on(900, 1) },
  processorErrors: { warning: on(0, 10) },
  processorFailedMessages: { warning: on(0, 10) },
  processorThrottles: { warning: on(0, 10) },
  // A halt waits for an operator: page on the first minute.
  pipelineHalted: { critical: on(0, 1) },
  // A recovery after a failover or a deploy (two task replacements) is expected; a third in the hour is not.
  pipelineRecoveries: { warning: on(2, 60) },
  // A deploy's window lasts until the new follower leads (a minute or two); a quarter of an hour is a stranded deploy.
  otherReleaseMessages: { critical: on(0, 15) },
  functionErrors: { warning: on(0, 5) },
  followerLeader: { critical: on(1, 5) },
  followerEmitting: { warning: on(1, 10) },
  // The service runs two tasks (FOLLOWER_TASKS); a replaced task is back in a minute or two.
  followerTasks: { warning: on(2, 10) },
  reconciliationDiscrepancies: { critical: on(0, 60) },
  balanceMismatches: { critical: on(0, 60) },
  paymentsReversed: { critical: on(0, 1) },
  invoicesInvalidated: { critical: on(0, 1) },
  reconciliationRuns: { warning: on(1, 26 * 60) },
  // Three one-minute runs of the health check in a row: pages within 5 minutes of the outage (issue 10).
  databaseReachable: { critical: on(1, 3) },
  databaseCpu: { warning: on(80, 15) },
  // Percent of the maximum storage. At the first allocation (half the maximum) 5% is autoscaling's own trigger: the
  // warning waits half an hour for it to act. 2% is below the trigger at any allocation.
  databaseFreeStorage: { warning: on(5, 30), critical: on(2, 5) },
  databaseConnections: { warning: on(80, 10) },
  apiServerErrors: { warning: on(0, 10) },
  // The publisher runs every minute and after each batch: five minutes is several runs that did not publish.
  outboxAge: { warning: on(300, 3) },
  webhookFailing: { warning: on(3600, 5) },
  webhookDisabled: { critical: on(0, 5) },
  webhookDeadLetterQueue: { warning: on(0, 1) },
  // A database hiccup fails a run or two; runs failing for a quarter of an hour mean deliveries have stopped.
  webhookRunFailures: { warning: on(0, 15) },
  // Payouts (issue 16). A transaction waits a block or two (a minute); resubmitted every 2 min, it expires after an
  // hour (PAYOUT_VALIDITY_SECONDS) and is built again: half an hour unconfirmed means the network does not take it.
  payoutStuck: { warning: on(30, 1) },
  // The processor builds every minute: an approved payout still without a transaction after half an hour is not going.
  payoutNotSent: { warning: on(30, 1) },
  payoutFailed: { critical: on(0, 1) },
  // A KMS throttle clears by the next run; failing runs for 10 minutes mean no payout is signed.
  payoutSignerErrors: { warning: on(0, 10) },
  // Ogmios unreachable for one run clears by the next; failing builds for 10 minutes mean approved payouts wait.
  payoutBuildFailures: { warning: on(0, 10) },
  payoutDailyLimitReached: { warning: on(0, 5) },
};

/** Period (minutes) each threshold is evaluated over; `forMinutes` must be a whole number of periods. */
export const ALARM_PERIOD_MINUTES: { readonly [K in AlarmKey]: number } = {
  syncLag: 1,
  noPaymentsDetected: 60,
  hotWalletBalance: 1,
  deadLetterQueue: 1,
  queueAge: 1,
  processorErrors: 5,
  processorFailedMessages: 5,
  processorThrottles: 5,
  pipelineHalted: 1,
  pipelineRecoveries: 60,
  otherReleaseMessages: 5,
  functionErrors: 5,
  followerLeader: 1,
  followerEmitting: 5,
  followerTasks: 1,
  reconciliationDiscrepancies: 60,
  balanceMismatches: 60,
  paymentsReversed: 1,
  invoicesInvalidated: 1,
  reconciliationRuns: 60,
  databaseReachable: 1,
  databaseCpu: 5,
  databaseFreeStorage: 5,
  databaseConnections: 5,
  apiServerErrors: 5,
  outboxAge: 1,
  webhookFailing: 5,
  webhookDisabled: 5,
  webhookDeadLetterQueue: 1,
  webhookRunFailures: 5,
  payoutStuck: 1,
  payoutNotSent: 1,
  payoutFailed: 1,
  payoutSignerErrors: 5,
  payoutBuildFailures: 5,
  payoutDailyLimitReached: 5,
};

/**
 * Periods an alarm's window may lack without its count starting over: it needs forMinutes/period breaching data points
 * out of that many plus these ("M of N"). For gauges written by an every-minute job that takes no retry, where a missed
 * run is a missing minute (the hot-wallet balance, the payout processor's oldest submitted transaction).
 */
export const MISSING_PERIODS_TOLERATED: { readonly [K in AlarmKey]?: number } = { hotWalletBalance: 1, payoutStuck: 1, payoutNotSent: 1 };

const PERCENT_KEYS: ReadonlySet<AlarmKey> = new Set(['databaseCpu', 'databaseFreeStorage']);
/** CloudWatch: period × evaluation periods ≤ 1 day for periods under an hour, ≤ 7 days otherwise. */
const MAX_RANGE_MINUTES_SHORT_PERIOD = 24 * 60;
const MAX_RANGE_MINUTES_LONG_PERIOD = 7 * 24 * 60;
const SETTING_FIELDS = ['threshold', 'forMinutes', 'enabled'] as const;

export type AlarmOverrides = { readonly [K in AlarmKey]?: { readonly [S in keyof AlarmThresholds[K]]?: Partial<AlarmSetting> } };

export class MonitoringConfigError extends Error {
  override readonly name = 'MonitoringConfigError';
}

/**
 * The defaults with `overrides` (the stage's `alarms` section, untrusted JSON) applied, and every problem found,
 * each naming its path (`alarms.syncLag.warning.forMinutes`). Unknown keys are problems, not ignored: a typo
 * would otherwise leave a default in place silently.
 */
export function resolveAlarmThresholds(overrides: unknown, path = 'alarms'): { thresholds: AlarmThresholds; problems: string[] } {
  const problems: string[] = [];
  if (overrides === undefined) return { thresholds: DEFAULT_ALARM_THRESHOLDS, problems: validateAlarmThresholds(DEFAULT_ALARM_THRESHOLDS) };
  if (!isRecord(overrides)) return { thresholds: DEFAULT_ALARM_THRESHOLDS, problems: [`${path} must be an object of alarm settings`] };

  const merged: Record<string, Record<string, AlarmSetting>> = {};
  for (const [key, bySeverity] of Object.entries(DEFAULT_ALARM_THRESHOLDS) as [AlarmKey, Record<string, AlarmSetting>][]) {
    merged[key] = { ...bySeverity };
  }
  for (const [key, severities] of Object.entries(overrides)) {
    const defaults = merged[key];
    if (!defaults) {
      problems.push(`${path}.${key} is not an alarm; known: ${Object.keys(DEFAULT_ALARM_THRESHOLDS).join(', ')}`);
      continue;
    }
    if (!isRecord(severities)) {
      problems.push(`${path}.${key} must be an object keyed by severity (${Object.keys(defaults).join(', ')})`);
      continue;
    }
    for (const [severity, setting] of Object.entries(severities)) {
      const where = `${path}.${key}.${severity}`;
      const base = defaults[severity];
      if (!base) {
        problems.push(`${where}: ${key} has no ${severity} alarm (it has ${Object.keys(defaults).join(', ')})`);
        continue;
      }
      if (!isRecord(setting)) {
        problems.push(`${where} must be an object with threshold, forMinutes and/or enabled`);
        continue;
      }
      const unknown = Object.keys(setting).filter((field) => !(SETTING_FIELDS as readonly string[]).includes(field));
      if (unknown.length > 0) problems.push(`${where}: unknown field(s) ${unknown.join(', ')}; allowed: ${SETTING_FIELDS.join(', ')}`);
      defaults[severity] = { ...base, ...(setting as Partial<AlarmSetting>) };
    }
  }
  const thresholds = merged as unknown as AlarmThresholds;
  problems.push(...validateAlarmThresholds(thresholds, path));
  return { thresholds, problems };
}

/** Every problem of a complete set of thresholds: types, ranges, whole periods, CloudWatch limits, severity order. */
export function validateAlarmThresholds(thresholds: AlarmThresholds, path = 'alarms'): string[] {
  const problems: string[] = [];
  for (const [key, periodMinutes] of Object.entries(ALARM_PERIOD_MINUTES) as [AlarmKey, number][]) {
    const bySeverity = thresholds[key] as Record<string, AlarmSetting | undefined> | undefined;
    for (const severity of Object.keys(DEFAULT_ALARM_THRESHOLDS[key])) {
      const where = `${path}.${key}.${severity}`;
      const setting = bySeverity?.[severity];
      if (!setting) {
        problems.push(`${where} is missing`);
        continue;
      }
      const { threshold, forMinutes, enabled } = setting;
      if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold < 0) {
        problems.push(`${where}.threshold must be a number ≥ 0 (got ${JSON.stringify(threshold)})`);
      } else if (PERCENT_KEYS.has(key) && threshold > 100) {
        problems.push(`${where}.threshold is a percentage and must be ≤ 100 (got ${threshold})`);
      }
      // The window the alarm evaluates also holds the periods it may lack.
      const maxRange =
        (periodMinutes >= 60 ? MAX_RANGE_MINUTES_LONG_PERIOD : MAX_RANGE_MINUTES_SHORT_PERIOD) -
        (MISSING_PERIODS_TOLERATED[key] ?? 0) * periodMinutes;
      if (!Number.isInteger(forMinutes) || forMinutes < periodMinutes || forMinutes % periodMinutes !== 0) {
        problems.push(
          `${where}.forMinutes must be a whole multiple of the ${periodMinutes}-minute period (got ${JSON.stringify(forMinutes)})`,
        );
      } else if (forMinutes > maxRange) {
        problems.push(
          `${where}.forMinutes must be at most ${maxRange} (CloudWatch's evaluation range for a ${periodMinutes}-minute period; got ${forMinutes})`,
        );
      }
      if (typeof enabled !== 'boolean') problems.push(`${where}.enabled must be true or false (got ${JSON.stringify(enabled)})`);
    }
  }
  // The critical level must be the worse one, or the critical alarm would fire first (or never).
  const ordered = (key: 'syncLag' | 'queueAge' | 'hotWalletBalance' | 'databaseFreeStorage', criticalIsHigher: boolean) => {
    const { warning, critical } = thresholds[key] ?? {};
    if (typeof warning?.threshold !== 'number' || typeof critical?.threshold !== 'number') return; // reported above
    if (warning.enabled === false || critical.enabled === false) return;
    const ok = criticalIsHigher ? critical.threshold > warning.threshold : critical.threshold < warning.threshold;
    if (!ok) {
      problems.push(
        `${path}.${key}: the critical threshold (${critical.threshold}) must be ${criticalIsHigher ? 'above' : 'below'} the warning threshold (${warning.threshold})`,
      );
    }
  };
  ordered('syncLag', true);
  ordered('queueAge', true);
  ordered('hotWalletBalance', false);
  ordered('databaseFreeStorage', false);
  return problems;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
