import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChainContinuityError, SessionOutOfStepError, UnknownRollbackPointError } from '../../functions/domain/errors.js';
import { FencedOutError, PostgresFollowerDatabase } from '../../functions/adapters/postgres/follower-database.js';
import { loadResumePoints } from '../../functions/adapters/postgres/resume-points.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { createEngineFixture, type EngineFixture } from '../support/engine-fixture.js';

const alice = syntheticAddress('mainnet', 'alice');
const bob = syntheticAddress('mainnet', 'bob');
const invoice = syntheticAddress('mainnet', 'invoice-77');
const stranger = syntheticAddress('mainnet', 'stranger');
const MAX_U64 = 2n ** 64n - 1n;
const POLICY = 'a0'.repeat(28);

let f: EngineFixture;
let chain: ChainBuilder;

beforeEach(async () => {
  f = await createEngineFixture({ confirmations: 3 });
  chain = new ChainBuilder();
  await f.registry.register(
    [
      { address: alice, referenceType: 'deposit', referenceId: 'acct-alice', userId: 'user-alice' },
      { address: bob, referenceType: 'deposit', referenceId: 'acct-bob', userId: 'user-bob' },
      { address: invoice, referenceType: 'invoice', referenceId: 'INV-77', userId: null },
    ],
    'test',
  );
});
afterEach(async () => f.db.drop());

async function payments() {
  const { rows } = await f.db.pool.query(
    `SELECT tx_hash, output_index, address, amount_lovelace, assets, status, user_id, reference_id, block_height,
            spent_by_tx_hash, spent_at_slot
       FROM incoming_payments ORDER BY id`,
  );
  return rows;
}

async function balance(userId: string): Promise<bigint | undefined> {
  const { rows } = await f.db.pool.query('SELECT balance_lovelace FROM user_balances WHERE user_id = $1', [userId]);
  return rows[0]?.balance_lovelace;
}

async function ledger() {
  const { rows } = await f.db.pool.query(
    'SELECT user_id, type, amount_lovelace, payment_tx_hash, occurrence, reason FROM balance_transactions ORDER BY id',
  );
  return rows;
}

/** Everything the engine writes, to check that a step changed nothing. */
async function snapshot() {
  const tables = ['incoming_payments', 'blocks', 'checkpoints', 'sync_state', 'balance_transactions', 'user_balances', 'audit_log'];
  const result: Record<string, unknown[]> = {};
  for (const table of tables) result[table] = (await f.db.pool.query(`SELECT * FROM ${table} ORDER BY 1`)).rows;
  return result;
}

