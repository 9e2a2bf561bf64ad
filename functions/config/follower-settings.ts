/**
 * The follower task's settings, from the environment the task definition provides. Every problem is collected
 * and reported at once, before anything starts, naming the variable and what it should hold.
 */
import { parsePoint } from '../domain/chain.js';
import { validateLeaseTimings, DEFAULT_LEASE_TIMINGS, type LeaseTimings } from '../domain/lease.js';
import type { LogLevel } from '../domain/log-level.js';
import { NETWORKS, type Network } from '../domain/network.js';
import { DefaultServiceName } from '../domain/observability.js';
import type { EmitterSettings } from '../adapters/sqs/emitter-settings.js';
import type { StartPoint } from '../follower/start-points.js';
import { readDatabaseSettingsWith, type DatabaseSettings } from './database-settings.js';
import { processEnvironment, type Environment } from './environment.js';
import { readOgmiosSettingsWith, type OgmiosSettings } from './ogmios-settings.js';
import { ConfigurationError, SettingsReader } from './settings-reader.js';
import {
  CHAIN_EVENT_QUEUE_URL,
  CLAIM_CHECK_BUCKET,
  CLAIM_CHECK_KMS_KEY_ID,
  HEALTH_PORT,
  LEASE_ACQUIRE_INTERVAL_MS,
  LEASE_DURATION_MS,
  LEASE_RENEW_INTERVAL_MS,
  LEASE_SAFETY_MARGIN_MS,
  LEASE_TABLE,
  LOG_LEVEL,
  METRICS_INTERVAL_MS,
  NETWORK,
  POWERTOOLS_SERVICE_NAME,
  RECONCILIATION_FUNCTION_NAME,
  SHUTDOWN_BUDGET_MS,
  STAGE,
  START_POINT,
} from './variables.js';

export interface FollowerSettings {
  network: Network;
  ogmios: OgmiosSettings;
  database: DatabaseSettings;
  startPoint: StartPoint;
  leaseTable: string;
  stage: string;
  serviceName: string;
  healthPort: number;
  lease: LeaseTimings;
  shutdownBudgetMs: number;
  metricsIntervalMs: number;
  logLevel: LogLevel;
  /** After an outage, the leader asks this reconciliation Lambda for a run; none when unset. */
  reconciliationFunctionName?: string;
}

export function readFollowerSettings(env: Environment = processEnvironment()): FollowerSettings {
  const reader = new SettingsReader(env);
  const network = reader.required(NETWORK, `one of ${NETWORKS.join(', ')}`);
  const ogmios = readOgmiosSettingsWith(reader);
  const database = readDatabaseSettingsWith(reader);
  const startPoint = reader.attempt(() => readStartPoint(env), 'tip');
  const leaseTable = reader.required(LEASE_TABLE, 'the name of the DynamoDB lease table');
  const stage = reader.required(STAGE, 'the stage name (every metric carries it as a dimension)');
  const healthPort = reader.read(HEALTH_PORT);
  const timings = [LEASE_DURATION_MS, LEASE_RENEW_INTERVAL_MS, LEASE_SAFETY_MARGIN_MS, LEASE_ACQUIRE_INTERVAL_MS].map((variable) =>
    reader.read(variable, Number.NaN),
  );
  const [leaseDurationMs, renewIntervalMs, safetyMarginMs, acquireIntervalMs] = timings as [number, number, number, number];
  const lease = timings.some(Number.isNaN)
    ? DEFAULT_LEASE_TIMINGS
    : reader.attempt(
        () => validateLeaseTimings({ leaseDurationMs, renewIntervalMs, safetyMarginMs, acquireIntervalMs }),
        DEFAULT_LEASE_TIMINGS,
      );
  const shutdownBudgetMs = reader.read(SHUTDOWN_BUDGET_MS);
  const metricsIntervalMs = reader.read(METRICS_INTERVAL_MS);
  const logLevel = reader.read(LOG_LEVEL);
  const reconciliationFunctionName = reader.read(RECONCILIATION_FUNCTION_NAME);
  reader.finish('follower');
  return {
    network,
    ogmios,
    database,
    startPoint,
    leaseTable,
    stage,
    serviceName: reader.read(POWERTOOLS_SERVICE_NAME) ?? DefaultServiceName.follower,
    healthPort,
    lease,
    shutdownBudgetMs,
    metricsIntervalMs,
    logLevel,
    ...(reconciliationFunctionName ? { reconciliationFunctionName } : {}),
  };
}

/** The `service` of the follower's log lines, even before the rest of its settings could be read. */
export function readFollowerServiceName(env: Environment = processEnvironment()): string {
  return POWERTOOLS_SERVICE_NAME.read(env) ?? DefaultServiceName.follower;
}

/** START_POINT: `tip` (the default), `origin` or `<slot>.<block id>`; only used while the database holds no block. */
export function readStartPoint(env: Environment): StartPoint {
  const text = START_POINT.read(env) ?? 'tip';
  return text === 'tip' ? 'tip' : (parsePoint(text) as StartPoint);
}

/** Where the follower emits (CHAIN_EVENT_QUEUE_URL, CLAIM_CHECK_BUCKET, CLAIM_CHECK_KMS_KEY_ID, NETWORK). */
export function readEmitterSettings(env: Environment = processEnvironment()): EmitterSettings {
  const reader = new SettingsReader(env);
  const emitter = readEmitterSettingsWith(reader);
  reader.finish('follower');
  return emitter;
}

function readEmitterSettingsWith(reader: SettingsReader): EmitterSettings {
  const network = reader.read(NETWORK);
  const queueUrl = reader.required(CHAIN_EVENT_QUEUE_URL, 'the URL of the chain-event FIFO queue');
  if (queueUrl && !queueUrl.endsWith('.fifo'))
    reader.problem(`CHAIN_EVENT_QUEUE_URL must name a FIFO queue (ending in .fifo); got ${queueUrl}`);
  const claimCheckBucket = reader.required(CLAIM_CHECK_BUCKET, 'the bucket for messages over the SQS size limit');
  const kmsKeyId = reader.read(CLAIM_CHECK_KMS_KEY_ID);
  return { network, queueUrl, claimCheckBucket, ...(kmsKeyId ? { claimCheckKmsKeyId: kmsKeyId } : {}) };
}

/** Everything the follower process reads, every problem of both groups reported together. */
export function readFollowerProcessSettings(env: Environment = processEnvironment()): {
  follower: FollowerSettings;
  emitter: EmitterSettings;
} {
  const problems: string[] = [];
  const collect = <T>(read: () => T): T | undefined => {
    try {
      return read();
    } catch (error) {
      problems.push(...(error instanceof ConfigurationError ? error.problems : [String(error)]));
      return undefined;
    }
  };
  const follower = collect(() => readFollowerSettings(env));
  const emitter = collect(() => readEmitterSettings(env));
  if (!follower || !emitter) throw new ConfigurationError('follower', [...new Set(problems)]);
  return { follower, emitter };
}
