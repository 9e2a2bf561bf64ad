import pg from 'pg';
import { createPool } from '../../functions/adapters/postgres/pool.js';
import { migrate } from '../../functions/adapters/postgres/migrate.js';
import { startLocalPostgres, type LocalPostgres } from '../../functions/local/embedded-postgres.js';

export interface BenchDatabase {
  pool: pg.Pool;
  describe: string;
  close(): Promise<void>;
}

/**
 * A fresh, migrated database for one benchmark run: on DATABASE_URL's server when set, otherwise on an
 * embedded PostgreSQL with its default (durable) settings.
 */
export async function openBenchDatabase(name: string): Promise<BenchDatabase> {
  let server: LocalPostgres | undefined;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    server = await startLocalPostgres({
      dataDir: `.data/bench-pg-${process.pid}`,
      persistent: false,
      fast: process.env.BENCH_FAST === '1',
    });
    adminUrl = server.url;
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  const { rows } = await admin.query<{ server_version: string }>('SHOW server_version');
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pool = createPool({ connectionString: url.toString(), max: 2 });
  await migrate(pool);
  return {
    pool,
    describe: `PostgreSQL ${rows[0]!.server_version} (${server ? 'embedded, default settings' : 'DATABASE_URL'})`,
    async close() {
      await pool.end();
      await server?.stop();
    },
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
