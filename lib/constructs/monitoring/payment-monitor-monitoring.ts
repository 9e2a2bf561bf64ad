/**
 * The monitoring facade: given what the stage runs (queue, DLQ, processor, operations functions, database,
 * follower), it creates the alarms of the catalogue with their thresholds, the warning and critical topics
 * their alarm and OK actions go to, and the stage's dashboard.
 *
 * Written in the style of cdk-monitoring-constructs (typed thresholds keyed by severity, one facade) without
 * depending on it: the alarms mirror a specific rule file, and declaring them ourselves keeps every metric,
 * period and missing-data choice visible in alarm-rules.ts and testable, with one dependency fewer.
 */
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData, type Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IDatabaseInstance } from 'aws-cdk-lib/aws-rds';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DefaultServiceName } from '../../../functions/domain/observability.js';
import {
  ALARM_PERIOD_MINUTES,
  DEFAULT_ALARM_THRESHOLDS,
  MISSING_PERIODS_TOLERATED,
  MonitoringConfigError,
  validateAlarmThresholds,
  type AlarmSetting,
  type AlarmThresholds,
  type Severity,
} from './alarm-thresholds.js';
import { ALARM_RULES, type AlarmContext, type AlarmRule, type MissingData } from './alarm-rules.js';
import { AlertTopics } from './alert-topics.js';
import { createMonitoringDashboard } from './monitoring-dashboard.js';
import {
  FUNCTION_LABELS,
  OPERATIONS_FUNCTIONS,
  WatchedMetrics,
  type OperationsFunctionName,
  type WatchedFrontDoor,
} from './watched-metrics.js';

export interface PaymentMonitorMonitoringProps {
  /** dev, staging, prod: in every alarm, topic and dashboard name. */
  readonly stage: string;
  /** The stage's thresholds (lib/config.ts resolves cdk.json overrides); defaults to the tutorial's. */
  readonly thresholds?: AlarmThresholds;
  readonly alertEmails: { readonly warning: readonly string[]; readonly critical: readonly string[] };
  readonly chainEventQueue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly processor: IFunction;
  /** The other functions; each one present gets an errors alarm and a line on the dashboard. */
  readonly functions?: Readonly<Partial<Record<OperationsFunctionName, IFunction>>>;
  readonly database: ({ readonly instance: IDatabaseInstance } | { readonly instanceIdentifier: string }) & {
    /**
     * The most storage the instance may grow to (RDS storage autoscaling's maxAllocatedStorage; the allocation when it
     * does not autoscale), for the free-storage alarms, whose thresholds are a percentage of it.
     */
    readonly maxAllocatedStorageGiB: number;
  };
  /** The follower's ECS service, for its CPU and memory on the dashboard. */
  readonly follower: { readonly clusterName: string; readonly serviceName: string };
  /**
   * The stage's hot-wallet addresses. None: no HotWalletLow/HotWalletCritical alarm at all (nothing measures a
   * balance, and an alarm on a metric that is never written would only sit in INSUFFICIENT_DATA).
   */
  readonly hotWalletAddresses: readonly string[];
  /** The HTTP API's REST APIs and the webhook deliverer's queue and DLQ. */
  readonly frontDoor: WatchedFrontDoor;
  /** `service` dimensions of the metrics; default to the runtime's defaults (POWERTOOLS_SERVICE_NAME unset). */
  readonly metricServiceNames?: { readonly lambdas?: string; readonly follower?: string };
}

/** One alarm of the stage with the rule it comes from, for tests and for the composition root. */
export interface CreatedAlarm {
  readonly rule: AlarmRule;
  readonly setting: AlarmSetting;
  readonly alarm: Alarm;
  /** The function a per-function rule watches. */
  readonly functionName?: OperationsFunctionName;
}

const MISSING_DATA: Readonly<Record<MissingData, TreatMissingData>> = {
  breaching: TreatMissingData.BREACHING,
  notBreaching: TreatMissingData.NOT_BREACHING,
  ignore: TreatMissingData.IGNORE,
};
const COMPARISONS: Readonly<Record<AlarmRule['comparison'], ComparisonOperator>> = {
  '>': ComparisonOperator.GREATER_THAN_THRESHOLD,
  '>=': ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  '<': ComparisonOperator.LESS_THAN_THRESHOLD,
};
const STAGE_NAME = /^[a-z][a-z0-9-]{0,30}$/;

export class PaymentMonitorMonitoring extends Construct {
  readonly thresholds: AlarmThresholds;
  readonly topics: Readonly<Record<Severity, ITopic>>;
  readonly alarms: readonly CreatedAlarm[];
  readonly dashboard: Dashboard;
  readonly alarmNamePrefix: string;

