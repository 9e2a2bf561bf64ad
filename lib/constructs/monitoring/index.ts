export { ALARM_RULES, type AlarmContext, type AlarmRule, type MissingData, type Statistic, type WatchedMetric } from './alarm-rules.js';
export {
  ALARM_PERIOD_MINUTES,
  DEFAULT_ALARM_THRESHOLDS,
  MonitoringConfigError,
  resolveAlarmThresholds,
  SEVERITIES,
  validateAlarmThresholds,
  type AlarmKey,
  type AlarmOverrides,
  type AlarmSetting,
  type AlarmThresholds,
  type Severity,
} from './alarm-thresholds.js';
export { AlertTopics, type AlertTopicsProps } from './alert-topics.js';
export { PaymentMonitorMonitoring, type CreatedAlarm, type PaymentMonitorMonitoringProps } from './payment-monitor-monitoring.js';
export {
  FUNCTION_LABELS,
  OPERATIONS_FUNCTIONS,
  type OperationsFunctionName,
  type WatchedApi,
  type WatchedFrontDoor,
} from './watched-metrics.js';
