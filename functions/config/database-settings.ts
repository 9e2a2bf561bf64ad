/**
 * Where PostgreSQL is, from the first of DATABASE_URL, DATABASE_SECRET_ARN (an RDS-managed secret) and the libpq
 * variables; and the one function that turns that into a pool connection.
 */
import { assertPostgresUrl, composePostgresUrl } from '../adapters/postgres/connection-url.js';
import type { DatabaseConnection } from '../adapters/postgres/pool.js';
import { rdsSecretConnection } from '../adapters/postgres/rds-secret-connection.js';
import { secretsManagerReader, type SecretReader } from '../adapters/secrets/secret-reader.js';
import type { Environment } from './environment.js';
import { readSettingsGroup, type SettingsReader } from './settings-reader.js';
import { DATABASE_SECRET_ARN, DATABASE_URL, PGDATABASE, PGHOST, PGPASSWORD, PGPORT, PGSSLMODE, PGUSER } from './variables.js';

/** A fixed connection URL, or the RDS secret the password is read from. */
export type DatabaseSettings = { connectionString: string } | { secretArn: string; sslMode: string | undefined };

/** Undefined when none is set (the local tools then use the embedded database). */
export function readOptionalDatabaseSettingsWith(reader: SettingsReader): DatabaseSettings | undefined {
  const url = reader.read(DATABASE_URL);
  if (url) {
    reader.attempt(() => assertPostgresUrl(url, 'DATABASE_URL'), undefined);
    return { connectionString: url };
  }
  const secretArn = reader.read(DATABASE_SECRET_ARN);
  if (secretArn) return { secretArn, sslMode: reader.read(PGSSLMODE) };
  const host = reader.read(PGHOST);
  if (!host) return undefined;
  return {
    connectionString: composePostgresUrl({
      host,
      port: reader.read(PGPORT),
      database: reader.read(PGDATABASE),
      user: reader.read(PGUSER),
      password: reader.read(PGPASSWORD),
      sslMode: reader.read(PGSSLMODE),
    }),
  };
}

export function readDatabaseSettingsWith(reader: SettingsReader): DatabaseSettings {
  const settings = readOptionalDatabaseSettingsWith(reader);
  if (settings) return settings;
  reader.problem(
    'DATABASE_URL is not set: give the PostgreSQL connection URL of the engine database, DATABASE_SECRET_ARN (an RDS-managed secret), or PGHOST with PGDATABASE, PGUSER and PGPASSWORD',
  );
  return { connectionString: '' };
}

/**
 * The pool's connection. With the secret, its password is read when a connection is opened (cached 5 minutes)
 * and read again when PostgreSQL refuses it, so a Secrets Manager rotation breaks nothing; TLS verifies the
 * certificate (`PGSSLMODE` verify-full by default, the RDS CA through NODE_EXTRA_CA_CERTS).
 */
export async function databaseConnection(settings: DatabaseSettings, readSecret?: SecretReader): Promise<DatabaseConnection> {
  if ('connectionString' in settings) return settings;
  return rdsSecretConnection({ secretId: settings.secretArn, readSecret: readSecret ?? secretsManagerReader(), sslMode: settings.sslMode });
}

/** The connection from an environment that holds nothing else of interest (a one-off tool, a test). */
export async function resolveDatabaseConnection(env: Environment, readSecret?: SecretReader): Promise<DatabaseConnection> {
  return databaseConnection(readSettingsGroup('database', env, readDatabaseSettingsWith), readSecret);
}
