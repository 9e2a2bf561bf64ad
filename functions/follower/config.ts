/**
 * The follower task's settings, from the environment the task definition provides. Every problem is collected
 * and reported at once, before anything starts, naming the variable and what it should hold.
 *
 * | variable                          | default                    |                                            |
 * | --------------------------------- | -------------------------- | ------------------------------------------ |
 * | OGMIOS_URL                        | required                   | comma-separated relays, ws(s):// or http(s):// |
 * | OGMIOS_API_KEY, _SECONDARY        | none                       | sent as dmtr-api-key                       |
 * | DATABASE_URL                      | required (or one below)    | the engine's PostgreSQL (read only here)  |
 * | DATABASE_SECRET_ARN               | used when DATABASE_URL is  | the RDS-managed secret (what AWS uses); its |
 * |                                   | unset                      | password is read per new connection and re-read after a refusal (rotation) |
 * | PGHOST, PGPORT, PGDATABASE,       | used when neither above is | libpq variables, a fixed password          |
 * | PGUSER, PGPASSWORD                | set                        | (PGPORT 5432)                              |
 * | PGSSLMODE                         | verify-full with the secret | verify-full or disable                    |
 * | NETWORK                           | required                   | mainnet, preprod or preview                |
 * | START_POINT                       | tip                        | origin, tip or <slot>.<block id>; only used while the database holds no block |
 * | LEASE_TABLE                       | required                   | the DynamoDB lease table                   |
 * | STAGE                             | required                   | metric dimension and log field             |
 * | HEALTH_PORT                       | 8080                       | /health/live, /health/ready                |
 * | LEASE_DURATION_MS                 | 30000                      |                                            |
 * | LEASE_RENEW_INTERVAL_MS           | 10000                      |                                            |
 * | LEASE_SAFETY_MARGIN_MS            | 5000                       |                                            |
 * | LEASE_ACQUIRE_INTERVAL_MS         | 3000                       | how often a standby looks                  |
 * | SHUTDOWN_BUDGET_MS                | 30000                      | ≤ 120000; the task's stopTimeout must be at least this |
 * | METRICS_INTERVAL_MS               | 60000                      | EMF summary interval                       |
 * | POWERTOOLS_SERVICE_NAME           | payment-monitor-follower   | the `service` dimension                    |
 * | LOG_LEVEL                         | info                       |                                            |
 *
 * The emitter's own settings (CHAIN_EVENT_QUEUE_URL, CLAIM_CHECK_BUCKET, …) are read by the SQS adapter.
 */
import { parsePoint } from '../domain/chain.js';
import { validateLeaseTimings, DEFAULT_LEASE_TIMINGS, type LeaseTimings } from '../domain/lease.js';
import { NETWORKS, type Network } from '../domain/network.js';
import { DEFAULT_METRICS_INTERVAL_MS, DefaultServiceName } from '../domain/observability.js';
import { readOgmiosEndpoints, type OgmiosEndpoints } from '../adapters/ogmios/settings.js';
import { assertPostgresUrl, postgresUrlFromLibpqVariables } from '../adapters/postgres/connection-url.js';
import type { StartPoint } from './start-points.js';

/** A fixed connection URL, or the RDS secret the password is read from (main.ts opens the pool from it). */
export type FollowerDatabase = { connectionString: string } | { secretArn: string; sslMode: string | undefined };

export interface FollowerConfig {
  network: Network;
  ogmios: OgmiosEndpoints;
  database: FollowerDatabase;
  startPoint: StartPoint;
  leaseTable: string;
  stage: string;
  serviceName: string;
  healthPort: number;
  lease: LeaseTimings;
  shutdownBudgetMs: number;
  metricsIntervalMs: number;
  logLevel: string;
}

export const DEFAULT_SERVICE_NAME = DefaultServiceName.follower;
export const DEFAULT_SHUTDOWN_BUDGET_MS = 30_000;
/** ECS stops a task with SIGKILL at most 120 s after SIGTERM (the largest stopTimeout Fargate allows). */
export const MAX_SHUTDOWN_BUDGET_MS = 120_000;
const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'critical'];

