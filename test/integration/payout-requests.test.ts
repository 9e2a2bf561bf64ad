/**
 * Payout requests on real PostgreSQL (migration 0019, functions/adapters/postgres/payout-requests.ts): the policy
 * (per-payout and daily limits, four eyes), the held balance (concurrent requests from two connections included),
 * recordPayoutTransition (exactly one of two concurrent moves wins; the debit at `confirmed` happens once, the
 * release once), the audit rows and the events' versions, one live payout per reference_id (migration 0022: the
 * index itself, and a request that meets a payout another writer has not committed yet). Time is an injected clock;
 * nothing waits on time (a concurrent step waits on what pg_locks says).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { inTransaction } from '../../functions/adapters/postgres/pool.js';
import {
  approvePayout,
  availableBalances,
  cancelPayout,
  newPayoutId,
  type PayoutRequest,
  PayoutReferenceInUseError,
  readPayout,
  recordPayoutTransition,
  rejectPayout,
  requestPayout,
} from '../../functions/adapters/postgres/payout-requests.js';
import { type PayoutPolicy, PayoutRefusal, type PayoutStatus, UNCOUNTED_STATUSES } from '../../functions/domain/payouts/payout-rules.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { databasesDroppedAfterAll, type TestDatabase } from '../support/database.js';

const ADA = 1_000_000n;
const POLICY: PayoutPolicy = { maxLovelace: 1_000n * ADA, dailyLimitLovelace: 10_000n * ADA, approvalThresholdLovelace: 100n * ADA };
const TOKEN = `${'c0'.repeat(28)}.546f6b656e`;
const DESTINATION = syntheticAddress('preprod', 'payout-destination');
const DAY = new Date('2026-03-01T12:00:00.000Z');

const newDatabase = databasesDroppedAfterAll();
let db: TestDatabase;
let credits = 0;

beforeAll(async () => {
  db = await newDatabase();
}, 60_000);

/** Credits the user's ledger as the engine does for a confirmed payment (a ledger row and the stored balance). */
async function credit(userId: string, asset: string, quantity: bigint): Promise<void> {
  credits += 1;
  const tx = credits.toString(16).padStart(64, '0');
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
    [userId, asset, quantity.toString(), tx],
  );
}

let references = 0;
/** A request; its reference_id is a new one each time (one live payout per reference) unless given. */
function request(overrides: Partial<PayoutRequest> & { lovelace?: bigint } = {}): PayoutRequest {
  const { lovelace = 10n * ADA, ...rest } = overrides;
  return {
    referenceId: `W-${++references}`,
    userId: null,
    destination: DESTINATION,
    amount: { lovelace: lovelace.toString() },
    actor: 'api_key:key_requester1',
    ...rest,
  };
}

function ask(payout: PayoutRequest, now = DAY, policy = POLICY) {
  return inTransaction(db.pool, (client) => requestPayout(client, payout, { network: 'preprod', policy, now }));
}

async function refusal(promise: Promise<unknown>): Promise<PayoutRefusal> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PayoutRefusal) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

async function eventsOf(payoutId: string) {
  const { rows } = await db.pool.query<{ type: string; version: number; status: string; data_version: number }>(
    `SELECT type, version, data->>'status' AS status, (data->>'version')::int AS data_version FROM business_events
      WHERE resource_type = 'payout' AND resource_id = $1 ORDER BY seq`,
    [payoutId],
  );
  return rows;
}

async function auditOf(payoutId: string) {
  const { rows } = await db.pool.query<{ action: string; actor: string; details: Record<string, unknown> }>(
    `SELECT action, actor, details FROM audit_log WHERE entity_type = 'outbound_payment' AND entity_id = $1 ORDER BY id`,
    [payoutId],
  );
  return rows;
}

async function holdsOf(payoutId: string) {
  const { rows } = await db.pool.query<{ asset: string; quantity: string; closed_as: string | null }>(
    'SELECT asset, quantity::text, closed_as FROM payout_holds WHERE payout_id = $1 ORDER BY asset',
    [payoutId],
  );
  return rows;
}

async function balanceOf(userId: string): Promise<bigint> {
  const { rows } = await db.pool.query<{ balance_lovelace: bigint }>('SELECT balance_lovelace FROM user_balances WHERE user_id = $1', [
    userId,
  ]);
  return rows[0]?.balance_lovelace ?? 0n;
}