  constructor(scope: Construct, id: string, props: PaymentMonitorMonitoringProps) {
    const thresholds = props.thresholds ?? DEFAULT_ALARM_THRESHOLDS;
    validateProps(id, props, thresholds);
    super(scope, id);
    this.thresholds = thresholds;
    this.alarmNamePrefix = `payment-monitor-${props.stage}`;

    const databaseInstanceIdentifier =
      'instance' in props.database ? props.database.instance.instanceIdentifier : props.database.instanceIdentifier;
    const metrics = new WatchedMetrics({
      stage: props.stage,
      lambdaServiceName: props.metricServiceNames?.lambdas ?? DefaultServiceName.lambdas,
      followerServiceName: props.metricServiceNames?.follower ?? DefaultServiceName.follower,
      chainEventQueue: props.chainEventQueue,
      deadLetterQueue: props.deadLetterQueue,
      processor: props.processor,
      functions: props.functions ?? {},
      databaseInstanceIdentifier,
      follower: props.follower,
      frontDoor: props.frontDoor,
    });

    const alertTopics = new AlertTopics(this, 'AlertTopics', { stage: props.stage, emails: props.alertEmails });
    this.topics = alertTopics.topics;

    const hotWalletMonitored = props.hotWalletAddresses.length > 0;
    const context: AlarmContext = { maxAllocatedStorageGiB: props.database.maxAllocatedStorageGiB, hotWalletMonitored };
    const alarms: CreatedAlarm[] = [];
    for (const rule of ALARM_RULES) {
      const setting = (thresholds[rule.key] as Record<Severity, AlarmSetting | undefined>)[rule.severity]!;
      if (!setting.enabled) continue;
      if (rule.appliesTo && !rule.appliesTo(context)) continue;
      const targets: { name: string; fn?: IFunction; functionName?: OperationsFunctionName }[] = rule.perFunction
        ? OPERATIONS_FUNCTIONS.flatMap((name) => {
            const fn = props.functions?.[name];
            return fn ? [{ name: `${FUNCTION_LABELS[name]}${rule.name}`, fn, functionName: name }] : [];
          })
        : [{ name: rule.name }];
      for (const target of targets) {
        const period = Duration.minutes(ALARM_PERIOD_MINUTES[rule.key]);
        const breachingPeriods = setting.forMinutes / ALARM_PERIOD_MINUTES[rule.key];
        const alarm = new Alarm(this, target.name, {
          alarmName: `${this.alarmNamePrefix}-${target.name}`,
          alarmDescription: `[${rule.severity}] ${rule.runbook(setting)}`,
          metric: metrics.forRule(rule.metric, period, target.fn),
          threshold: rule.thresholdFor ? rule.thresholdFor(setting, context) : setting.threshold,
          comparisonOperator: COMPARISONS[rule.comparison],
          // "for N minutes": every period of the window must breach, as in a Prometheus rule's `for:`; a rule that
          // tolerates missing periods needs as many breaching ones in a window that many periods longer (M of N).
          evaluationPeriods: breachingPeriods + (MISSING_PERIODS_TOLERATED[rule.key] ?? 0),
          datapointsToAlarm: breachingPeriods,
          treatMissingData: MISSING_DATA[rule.missingData],
        });
        const action = new SnsAction(this.topics[rule.severity]);
        alarm.addAlarmAction(action);
        if (!rule.event) alarm.addOkAction(action);
        alarms.push({ rule, setting, alarm, ...(target.functionName ? { functionName: target.functionName } : {}) });
      }
    }
    this.alarms = alarms;

    this.dashboard = createMonitoringDashboard(this, 'Dashboard', {
      dashboardName: this.alarmNamePrefix,
      metrics,
      thresholds,
      alarms: alarms.map(({ alarm }) => alarm),
      hotWalletMonitored,
    });
  }
}

/** The invariants, all reported at once, before any resource exists. */
function validateProps(id: string, props: PaymentMonitorMonitoringProps, thresholds: AlarmThresholds): void {
  const problems = validateAlarmThresholds(thresholds, 'thresholds');
  if (!STAGE_NAME.test(props.stage)) problems.push(`stage must be lower-case letters, digits and dashes (got "${props.stage}")`);
  if (props.chainEventQueue === props.deadLetterQueue) problems.push('deadLetterQueue must be the DLQ, not the chain-event queue itself');
  if (props.frontDoor.webhookQueue === props.frontDoor.webhookDeadLetterQueue) {
    problems.push('frontDoor.webhookDeadLetterQueue must be the DLQ, not the webhook queue itself');
  }
  if (props.frontDoor.apis.length === 0) problems.push('frontDoor.apis must name the REST API(s) of the HTTP API');
  for (const api of props.frontDoor.apis) {
    if (!api.apiName || !api.stageName) problems.push(`frontDoor.apis: ${api.label} needs its apiName and stageName`);
  }
  const storage = props.database.maxAllocatedStorageGiB;
  if (!Number.isInteger(storage) || storage < 20)
    problems.push(`database.maxAllocatedStorageGiB must be a whole number ≥ 20 (got ${storage})`);
  if (!props.follower.clusterName || !props.follower.serviceName)
    problems.push('follower.clusterName and follower.serviceName must be set');
  const hotWalletAlarmsEnabled = thresholds.hotWalletBalance.warning.enabled || thresholds.hotWalletBalance.critical.enabled;
  if (props.hotWalletAddresses.length > 0 && hotWalletAlarmsEnabled && !props.functions?.hotWallet) {
    problems.push('hotWalletAddresses are set but functions.hotWallet is missing: nothing would measure hot_wallet_balance_ada');
  }
  const unknown = Object.keys(props.functions ?? {}).filter((name) => !(OPERATIONS_FUNCTIONS as readonly string[]).includes(name));
  if (unknown.length > 0) problems.push(`functions has unknown entries ${unknown.join(', ')}; known: ${OPERATIONS_FUNCTIONS.join(', ')}`);
  if (problems.length > 0) throw new MonitoringConfigError(`PaymentMonitorMonitoring "${id}" is invalid:\n- ${problems.join('\n- ')}`);
}
