/** Settings the Lambda handlers read from their environment; every problem is a clear error at cold start. */
import { readOgmiosEndpoints, type OgmiosEndpoints } from '../adapters/ogmios/settings.js';
import { assertPostgresUrl, postgresUrlFromLibpqVariables, type Environment } from '../adapters/postgres/connection-url.js';
import type { DatabaseConnection } from '../adapters/postgres/pool.js';
import { rdsSecretConnection } from '../adapters/postgres/rds-secret-connection.js';
import { secretsManagerReader, type SecretReader } from '../adapters/secrets/secret-reader.js';
import { parseNetwork, type Network } from '../domain/network.js';
import { MAX_READY_LAG_BLOCKS } from '../domain/readiness.js';

export type { Environment };

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
  /** CHAIN_EVENT_QUEUE_URL: where failed messages are postponed; derived from the event source ARN when unset. */
  chainEventQueueUrl?: string;
}

export function readProcessorSettings(env: Environment): ProcessorSettings {
  const claimCheckBucket = env.CLAIM_CHECK_BUCKET?.trim();
  const chainEventQueueUrl = env.CHAIN_EVENT_QUEUE_URL?.trim();
  return {
    network: parseNetwork(env.NETWORK),
    confirmations: readPositiveInteger(env, 'CONFIRMATIONS', 15),
    dbPoolMax: readPositiveInteger(env, 'DB_POOL_MAX', 1),
    ...(claimCheckBucket ? { claimCheckBucket } : {}),
    ...(chainEventQueueUrl ? { chainEventQueueUrl } : {}),
  };
}

export interface HealthSettings {
  network: Network;
  /** MAX_READY_LAG_BLOCKS, default the tutorial's 100. */
  maxReadyLagBlocks: number;
}

export function readHealthSettings(env: Environment): HealthSettings {
  return {
    network: parseNetwork(env.NETWORK),
    maxReadyLagBlocks: readPositiveInteger(env, 'MAX_READY_LAG_BLOCKS', MAX_READY_LAG_BLOCKS),
  };
}

/**
 * How to reach PostgreSQL, from the first of:
 * - DATABASE_URL;
 * - DATABASE_SECRET_ARN: an RDS-managed secret (`host`, `port`, `username`, `password`, `dbname`). Its password is
 *   read when a connection is opened (cached 5 minutes) and read again when PostgreSQL refuses it, so a
 *   Secrets Manager rotation breaks nothing; TLS with certificate verification (`PGSSLMODE` verify-full by
 *   default, the RDS CA through NODE_EXTRA_CA_CERTS);
 * - the libpq variables PGHOST, PGPORT (5432), PGDATABASE, PGUSER, PGPASSWORD and PGSSLMODE (a fixed password).
 */
export async function resolveDatabaseConnection(env: Environment, readSecret: SecretReader = secretsManagerReader()): Promise<DatabaseConnection> {
  const url = env.DATABASE_URL?.trim();
  if (url) {
    assertPostgresUrl(url, 'DATABASE_URL');
    return { connectionString: url };
  }
  const secretArn = env.DATABASE_SECRET_ARN?.trim();
  if (secretArn) return rdsSecretConnection({ secretId: secretArn, readSecret, sslMode: env.PGSSLMODE });
  const fromLibpq = postgresUrlFromLibpqVariables(env);
  if (!fromLibpq) throw new Error('The database is not configured: set DATABASE_URL, DATABASE_SECRET_ARN, or PGHOST with PGDATABASE, PGUSER and PGPASSWORD');
  return { connectionString: fromLibpq };
}

/**
 * Ogmios relays and keys: OGMIOS_URL, with the keys from OGMIOS_API_KEY / OGMIOS_API_KEY_SECONDARY or, when
 * OGMIOS_API_KEYS_SECRET_ARN is set, from that secret's `primary` and `secondary` fields. Undefined when
 * OGMIOS_URL is unset.
 */
export async function resolveOgmiosEndpoints(env: Environment, readSecret: SecretReader = secretsManagerReader()): Promise<OgmiosEndpoints | undefined> {
  if (!env.OGMIOS_URL?.trim()) return undefined;
  const secretArn = env.OGMIOS_API_KEYS_SECRET_ARN?.trim();
  if (!secretArn) return readOgmiosEndpoints(env);
  const secret = await readSecret(secretArn);
  const optional = (name: string) => (typeof secret[name] === 'string' ? (secret[name] as string) : undefined);
  return readOgmiosEndpoints({ OGMIOS_URL: env.OGMIOS_URL, OGMIOS_API_KEY: optional('primary'), OGMIOS_API_KEY_SECONDARY: optional('secondary') });
}

export function readPositiveInteger(env: Environment, name: string, fallback: number): number {
  const text = env[name]?.trim();
  if (!text) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a whole number ≥ 1; got "${text}"`);
  return value;
}
