/**
 * Payout requests through the front door: real HTTP, real PostgreSQL. Every response is checked against openapi.json
 * by the router (a response that does not conform is a 500), so each status asserted here is also a conforming body.
 * Balances are credited as the engine credits them (a ledger row and the stored balance); the processor's moves are
 * recordPayoutTransition's, as the processor makes them; time is an injected clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { createPool, inTransaction } from '../../functions/adapters/postgres/pool.js';
import { recordPayoutTransition } from '../../functions/adapters/postgres/payout-requests.js';
import { PayoutRequestLogEvent, PayoutRequestMetric } from '../../functions/domain/observability.js';
import type { PayoutStatus } from '../../functions/domain/payouts/payout-rules.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const ADA = 1_000_000n;
const TOKEN = `${'c0'.repeat(28)}.546f6b656e`;
const DESTINATION = syntheticAddress('preprod', 'api-payouts');
const PROBLEM = 'urn:payment-monitor:problem:';

let db: TestDatabase;
let api: TestApi;
let requester: { id: string; key: string };
let approver: { id: string; key: string };
let reader: { id: string; key: string };
let now = new Date('2026-06-01T10:00:00.000Z');
let credits = 0;
const metrics = new InMemoryMetrics();

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApi(db, {
    clock: { now: () => now },
    metrics,
    payouts: { maxLovelace: 1_000n * ADA, dailyLimitLovelace: 2_000n * ADA, approvalThresholdLovelace: 100n * ADA },
  });
  requester = await api.createKey('write', 'payouts');
  approver = await api.createKey('write', 'treasurer');
  reader = await api.createKey('read');
}, 60_000);

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

async function credit(userId: string, asset: string, quantity: bigint): Promise<void> {
  credits += 1;
  await db.pool.query(
    `WITH row AS (
       INSERT INTO balance_transactions (user_id, type, asset, quantity, payment_tx_hash, payment_output_index, reason)
       VALUES ($1, 'credit', $2, $3::numeric, $4, 0, 'payment_confirmed')
     ), lovelace AS (
       INSERT INTO user_balances AS b (user_id, balance_lovelace) SELECT $1, $3::bigint WHERE $2 = 'lovelace'
       ON CONFLICT (user_id) DO UPDATE SET balance_lovelace = b.balance_lovelace + EXCLUDED.balance_lovelace
     )
     INSERT INTO user_asset_balances AS b (user_id, asset, quantity) SELECT $1, $2, $3::numeric WHERE $2 <> 'lovelace'
     ON CONFLICT (user_id, asset) DO UPDATE SET quantity = b.quantity + EXCLUDED.quantity`,
    [userId, asset, quantity.toString(), credits.toString(16).padStart(64, '0')],
  );
}

let references = 0;
/** A payout request body; its reference_id is a new one each time (one live payout per reference) unless given. */
const payout = (lovelace: bigint, extra: Record<string, unknown> = {}) => ({
  reference_id: `WD-${++references}`,
  destination: DESTINATION,
  amount: { lovelace: lovelace.toString() },
  ...extra,
});

const post = (path: string, body: unknown, key = requester.key, idempotencyKey?: string) =>
  api.call('POST', path, { key, body, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) });

async function count(sql: string, values: unknown[] = []): Promise<number> {
  return (await db.pool.query(`SELECT count(*)::int AS n FROM ${sql}`, values)).rows[0].n;
}

