import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBootstrapApiKey } from '../../functions/adapters/postgres/api-keys.js';
import { hashApiKey } from '../../functions/domain/api-keys.js';
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
    expect(refused.body).toMatchObject({ status: 403, title: 'Forbidden' });
    expect(refused.body.detail).toMatch(/write/);
    expect((await api.call('GET', '/v1/api-keys', { key: writer.key })).status).toBe(403);
    expect((await api.call('POST', '/v1/api-keys', { key: writer.key, body: { name: 'x', scope: 'read' } })).status).toBe(403);
    expect((await api.call('GET', '/v1/payments', { key: writer.key })).status).toBe(200);
    expect((await api.call('GET', '/v1/api-keys')).status).toBe(200);
  });

  it('stores only the hash and a short prefix, and never logs a key', async () => {
    const created = await api.call('POST', '/v1/api-keys', { body: { name: 'hash check', scope: 'read' } });
    expect(created.status).toBe(201);
    const { key, id, prefix } = created.body;
    expect(prefix).toBe(key.slice(0, 12));
    const { rows } = await db.pool.query('SELECT * FROM api_keys WHERE id = $1', [id]);
    expect(rows[0].key_hash.equals(hashApiKey(key))).toBe(true);
    expect(JSON.stringify(rows[0])).not.toContain(key.slice(12));
    const stored = await db.pool.query('SELECT response_body FROM idempotency_keys');
    for (const row of stored.rows) expect(row.response_body).not.toContain(key);
    await api.call('GET', '/v1/status', { key });
    const logged = JSON.stringify(api.logger.entries);
    expect(logged).not.toContain(key);
    expect(logged).not.toContain(api.adminKey);
    expect(logged).not.toMatch(/authorization/i);
    expect(api.logger.entries.filter((line) => line.event === 'api_request').at(-1)?.fields).toMatchObject({ key_id: id, status: 200 });
    expect((await api.call('DELETE', `/v1/api-keys/${id}`)).status).toBe(200); // two read keys at most: make room
  });

  it('rotates without downtime: two active keys per scope, a third refused by the database, a revoked key refused at once', async () => {
    const scope = 'write';
    const { rows: before } = await db.pool.query("SELECT count(*)::int AS n FROM api_keys WHERE scope = 'write' AND revoked_at IS NULL");
    expect(before[0].n).toBe(1); // from the scopes test
    const second = await api.createKey(scope, 'successor');
    const third = await api.call('POST', '/v1/api-keys', { body: { name: 'one too many', scope } });
    expect(third.status).toBe(409);
    expect(third.body.errors).toEqual([{ field: 'scope', message: 'already has two active keys' }]);
    // the rule is the database's, whatever the code does
    await expect(
      db.pool.query(
        `INSERT INTO api_keys (id, name, scope, key_hash, display_prefix, created_by, active_slot)
         VALUES ('key_direct000', 'direct', 'write', $1, 'pm_test_x', 'test', 1)`,
        [hashApiKey('direct')],
      ),
    ).rejects.toThrow(/api_keys_two_active_per_scope/);

    const { rows: active } = await db.pool.query("SELECT id FROM api_keys WHERE scope = 'write' AND revoked_at IS NULL AND id <> $1", [
      second.id,
    ]);
    const first = active[0].id as string;
    const revoked = await api.call('DELETE', `/v1/api-keys/${first}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id: first, revoked_at: expect.any(String) });
    expect((await api.call('DELETE', `/v1/api-keys/${first}`)).body.revoked_at).toBe(revoked.body.revoked_at);
    expect((await api.call('GET', '/v1/payments', { key: second.key })).status).toBe(200);
    const replacement = await api.createKey(scope, 'the next one');
    expect((await api.call('GET', '/v1/payments', { key: replacement.key })).status).toBe(200);
    expect((await api.call('DELETE', '/v1/api-keys/key_doesnotexist')).status).toBe(404);

    const audit = await db.pool.query("SELECT action, actor FROM audit_log WHERE entity_type = 'api_key' AND entity_id = $1 ORDER BY id", [
      first,
    ]);
    expect(audit.rows.map((row) => row.action)).toEqual(['api_key_created', 'api_key_revoked']);
    const adminId = (await db.pool.query("SELECT id FROM api_keys WHERE scope = 'admin'")).rows[0].id;
    expect(audit.rows[1].actor).toBe(adminId);
  });

  it('refuses a revoked key with 401 and keeps the last admin key', async () => {
    const reader = await api.createKey('read', 'short-lived');
    await api.call(
      'DELETE',
      `/v1/api-keys/${(await db.pool.query('SELECT id FROM api_keys WHERE key_hash = $1', [hashApiKey(reader.key)])).rows[0].id}`,
    );
    const answer = await api.call('GET', '/v1/payments', { key: reader.key });
    expect(answer.status).toBe(401);
    expect(answer.body.detail).toMatch(/revoked/);

    const adminId = (await db.pool.query("SELECT id FROM api_keys WHERE scope = 'admin' AND revoked_at IS NULL")).rows[0].id;
    const last = await api.call('DELETE', `/v1/api-keys/${adminId}`);
    expect(last.status).toBe(409);
    expect(last.body.errors).toEqual([{ field: 'id', message: 'is the last active admin key' }]);
  });

  it('notes a key’s last use at most once a minute', async () => {
    const reader = await api.createKey('read', 'usage');
    const id = (await db.pool.query('SELECT id FROM api_keys WHERE key_hash = $1', [hashApiKey(reader.key)])).rows[0].id;
    const lastUsed = async () =>
      (await db.pool.query('SELECT last_used_at FROM api_keys WHERE id = $1', [id])).rows[0].last_used_at as Date | null;
    expect(await lastUsed()).toBeNull();
    await api.call('GET', '/v1/status', { key: reader.key });
    const first = await lastUsed();
    expect(first).toBeInstanceOf(Date);
    await api.call('GET', '/v1/status', { key: reader.key });
    expect((await lastUsed())?.getTime()).toBe(first?.getTime());
    await db.pool.query("UPDATE api_keys SET last_used_at = last_used_at - interval '61 seconds' WHERE id = $1", [id]);
    const aged = await lastUsed();
    await api.call('GET', '/v1/status', { key: reader.key });
    expect((await lastUsed())!.getTime()).toBeGreaterThan(aged!.getTime());
  });

  it('creates the bootstrap admin key only when no admin key is active', async () => {
    const other = await createTestDatabase();
    try {
      const key = 'pm_test_bootstrap_key_for_this_test_0001';
      const id = await ensureBootstrapApiKey(other.pool, key);
      expect(id).toMatch(/^key_/);
      expect(await ensureBootstrapApiKey(other.pool, key)).toBeUndefined();
      expect(await ensureBootstrapApiKey(other.pool, 'pm_test_another_bootstrap_key_00000002')).toBeUndefined();
      const { rows } = await other.pool.query('SELECT id, scope, created_by FROM api_keys');
      expect(rows).toEqual([{ id, scope: 'admin', created_by: 'bootstrap' }]);
      const audit = await other.pool.query("SELECT action FROM audit_log WHERE entity_type = 'api_key'");
      expect(audit.rows).toEqual([{ action: 'api_bootstrap_key_created' }]);
    } finally {
      await other.drop();
    }
  });
});
