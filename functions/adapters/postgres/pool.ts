import pg from 'pg';
import { DefaultServiceName } from '../../domain/observability.js';

const INT8_OID = 20;

/**
 * BIGINT columns (lovelace, heights, slots) come back as JavaScript bigint, never as a lossy number.
 * NUMERIC stays a string and is converted where its meaning is known.
 */
const exactTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (value: string) => BigInt(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/**
 * How a pool reaches PostgreSQL: a postgres:// URL (its password fixed for the pool's life), or the parts of one
 * with a password that is asked for each time a connection is opened (credentials that rotate).
 */
export type DatabaseConnection = UrlConnection | RotatingPasswordConnection;

export interface UrlConnection {
  connectionString: string;
}

export interface RotatingPasswordConnection {
  host: string;
  port: number;
  database: string;
  user: string;
  /** verify-full: TLS, certificate and host name verified (NODE_EXTRA_CA_CERTS holds the RDS CA); disable: no TLS. */
  tls: 'verify-full' | 'disable';
  password: PasswordSource;
}

/** Where a pool's password comes from. */
export interface PasswordSource {
  /** The password to open the next connection with (may be cached). */
  current(): Promise<string>;
  /** Forget the cached password and read it again: the server has just refused it. */
  refresh(): Promise<void>;
}

/** PostgreSQL's SQLSTATE for a refused password (invalid_password). */
export const INVALID_PASSWORD = '28P01';

export type PoolOptions = DatabaseConnection & {
  /** Size it to the consumer's concurrency (one per Lambda instance, a few locally). */
  max?: number;
  applicationName?: string;
};

export function createPool(options: PoolOptions): pg.Pool {
  const { max = 4, applicationName = DefaultServiceName.lambdas } = options;
  const common: pg.PoolConfig = {
    max,
    application_name: applicationName,
    types: exactTypes,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  };
  const pool =
    'connectionString' in options
      ? new pg.Pool({ ...common, connectionString: options.connectionString })
      : new PasswordRefreshingPool(
          {
            ...common,
            host: options.host,
            port: options.port,
            database: options.database,
            user: options.user,
            // pg calls this for every new connection; open connections keep working when the password changes.
            password: () => options.password.current(),
            ssl: options.tls === 'verify-full' ? { rejectUnauthorized: true } : false,
          },
          options.password,
        );
  // An idle client that loses its server must not crash the process; the next query reports the failure.
  pool.on('error', () => undefined);
  // Nor may a checked-out one that loses it between two statements (a failover mid-transaction): pg then emits
  // 'error' on the client, which nobody listens to; its next query fails instead, and the caller retries.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

// `any`: the release callback type pg declares.
// biome-ignore lint/suspicious/noExplicitAny: pg's own callback type, which this override must match
type ConnectCallback = (error: Error | undefined, client: pg.PoolClient | undefined, done: (release?: any) => void) => void;

/**
 * After a password rotation the cached password is refused (28P01) by every new connection: the pool reads the
 * password again and tries once more, so the caller sees no failure. Connections opened before keep working.
 * pool.query() goes through connect() too.
 */
class PasswordRefreshingPool extends pg.Pool {
  constructor(
    config: pg.PoolConfig,
    private readonly passwords: PasswordSource,
  ) {
    super(config);
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  // biome-ignore lint/suspicious/noConfusingVoidType: pg.Pool's connect overloads return a promise or nothing
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    const connected = this.connectRefreshingOnce();
    if (!callback) return connected;
    connected.then(
      (client) => callback(undefined, client, client.release),
      (error: Error) => callback(error, undefined, () => undefined),
    );
  }

  private async connectRefreshingOnce(): Promise<pg.PoolClient> {
    try {
      return await super.connect();
    } catch (error) {
      if (!isPasswordRefused(error)) throw error;
      await this.passwords.refresh();
      return super.connect();
    }
  }
}

export function isPasswordRefused(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === INVALID_PASSWORD;
}

/**
 * Runs fn inside one database transaction: committed when fn resolves, rolled back when it throws.
 * `begin` chooses the isolation, e.g. a read-only snapshot: 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY'.
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(begin);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // A connection that cannot even roll back (dropped, failed over) is discarded, not handed to the next user.
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    client.release(broken);
  }
}