describe('POST /v1/payouts', () => {
  it('is idempotent: the same Idempotency-Key gives the same payout, one hold, one event, one audit row', async () => {
    await credit('user-idem', 'lovelace', 500n * ADA);
    const body = payout(150n * ADA, { user_id: 'user-idem', reference_id: 'WD-idem' });
    const first = await post('/v1/payouts', body, requester.key, 'withdrawal-1');
    expect(first.status, first.text).toBe(201);
    expect(first.body).toEqual({
      id: expect.stringMatching(/^po_[0-9a-f]{24}$/),
      reference_id: 'WD-idem',
      user_id: 'user-idem',
      destination: DESTINATION,
      amount: { lovelace: (150n * ADA).toString(), assets: {} },
      status: 'requested',
      requested_by: `api_key:${requester.id}`,
      approved_by: null,
      approved_at: null,
      transaction_id: null,
      failure_reason: null,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
      version: 1,
    });
    const again = await post('/v1/payouts', body, requester.key, 'withdrawal-1');
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    const other = await post('/v1/payouts', { ...body, reference_id: 'WD-other' }, requester.key, 'withdrawal-1');
    expect(other.status).toBe(422);
    expect(await count("payouts WHERE user_id = 'user-idem'")).toBe(1);
    expect(await count('payout_holds WHERE payout_id = $1', [first.body.id])).toBe(1);
    expect(await count("business_events WHERE resource_type = 'payout' AND resource_id = $1", [first.body.id])).toBe(1);
    expect(await count("audit_log WHERE action = 'create_payment' AND entity_id = $1", [first.body.id])).toBe(1);
    const audit = await db.pool.query('SELECT entity_type, actor, details FROM audit_log WHERE entity_id = $1', [first.body.id]);
    expect(audit.rows).toEqual([
      {
        entity_type: 'outbound_payment',
        actor: `api_key:${requester.id}`,
        details: { amount: first.body.amount, destination: DESTINATION, reference_id: 'WD-idem', user_id: 'user-idem', to: 'requested' },
      },
    ]);
  });

  it('needs the write scope and an Idempotency-Key', async () => {
    expect((await post('/v1/payouts', payout(ADA), reader.key)).status).toBe(403);
    const missing = await api.call('POST', '/v1/payouts', { key: requester.key, body: payout(ADA), idempotencyKey: null });
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toEqual([{ field: 'Idempotency-Key', message: 'is required' }]);
  });

  it('approves at or below the threshold at once (system:policy) and tells both events', async () => {
    const answer = await post('/v1/payouts', payout(100n * ADA, { amount: { lovelace: (100n * ADA).toString(), assets: {} } }));
    expect(answer.status, answer.text).toBe(201);
    expect(answer.body).toMatchObject({ status: 'approved', approved_by: 'system:policy', version: 2 });
    const events = await db.pool.query('SELECT type, version FROM business_events WHERE resource_id = $1 ORDER BY seq', [answer.body.id]);
    expect(events.rows).toEqual([
      { type: 'payout.requested', version: 1 },
      { type: 'payout.approved', version: 2 },
    ]);
    const log = await api.call('GET', '/v1/events?limit=1000', { key: reader.key });
    expect(log.status, log.text).toBe(200);
    const told = log.body.data.filter((event: { data: { id?: string } }) => event.data.id === answer.body.id);
    expect(told.map((event: { type: string; version: number }) => `${event.type} v${event.version}`)).toEqual([
      'payout.requested v1',
      'payout.approved v2',
    ]);
    expect(told[1].data).toEqual(answer.body);
    // Webhook endpoints subscribe to them by family or exact type.
    const endpoint = await api.call('POST', '/v1/webhook-endpoints', {
      body: { url: 'http://127.0.0.1:9/hook', events: ['payout.*', 'payout.confirmed'] },
    });
    expect(endpoint.status, endpoint.text).toBe(201);
  });

  it('answers each refusal with its problem type, writing nothing', async () => {
    const before = await count('payouts');
    const tooMuch = await post('/v1/payouts', payout(1_000n * ADA + 1n));
    expect(tooMuch.status).toBe(409);
    expect(tooMuch.headers.get('content-type')).toContain('application/problem+json');
    expect(tooMuch.body).toMatchObject({ type: `${PROBLEM}payout_limit_reached`, status: 409, title: 'Conflict' });
    expect(tooMuch.body.errors).toEqual([{ field: 'amount.lovelace', message: 'payout_limit_reached' }]);
    expect(api.logger.entries).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        event: 'payout_limit_reached',
        fields: expect.objectContaining({ limit: 'payout_limit_reached' }),
      }),
    );
    // The per-payout limit is not the daily one: PayoutDailyLimitReached does not count it.
    expect(metrics.snapshot().counters[PayoutRequestMetric.dailyLimitReached]).toBeUndefined();

    const wrongNetwork = await post('/v1/payouts', payout(ADA, { destination: syntheticAddress('mainnet', 'x') }));
    expect(wrongNetwork.status).toBe(422);
    expect(wrongNetwork.body.type).toBe(`${PROBLEM}invalid_destination`);
    expect(wrongNetwork.body.errors).toEqual([{ field: 'destination', message: 'invalid_destination' }]);
    const stake = await post('/v1/payouts', payout(ADA, { destination: 'not an address' }));
    expect(stake.body.type).toBe(`${PROBLEM}invalid_destination`);

    const nothing = await post('/v1/payouts', payout(0n));
    expect(nothing.status).toBe(422);
    expect(nothing.body.errors).toEqual([{ field: 'amount.lovelace', message: expect.stringContaining('something must be asked') }]);

    await credit('user-poor', 'lovelace', 5n * ADA);
    const poor = await post('/v1/payouts', payout(6n * ADA, { user_id: 'user-poor' }));
    expect(poor.status).toBe(409);
    expect(poor.body.type).toBe(`${PROBLEM}insufficient_balance`);
    expect(poor.body.detail).toContain('lovelace: 6000000 asked, 5000000 available');
    const token = await post(
      '/v1/payouts',
      payout(ADA, { user_id: 'user-poor', amount: { lovelace: '1000000', assets: { [TOKEN]: '1' } } }),
    );
    expect(token.body.type).toBe(`${PROBLEM}insufficient_balance`);
    expect(await count('payouts')).toBe(before);
  });

  it('refuses beyond the daily limit (UTC), cancelled payouts not counted', async () => {
    now = new Date('2026-06-02T08:00:00.000Z');
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const answer = await post('/v1/payouts', payout(1_000n * ADA, { reference_id: `WD-day-${i}` }));
      expect(answer.status, answer.text).toBe(201);
      ids.push(answer.body.id);
    }
    const refusalsBefore = metrics.snapshot().counters[PayoutRequestMetric.dailyLimitReached] ?? 0;
    const over = await post('/v1/payouts', payout(ADA));
    expect(over.status).toBe(409);
    expect(over.body.type).toBe(`${PROBLEM}daily_limit_reached`);
    expect(over.body.detail).toContain('0 left');
    // Counted for the PayoutDailyLimitReached alarm, and logged as a warning with the limit that refused it.
    expect(metrics.snapshot().counters[PayoutRequestMetric.dailyLimitReached]).toBe(refusalsBefore + 1);
    expect(api.logger.events(PayoutRequestLogEvent.limitReached).at(-1)?.fields).toMatchObject({
      limit: 'daily_limit_reached',
    });
    expect((await post(`/v1/payouts/${ids[0]}/cancel`, { reason: 'duplicate' })).status).toBe(200);
    expect((await post('/v1/payouts', payout(1_000n * ADA))).status).toBe(201);
    now = new Date('2026-06-03T00:00:00.000Z');
    expect((await post('/v1/payouts', payout(1_000n * ADA))).status).toBe(201);
  });
});

