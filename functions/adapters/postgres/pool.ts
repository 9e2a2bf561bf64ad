import pg from 'pg';

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

export interface PoolOptions {
  connectionString: string;
  /** Size it to the consumer's concurrency (one per Lambda instance, a few locally). */
  max?: number;
  applicationName?: string;
}

export function createPool({ connectionString, max = 4, applicationName = 'payment-monitor' }: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    application_name: applicationName,
    types: exactTypes,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client that loses its server must not crash the process; the next query reports the failure.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs fn inside one database transaction: committed when fn resolves, rolled back when it throws. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