describe('detection and confirmation', () => {
  it('records a payment to a registered address as pending, ignores other outputs, and confirms it after N blocks', async () => {
    const pay = transaction([output(stranger, 5_000_000n), output(alice, 12_345_678n)]);
    const b1 = chain.next([pay]);
    await f.engine.apply(chain.forward([b1]));

    expect(await payments()).toMatchObject([
      {
        tx_hash: pay.id,
        output_index: 1,
        address: alice,
        amount_lovelace: 12_345_678n,
        status: 'pending',
        user_id: 'user-alice',
        block_height: 1n,
      },
    ]);
    expect(await balance('user-alice')).toBeUndefined();

    await f.engine.apply(chain.forward([chain.next()])); // 2 confirmations
    expect((await payments())[0].status).toBe('pending');
    await f.engine.apply(chain.forward([chain.next()])); // 3 confirmations
    expect((await payments())[0].status).toBe('confirmed');
    expect(await balance('user-alice')).toBe(12_345_678n);
    expect(await ledger()).toEqual([
      {
        user_id: 'user-alice',
        type: 'credit',
        amount_lovelace: 12_345_678n,
        payment_tx_hash: pay.id,
        occurrence: 1,
        reason: 'payment_confirmed',
      },
    ]);

    await f.engine.apply(chain.forward(chain.empty(5)));
    expect(await balance('user-alice')).toBe(12_345_678n);
    expect(await ledger()).toHaveLength(1);
  });

  it('confirms a payment without a user and credits no balance', async () => {
    const pay = transaction([output(invoice, 99_000_000n)]);
    await f.engine.apply(chain.forward([chain.next([pay]), ...chain.empty(2)]));
    expect(await payments()).toMatchObject([{ status: 'confirmed', reference_id: 'INV-77', user_id: null }]);
    expect(await ledger()).toEqual([]);
    expect((await f.db.pool.query('SELECT * FROM user_balances')).rows).toEqual([]);
  });

  it('keeps lovelace and token quantities above 2^53 exact', async () => {
    const big = 2n ** 60n + 7n;
    const pay = transaction([
      output(bob, big, [
        { policyId: POLICY, assetName: '', quantity: MAX_U64 },
        { policyId: POLICY, assetName: '746f6b656e', quantity: 9_007_199_254_740_993n },
      ]),
    ]);
    await f.engine.apply(chain.forward([chain.next([pay]), ...chain.empty(2)]));
    const [row] = await payments();
    expect(row.amount_lovelace).toBe(big);
    expect(row.assets).toEqual({ [POLICY]: { '': MAX_U64.toString(), '746f6b656e': '9007199254740993' } });
    expect(await balance('user-bob')).toBe(big);
  });

  it('counts only the collateral return of a transaction that failed phase-2 validation, at index outputs.length', async () => {
    const funding = transaction([output(alice, 10_000_000n), output(bob, 4_000_000n)]);
    const failed = transaction([output(bob, 1_000_000n), output(invoice, 2_000_000n)], [{ txId: funding.id, index: 0 }], {
      spends: 'collaterals',
      collaterals: [{ txId: funding.id, index: 1 }],
      collateralReturn: output(alice, 3_500_000n),
    });
    await f.engine.apply(chain.forward([chain.next([funding]), chain.next([failed])]));

    const rows = await payments();
    expect(rows.map((r) => [r.tx_hash, r.output_index, r.address])).toEqual([
      [funding.id, 0, alice],
      [funding.id, 1, bob],
      [failed.id, 2, alice],
    ]);
    // its inputs did not take effect; its collateral was consumed
    expect(rows[0].spent_by_tx_hash).toBeNull();
    expect(rows[1].spent_by_tx_hash).toBe(failed.id);
  });

  it('marks a payment spent by the transaction that consumes it, also within the same block', async () => {
    const pay = transaction([output(alice, 8_000_000n)]);
    const sweep = transaction([output(stranger, 7_800_000n)], [{ txId: pay.id, index: 0 }]);
    const b1 = chain.next([pay, sweep]);
    await f.engine.apply(chain.forward([b1]));
    expect(await payments()).toMatchObject([{ spent_by_tx_hash: sweep.id, spent_at_slot: b1.slot }]);
  });

  it('detects payments to an address registered after the engine started', async () => {
    await f.engine.apply(chain.forward([chain.next([transaction([output(alice, 1_000_000n)])])]));
    const late = syntheticAddress('mainnet', 'late');
    await f.registry.register([{ address: late, referenceType: 'order', referenceId: 'O-1', userId: 'user-late' }], 'test');
    await f.engine.apply(chain.forward([chain.next([transaction([output(late, 2_000_000n)])])]));
    expect((await payments()).map((r) => r.address)).toEqual([alice, late]);
  });
});