const move = (payoutId: string, from: PayoutStatus, to: PayoutStatus, actor = 'system:payout-processor') =>
  inTransaction(db.pool, (client) => recordPayoutTransition(client, { payoutId, from, to, actor }));

/** approved → built → signed → submitted → in_block. */
async function walkToInBlock(payoutId: string): Promise<void> {
  const path: PayoutStatus[] = ['approved', 'built', 'signed', 'submitted', 'in_block'];
  for (let i = 1; i < path.length; i += 1) expect(await move(payoutId, path[i - 1]!, path[i]!)).toBe(true);
}

describe('a payout request', () => {
  it('at or below the threshold is approved at once by the policy: one payout, two events, two audit rows', async () => {
    const payout = await ask(request({ lovelace: 100n * ADA, referenceId: 'W-auto' }));
    expect(payout).toMatchObject({ status: 'approved', approvedBy: 'system:policy', requestedBy: 'api_key:key_requester1', version: 2 });
    expect(payout.id).toMatch(/^po_[0-9a-f]{24}$/);
    expect(await eventsOf(payout.id)).toEqual([
      { type: 'payout.requested', version: 1, status: 'requested', data_version: 1 },
      { type: 'payout.approved', version: 2, status: 'approved', data_version: 2 },
    ]);
    const audit = await auditOf(payout.id);
    expect(audit.map((row) => [row.action, row.actor])).toEqual([
      ['create_payment', 'api_key:key_requester1'],
      ['payout_approved', 'system:policy'],
    ]);
    expect(audit[0]!.details).toMatchObject({
      amount: { lovelace: (100n * ADA).toString(), assets: {} },
      destination: DESTINATION,
      reference_id: 'W-auto',
    });
  });

  it('above the threshold waits for a second actor: its requester is refused (four eyes), another approves', async () => {
    const payout = await ask(request({ lovelace: 100n * ADA + 1n }));
    expect(payout.status).toBe('requested');
    const same = await refusal(inTransaction(db.pool, (c) => approvePayout(c, payout.id, payout.requestedBy, POLICY, DAY)));
    expect(same.code).toBe('four_eyes_required');
    expect((await readPayout(db.pool, payout.id))?.status).toBe('requested');
    const approved = await inTransaction(db.pool, (c) => approvePayout(c, payout.id, 'operator:alice', POLICY, DAY));
    expect(approved).toMatchObject({ status: 'approved', approvedBy: 'operator:alice', version: 2 });
    const again = await refusal(inTransaction(db.pool, (c) => approvePayout(c, payout.id, 'operator:bob', POLICY, DAY)));
    expect(again.code).toBe('not_approvable');
    expect((await auditOf(payout.id)).map((row) => [row.action, row.actor])).toEqual([
      ['create_payment', 'api_key:key_requester1'],
      ['payout_approved', 'operator:alice'],
    ]);
  });

  it('refuses an invalid destination (another network) and a malformed amount before writing anything', async () => {
    const before = (await db.pool.query('SELECT count(*)::int AS n FROM payouts')).rows[0].n;
    const wrong = await refusal(ask(request({ destination: syntheticAddress('mainnet', 'x') })));
    expect(wrong).toMatchObject({ code: 'invalid_destination', status: 422, field: 'destination' });
    await expect(ask(request({ amount: { lovelace: '0' } }))).rejects.toThrow(/invalid/);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM payouts')).rows[0].n).toBe(before);
  });
});

describe('what the policy never lets through alone', () => {
  it('a token payout, however small its lovelace: it waits for another actor than its requester', async () => {
    await credit('user-tokens', TOKEN, 10n);
    const payout = await ask(request({ userId: 'user-tokens', amount: { assets: { [TOKEN]: '1' } } }));
    expect(payout.status).toBe('requested');
    const same = await refusal(inTransaction(db.pool, (c) => approvePayout(c, payout.id, payout.requestedBy, POLICY, DAY)));
    expect(same.code).toBe('four_eyes_required');
    expect(same.message).toMatch(/sends tokens/);
    expect((await inTransaction(db.pool, (c) => approvePayout(c, payout.id, 'operator:bob', POLICY, DAY))).status).toBe('approved');
  });

  it('an ADA-only payout below what a ledger output must carry (1 ADA)', async () => {
    await expect(ask(request({ lovelace: ADA - 1n }))).rejects.toThrow(/below what a ledger output must carry/);
    expect((await ask(request({ lovelace: ADA }))).status).toBe('approved');
  });
});

