import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { migrate } from '../../functions/adapters/postgres/migrate.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

describe('schema', () => {
  it('is migrated and a second migration run applies nothing', async () => {
    expect(await migrate(db.pool)).toEqual({ applied: [] });
  });
});