describe('repeating a step', () => {
  it('changes nothing when an event is applied again, or an older batch is delivered late', async () => {
    const first = chain.forward([chain.next([transaction([output(alice, 5_000_000n)])]), chain.next()]);
    const second = chain.forward([chain.next(), chain.next([transaction([output(bob, 1_000_000n)])])]);
    await f.engine.apply(first);
    await f.engine.apply(second);
    const before = await snapshot();

    expect(await f.engine.apply(second)).toEqual({ kind: 'unchanged', reason: 'blocks already applied' });
    expect(await f.engine.apply(first)).toMatchObject({ kind: 'unchanged' });
    expect(await snapshot()).toEqual(before);
  });

  it('applies only the new part of a batch that overlaps what is applied', async () => {
    const b1 = chain.next([transaction([output(alice, 5_000_000n)])]);
    const b2 = chain.next();
    await f.engine.apply(chain.forward([b1, b2]));
    const b3 = chain.next([transaction([output(bob, 6_000_000n)])]);
    expect(await f.engine.apply(chain.forward([b2, b3]))).toMatchObject({ kind: 'applied', blocks: 1 });
    expect((await payments()).map((r) => r.address)).toEqual([alice, bob]);
  });

  it('ignores the rollback to its own tip that follows every intersection', async () => {
    await f.engine.apply(chain.forward([chain.next(), chain.next()]));
    const before = await snapshot();
    expect(await f.engine.apply(chain.backward(2n))).toMatchObject({ kind: 'unchanged' });
    expect(await snapshot()).toEqual(before);
  });

  it('refuses, in the database, a second credit for a payment that was never reversed', async () => {
    const pay = transaction([output(alice, 5_000_000n)]);
    await f.engine.apply(chain.forward([chain.next([pay]), ...chain.empty(2)]));
    await expect(
      f.db.pool.query(
        `INSERT INTO balance_transactions (user_id, type, asset, quantity, payment_tx_hash, payment_output_index, reason)
         VALUES ('user-alice', 'credit', 'lovelace', 5000000, $1, 0, 'payment_confirmed')`,
        [pay.id],
      ),
    ).rejects.toThrow(/duplicate key/);
  });
});

async function assetBalances(userId: string): Promise<Record<string, bigint>> {
  const { rows } = await f.db.pool.query<{ asset: string; quantity: string }>(
    'SELECT asset, quantity::text AS quantity FROM user_asset_balances WHERE user_id = $1 ORDER BY asset',
    [userId],
  );
  return Object.fromEntries(rows.map((row) => [row.asset, BigInt(row.quantity)]));
}

async function assetLedger() {
  const { rows } = await f.db.pool.query<{
    type: string;
    asset: string;
    quantity: string;
    amount_lovelace: bigint | null;
    occurrence: number;
  }>(
    `SELECT type, asset, quantity::text AS quantity, amount_lovelace, occurrence FROM balance_transactions
      ORDER BY id`,
  );
  return rows;
}

