import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotencyLock } from '../../functions/api/idempotency.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startTestApi, type TestApi } from '../support/api.js';

let db: TestDatabase;
let api: TestApi;
let adminId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApi(db);
  adminId = (await db.pool.query("SELECT id FROM api_keys WHERE scope = 'admin'")).rows[0].id;
});
afterAll(async () => {
  await api?.close();
  await db?.drop();
});

const registration = (seed: string) => ({
  address: syntheticAddress('preprod', seed),
  reference_type: 'invoice',
  reference_id: `INV-${seed}`,
});

async function addressRows(address: string) {
  return (await db.pool.query('SELECT address FROM payment_addresses WHERE address = $1', [address])).rows;
}

describe('Idempotency-Key on every POST', () => {
  it('refuses a POST without one (400 naming the header), before anything is written', async () => {
    const body = registration('no-key');
    const answer = await api.call('POST', '/v1/addresses', { body, idempotencyKey: null });
    expect(answer.status).toBe(400);
    expect(answer.body.errors).toEqual([{ field: 'Idempotency-Key', message: 'is required' }]);
    expect(await addressRows(body.address)).toEqual([]);
  });

  it('replays the stored response to the same request, marked Idempotent-Replayed, without a second write', async () => {
    const body = registration('replay');
    const first = await api.call('POST', '/v1/addresses', { body, idempotencyKey: 'replay-1' });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(first.body.registered).toBe(1);
    // the same body with its keys in another order is the same request
    const again = await api.call('POST', '/v1/addresses', {
      rawBody: JSON.stringify({ reference_id: body.reference_id, address: body.address, reference_type: body.reference_type }),
      idempotencyKey: 'replay-1',
    });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body); // registered: 1, not unchanged: 1 — the first answer, replayed
    expect(await addressRows(body.address)).toHaveLength(1);
    const audit = await db.pool.query("SELECT actor FROM audit_log WHERE action = 'address_registered' AND entity_id = $1", [body.address]);
    expect(audit.rows).toEqual([{ actor: adminId }]);
    const stored = await db.pool.query('SELECT principal, response_status FROM idempotency_keys WHERE idempotency_key = $1', ['replay-1']);
    expect(stored.rows).toEqual([{ principal: adminId, response_status: 201 }]);
  });

  it('answers 422 when the key was used with another body or path', async () => {
    await api.call('POST', '/v1/addresses', { body: registration('differs'), idempotencyKey: 'differs-1' });
    const other = await api.call('POST', '/v1/addresses', { body: registration('differs-2'), idempotencyKey: 'differs-1' });
    expect(other.status).toBe(422);
    expect(other.body.errors).toEqual([{ field: 'Idempotency-Key', message: 'was used with another request' }]);
    expect(await addressRows(registration('differs-2').address)).toEqual([]);
    const elsewhere = await api.call('POST', '/v1/api-keys', { body: { name: 'x', scope: 'read' }, idempotencyKey: 'differs-1' });
    expect(elsewhere.status).toBe(422);
  });

  it('answers 409 while a request with the same key is in flight (its lock held), and proceeds once it is released', async () => {
    const body = registration('in-flight');
    const holder = await db.pool.connect();
    try {
      await holder.query('BEGIN');
      const [classId, objectId] = idempotencyLock(adminId, 'flight-1');
      expect((await holder.query('SELECT pg_try_advisory_xact_lock($1::int, $2::int) AS ok', [classId, objectId])).rows[0].ok).toBe(true);
      const refused = await api.call('POST', '/v1/addresses', { body, idempotencyKey: 'flight-1' });
      expect(refused.status).toBe(409);
      expect(refused.body.errors).toEqual([{ field: 'Idempotency-Key', message: 'is in use by a request in flight' }]);
      expect(await addressRows(body.address)).toEqual([]);
      // another key of the same caller is not held up
      expect((await api.call('POST', '/v1/addresses', { body: registration('beside'), idempotencyKey: 'flight-2' })).status).toBe(201);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    expect((await api.call('POST', '/v1/addresses', { body, idempotencyKey: 'flight-1' })).status).toBe(201);
  });

  it('creates one row when the same request is sent many times at once', async () => {
    const body = registration('concurrent');
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => api.call('POST', '/v1/addresses', { body, idempotencyKey: 'concurrent-1' })),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.every((status) => status === 201 || status === 409)).toBe(true);
    const created = answers.filter((answer) => answer.status === 201);
    expect(created.filter((answer) => answer.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    for (const answer of created) expect(answer.body).toEqual(created[0]!.body);
    expect(await addressRows(body.address)).toHaveLength(1);
    const audit = await db.pool.query("SELECT count(*)::int AS n FROM audit_log WHERE action = 'address_registered' AND entity_id = $1", [
      body.address,
    ]);
    expect(audit.rows[0].n).toBe(1);
    const stored = await db.pool.query("SELECT count(*)::int AS n FROM idempotency_keys WHERE idempotency_key = 'concurrent-1'");
    expect(stored.rows[0].n).toBe(1);
  });

  it('does not store a refused write: the key can be used again for the corrected request', async () => {
    const bad = { address: 'addr_test1notanaddress', reference_type: 'invoice', reference_id: 'INV-9' };
    const refused = await api.call('POST', '/v1/addresses', { body: bad, idempotencyKey: 'fix-1' });
    expect(refused.status).toBe(422);
    const fixed = await api.call('POST', '/v1/addresses', { body: registration('fixed'), idempotencyKey: 'fix-1' });
    expect(fixed.status).toBe(201);
    expect(fixed.headers.get('idempotent-replayed')).toBeNull();
  });

  it('keys are per caller: another key with the same Idempotency-Key is another request', async () => {
    const writer = await api.createKey('write');
    const answer = await api.call('POST', '/v1/addresses', { key: writer.key, body: registration('replay'), idempotencyKey: 'replay-1' });
    expect(answer.status).toBe(201);
    expect(answer.headers.get('idempotent-replayed')).toBeNull();
    expect(answer.body).toMatchObject({ registered: 0, unchanged: 1 });
  });

  it('replays a created API key without the key (only its hash is kept)', async () => {
    const first = await api.call('POST', '/v1/api-keys', { body: { name: 'once', scope: 'read' }, idempotencyKey: 'key-once' });
    expect(first.status).toBe(201);
    expect(first.body.key).toMatch(/^pm_test_/);
    const again = await api.call('POST', '/v1/api-keys', { body: { name: 'once', scope: 'read' }, idempotencyKey: 'key-once' });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual({ ...first.body, key: null });
  });

  it('forgets responses after 24 hours: an expired key is a new request, and old rows are deleted', async () => {
    await db.pool.query(
      "INSERT INTO idempotency_keys (principal, idempotency_key, request_hash, response_status, response_body, created_at) VALUES ('someone', 'old', '\\x00', 201, '{}', now() - interval '25 hours')",
    );
    const body = registration('expired');
    await api.call('POST', '/v1/addresses', { body, idempotencyKey: 'expiring' });
    await db.pool.query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE idempotency_key = 'expiring'");
    const again = await api.call('POST', '/v1/addresses', { body, idempotencyKey: 'expiring' });
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(again.body).toMatchObject({ registered: 0, unchanged: 1 });
    const left = await db.pool.query("SELECT idempotency_key FROM idempotency_keys WHERE created_at < now() - interval '24 hours'");
    expect(left.rows).toEqual([]);
  });
});
