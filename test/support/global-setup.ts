import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import pg from 'pg';
import { startLocalPostgres, type LocalPostgres } from '../../functions/local/embedded-postgres.js';
import { createPool } from '../../functions/adapters/postgres/pool.js';
import { migrate } from '../../functions/adapters/postgres/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
  }
}

/**
 * One real PostgreSQL server for the whole run: DATABASE_URL when set, otherwise an embedded server in an
 * ignored folder. The schema is migrated once into a template; each test file clones it (fast and isolated).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let server: LocalPostgres | undefined;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    server = await startLocalPostgres({ dataDir: `.data/test-pg-${process.pid}`, persistent: false, fast: true });
    adminUrl = server.url;
  }
  const templateDatabase = `pm_template_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${templateDatabase}`);
  const templatePool = createPool({ connectionString: withDatabase(adminUrl, templateDatabase), max: 1 });
  await migrate(templatePool);
  await templatePool.end();

  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('templateDatabase', templateDatabase);

  return async () => {
    if (server) {
      await admin.end();
      await server.stop();
      return;
    }
    // A shared server: leave it as it was found.
    const { rows } = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'pm\\_test\\_%' OR datname = $1`,
      [templateDatabase],
    );
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    await admin.end();
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Runs work on a connection of its own to the server's admin database. */
export async function withAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}
