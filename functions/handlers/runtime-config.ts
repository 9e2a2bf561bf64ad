/** Settings the Lambda handlers read from their environment; every problem is a clear error at cold start. */
import { readOgmiosEndpoints, type OgmiosEndpoints } from '../adapters/ogmios/settings.js';
import { parseNetwork, type Network } from '../domain/network.js';
import { MAX_READY_LAG_BLOCKS } from '../domain/readiness.js';

export type Environment = Readonly<Record<string, string | undefined>>;

export interface ProcessorSettings {
  network: Network;
  confirmations: number;
  /**
   * DB_POOL_MAX, default 1. A Lambda instance runs one invocation at a time and applies its records one after
   * another (FIFO order), each in one transaction on one connection: a second connection would never be used.
   * What bounds the database's load is the event source mapping's maximum concurrency: the processor opens at
   * most maximum concurrency × DB_POOL_MAX connections (and with one message group per chain SQS hands out one
   * batch at a time anyway).
   */
  dbPoolMax: number;
  /** CLAIM_CHECK_BUCKET: where the follower put messages over 1 MiB. Without it such a message fails. */
  claimCheckBucket?: string;
}

export function readProcessorSettings(env: Environment): ProcessorSettings {
  const claimCheckBucket = env.CLAIM_CHECK_BUCKET?.trim();
  return {
    network: parseNetwork(env.NETWORK),
    confirmations: readPositiveInteger(env, 'CONFIRMATIONS', 15),
    dbPoolMax: readPositiveInteger(env, 'DB_POOL_MAX', 1),
    ...(claimCheckBucket ? { claimCheckBucket } : {}),
  };
}

export interface HealthSettings {
  network: Network;
  /** OGMIOS_URL (+ OGMIOS_API_KEY, OGMIOS_API_KEY_SECONDARY): the live network tip; sync_state's last one when unset. */
  ogmios?: OgmiosEndpoints;
  /** MAX_READY_LAG_BLOCKS, default the tutorial's 100. */
  maxReadyLagBlocks: number;
}

export function readHealthSettings(env: Environment): HealthSettings {
  return {
    network: parseNetwork(env.NETWORK),
    ...(env.OGMIOS_URL?.trim() ? { ogmios: readOgmiosEndpoints(env) } : {}),
    maxReadyLagBlocks: readPositiveInteger(env, 'MAX_READY_LAG_BLOCKS', MAX_READY_LAG_BLOCKS),
  };
}

/**
 * The PostgreSQL connection string: DATABASE_URL, or else the libpq variables PGHOST, PGPORT (5432),
 * PGDATABASE, PGUSER, PGPASSWORD and PGSSLMODE. The second form lets the infrastructure pass a generated
 * password as it is (an RDS secret's password would need URL-encoding inside DATABASE_URL).
 * Asynchronous so that fetching credentials at cold start (Secrets Manager, RDS IAM tokens) fits behind it
 * without changing a caller.
 */
export async function resolveDatabaseUrl(env: Environment): Promise<string> {
  const url = env.DATABASE_URL?.trim();
  if (url) {
    assertPostgresUrl(url, 'DATABASE_URL');
    return url;
  }
  const host = env.PGHOST?.trim();
  if (!host) throw new Error('The database is not configured: set DATABASE_URL, or PGHOST with PGDATABASE, PGUSER and PGPASSWORD');
  const composed = new URL('postgres://placeholder');
  composed.hostname = host;
  composed.port = env.PGPORT?.trim() || '5432';
  composed.pathname = `/${encodeURIComponent(env.PGDATABASE?.trim() || 'postgres')}`;
  if (env.PGUSER) composed.username = encodeURIComponent(env.PGUSER);
  if (env.PGPASSWORD) composed.password = encodeURIComponent(env.PGPASSWORD);
  if (env.PGSSLMODE?.trim()) composed.searchParams.set('sslmode', env.PGSSLMODE.trim());
  return composed.toString();
}

function assertPostgresUrl(value: string, name: string): void {
  let protocol: string;
  try {
    protocol = new URL(value).protocol;
  } catch {
    // The value is not repeated: it holds a password.
    throw new Error(`${name} is not a URL`);
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') throw new Error(`${name} must be a postgres:// URL; got a ${protocol} URL`);
}

export function readPositiveInteger(env: Environment, name: string, fallback: number): number {
  const text = env[name]?.trim();
  if (!text) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a whole number ≥ 1; got "${text}"`);
  return value;
}
