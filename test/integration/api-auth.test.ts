import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startTestApi, type TestApi } from '../support/api.js';

let db: TestDatabase;
let api: TestApi;

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApi(db);
});
afterAll(async () => {
  await api?.close();
  await db?.drop();
});

describe('HTTP API authentication and scopes', () => {
  it('answers 401 problem+json without a key, with an unknown key, and with a malformed header', async () => {
    const cases: Record<string, string>[] = [
      {},
      { authorization: 'Bearer pm_test_unknown_key_000000000000' },
      { authorization: 'Basic abc' },
    ];
    for (const headers of cases) {
      const answer = await api.call('GET', '/v1/status', { key: '', headers });
      expect(answer.status).toBe(401);
      expect(answer.headers.get('content-type')).toBe('application/problem+json');
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
      expect(answer.body).toMatchObject({ type: 'about:blank', title: 'Unauthorized', status: 401 });
    }
  });

  it('lets a read key read and answers 403 to its writes; admin implies write implies read', async () => {
    const reader = await api.createKey('read');
    const writer = await api.createKey('write');
    expect(reader.key).toMatch(/^pm_test_[A-Za-z0-9_-]{43}$/);
    expect((await api.call('GET', '/v1/payments', { key: reader.key })).status).toBe(200);
    const refused = await api.call('POST', '/v1/addresses', {
      key: reader.key,
      body: { address: 'x', reference_type: 'a', reference_id: 'b' },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toMatch(/write/);
    expect((await api.call('GET', '/v1/api-keys', { key: writer.key })).status).toBe(403);
    expect((await api.call('GET', '/v1/payments', { key: writer.key })).status).toBe(200);
    expect((await api.call('GET', '/v1/api-keys')).status).toBe(200);
  });
});
