/** How every Lambda of the product names itself in logs and metrics. */
import type { LogLevel } from '../../domain/log-level.js';
import { DefaultServiceName } from '../../domain/observability.js';

export interface ObservabilitySettings {
  /** POWERTOOLS_SERVICE_NAME, default `payment-monitor`: the `service` key and metric dimension. */
  serviceName: string;
  /** STAGE (required): the `stage` key and metric dimension, so that stages never share a series. */
  stage: string;
  /** LOG_LEVEL: debug, info (default), warn, error or critical. */
  logLevel: LogLevelName;
}

export const DEFAULT_SERVICE_NAME = DefaultServiceName.lambdas;

/** The level names are the domain's (domain/log-level.ts); the settings are read by functions/config/lambda-settings.ts. */
export type LogLevelName = LogLevel;