describe('balances per asset', () => {
  const TOKEN = `${POLICY}.746f6b656e`;
  const NAMELESS = `${POLICY}.`;

  it('credits every asset of a confirmed payment exactly once, quantities up to 2^64 - 1 exact, and a reversal debits each', async () => {
    const pay = transaction([
      output(alice, 2_000_000n, [
        { policyId: POLICY, assetName: '746f6b656e', quantity: MAX_U64 },
        { policyId: POLICY, assetName: '', quantity: 9_007_199_254_740_993n },
      ]),
    ]);
    await f.engine.apply(chain.forward([chain.next(), chain.next([pay]), chain.next()]));
    expect(await assetBalances('user-alice')).toEqual({}); // pending: nothing credited
    await f.engine.apply(chain.forward([chain.next()]));
    expect(await balance('user-alice')).toBe(2_000_000n);
    expect(await assetBalances('user-alice')).toEqual({ [NAMELESS]: 9_007_199_254_740_993n, [TOKEN]: MAX_U64 });
    expect(await assetLedger()).toEqual(
      expect.arrayContaining([
        { type: 'credit', asset: 'lovelace', quantity: '2000000', amount_lovelace: 2_000_000n, occurrence: 1 },
        { type: 'credit', asset: TOKEN, quantity: MAX_U64.toString(), amount_lovelace: null, occurrence: 1 },
        { type: 'credit', asset: NAMELESS, quantity: '9007199254740993', amount_lovelace: null, occurrence: 1 },
      ]),
    );
    expect(await assetLedger()).toHaveLength(3);

    // more blocks, the same confirmation delivered again: nothing credited twice
    await f.engine.apply(chain.forward(chain.empty(3)));
    expect(await assetBalances('user-alice')).toEqual({ [NAMELESS]: 9_007_199_254_740_993n, [TOKEN]: MAX_U64 });
    expect(await assetLedger()).toHaveLength(3);

    // the database refuses a second credit of the token, whoever attempts it
    await expect(
      f.db.pool.query(
        `INSERT INTO balance_transactions (user_id, type, asset, quantity, payment_tx_hash, payment_output_index, reason)
         VALUES ('user-alice', 'credit', $2, 5, $1, 0, 'payment_confirmed')`,
        [pay.id, TOKEN],
      ),
    ).rejects.toThrow(/duplicate key/);

    // the block leaves the chain: each asset is debited once, even when the rollback is delivered twice
    const branch = chain.fork('branch', 1n);
    await f.engine.apply(branch.backward(1n));
    await f.engine.apply(branch.backward(1n));
    expect(await balance('user-alice')).toBe(0n);
    expect(await assetBalances('user-alice')).toEqual({ [NAMELESS]: 0n, [TOKEN]: 0n });
    expect((await assetLedger()).filter((row) => row.type === 'debit')).toEqual(
      expect.arrayContaining([
        { type: 'debit', asset: 'lovelace', quantity: '2000000', amount_lovelace: 2_000_000n, occurrence: 1 },
        { type: 'debit', asset: TOKEN, quantity: MAX_U64.toString(), amount_lovelace: null, occurrence: 1 },
        { type: 'debit', asset: NAMELESS, quantity: '9007199254740993', amount_lovelace: null, occurrence: 1 },
      ]),
    );
    expect(await assetLedger()).toHaveLength(6);

    // confirmed again on the new branch: credited again, occurrence 2 of each asset
    await f.engine.apply(branch.forward([branch.next([pay]), ...branch.empty(3)]));
    expect(await assetBalances('user-alice')).toEqual({ [NAMELESS]: 9_007_199_254_740_993n, [TOKEN]: MAX_U64 });
    expect(
      (await assetLedger())
        .filter((row) => row.occurrence === 2)
        .map((row) => `${row.type}:${row.asset}`)
        .sort(),
    ).toEqual([`credit:${NAMELESS}`, `credit:${TOKEN}`, 'credit:lovelace'].sort());
  });

  it('keeps a token balance above 2^64 - 1 exact when several payments add up', async () => {
    const pay = transaction([
      output(alice, 1_500_000n, [{ policyId: POLICY, assetName: '746f6b656e', quantity: MAX_U64 }]),
      output(alice, 1_500_000n, [{ policyId: POLICY, assetName: '746f6b656e', quantity: MAX_U64 }]),
    ]);
    await f.engine.apply(chain.forward([chain.next([pay]), ...chain.empty(2)]));
    expect(await assetBalances('user-alice')).toEqual({ [TOKEN]: 2n * MAX_U64 });
    expect(await balance('user-alice')).toBe(3_000_000n);
  });

  it('refuses a ledger quantity above 2^64 - 1 and an asset that is not lovelace or <policy>.<name hex>', async () => {
    const insert = (asset: string, quantity: string) =>
      f.db.pool.query(
        `INSERT INTO balance_transactions (user_id, type, asset, quantity, payment_tx_hash, payment_output_index, reason)
         VALUES ('user-alice', 'credit', $1, $2::numeric, 'ff', 0, 'payment_confirmed')`,
        [asset, quantity],
      );
    await expect(insert(TOKEN, (MAX_U64 + 1n).toString())).rejects.toThrow(/quantity_range/);
    await expect(insert('ada', '1')).rejects.toThrow(/asset_form/);
    await insert(TOKEN, MAX_U64.toString());
  });
});