describe('approval, cancellation, rejection', () => {
  let waiting: string;

  it('keeps four eyes above the threshold: the requester is refused, another key approves', async () => {
    const created = await post('/v1/payouts', payout(101n * ADA, { reference_id: 'WD-4eyes' }));
    expect(created.body.status).toBe('requested');
    waiting = created.body.id;
    const self = await post(`/v1/payouts/${waiting}/approve`, undefined);
    expect(self.status).toBe(409);
    expect(self.body.type).toBe(`${PROBLEM}four_eyes_required`);
    const approved = await post(`/v1/payouts/${waiting}/approve`, undefined, approver.key);
    expect(approved.status, approved.text).toBe(200);
    expect(approved.body).toMatchObject({
      status: 'approved',
      approved_by: `api_key:${approver.id}`,
      approved_at: now.toISOString(),
      version: 2,
    });
    const twice = await post(`/v1/payouts/${waiting}/approve`, undefined, approver.key);
    expect(twice.body.type).toBe(`${PROBLEM}not_approvable`);
    expect((await post(`/v1/payouts/${waiting}/reject`, {}, approver.key)).body.type).toBe(`${PROBLEM}not_rejectable`);
  });

  it('cancels until signed, releasing the hold, and refuses afterwards', async () => {
    await credit('user-cancel', 'lovelace', 10n * ADA);
    const created = await post('/v1/payouts', payout(10n * ADA, { user_id: 'user-cancel' }));
    expect((await post('/v1/payouts', payout(ADA, { user_id: 'user-cancel' }))).body.type).toBe(`${PROBLEM}insufficient_balance`);
    const cancelled = await post(`/v1/payouts/${created.body.id}/cancel`, { reason: 'customer asked' }, approver.key);
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', failure_reason: 'customer asked', version: 3 });
    expect((await db.pool.query('SELECT closed_as FROM payout_holds WHERE payout_id = $1', [created.body.id])).rows).toEqual([
      { closed_as: 'released' },
    ]);
    expect((await post('/v1/payouts', payout(10n * ADA, { user_id: 'user-cancel' }))).status).toBe(201);
    const again = await post(`/v1/payouts/${created.body.id}/cancel`, undefined);
    expect(again.status).toBe(409);
    expect(again.body.type).toBe(`${PROBLEM}not_cancellable`);
    const audit = await db.pool.query('SELECT action, actor, details->>$2 AS reason FROM audit_log WHERE entity_id = $1 ORDER BY id', [
      created.body.id,
      'reason',
    ]);
    expect(audit.rows).toEqual([
      { action: 'create_payment', actor: `api_key:${requester.id}`, reason: null },
      { action: 'payout_approved', actor: 'system:policy', reason: null },
      { action: 'payout_cancelled', actor: `api_key:${approver.id}`, reason: 'customer asked' },
    ]);
  });

  it('rejects a requested payout', async () => {
    const created = await post('/v1/payouts', payout(500n * ADA, { reference_id: 'WD-reject' }));
    const rejected = await post(`/v1/payouts/${created.body.id}/reject`, { reason: 'suspicious' }, approver.key);
    expect(rejected.status, rejected.text).toBe(200);
    expect(rejected.body).toMatchObject({ status: 'rejected', failure_reason: 'suspicious', approved_by: null });
  });

  it('answers 404 for an unknown payout', async () => {
    for (const action of ['approve', 'cancel', 'reject']) {
      const answer = await post(`/v1/payouts/po_000000000000000000000000/${action}`, undefined, approver.key);
      expect(answer.status, action).toBe(404);
    }
    expect((await api.call('GET', '/v1/payouts/po_000000000000000000000000', { key: reader.key })).status).toBe(404);
  });
});

