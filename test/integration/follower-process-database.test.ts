/** What the follower reads from the engine's PostgreSQL (a real server, migrated): its fence, generation, resume points, readiness. */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresFollowerDatabase } from '../../functions/adapters/postgres/follower-database.js';
import { chooseStart } from '../../functions/follower/start-points.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

const HASH = 'ab'.repeat(32);

describe('the follower database', () => {
  it('reads the sync generation that a rebuild bumps', async () => {
    const database = new PostgresFollowerDatabase(db.pool);
    expect(await database.syncGeneration()).toBe(0n);
    await db.pool.query('UPDATE sync_state SET sync_generation = 9007199254740993 WHERE id = 1');
    expect(await database.syncGeneration()).toBe(9_007_199_254_740_993n);
  });

  it('has no resume points before the first block, so START_POINT decides', async () => {
    const database = new PostgresFollowerDatabase(db.pool);
    const { resumePoints: stored } = await database.beginSession(1n);
    expect(stored).toEqual([]);
    const networkTip = async () => ({ slot: 500n, hash: HASH });
    expect(await chooseStart(stored, 'tip', networkTip)).toEqual({
      points: [{ slot: 500n, hash: HASH }],
      allowOrigin: false,
      from: 'start_point',
    });
    expect(await chooseStart(stored, 'origin', networkTip)).toEqual({ points: ['origin'], allowOrigin: true, from: 'start_point' });
    expect(await chooseStart(stored, { slot: 7n, hash: HASH }, networkTip)).toMatchObject({
      points: [{ slot: 7n, hash: HASH }],
      allowOrigin: false,
    });
    expect(await chooseStart([{ slot: 9n, hash: HASH }], 'origin', networkTip)).toEqual({
      points: [{ slot: 9n, hash: HASH }],
      allowOrigin: false,
      from: 'database',
    });
  });

  it('is not ready before anything is synced, and says why when the database is unreachable', async () => {
    const database = new PostgresFollowerDatabase(db.pool);
    expect(await database.readiness(() => 10n)).toMatchObject({ ready: false, reason: 'not_synced' });
    const unreachable = new PostgresFollowerDatabase({
      query: () => Promise.reject(new Error('connect ECONNREFUSED')),
    } as unknown as pg.Pool);
    expect(await unreachable.readiness(() => 10n)).toMatchObject({ ready: false, reason: 'database_unreachable' });
  });
});