describe('continuity', () => {
  it('rejects a block that does not extend the tip, naming it, and writes nothing', async () => {
    await f.engine.apply(chain.forward([chain.next(), chain.next()]));
    const before = await snapshot();
    const gap = chain.fork('other', 1n);
    gap.next();
    const stray = gap.next([transaction([output(alice, 1_000_000n)])]);
    const error = await f.engine.apply(gap.forward([stray])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainContinuityError);
    expect((error as Error).message).toContain(stray.hash);
    expect(await snapshot()).toEqual(before);
  });

  it('rejects a batch whose blocks are not consecutive', async () => {
    const b1 = chain.next();
    chain.next();
    const b3 = chain.next();
    await expect(f.engine.apply(chain.forward([b1, b3]))).rejects.toThrow(/not consecutive/);
    expect((await f.db.pool.query('SELECT * FROM blocks')).rows).toEqual([]);
  });

  it('rejects a rollback to a block it does not hold, and writes nothing', async () => {
    await f.engine.apply(chain.forward([chain.next(), chain.next()]));
    const before = await snapshot();
    const event = { type: 'rollBackward', point: { slot: 5n, hash: 'ff'.repeat(32) }, tip: chain.tipOf() } as const;
    await expect(f.engine.apply(event)).rejects.toBeInstanceOf(UnknownRollbackPointError);
    expect(await snapshot()).toEqual(before);
  });
});

describe('rollback', () => {
  it('marks pending payments rolled back and undoes the spends of the removed blocks', async () => {
    const pay = transaction([output(alice, 5_000_000n)]);
    const b1 = chain.next([pay]);
    await f.engine.apply(chain.forward([b1]));
    const spend = transaction([output(stranger, 4_000_000n)], [{ txId: pay.id, index: 0 }]);
    const late = transaction([output(bob, 2_000_000n)]);
    await f.engine.apply(chain.forward([chain.next([spend, late])]));

    const outcome = await f.engine.apply(chain.backward(1n));
    expect(outcome).toMatchObject({ kind: 'rolled_back', outcome: { blocksRemoved: 1, spendsUndone: 1 } });
    expect(await payments()).toMatchObject([
      { tx_hash: pay.id, status: 'pending', spent_by_tx_hash: null },
      { tx_hash: late.id, status: 'rolled_back' },
    ]);
    const [rollback] = f.logger.events('rollback');
    expect(rollback).toMatchObject({ level: 'warn', fields: { blocks_rolled_back: 1, affected_payments: 1 } });
    expect((await f.db.pool.query('SELECT last_block_height FROM sync_state')).rows[0].last_block_height).toBe(1n);
  });

  it('reverses a confirmed payment that leaves the chain with one debit, and credits it again if it returns', async () => {
    const pay = transaction([output(alice, 7_000_000n)]);
    await f.engine.apply(chain.forward([chain.next(), chain.next([pay]), chain.next(), chain.next()]));
    expect(await balance('user-alice')).toBe(7_000_000n);

    const branch = chain.fork('branch', 1n);
    await f.engine.apply(branch.backward(1n));
    await f.engine.apply(branch.backward(1n)); // delivered twice
    expect(await payments()).toMatchObject([{ status: 'reversed' }]);
    expect(await balance('user-alice')).toBe(0n);
    const reversed = f.logger.events('payment_reversed');
    expect(reversed).toHaveLength(1);
    expect(reversed[0]).toMatchObject({ level: 'critical', fields: { tx_hash: pay.id, amount_ada: 7 } });
    expect((await f.db.pool.query(`SELECT action, entity_id FROM audit_log WHERE action = 'payment_reversed'`)).rows).toEqual([
      { action: 'payment_reversed', entity_id: `${pay.id}#0` },
    ]);

    // the same transaction is included again on the new branch and confirmed there
    await f.engine.apply(branch.forward([branch.next(), branch.next([pay]), branch.next(), branch.next(), branch.next()]));
    expect((await payments()).map((r) => r.status)).toEqual(['reversed', 'confirmed']);
    expect(await balance('user-alice')).toBe(7_000_000n);
    expect((await ledger()).map((r) => [r.type, r.occurrence])).toEqual([
      ['credit', 1],
      ['debit', 1],
      ['credit', 2],
    ]);
  });

  it('restores a payment whose very block comes back after the chain switched away and back', async () => {
    const pay = transaction([output(alice, 5_000_000n)]);
    const sweep = transaction([output(stranger, 4_900_000n)], [{ txId: pay.id, index: 0 }]);
    await f.engine.apply(chain.forward([chain.next(), chain.next([pay]), chain.next(), chain.next([sweep])]));
    const other = chain.fork('other', 1n);
    await f.engine.apply(other.backward(1n));
    await f.engine.apply(other.forward(other.empty(4)));
    expect(await balance('user-alice')).toBe(0n);

    chain.empty(2); // the first branch grows longer and wins again: its blocks come back unchanged
    await f.engine.apply(chain.backward(1n));
    await f.engine.apply(chain.forward(chain.blocks.slice(1)));
    expect(await payments()).toMatchObject([{ tx_hash: pay.id, status: 'confirmed', spent_by_tx_hash: sweep.id }]);
    expect(await balance('user-alice')).toBe(5_000_000n);
    expect((await ledger()).map((r) => `${r.type}${r.occurrence}`)).toEqual(['credit1', 'debit1', 'credit2']);
  });

  it('rolls back to origin', async () => {
    await f.engine.apply(chain.forward([chain.next([transaction([output(alice, 1_000_000n)])]), ...chain.empty(3)]));
    await f.engine.apply(chain.backward(0n));
    expect((await payments()).map((r) => r.status)).toEqual(['reversed']);
    expect((await f.db.pool.query('SELECT count(*)::int AS n FROM blocks')).rows[0].n).toBe(0);
    expect((await f.db.pool.query('SELECT last_block_hash FROM sync_state')).rows[0].last_block_hash).toBeNull();
  });
});

