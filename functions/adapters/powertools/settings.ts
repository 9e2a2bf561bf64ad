/** How every Lambda of the product names itself in logs and metrics, from the environment. */
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

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'critical'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export function readObservabilitySettings(env: Readonly<Record<string, string | undefined>> = process.env): ObservabilitySettings {
  const stage = env.STAGE?.trim();
  if (!stage) throw new Error('STAGE is not set: every metric carries the stage as a dimension');
  const level = (env.LOG_LEVEL ?? 'info').trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}; got "${env.LOG_LEVEL}"`);
  return { serviceName: env.POWERTOOLS_SERVICE_NAME?.trim() || DEFAULT_SERVICE_NAME, stage, logLevel: level as LogLevelName };
}