describe('GET /v1/payouts', () => {
  it('reads one payout and pages them newest first, filtered, neither skipping nor repeating', async () => {
    now = new Date('2026-06-04T00:00:00.000Z');
    const made: string[] = [];
    // One reference, five payouts: each but the last cancelled before the next (one live payout per reference).
    for (let i = 0; i < 5; i++) {
      now = new Date(now.getTime() + 1000);
      if (made.length > 0) expect((await post(`/v1/payouts/${made.at(-1)}/cancel`, {})).status).toBe(200);
      const answer = await post('/v1/payouts', payout(ADA, { reference_id: 'WD-page', user_id: null }));
      expect(answer.status, answer.text).toBe(201);
      made.push(answer.body.id);
    }
    const one = await api.call('GET', `/v1/payouts/${made[4]}`, { key: reader.key });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: made[4], status: 'approved', reference_id: 'WD-page' });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await api.call('GET', `/v1/payouts?reference_id=WD-page&limit=2${cursor ? `&cursor=${cursor}` : ''}`, {
        key: reader.key,
      });
      expect(page.status, page.text).toBe(200);
      seen.push(...page.body.data.map((item: { id: string }) => item.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...made].reverse());
    const requested = await api.call('GET', '/v1/payouts?status=requested', { key: reader.key });
    expect(requested.body.data.length).toBeGreaterThan(0);
    expect(requested.body.data.every((item: { status: string }) => item.status === 'requested')).toBe(true);
    const byUser = await api.call('GET', '/v1/payouts?user_id=user-cancel', { key: reader.key });
    expect(byUser.body.data.map((item: { user_id: string }) => item.user_id)).toEqual(['user-cancel', 'user-cancel']);
    expect((await api.call('GET', '/v1/payouts?status=paid', { key: reader.key })).status).toBe(400);
    expect((await api.call('GET', '/v1/payouts?cursor=bogus!', { key: reader.key })).status).toBe(400);
  });
});