describe('checkpoints and retention', () => {
  it('keeps the first block of every hour as a checkpoint and drops those a rollback removes', async () => {
    // 20-slot blocks: 180 blocks an hour; slot 100,000,000 is not on an hour boundary
    await f.engine.apply(chain.forward(chain.empty(400)));
    const { rows } = await f.db.pool.query('SELECT height, block_time FROM checkpoints ORDER BY slot');
    expect(rows.length).toBe(3);
    for (const row of rows.slice(1)) expect((row.block_time as Date).getTime() % 3_600_000).toBeLessThan(20_000);
    const lastHeight = rows[2].height as bigint;
    await f.engine.apply(chain.backward(lastHeight - 1n));
    expect((await f.db.pool.query('SELECT count(*)::int AS n FROM checkpoints')).rows[0].n).toBe(2);
  });

  it('forgets blocks beyond the retained depth', async () => {
    const small = await createEngineFixture({ confirmations: 3, retainedBlocks: 10 });
    try {
      await small.engine.apply(chain.forward(chain.empty(30)));
      const { rows } = await small.db.pool.query('SELECT min(height) AS low, count(*)::int AS n FROM blocks');
      expect(rows[0]).toEqual({ low: 20n, n: 11 });
    } finally {
      await small.db.drop();
    }
  });
});

describe('observability', () => {
  it('logs detection and confirmation with the tutorial fields and counts them by reference type', async () => {
    const pay = transaction([output(alice, 2_500_000n)]);
    const b1 = chain.next([pay]);
    await f.engine.apply(chain.forward([b1, ...chain.empty(2)]));
    const [detected] = f.logger.events('payment_detected');
    expect(detected!.fields).toMatchObject({
      tx_hash: pay.id,
      amount_ada: 2.5,
      reference_type: 'deposit',
      reference_id: 'acct-alice',
      block_height: 1n,
      confirmations: 3,
    });
    expect(typeof detected!.fields.latency_seconds).toBe('number');
    expect(f.logger.events('payment_confirmed')).toHaveLength(1);
    const metrics = f.metrics.snapshot();
    expect(metrics.counters['payments_detected{reference_type=deposit}']).toBe(1);
    expect(metrics.counters['payments_confirmed{reference_type=deposit}']).toBe(1);
    expect(metrics.gauges.sync_height).toBe(3);
    expect(metrics.gauges.sync_lag_blocks).toBe(0);
    expect(metrics.distributions.payment_value_ada).toMatchObject({ count: 1, sum: 2.5 });
    expect(metrics.distributions.block_processing_seconds!.count).toBe(1);
  });
});

