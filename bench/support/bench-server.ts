import pg from 'pg';
import { migrate } from '../../functions/adapters/postgres/migrate.js';
import { createPool } from '../../functions/adapters/postgres/pool.js';
import { startLocalPostgres, type LocalPostgres } from '../../functions/local/embedded-postgres.js';

/**
 * One PostgreSQL server for a benchmark that needs several databases (openBenchDatabase gives one): on
 * DATABASE_URL's server when set, otherwise an embedded PostgreSQL with its default (durable) settings
 * (BENCH_FAST=1: without fsync, as openBenchDatabase). A migrated database prepared once can be cloned
 * cheaply as a template.
 */
export interface BenchServer {
  describe: string;
  /** A new, empty database (dropped first if it exists); migrated unless it is a clone of `template`. */
  createDatabase(name: string, options?: { template?: string }): Promise<string>;
  close(): Promise<void>;
}

export async function openBenchServer(): Promise<BenchServer> {
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
  const { rows } = await admin.query<{ server_version: string }>('SHOW server_version');
  const created: string[] = [];
  const urlOf = (name: string) => {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  };
  return {
    describe: `PostgreSQL ${rows[0]!.server_version} (${server ? `embedded, ${process.env.BENCH_FAST === '1' ? 'fsync off' : 'default settings'}` : 'DATABASE_URL'})`,
    async createDatabase(name, { template } = {}) {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
      created.push(name);
      const url = urlOf(name);
      if (!template) {
        const pool = createPool({ connectionString: url, max: 1 });
        await migrate(pool);
        await pool.end();
      }
      return url;
    },
    async close() {
      // On DATABASE_URL's server, leave nothing behind; an embedded server goes with its data directory.
      if (!server) for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
      await server?.stop();
    },
  };
}