/** Moves a payout along `path` as the processor would (each move from the status before it). */
async function walk(payoutId: string, path: PayoutStatus[]): Promise<void> {
  for (let i = 1; i < path.length; i += 1) {
    const moved = await inTransaction(db.pool, (client) =>
      recordPayoutTransition(client, { payoutId, from: path[i - 1]!, to: path[i]!, actor: 'system:payout-processor', at: now }),
    );
    expect(moved, `${path[i - 1]} → ${path[i]}`).toBe(true);
  }
}

describe('one live payout per reference_id', () => {
  const inUse = (answer: { status: number; body: { type: string; detail: string; errors: unknown } }, holder: string) => {
    expect(answer.status).toBe(409);
    expect(answer.body.type).toBe(`${PROBLEM}reference_in_use`);
    expect(answer.body.detail).toContain(holder);
    expect(answer.body.errors).toEqual([{ field: 'reference_id', message: 'reference_in_use' }]);
  };

  it('refuses a second live payout of a reference (naming the first), replays the same key, frees it once cancelled, rejected or failed', async () => {
    now = new Date('2026-06-10T09:00:00.000Z');
    await credit('user-ref', 'lovelace', 100n * ADA);
    const body = payout(5n * ADA, { reference_id: 'WD-once', user_id: 'user-ref' });
    const first = await post('/v1/payouts', body, requester.key, 'once-1');
    expect(first.status, first.text).toBe(201);
    // The same Idempotency-Key is the same request: its payout again, not a refusal.
    const replay = await post('/v1/payouts', body, requester.key, 'once-1');
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(first.body.id);
    // Another key (a retry of the business's withdrawal, another amount, another caller, no user): refused, writing nothing.
    inUse(await post('/v1/payouts', body, requester.key, 'once-2'), first.body.id);
    inUse(await post('/v1/payouts', payout(2n * ADA, { reference_id: 'WD-once', user_id: null }), approver.key), first.body.id);
    expect(await count("payouts WHERE reference_id = 'WD-once'")).toBe(1);
    expect(await count("business_events WHERE resource_type = 'payout' AND data->>'reference_id' = 'WD-once'")).toBe(2);
    expect(await count("payout_holds WHERE user_id = 'user-ref'")).toBe(1);

    // Expired is live: the payout is sent again with a new attempt.
    await walk(first.body.id, ['approved', 'built', 'signed', 'submitted', 'expired']);
    const whileExpired = await post('/v1/payouts', body, requester.key, 'once-3');
    inUse(whileExpired, first.body.id);
    expect(whileExpired.body.detail).toContain('(expired)');
    // Failed frees the reference.
    await walk(first.body.id, ['expired', 'approved', 'built', 'signed', 'submitted', 'failed']);
    const second = await post('/v1/payouts', body, requester.key, 'once-4');
    expect(second.status, second.text).toBe(201);
    inUse(await post('/v1/payouts', body), second.body.id);
    // So do cancelled and rejected.
    expect((await post(`/v1/payouts/${second.body.id}/cancel`, {})).status).toBe(200);
    const third = await post('/v1/payouts', payout(101n * ADA, { reference_id: 'WD-once' }));
    expect(third.body.status).toBe('requested');
    inUse(await post('/v1/payouts', body), third.body.id);
    expect((await post(`/v1/payouts/${third.body.id}/reject`, {}, approver.key)).status).toBe(200);
    expect((await post('/v1/payouts', body)).status).toBe(201);
    expect(await count("payouts WHERE reference_id = 'WD-once' AND status NOT IN ('cancelled', 'rejected', 'failed')")).toBe(1);
  });

  it('lets exactly one of two concurrent requests for the same reference through; the other is told 409', async () => {
    now = new Date('2026-06-11T09:00:00.000Z');
    await credit('user-race-ref', 'lovelace', 100n * ADA);
    // Both requests are made to wait on the payout requests' lock (held here), so that they are truly in flight together.
    const side = createPool({ connectionString: db.url, max: 2 });
    const holder = await side.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT pg_advisory_xact_lock(x'504f5554'::int, 0)`);
      const body = payout(10n * ADA, { reference_id: 'WD-race', user_id: 'user-race-ref' });
      const answers = Promise.all([post('/v1/payouts', body, requester.key), post('/v1/payouts', body, approver.key)]);
      for (;;) {
        const { rows } = await side.query<{ waiting: number }>(
          `SELECT count(*)::int AS waiting FROM pg_locks
            WHERE locktype = 'advisory' AND NOT granted AND classid = x'504f5554'::int::oid AND objid = 0
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        );
        if (rows[0]!.waiting === 2) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await holder.query('COMMIT');
      const [one, other] = await answers;
      const statuses = [one.status, other.status].sort();
      expect(statuses, `${one.text} ${other.text}`).toEqual([201, 409]);
      const created = one.status === 201 ? one : other;
      const refused = one.status === 201 ? other : one;
      inUse(refused, created.body.id);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
      await side.end();
    }
    expect(await count("payouts WHERE reference_id = 'WD-race'")).toBe(1);
    expect(await count("payout_holds WHERE user_id = 'user-race-ref'")).toBe(1);
  });
});