describe('the limits', () => {
  it('refuses a payout above the per-payout limit', async () => {
    const refused = await refusal(ask(request({ lovelace: POLICY.maxLovelace + 1n })));
    expect(refused.code).toBe('payout_limit_reached');
    expect((await ask(request({ lovelace: POLICY.maxLovelace }), new Date('2026-04-01T00:00:00Z'))).status).toBe('requested');
  });

  it('counts a UTC day across requests, not cancelled or rejected ones, and starts again the next day', async () => {
    const policy = { ...POLICY, dailyLimitLovelace: 250n * ADA };
    const late = new Date('2026-05-10T23:59:59.999Z');
    const early = await ask(request({ lovelace: 100n * ADA }), new Date('2026-05-10T00:00:00.000Z'), policy);
    const waiting = await ask(request({ lovelace: 150n * ADA }), late, policy);
    expect([early.status, waiting.status]).toEqual(['approved', 'requested']);
    expect((await refusal(ask(request({ lovelace: ADA }), late, policy))).code).toBe('daily_limit_reached');
    await inTransaction(db.pool, (c) => rejectPayout(c, waiting.id, 'operator:alice', 'not today', late));
    expect((await refusal(ask(request({ lovelace: 150n * ADA + 1n }), late, policy))).code).toBe('daily_limit_reached');
    expect((await ask(request({ lovelace: 150n * ADA }), late, policy)).status).toBe('requested');
    expect((await refusal(ask(request({ lovelace: ADA }), late, policy))).code).toBe('daily_limit_reached');
    await inTransaction(db.pool, (c) => cancelPayout(c, early.id, 'operator:alice', 'wrong amount', late));
    expect((await ask(request({ lovelace: 100n * ADA }), late, policy)).status).toBe('approved');
    expect((await refusal(ask(request({ lovelace: ADA }), late, policy))).code).toBe('daily_limit_reached');
    expect((await ask(request({ lovelace: 250n * ADA }), new Date('2026-05-11T00:00:00.000Z'), policy)).status).toBe('requested');
  });
});

describe('the held balance', () => {
  it('holds at request: two requests cannot together exceed the balance; a cancel releases', async () => {
    await credit('user-hold', 'lovelace', 100n * ADA);
    const first = await ask(request({ userId: 'user-hold', lovelace: 60n * ADA }));
    expect(await holdsOf(first.id)).toEqual([{ asset: 'lovelace', quantity: (60n * ADA).toString(), closed_as: null }]);
    expect((await availableBalances(db.pool, 'user-hold', ['lovelace'])).get('lovelace')).toBe(40n * ADA);
    expect((await refusal(ask(request({ userId: 'user-hold', lovelace: 41n * ADA })))).code).toBe('insufficient_balance');
    await inTransaction(db.pool, (c) => cancelPayout(c, first.id, 'operator:alice', undefined, DAY));
    expect(await holdsOf(first.id)).toEqual([{ asset: 'lovelace', quantity: (60n * ADA).toString(), closed_as: 'released' }]);
    expect((await ask(request({ userId: 'user-hold', lovelace: 100n * ADA }))).status).toBe('approved');
    expect(await balanceOf('user-hold')).toBe(100n * ADA);
  });

  it('lets only one of two concurrent requests from two connections take the same balance', async () => {
    await credit('user-race', 'lovelace', 100n * ADA);
    // Both transactions start and read nothing yet; the first takes the requests' lock, the second waits on it.
    const a = await db.pool.connect();
    const b = await db.pool.connect();
    try {
      await a.query('BEGIN');
      await b.query('BEGIN');
      const first = requestPayout(a, request({ userId: 'user-race', lovelace: 60n * ADA }), {
        network: 'preprod',
        policy: POLICY,
        now: DAY,
      });
      const second = requestPayout(b, request({ userId: 'user-race', lovelace: 60n * ADA }), {
        network: 'preprod',
        policy: POLICY,
        now: DAY,
      });
      const outcomes = await Promise.allSettled([
        first.then(async (payout) => {
          await a.query('COMMIT');
          return payout;
        }),
        second.then(async (payout) => {
          await b.query('COMMIT');
          return payout;
        }),
      ]);
      const passed = outcomes.filter((outcome) => outcome.status === 'fulfilled');
      const refused = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      expect(passed).toHaveLength(1);
      expect(refused).toHaveLength(1);
      expect((refused[0]!.reason as PayoutRefusal).code).toBe('insufficient_balance');
    } finally {
      await a.query('ROLLBACK').catch(() => undefined);
      await b.query('ROLLBACK').catch(() => undefined);
      a.release();
      b.release();
    }
    const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM payouts WHERE user_id = 'user-race'");
    expect(rows[0].n).toBe(1);
  });

  it('holds each token of the amount and refuses a token the user does not have enough of', async () => {
    await credit('user-token', 'lovelace', 10n * ADA);
    await credit('user-token', TOKEN, 500n);
    const refused = await refusal(ask(request({ userId: 'user-token', amount: { lovelace: '2000000', assets: { [TOKEN]: '501' } } })));
    expect(refused.code).toBe('insufficient_balance');
    expect(refused.message).toContain(TOKEN);
    const payout = await ask(request({ userId: 'user-token', amount: { lovelace: '2000000', assets: { [TOKEN]: '500' } } }));
    expect(await holdsOf(payout.id)).toEqual([
      { asset: TOKEN, quantity: '500', closed_as: null },
      { asset: 'lovelace', quantity: '2000000', closed_as: null },
    ]);
  });
});