describe('resume points', () => {
  it('offers the last applied blocks, then sparse checkpoints, most recent first', async () => {
    await f.engine.apply(chain.forward(chain.empty(600))); // 20-slot blocks: about 3 hours
    const points = await loadResumePoints(f.db.pool, 5);
    expect(points.slice(0, 5).map((p) => p.hash)).toEqual(
      chain.blocks
        .slice(-5)
        .reverse()
        .map((b) => b.hash),
    );
    const slots = points.map((p) => p.slot);
    expect([...slots].sort((a, b) => (a > b ? -1 : 1))).toEqual(slots);
    expect(points.length).toBeGreaterThan(5);
    expect(points.at(-1)!.hash).toBe(chain.blocks[0]!.hash); // the first block is the first checkpoint
  });
});

describe('leader sessions (the AWS path)', () => {
  const stamp = (token: bigint, generation: bigint, first: bigint, last = first) => ({ token, generation, steps: { first, last } });

  it("applies each step of the fenced session once; a deposed leader's, a repeated or an out-of-step event changes nothing", async () => {
    const follower = new PostgresFollowerDatabase(f.db.pool);
    const { generation } = await follower.beginSession(5n);
    // The session opens with the rollback to its intersection: nothing to undo, but the step counts.
    expect(await f.engine.apply({ type: 'rollBackward', point: 'origin', tip: 'origin' }, stamp(5n, generation, 1n))).toMatchObject({
      kind: 'unchanged',
    });
    await f.engine.apply(chain.forward([chain.next()]), stamp(5n, generation, 2n));
    const paying = chain.forward([chain.next([transaction([output(alice, 1_000_000n)])])]);
    const before = await snapshot();

    expect(await f.engine.apply(chain.forward([chain.at(1n)]), stamp(5n, generation, 2n))).toMatchObject({
      kind: 'unchanged',
      refused: 'duplicate',
    });
    expect(await f.engine.apply(paying, stamp(4n, generation, 3n))).toMatchObject({ kind: 'unchanged', refused: 'stale' });
    await expect(f.engine.apply(paying, stamp(5n, generation, 4n))).rejects.toThrow(
      new SessionOutOfStepError('steps 4 follow step 2: steps 3 are missing'),
    );
    await expect(f.engine.apply(paying, stamp(6n, generation, 1n))).rejects.toThrow(/never fenced/);
    expect(await snapshot()).toEqual(before);
    expect(f.logger.events('stale_event_dropped')).toHaveLength(1);
    expect(f.logger.events('duplicate_event_dropped')).toHaveLength(1);

    expect(await f.engine.apply(paying, stamp(5n, generation, 3n))).toMatchObject({
      kind: 'applied',
      detected: [expect.objectContaining({ lovelace: 1_000_000n })],
    });

    // A new leader fences before it reads where to resume: from then on the old leader's next step is stale.
    const next = chain.forward([chain.next()]);
    const newLeader = await follower.beginSession(6n);
    expect(newLeader.generation).toBe(generation);
    expect(newLeader.resumePoints[0]!.hash).toBe(chain.at(2n).hash);
    expect(await f.engine.apply(next, stamp(5n, generation, 4n))).toMatchObject({ refused: 'stale' });
    expect(await f.engine.apply(next, stamp(6n, generation, 1n))).toMatchObject({ kind: 'applied' });

    // The same term fencing again gets a new generation, so its new steps cannot pass for those already applied.
    expect((await follower.beginSession(6n)).generation).toBe(generation + 1n);
    await expect(follower.beginSession(5n)).rejects.toThrow(FencedOutError);
    const { rows } = await f.db.pool.query('SELECT fence_token, sync_generation, applied_step FROM sync_state');
    expect(rows[0]).toEqual({ fence_token: 6n, sync_generation: generation + 1n, applied_step: 0n });
  });
});