describe('GET /v1/balances with payouts', () => {
  const balance = async (userId: string) => {
    const answer = await api.call('GET', `/v1/balances/${userId}`, { key: reader.key });
    expect(answer.status, answer.text).toBe(200);
    return answer.body;
  };

  it('shows what open payouts hold and what is available, per asset; a cancel releases it; a confirmed payout is debited', async () => {
    now = new Date('2026-06-12T09:00:00.000Z');
    await credit('user-held', 'lovelace', 50n * ADA);
    await credit('user-held', TOKEN, 40n);
    const before = await balance('user-held');
    expect(before).toMatchObject({
      balance_lovelace: (50n * ADA).toString(),
      assets: { [TOKEN]: '40' },
      held: { lovelace: '0', assets: {} },
      available: { lovelace: (50n * ADA).toString(), assets: { [TOKEN]: '40' } },
    });

    const cancelled = await post('/v1/payouts', payout(30n * ADA, { user_id: 'user-held' }));
    const kept = await post(
      '/v1/payouts',
      payout(2n * ADA, { user_id: 'user-held', amount: { lovelace: '2000000', assets: { [TOKEN]: '15' } } }),
    );
    expect([cancelled.status, kept.status]).toEqual([201, 201]);
    // The balance keeps its meaning (the ledger's); held and available say what the two payouts hold of it.
    expect(await balance('user-held')).toEqual({
      ...before,
      held: { lovelace: (32n * ADA).toString(), assets: { [TOKEN]: '15' } },
      available: { lovelace: (18n * ADA).toString(), assets: { [TOKEN]: '25' } },
    });

    expect((await post(`/v1/payouts/${cancelled.body.id}/cancel`, {})).status).toBe(200);
    expect(await balance('user-held')).toEqual({
      ...before,
      held: { lovelace: (2n * ADA).toString(), assets: { [TOKEN]: '15' } },
      available: { lovelace: (48n * ADA).toString(), assets: { [TOKEN]: '25' } },
    });

    // The token payout needs a second actor; then the processor's moves up to confirmed.
    expect((await post(`/v1/payouts/${kept.body.id}/approve`, undefined, approver.key)).status).toBe(200);
    await walk(kept.body.id, ['approved', 'built', 'signed', 'submitted', 'in_block', 'confirmed']);
    const after = await balance('user-held');
    expect(after).toMatchObject({
      balance_lovelace: (48n * ADA).toString(),
      assets: { [TOKEN]: '25' },
      held: { lovelace: '0', assets: {} },
      available: { lovelace: (48n * ADA).toString(), assets: { [TOKEN]: '25' } },
    });
  });

  it('shows an available balance below zero when a reversal took more than what is not held', async () => {
    await credit('user-reversed', 'lovelace', 10n * ADA);
    expect((await post('/v1/payouts', payout(8n * ADA, { user_id: 'user-reversed' }))).status).toBe(201);
    // A reversal as the engine writes it: a debit of the ledger and the stored balance.
    await db.pool.query("UPDATE user_balances SET balance_lovelace = balance_lovelace - 5000000 WHERE user_id = 'user-reversed'");
    expect(await balance('user-reversed')).toMatchObject({
      balance_lovelace: (5n * ADA).toString(),
      held: { lovelace: (8n * ADA).toString(), assets: {} },
      available: { lovelace: (-3n * ADA).toString(), assets: {} },
    });
  });
});
