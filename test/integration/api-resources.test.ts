/**
 * The HTTP API's resources over real HTTP against real PostgreSQL, with payments written by the real engine
 * (a payment reversed by a fork and included again). Every response is checked against openapi.json by the router
 * (a response that does not conform is a 500), so each status asserted here is also a conforming body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paymentResource } from '../../functions/domain/payment-resource.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { createEngineFixture, type EngineFixture } from '../support/engine-fixture.js';
import { startTestApi, type TestApi } from '../support/api.js';

const alice = syntheticAddress('mainnet', 'api-alice');
const bob = syntheticAddress('mainnet', 'api-bob');
const invoice = syntheticAddress('mainnet', 'api-invoice');
const carol = syntheticAddress('mainnet', 'api-carol');
const POLICY = 'b1'.repeat(28);
const MAX_U64 = 2n ** 64n - 1n;

let f: EngineFixture;
let api: TestApi;
let adminId: string;
const chain = new ChainBuilder('api');
const aliceFirst = transaction([output(alice, 7_000_000n)]);
const late = transaction([output(bob, 5n)]);

beforeAll(async () => {
  f = await createEngineFixture({ confirmations: 3 });
  api = await startTestApi(f.db, { network: 'mainnet' });
  adminId = (await f.db.pool.query("SELECT id FROM api_keys WHERE scope = 'admin'")).rows[0].id;
  const registered = await api.call('POST', '/v1/addresses', {
    body: {
      addresses: [
        { address: alice, reference_type: 'deposit', reference_id: 'acct-alice', user_id: 'user-alice' },
        { address: bob, reference_type: 'deposit', reference_id: 'acct-bob', user_id: 'user-bob' },
        { address: invoice, reference_type: 'invoice', reference_id: 'INV-1' },
        { address: carol, reference_type: 'deposit', reference_id: 'acct-carol', user_id: 'user-carol' },
      ],
    },
  });
  expect(registered.status).toBe(201);

  // Alice is paid, confirmed, reversed by a fork, paid again by the same transaction on the new branch.
  await f.engine.apply(chain.forward([chain.next(), chain.next([aliceFirst]), ...chain.empty(3)]));
  const branch = chain.fork('api-branch', 1n);
  await f.engine.apply(branch.backward(1n));
  // Bob gets 23 payments over several blocks (pagination), the invoice one with a token above 2^53.
  const blocks = [branch.next([aliceFirst])];
  for (let i = 0; i < 23; i++) {
    const pay = transaction([output(bob, BigInt(1_000_000 + i))]);
    if (i % 5 === 0) blocks.push(branch.next([pay]));
    else blocks[blocks.length - 1] = { ...blocks.at(-1)!, transactions: [...blocks.at(-1)!.transactions, pay] };
  }
  blocks.push(branch.next([transaction([output(invoice, 2_000_000n, [{ policyId: POLICY, assetName: 'cafe', quantity: MAX_U64 }])])]));
  await f.engine.apply(branch.forward([...blocks, ...branch.empty(3)]));
  // one more, pending, rolled back by a one-block fork and included again in the new branch's second block
  await f.engine.apply(branch.forward([branch.next([late])]));
  const third = branch.fork('api-third', branch.tip!.height - 1n);
  await f.engine.apply(third.backward(third.tip!.height));
  await f.engine.apply(third.forward([third.next(), third.next([late])]));
}, 120_000);

afterAll(async () => {
  await api?.close();
  await f?.db.drop();
});

async function allPages(path: string, limit: number) {
  const seen: { tx_hash: string; output_index: number; status: string; block: { hash: string } }[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const answer = await api.call('GET', `${path}${separator}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.data.length).toBeLessThanOrEqual(limit);
    seen.push(...answer.body.data);
    cursor = answer.body.next_cursor;
    pages++;
  } while (cursor !== null && pages < 100);
  return { seen, pages };
}

async function paymentRows(where = 'true', values: unknown[] = []) {
  const { rows } = await f.db.pool.query(`SELECT * FROM incoming_payments WHERE ${where} ORDER BY id`, values);
  return rows.map(paymentResource);
}

describe('addresses', () => {
  it('registered the batch with an audit row per address (actor: the key id), and lists them in pages', async () => {
    const audit = await f.db.pool.query("SELECT entity_id, actor FROM audit_log WHERE action = 'address_registered' ORDER BY id");
    expect(audit.rows).toEqual([alice, bob, invoice, carol].map((address) => ({ entity_id: address, actor: adminId })));
    const { seen, pages } = await allPages('/v1/addresses', 3);
    expect(pages).toBe(2);
    expect(seen.map((row) => (row as unknown as { address: string }).address)).toEqual([alice, bob, invoice, carol]);
    const byUser = await api.call('GET', '/v1/addresses?user_id=user-bob');
    expect(byUser.body).toEqual({
      data: [{ address: bob, reference_type: 'deposit', reference_id: 'acct-bob', user_id: 'user-bob', created_at: expect.any(String) }],
      next_cursor: null,
    });
  });

  it('registers one address alone, and again as a no-op', async () => {
    const one = { address: syntheticAddress('mainnet', 'api-single'), reference_type: 'order', reference_id: 'O-1' };
    const first = await api.call('POST', '/v1/addresses', { body: one });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ registered: 1, unchanged: 0, data: [{ ...one, user_id: null }] });
    expect((await api.call('POST', '/v1/addresses', { body: one })).body).toMatchObject({ registered: 0, unchanged: 1 });
  });

  it('refuses a batch with one bad registration, naming it, and writes nothing (all or nothing)', async () => {
    const good = (seed: string) => ({ address: syntheticAddress('mainnet', seed), reference_type: 'order', reference_id: seed });
    const preprod = syntheticAddress('preprod', 'wrong-network');
    const batch = [good('b-1'), good('b-2'), { ...good('b-3'), address: preprod }, { ...good('b-4'), reference_id: '   ' }];
    const answer = await api.call('POST', '/v1/addresses', { body: { addresses: batch } });
    expect(answer.status).toBe(422);
    expect(answer.headers.get('content-type')).toBe('application/problem+json');
    expect(answer.body.errors).toEqual([
      { field: 'addresses[2].address', message: expect.stringMatching(/preprod|network/) },
      { field: 'addresses[3].reference_id', message: expect.stringMatching(/^reference_id must be/) },
    ]);
    const written = await f.db.pool.query('SELECT count(*)::int AS n FROM payment_addresses WHERE reference_id IN ($1, $2)', [
      'b-1',
      'b-2',
    ]);
    expect(written.rows[0].n).toBe(0);
  });

  it('refuses an address already registered to another reference (422 naming it)', async () => {
    const answer = await api.call('POST', '/v1/addresses', {
      body: { addresses: [{ address: alice, reference_type: 'deposit', reference_id: 'someone-else' }] },
    });
    expect(answer.status).toBe(422);
    expect(answer.body.errors).toEqual([{ field: 'addresses[0].address', message: expect.stringContaining('already registered') }]);
  });

  it('names the bad field of a body, a query and a path (400)', async () => {
    const missing = await api.call('POST', '/v1/addresses', { body: { address: alice, reference_type: 'deposit', extra: true } });
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toEqual(
      expect.arrayContaining([
        { field: 'reference_id', message: 'is required' },
        { field: 'extra', message: 'is not allowed' },
      ]),
    );
    const tooMany = await api.call('POST', '/v1/addresses', {
      body: { addresses: Array.from({ length: 1001 }, (_, i) => ({ address: `a${i}`, reference_type: 't', reference_id: 'r' })) },
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors).toEqual([{ field: 'addresses', message: 'must NOT have more than 1000 items' }]);
    expect((await api.call('POST', '/v1/addresses', { rawBody: '{"address":' })).body.errors).toEqual([
      { field: 'body', message: 'must be valid JSON' },
    ]);
    expect((await api.call('GET', '/v1/payments?limit=0')).body.errors).toEqual([{ field: 'limit', message: 'must be >= 1' }]);
    expect((await api.call('GET', '/v1/payments?status=lost')).body.errors).toEqual([
      { field: 'status', message: 'must be equal to one of the allowed values' },
    ]);
    expect((await api.call('GET', '/v1/payments?cursor=not-ours')).body.errors).toEqual([
      { field: 'cursor', message: 'is not a valid cursor' },
    ]);
    expect((await api.call('GET', '/v1/payments?reference_id=INV-1')).body.errors).toEqual([
      { field: 'reference_id', message: 'requires reference_type' },
    ]);
    expect((await api.call('GET', '/v1/payments?since=yesterday')).body.errors).toEqual([
      { field: 'since', message: 'must match format "date-time"' },
    ]);
    const badPath = await api.call('GET', '/v1/payments/nothex/0');
    expect(badPath.status).toBe(400);
    expect(badPath.body.errors).toEqual([{ field: 'tx_hash', message: expect.stringContaining('pattern') }]);
    expect((await api.call('GET', `/v1/payments/${aliceFirst.id}/x`)).body.errors).toEqual([
      { field: 'output_index', message: 'must be integer' },
    ]);
    expect((await api.call('GET', '/v1/nothing')).status).toBe(404);
    const wrongMethod = await api.call('PUT', '/v1/payments');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
  });
});

describe('payments', () => {
  it('serves every row of an output that was reversed or rolled back and came back, oldest first, as the payment resource', async () => {
    const answer = await api.call('GET', `/v1/payments/${aliceFirst.id}/0`);
    expect(answer.status).toBe(200);
    expect(answer.body.data.map((p: { status: string }) => p.status)).toEqual(['reversed', 'confirmed']);
    expect(answer.body.data).toEqual(await paymentRows('tx_hash = $1', [aliceFirst.id]));
    expect(answer.body.data[0]).toMatchObject({ amount_lovelace: '7000000', user_id: 'user-alice', spent: null });
    expect(answer.body.data[0].block.hash).not.toBe(answer.body.data[1].block.hash);
    expect((await api.call('GET', `/v1/payments/${aliceFirst.id}/1`)).status).toBe(404);
    const rolledBack = await api.call('GET', `/v1/payments/${late.id}/0`);
    expect(rolledBack.body.data.map((p: { status: string }) => p.status)).toEqual(['rolled_back', 'pending']);
    expect(rolledBack.body.data).toEqual(await paymentRows('tx_hash = $1', [late.id]));
  });

  it('keeps amounts exact as decimal strings (a token quantity of 2^64 - 1)', async () => {
    const answer = await api.call('GET', '/v1/payments?reference_type=invoice&reference_id=INV-1');
    expect(answer.body.data).toHaveLength(1);
    expect(answer.body.data[0].amount_lovelace).toBe('2000000');
    expect(JSON.stringify(answer.body.data[0].assets)).toContain(`"${MAX_U64}"`);
  });

  it('pages through every payment without duplicates or gaps, in the order recorded', async () => {
    const expected = await paymentRows();
    expect(expected.length).toBe(2 + 23 + 1 + 2);
    for (const limit of [1, 4, 7, 100]) {
      const { seen, pages } = await allPages('/v1/payments', limit);
      expect(seen).toEqual(expected);
      expect(pages).toBe(Math.max(1, Math.ceil(expected.length / limit)));
    }
  });

  it('filters by status, address, reference, user and since, and pages under a filter', async () => {
    const cases: [string, string, unknown[]][] = [
      ['status=confirmed', "status = 'confirmed'", []],
      ['status=pending', "status = 'pending'", []],
      ['status=reversed', "status = 'reversed'", []],
      [`address=${bob}`, 'address = $1', [bob]],
      ['reference_type=deposit', "reference_type = 'deposit'", []],
      ['reference_type=deposit&reference_id=acct-alice', "reference_type = 'deposit' AND reference_id = 'acct-alice'", []],
      ['user_id=user-bob&status=confirmed', "user_id = 'user-bob' AND status = 'confirmed'", []],
    ];
    for (const [query, where, values] of cases) {
      const expected = await paymentRows(where, values);
      expect(expected.length, query).toBeGreaterThan(0);
      expect((await allPages(`/v1/payments?${query}`, 5)).seen, query).toEqual(expected);
    }
    const times = (await f.db.pool.query('SELECT DISTINCT block_time FROM incoming_payments ORDER BY block_time')).rows.map(
      (r) => r.block_time as Date,
    );
    const since = times[Math.floor(times.length / 2)]!;
    const expected = await paymentRows('block_time >= $1', [since]);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan((await paymentRows()).length);
    expect((await allPages(`/v1/payments?since=${encodeURIComponent(since.toISOString())}`, 4)).seen).toEqual(expected);
    expect((await api.call('GET', '/v1/payments?user_id=nobody')).body).toEqual({ data: [], next_cursor: null });
  });
});

describe('balances', () => {
  it('answers the ledger’s balance as a decimal string, 0 for a registered user not yet credited, 404 for an unknown one', async () => {
    const stored = (await f.db.pool.query("SELECT balance_lovelace, updated_at FROM user_balances WHERE user_id = 'user-alice'")).rows[0];
    expect(stored.balance_lovelace).toBe(7_000_000n);
    expect((await api.call('GET', '/v1/balances/user-alice')).body).toEqual({
      user_id: 'user-alice',
      balance_lovelace: '7000000',
      assets: {},
      held: { lovelace: '0', assets: {} },
      available: { lovelace: '7000000', assets: {} },
      updated_at: stored.updated_at.toISOString(),
    });
    expect((await api.call('GET', '/v1/balances/user-carol')).body).toEqual({
      user_id: 'user-carol',
      balance_lovelace: '0',
      assets: {},
      held: { lovelace: '0', assets: {} },
      available: { lovelace: '0', assets: {} },
      updated_at: null,
    });
    const unknown = await api.call('GET', '/v1/balances/user-nobody');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ status: 404, title: 'Not Found' });
  });

  it('lists every token balance, keyed <policy>.<name hex>, exact beyond 2^64 - 1 (the response validated against the document)', async () => {
    // The rows the engine keeps (its crediting is tested in payment-engine.test.ts); removed again, the fixture is shared.
    const later = new Date(Date.now() + 60_000);
    await f.db.pool.query(
      `INSERT INTO user_asset_balances (user_id, asset, quantity, updated_at)
       VALUES ('user-alice', $1, $2::numeric, $4), ('user-alice', $3, -5, $4)`,
      [`${POLICY}.cafe`, (2n * MAX_U64).toString(), `${POLICY}.`, later],
    );
    try {
      expect((await api.call('GET', '/v1/balances/user-alice')).body).toEqual({
        user_id: 'user-alice',
        balance_lovelace: '7000000',
        assets: { [`${POLICY}.cafe`]: (2n * MAX_U64).toString(), [`${POLICY}.`]: '-5' },
        held: { lovelace: '0', assets: {} },
        available: { lovelace: '7000000', assets: { [`${POLICY}.`]: '-5', [`${POLICY}.cafe`]: (2n * MAX_U64).toString() } },
        updated_at: later.toISOString(),
      });
    } finally {
      await f.db.pool.query(`DELETE FROM user_asset_balances WHERE user_id = 'user-alice'`);
    }
  });
});

describe('status and events', () => {
  it('reports the applied height, the tip, the lag, the last reconciliation and the backlogs', async () => {
    const state = (await f.db.pool.query('SELECT last_block_height, network_tip_height FROM sync_state')).rows[0];
    const answer = await api.call('GET', '/v1/status');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      applied_height: Number(state.last_block_height),
      tip_height: Number(state.network_tip_height),
      lag_blocks: Number(state.network_tip_height - state.last_block_height),
      halted: false,
      last_reconciliation: null,
      outbox_backlog: { unpublished: expect.any(Number) },
      webhook_backlog: { endpoints_enabled: 0 },
    });
    expect(answer.body.outbox_backlog.unpublished).toBeGreaterThan(0);
  });

  it('pages the event log with after=, each payment event carrying the payment as GET /v1/payments shows it', async () => {
    const events: { id: string; type: string; data: { tx_hash: string; status: string } }[] = [];
    let after: string | null = null;
    for (let page = 0; page < 100; page++) {
      const answer = await api.call('GET', `/v1/events?limit=10${after ? `&after=${after}` : ''}`);
      expect(answer.status).toBe(200);
      events.push(...answer.body.data);
      expect(answer.body.next_cursor).toEqual(expect.any(String));
      if (answer.body.data.length === 0) break;
      after = answer.body.next_cursor;
    }
    const { rows } = await f.db.pool.query('SELECT id FROM business_events ORDER BY seq');
    expect(events.map((event) => event.id)).toEqual(rows.map((row) => row.id));
    const reversed = events.find((event) => event.type === 'payment.reversed')!;
    expect(reversed.data).toEqual((await paymentRows("status = 'reversed'"))[0]);
  });
});

describe('webhook endpoints through the API', () => {
  it('creates (secret once), lists, reads, rotates, redelivers and deletes, each audited with the key id', async () => {
    const refused = await api.call('POST', '/v1/webhook-endpoints', { body: { url: 'ftp://example.com/hook', events: ['payment.*'] } });
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([{ field: 'url', message: expect.any(String) }]);
    const badType = await api.call('POST', '/v1/webhook-endpoints', { body: { url: 'http://127.0.0.1:9/hook', events: ['payment.lost'] } });
    expect(badType.body.errors).toEqual([{ field: 'events[0]', message: expect.stringContaining('unknown event type') }]);

    const created = await api.call('POST', '/v1/webhook-endpoints', {
      body: { url: 'http://127.0.0.1:9/hook', events: ['payment.*'] },
      idempotencyKey: 'hook-1',
    });
    expect(created.status).toBe(201);
    expect(created.body.secret).toEqual(expect.any(String));
    const replayed = await api.call('POST', '/v1/webhook-endpoints', {
      body: { url: 'http://127.0.0.1:9/hook', events: ['payment.*'] },
      idempotencyKey: 'hook-1',
    });
    expect(replayed.body).toEqual({ ...created.body, secret: null });
    const id = created.body.id as string;

    const listed = await api.call('GET', '/v1/webhook-endpoints?limit=1');
    expect(listed.body.data.map((endpoint: { id: string }) => endpoint.id)).toEqual([id]);
    expect((await api.call('GET', `/v1/webhook-endpoints/${id}`)).body).toMatchObject({
      id,
      url: 'http://127.0.0.1:9/hook',
      status: 'enabled',
    });
    const rotated = await api.call('POST', `/v1/webhook-endpoints/${id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(created.body.secret);

    const eventId = (await f.db.pool.query('SELECT id FROM business_events ORDER BY seq LIMIT 1')).rows[0].id;
    const redelivered = await api.call('POST', `/v1/events/${eventId}/redeliver`, { body: { endpoint_id: id } });
    expect(redelivered.status).toBe(202);
    expect(redelivered.body).toEqual({ redeliveries: [{ id: expect.any(String), endpoint_id: id, event_id: eventId }] });
    expect((await api.call('POST', '/v1/events/evt_nothing/redeliver')).status).toBe(404);

    expect((await api.call('DELETE', `/v1/webhook-endpoints/${id}`)).status).toBe(204);
    expect((await api.call('DELETE', `/v1/webhook-endpoints/${id}`)).status).toBe(404);
    expect((await api.call('GET', `/v1/webhook-endpoints/${id}`)).status).toBe(404);
    const audit = await f.db.pool.query(
      "SELECT action, actor FROM audit_log WHERE entity_type IN ('webhook_endpoint', 'business_event') ORDER BY id",
    );
    expect(audit.rows).toEqual(
      ['webhook_endpoint_created', 'webhook_secret_rotated', 'webhook_redelivery_requested', 'webhook_endpoint_deleted'].map((action) => ({
        action,
        actor: adminId,
      })),
    );
  });
});

describe('what every operation may answer', () => {
  it('answers documented problems to a body that is not JSON, an unknown query parameter and a body where none is taken', async () => {
    const notJson = await api.call('POST', '/v1/addresses', { rawBody: 'address=x', headers: { 'content-type': 'text/plain' } });
    expect(notJson.status).toBe(415);
    expect(notJson.body.errors).toEqual([{ field: 'Content-Type', message: 'must be application/json' }]);
    const unknown = await api.call('GET', '/v1/status?verbose=1');
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([{ field: 'verbose', message: 'is not allowed' }]);
    const bodyOnDelete = await api.call('DELETE', '/v1/api-keys/key_doesnotexist0', { body: { reason: 'x' } });
    expect(bodyOnDelete.status).toBe(400);
    expect(bodyOnDelete.body.errors).toEqual([{ field: 'body', message: 'must be empty' }]);
  });
});
