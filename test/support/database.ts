import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import type pg from 'pg';
import { createPool } from '../../functions/adapters/postgres/pool.js';
import { withAdmin, withDatabase } from './global-setup.js';

export interface TestDatabase {
  pool: pg.Pool;
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh database of its own on the run's real PostgreSQL server: migrated, or empty with `{ migrated: false }` (for
 * a test that migrates it step by step).
 */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = inject('adminDatabaseUrl');
  const name = `pm_test_${randomBytes(6).toString('hex')}`;
  const template = options.migrated === false ? '' : ` TEMPLATE ${inject('templateDatabase')}`;
  await withAdmin(adminUrl, (admin) => admin.query(`CREATE DATABASE ${name}${template}`));
  const url = withDatabase(adminUrl, name);
  const pool = createPool({ connectionString: url, max: 4 });
  return {
    pool,
    url,
    async drop() {
      await pool.end();
      await withAdmin(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/**
 * For a test file that makes databases as it goes: returns the function that makes one; every database it made is
 * dropped once the file's tests have run. Call it at the file's top level (it registers an afterAll hook).
 */
export function databasesDroppedAfterAll(): () => Promise<TestDatabase> {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of databases) await db.drop();
  });
  return async () => {
    const db = await createTestDatabase();
    databases.push(db);
    return db;
  };
}

/**
 * An empty (unmigrated) database for a whole test file, made before its tests and dropped after them: for a test that
 * migrates it step by step. Call it at the file's top level; read `pool` inside the tests.
 */
export function emptyDatabaseForFile(): { readonly pool: pg.Pool } {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await createTestDatabase({ migrated: false });
  });
  afterAll(async () => db?.drop());
  return {
    get pool() {
      if (!db) throw new Error('the database is made in beforeAll: read its pool inside a test');
      return db.pool;
    },
  };
}
