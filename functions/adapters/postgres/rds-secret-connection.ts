/**
 * A pool connection from an RDS-managed secret (`host`, `port`, `username`, `password`, `dbname`) whose password
 * is read from the secret when a connection is opened: cached for a few minutes, read again at once when
 * PostgreSQL refuses it (after a Secrets Manager rotation changed it in place). Host, port, user and database are
 * read once: single-user rotation changes only the password.
 */
import { CachedSecret } from '../secrets/cached-secret.js';
import { requireStringField, type SecretReader } from '../secrets/secret-reader.js';
import type { RotatingPasswordConnection } from './pool.js';

export interface RdsSecretConnectionOptions {
  secretId: string;
  readSecret: SecretReader;
  /** PGSSLMODE; verify-full unless told otherwise. */
  sslMode?: string;
  /** How long a read password is used before it is read again; default CachedSecret's (5 minutes). */
  ttlMs?: number;
  now?: () => number;
}

export async function rdsSecretConnection(options: RdsSecretConnectionOptions): Promise<RotatingPasswordConnection> {
  const tls = parseSslMode(options.sslMode);
  const secret = new CachedSecret({
    secretId: options.secretId,
    readSecret: options.readSecret,
    ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const fields = await secret.read();
  const field = (name: string) => requireStringField(options.secretId, fields, name);
  const port = Number(field('port'));
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`Secret ${options.secretId} has no valid "port" field`);
  field('password'); // refused now, at cold start, rather than at the first connection
  return {
    host: field('host'),
    port,
    database: typeof fields.dbname === 'string' && fields.dbname !== '' ? fields.dbname : 'postgres',
    user: field('username'),
    tls,
    password: {
      current: async () => requireStringField(options.secretId, await secret.read(), 'password'),
      refresh: async () => {
        await secret.refresh();
      },
    },
  };
}

/** Only the two modes this product uses: verify-full on AWS, disable for a local server. */
function parseSslMode(text: string | undefined): 'verify-full' | 'disable' {
  const mode = text?.trim() || 'verify-full';
  if (mode !== 'verify-full' && mode !== 'disable')
    throw new Error(`PGSSLMODE must be verify-full or disable with a database secret; got "${mode}"`);
  return mode;
}