describe('recordPayoutTransition', () => {
  it('lets exactly one of two concurrent moves from the same status win', async () => {
    const payout = await ask(request());
    const a = await db.pool.connect();
    const b = await db.pool.connect();
    try {
      await a.query('BEGIN');
      await b.query('BEGIN');
      const one = recordPayoutTransition(a, { payoutId: payout.id, from: 'approved', to: 'built', actor: 'system:payout-processor' });
      const other = recordPayoutTransition(b, { payoutId: payout.id, from: 'approved', to: 'cancelled', actor: 'operator:alice' });
      // The first to update holds the row until its commit; the other waits, then finds the status moved.
      const results = await Promise.all([
        one.then(async (moved) => {
          await a.query('COMMIT');
          return moved;
        }),
        other.then(async (moved) => {
          await b.query('COMMIT');
          return moved;
        }),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
    } finally {
      a.release();
      b.release();
    }
    const after = await readPayout(db.pool, payout.id);
    expect(after?.version).toBe(3);
    expect((await eventsOf(payout.id)).map((event) => event.version)).toEqual([1, 2, 3]);
  });

  it('debits the held balance once at confirmed, whoever calls it twice, and closes the holds', async () => {
    await credit('user-paid', 'lovelace', 50n * ADA);
    await credit('user-paid', TOKEN, 40n);
    const payout = await ask(request({ userId: 'user-paid', amount: { lovelace: '20000000', assets: { [TOKEN]: '15' } } }));
    // Tokens always need a second actor.
    expect(payout.status).toBe('requested');
    await inTransaction(db.pool, (c) => approvePayout(c, payout.id, 'operator:bob', POLICY, new Date()));
    await walkToInBlock(payout.id);
    const [first, second] = await Promise.all([move(payout.id, 'in_block', 'confirmed'), move(payout.id, 'in_block', 'confirmed')]);
    expect([first, second].filter(Boolean)).toHaveLength(1);
    expect(await move(payout.id, 'in_block', 'confirmed')).toBe(false);
    expect(await balanceOf('user-paid')).toBe(30n * ADA);
    const token = await db.pool.query("SELECT quantity::text FROM user_asset_balances WHERE user_id = 'user-paid'");
    expect(token.rows[0].quantity).toBe('25');
    const ledger = await db.pool.query<{ asset: string; quantity: string; type: string; reason: string }>(
      'SELECT asset, quantity::text, type, reason FROM balance_transactions WHERE payout_id = $1 ORDER BY asset',
      [payout.id],
    );
    expect(ledger.rows).toEqual([
      { asset: TOKEN, quantity: '15', type: 'debit', reason: 'payout_confirmed' },
      { asset: 'lovelace', quantity: '20000000', type: 'debit', reason: 'payout_confirmed' },
    ]);
    expect((await holdsOf(payout.id)).map((hold) => hold.closed_as)).toEqual(['debited', 'debited']);
    expect((await availableBalances(db.pool, 'user-paid', ['lovelace', TOKEN])).get('lovelace')).toBe(30n * ADA);
    // The stored balances stay the ledger's sums (what reconciliation's balance check compares).
    const ledgerSums = await db.pool.query(
      `SELECT asset, sum(CASE WHEN type = 'credit' THEN quantity ELSE -quantity END)::text AS total
         FROM balance_transactions WHERE user_id = 'user-paid' GROUP BY asset ORDER BY asset`,
    );
    expect(ledgerSums.rows).toEqual([
      { asset: TOKEN, total: '25' },
      { asset: 'lovelace', total: (30n * ADA).toString() },
    ]);
    expect((await eventsOf(payout.id)).map((event) => `${event.version} ${event.type}`)).toEqual([
      '1 payout.requested',
      '2 payout.approved',
      '3 payout.built',
      '4 payout.signed',
      '5 payout.submitted',
      '6 payout.in_block',
      '7 payout.confirmed',
    ]);
    expect((await auditOf(payout.id)).map((row) => row.action)).toEqual([
      'create_payment',
      'payout_approved',
      'payout_built',
      'payout_signed',
      'payout_submitted',
      'payout_in_block',
      'payout_confirmed',
    ]);
  });

  it('keeps the debit and a hold at most once in the database itself', async () => {
    await credit('user-keys', 'lovelace', 5n * ADA);
    const payout = await ask(request({ userId: 'user-keys', lovelace: 2n * ADA }));
    await walkToInBlock(payout.id);
    expect(await move(payout.id, 'in_block', 'confirmed')).toBe(true);
    await expect(
      db.pool.query("UPDATE payout_holds SET closed_as = 'released', closed_at = now() WHERE payout_id = $1", [payout.id]),
    ).rejects.toThrow(/already debited/);
    await expect(
      db.pool.query(
        `INSERT INTO balance_transactions (user_id, type, asset, quantity, payout_id, reason)
         VALUES ('user-keys', 'debit', 'lovelace', 2000000, $1, 'payout_confirmed')`,
        [payout.id],
      ),
    ).rejects.toThrow(/balance_transactions_payout_once/);
    await expect(db.pool.query('DELETE FROM payout_holds WHERE payout_id = $1', [payout.id])).rejects.toThrow(/never deleted/);
    expect(await balanceOf('user-keys')).toBe(3n * ADA);
  });

  it('releases the hold at failed (once) and refuses a move the rules do not allow', async () => {
    await credit('user-failed', 'lovelace', 5n * ADA);
    const payout = await ask(request({ userId: 'user-failed', lovelace: 5n * ADA }));
    await walkToInBlock(payout.id);
    await expect(move(payout.id, 'in_block', 'cancelled')).rejects.toThrow(/cannot move from in_block to cancelled/);
    expect(
      await inTransaction(db.pool, (c) =>
        recordPayoutTransition(c, {
          payoutId: payout.id,
          from: 'in_block',
          to: 'failed',
          actor: 'system:payout-processor',
          reason: 'input spent elsewhere',
        }),
      ),
    ).toBe(true);
    expect(await holdsOf(payout.id)).toEqual([{ asset: 'lovelace', quantity: (5n * ADA).toString(), closed_as: 'released' }]);
    expect(await readPayout(db.pool, payout.id)).toMatchObject({ status: 'failed', failureReason: 'input spent elsewhere' });
    expect(await balanceOf('user-failed')).toBe(5n * ADA);
    expect((await availableBalances(db.pool, 'user-failed', ['lovelace'])).get('lovelace')).toBe(5n * ADA);
    expect((await refusal(inTransaction(db.pool, (c) => cancelPayout(c, payout.id, 'operator:alice', undefined, DAY)))).code).toBe(
      'not_cancellable',
    );
  });

  it('lets a payout be cancelled until it is signed, and no later', async () => {
    const built = await ask(request());
    expect(await move(built.id, 'approved', 'built')).toBe(true);
    expect((await inTransaction(db.pool, (c) => cancelPayout(c, built.id, 'operator:alice', undefined, DAY))).status).toBe('cancelled');
    const signed = await ask(request());
    expect(await move(signed.id, 'approved', 'built')).toBe(true);
    expect(await move(signed.id, 'built', 'signed')).toBe(true);
    expect((await refusal(inTransaction(db.pool, (c) => cancelPayout(c, signed.id, 'operator:alice', undefined, DAY)))).code).toBe(
      'not_cancellable',
    );
  });
});

describe('one live payout per reference_id (migration 0022)', () => {
  /** A payout inserted as another writer would, bypassing the requests' lock (the index is all that stands). */
  const insertDirectly = (
    client: { query: (text: string, values: unknown[]) => Promise<unknown> },
    referenceId: string,
    id = newPayoutId(),
  ) =>
    client.query(
      `INSERT INTO payouts (id, reference_id, destination, lovelace, status, requested_by, created_at, updated_at, version)
       VALUES ($1, $2, $3, 1000000, 'requested', 'operator:other', now(), now(), 1)`,
      [id, referenceId, DESTINATION],
    );

  it('is held by the database: a second live row of a reference is refused, one beside a cancelled, rejected or failed one is not', async () => {
    const first = await ask(request({ referenceId: 'W-index' }));
    await expect(insertDirectly(db.pool, 'W-index')).rejects.toThrow(/payouts_reference_live/);
    await inTransaction(db.pool, (c) => cancelPayout(c, first.id, 'operator:alice', undefined, DAY));
    await insertDirectly(db.pool, 'W-index');
    // The index's predicate is the rules' set of payouts that will never pay, word for word.
    const { rows } = await db.pool.query<{ indexdef: string }>(
      "SELECT indexdef FROM pg_indexes WHERE indexname = 'payouts_reference_live'",
    );
    expect(rows[0]?.indexdef).toMatch(/^CREATE UNIQUE INDEX payouts_reference_live ON public\.payouts USING btree \(reference_id\) WHERE/);
    const listed = [...rows[0]!.indexdef.matchAll(/'([a-z_]+)'::text/g)].map((match) => match[1]);
    expect(listed.sort()).toEqual([...UNCOUNTED_STATUSES].sort());
  });

  it('refuses with the payout of the reference, naming it and its status, before the balance is even looked at', async () => {
    await credit('user-ref', 'lovelace', 10n * ADA);
    const first = await ask(request({ referenceId: 'W-balance', userId: 'user-ref', lovelace: 10n * ADA }));
    // The same withdrawal asked again would not find the balance the first holds: it is told the reference is in use.
    const again = await ask(request({ referenceId: 'W-balance', userId: 'user-ref', lovelace: 10n * ADA })).catch(
      (error: unknown) => error,
    );
    expect(again).toBeInstanceOf(PayoutReferenceInUseError);
    expect(again).toMatchObject({ referenceId: 'W-balance', payoutId: first.id, status: 'approved' });
    expect((again as Error).message).toContain(first.id);
  });

  it('refuses a request that meets a live payout of the reference another writer commits meanwhile, writing nothing', async () => {
    const other = await db.pool.connect();
    const mine = await db.pool.connect();
    const otherId = newPayoutId();
    try {
      await other.query('BEGIN');
      await insertDirectly(other, 'W-meanwhile', otherId);
      await mine.query('BEGIN');
      const { rows: backend } = await mine.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      // The request does not see the uncommitted payout: its insert waits on the other transaction.
      const asked = requestPayout(mine, request({ referenceId: 'W-meanwhile' }), { network: 'preprod', policy: POLICY, now: DAY }).catch(
        (error: unknown) => error,
      );
      for (;;) {
        const { rows } = await db.pool.query<{ waiting: number }>(
          "SELECT count(*)::int AS waiting FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted AND pid = $1",
          [backend[0]!.pid],
        );
        if (rows[0]!.waiting > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await other.query('COMMIT');
      const refused = await asked;
      expect(refused).toBeInstanceOf(PayoutReferenceInUseError);
      expect(refused).toMatchObject({ payoutId: otherId, status: 'requested' });
      await mine.query('COMMIT');
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      await mine.query('ROLLBACK').catch(() => undefined);
      other.release();
      mine.release();
    }
    const { rows } = await db.pool.query("SELECT id FROM payouts WHERE reference_id = 'W-meanwhile'");
    expect(rows).toEqual([{ id: otherId }]);
    const { rows: events } = await db.pool.query(
      "SELECT count(*)::int AS n FROM business_events WHERE data->>'reference_id' = 'W-meanwhile'",
    );
    expect(events).toEqual([{ n: 0 }]);
  });
});
