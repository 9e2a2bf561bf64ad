/**
 * A connection the database drops while it is checked out but between two statements (a failover in the middle of
 * a transaction, pg_terminate_backend here): the process must not crash on pg's 'error' event, the next statement
 * on it fails, and the pool hands out a working connection afterwards.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, inTransaction } from '../../functions/adapters/postgres/pool.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

describe('a pool whose checked-out connection is dropped', () => {
  it('survives the drop between two statements of a transaction, fails that transaction, and serves the next', async () => {
    const pool = createPool({ connectionString: db.url, max: 1 });
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const attempt = inTransaction(pool, async (client) => {
        const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        const ended = new Promise((resolve) => client.once('end', resolve));
        await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
        await ended; // the connection is gone while no statement runs on it
        await client.query('SELECT 1');
      });
      await expect(attempt).rejects.toThrow();
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await admin.end();
      await pool.end();
    }
  });
});