export class FollowerConfigError extends Error {
  override readonly name = 'FollowerConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`the follower's configuration is invalid:\n- ${problems.join('\n- ')}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** DATABASE_URL, else DATABASE_SECRET_ARN, else the libpq variables; a problem is recorded when none is set. */
function readDatabase(env: Env, problems: string[]): FollowerDatabase {
  const url = env.DATABASE_URL?.trim();
  if (url) {
    try {
      assertPostgresUrl(url, 'DATABASE_URL');
    } catch (error) {
      problems.push((error as Error).message);
    }
    return { connectionString: url };
  }
  const secretArn = env.DATABASE_SECRET_ARN?.trim();
  if (secretArn) return { secretArn, sslMode: env.PGSSLMODE?.trim() || undefined };
  const fromLibpq = postgresUrlFromLibpqVariables(env);
  if (fromLibpq) return { connectionString: fromLibpq };
  problems.push('DATABASE_URL is not set: give the PostgreSQL connection URL of the engine database, DATABASE_SECRET_ARN (an RDS-managed secret), or PGHOST with PGDATABASE, PGUSER and PGPASSWORD');
  return { connectionString: '' };
}

export function readFollowerConfig(env: Env = process.env): FollowerConfig {
  const problems: string[] = [];
  const attempt = <T>(read: () => T, fallback: T): T => {
    try {
      return read();
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
      return fallback;
    }
  };
  const required = (name: string, what: string): string => {
    const value = env[name]?.trim();
    if (!value) problems.push(`${name} is not set: give ${what}`);
    return value ?? '';
  };
  const milliseconds = (name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number => {
    const text = env[name]?.trim();
    if (!text) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value <= 0 || value > max) {
      problems.push(`${name} must be a whole number of milliseconds between 1 and ${max}; got "${text}"`);
      return fallback;
    }
    return value;
  };

  const networkText = required('NETWORK', `one of ${NETWORKS.join(', ')}`);
  if (networkText && !(NETWORKS as readonly string[]).includes(networkText)) problems.push(`NETWORK must be one of ${NETWORKS.join(', ')}; got "${networkText}"`);
  const ogmios = attempt(() => readOgmiosEndpoints(env), { urls: [], apiKeys: [] });
  const database = readDatabase(env, problems);
  const startText = env.START_POINT?.trim() || 'tip';
  const startPoint = attempt<StartPoint>(() => (startText === 'tip' ? 'tip' : parsePoint(startText)), 'tip');
  const leaseTable = required('LEASE_TABLE', 'the name of the DynamoDB lease table');
  const stage = required('STAGE', 'the stage name (every metric carries it as a dimension)');

  const healthText = env.HEALTH_PORT?.trim() || '8080';
  const healthPort = Number(healthText);
  if (!Number.isInteger(healthPort) || healthPort < 0 || healthPort > 65_535) problems.push(`HEALTH_PORT must be a port number; got "${healthText}"`);

  const lease = attempt(
    () =>
      validateLeaseTimings({
        leaseDurationMs: milliseconds('LEASE_DURATION_MS', DEFAULT_LEASE_TIMINGS.leaseDurationMs),
        renewIntervalMs: milliseconds('LEASE_RENEW_INTERVAL_MS', DEFAULT_LEASE_TIMINGS.renewIntervalMs),
        safetyMarginMs: milliseconds('LEASE_SAFETY_MARGIN_MS', DEFAULT_LEASE_TIMINGS.safetyMarginMs),
        acquireIntervalMs: milliseconds('LEASE_ACQUIRE_INTERVAL_MS', DEFAULT_LEASE_TIMINGS.acquireIntervalMs),
      }),
    DEFAULT_LEASE_TIMINGS,
  );
  const shutdownBudgetMs = milliseconds('SHUTDOWN_BUDGET_MS', DEFAULT_SHUTDOWN_BUDGET_MS, MAX_SHUTDOWN_BUDGET_MS);
  const metricsIntervalMs = milliseconds('METRICS_INTERVAL_MS', DEFAULT_METRICS_INTERVAL_MS);
  const logLevel = (env.LOG_LEVEL?.trim() || 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}; got "${env.LOG_LEVEL}"`);

  if (problems.length > 0) throw new FollowerConfigError(problems);
  return {
    network: networkText as Network,
    ogmios,
    database,
    startPoint,
    leaseTable,
    stage,
    serviceName: env.POWERTOOLS_SERVICE_NAME?.trim() || DEFAULT_SERVICE_NAME,
    healthPort,
    lease,
    shutdownBudgetMs,
    metricsIntervalMs,
    logLevel,
  };
}
