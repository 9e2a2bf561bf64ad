import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { ChainBlock, ChainTransaction } from '../../functions/domain/chain.js';
import { describePoint } from '../../functions/domain/chain.js';
import { RebuildPointNotFoundError, InvalidRebuildRequestError } from '../../functions/domain/rebuild.js';
import { PostgresRebuildStore, readRebuildProgress } from '../../functions/adapters/postgres/rebuild-store.js';
import { loadResumePoints } from '../../functions/adapters/postgres/resume-points.js';
import { probeReadiness } from '../../functions/adapters/postgres/readiness-probe.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { runRebuild } from '../../functions/handlers/rebuild-core.js';
import { ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { createEngineFixture, type EngineFixture } from '../support/engine-fixture.js';
import { RecordingLogger } from '../support/recorders.js';
import { lambdaContext } from '../support/local-aws.js';

const TEN_MINUTES_IN_SLOTS = 600n; // sparse blocks: 144 a day, so that 40 simulated days stay a quick test
const MAX_U64 = 18_446_744_073_709_551_615n;
const POLICY = 'ab'.repeat(28);

let fixture: EngineFixture;
const addresses = Array.from({ length: 5 }, (_, i) => syntheticAddress('mainnet', `rebuild-${i}`));

beforeEach(async () => {
  fixture = await createEngineFixture({ confirmations: 3 });
  await fixture.registry.register(
    addresses.map((address, i) => ({ address, referenceType: 'deposit', referenceId: `D-${i}`, userId: i < 4 ? `user-${i % 3}` : null })),
    'test',
  );
});
afterEach(async () => {
  await fixture.db.drop();
});

/** What chain sync delivers after intersecting at a point: the chain's blocks above it, in catch-up batches. */
async function followFrom(chain: ChainBuilder, aboveHeight: bigint): Promise<void> {
  const blocks = chain.blocks.filter((block) => block.height > aboveHeight);
  for (let i = 0; i < blocks.length; i += 50) await fixture.engine.apply(chain.forward(blocks.slice(i, i + 50)));
}

async function rebuild(payload: unknown, now?: Date) {
  const logger = new RecordingLogger();
  const summary = await runRebuild(payload, {
    store: new PostgresRebuildStore(fixture.db.pool),
    logger,
    metrics: new InMemoryMetrics(),
    clock: { now: () => now ?? new Date() },
    actor: 'test:operator',
  });
  return { summary, logger };
}

/** Every table a rebuild must leave as it found it, in full. */
async function snapshot(pool: pg.Pool, aboveHeight: bigint) {
  const rows = async (sql: string, values: unknown[] = []) => (await pool.query(sql, values)).rows;
  return {
    payments: await rows('SELECT * FROM incoming_payments ORDER BY id'),
    ledger: await rows('SELECT * FROM balance_transactions ORDER BY id'),
    balances: await rows('SELECT * FROM user_balances ORDER BY user_id'),
    tokenBalances: await rows('SELECT * FROM user_asset_balances ORDER BY user_id, asset'),
    addresses: await rows('SELECT * FROM payment_addresses ORDER BY id'),
    checkpoints: await rows('SELECT * FROM checkpoints ORDER BY slot'),
    sync: await rows('SELECT last_block_height, last_block_slot, last_block_hash, network_tip_height FROM sync_state'),
    blocks: await rows('SELECT hash, height, slot, ancestor, block_time FROM blocks WHERE height > $1 ORDER BY height, slot', [
      aboveHeight.toString(),
    ]),
  };
}

const auditActions = async (action: string) =>
  (await fixture.db.pool.query('SELECT * FROM audit_log WHERE action = $1 ORDER BY id', [action])).rows;

describe('rebuild from chain', () => {
  it('rebuilding 30 simulated days leaves payments, ledger and balances identical, and so does a second rebuild', async () => {
    // 40 days of history: payments (some with token quantities of 2^64 − 1), spends, and now and then a fork
    // whose confirmed payment is reversed, so the history holds every kind of row.
    const main = new ChainBuilder('main', 100_000_000n, TEN_MINUTES_IN_SLOTS);
    const unspent: { txId: string; index: number }[] = [];
    let pending: ChainBlock[] = [];
    const flush = async () => {
      if (pending.length > 0) await fixture.engine.apply(main.forward(pending));
      pending = [];
    };
    for (let i = 0; i < 40 * 144; i++) {
      const transactions: ChainTransaction[] = [];
      if (i % 7 === 0) {
        const assets = i % 21 === 0 ? [{ policyId: POLICY, assetName: '746f6b656e', quantity: MAX_U64 - BigInt(i) }] : [];
        const payment = transaction([output(addresses[i % 5]!, 1_000_000n + BigInt(i) * 1_234n, assets)]);
        transactions.push(payment);
        unspent.push({ txId: payment.id, index: 0 });
      }
      if (i % 13 === 0 && unspent.length > 10)
        transactions.push(transaction([output(syntheticAddress('mainnet', 'elsewhere'), 1n)], [unspent.shift()!]));
      pending.push(main.next(transactions));
      if (pending.length === 50) await flush();
      if (i % 1000 === 500) {
        await flush();
        const base = main.tip!.height;
        const side = main.fork(`side-${i}`, base);
        side.next([transaction([output(addresses[i % 4]!, 9_000_000n)])]);
        side.empty(4);
        await fixture.engine.apply(side.forward(side.blocks.filter((block) => block.height > base)));
        await fixture.engine.apply(main.backward(base));
      }
    }
    await flush();
    const byStatus = (await fixture.db.pool.query('SELECT status, count(*)::int AS n FROM incoming_payments GROUP BY status')).rows;
    expect(Object.fromEntries(byStatus.map((row) => [row.status, row.n]))).toMatchObject({ confirmed: expect.any(Number), reversed: 6 });

    const tipTime = (await fixture.db.pool.query('SELECT block_time FROM blocks ORDER BY height DESC LIMIT 1')).rows[0].block_time as Date;
    const before = await snapshot(fixture.db.pool, 0n);
    fixture.clock.advance(86_400); // a rebuild happens later: re-derived rows must still carry their original times

    for (const round of [1, 2]) {
      const { summary } = await rebuild({ daysAgo: 30 }, tipTime);
      const pointHeight = BigInt(summary.point_height);
      expect(tipTime.getTime() - new Date(summary.point_time).getTime()).toBeGreaterThanOrEqual(30 * 86_400_000);
      expect(tipTime.getTime() - new Date(summary.point_time).getTime()).toBeLessThan(30 * 86_400_000 + 3_600_000);
      expect(summary.payments_held).toBeGreaterThan(500);
      // The follower resumes from the database's points: the first is now the rebuild point.
      expect(describePoint((await loadResumePoints(fixture.db.pool))[0]!)).toBe(summary.point);
      expect(await readRebuildProgress(fixture.db.pool)).toMatchObject({ status: 'running', progress_height: pointHeight });
      expect(await probeReadiness(fixture.db.pool)).toMatchObject({ ready: false, reason: 'rebuilding', rebuild: { percent: 0 } });

      fixture.logger.entries.length = 0;
      await followFrom(main, pointHeight);

      const after = await snapshot(fixture.db.pool, 0n);
      expect(after.payments).toEqual(before.payments);
      expect(after.ledger).toEqual(before.ledger);
      expect(after.balances).toEqual(before.balances);
      expect(after.addresses).toEqual(before.addresses);
      expect(after.checkpoints).toEqual(before.checkpoints);
      expect(after.sync).toEqual(before.sync);
      expect((await snapshot(fixture.db.pool, pointHeight)).blocks).toEqual(await snapshotBlocks(before, pointHeight));

      expect(await readRebuildProgress(fixture.db.pool)).toMatchObject({ status: 'completed', payments_held: 0, payments_reversed: 0 });
      expect(fixture.logger.events('rebuild_progress')).toHaveLength(Math.floor(Number(main.tip!.height - pointHeight) / 1000));
      expect(fixture.logger.events('rebuild_completed')).toHaveLength(1);
      expect(fixture.logger.events('payment_reversed')).toHaveLength(0);
      expect(await auditActions('rebuild_started')).toHaveLength(round);
    }
  });

  it('across a point where the chain has since forked: a payment gone ends reversed once, one still there keeps its single credit', async () => {
    const main = new ChainBuilder('main', 100_000_000n, TEN_MINUTES_IN_SLOTS);
    main.empty(10);
    const stays = transaction([output(addresses[0]!, 3_000_000n)]);
    const vanishes = transaction([output(addresses[0]!, 5_000_000n, [{ policyId: POLICY, assetName: '', quantity: MAX_U64 }])]);
    const moves = transaction([output(addresses[1]!, 7_000_000n)]);
    main.next([stays]);
    main.next([vanishes]);
    main.next([moves]);
    main.empty(10);
    await followFrom(main, 0n);
    const balances = async () =>
      Object.fromEntries(
        (await fixture.db.pool.query('SELECT user_id, balance_lovelace FROM user_balances')).rows.map((row) => [
          row.user_id,
          row.balance_lovelace,
        ]),
      );
    expect(await balances()).toEqual({ 'user-0': 8_000_000n, 'user-1': 7_000_000n });
    const tokenBalances = async () =>
      (await fixture.db.pool.query('SELECT user_id, asset, quantity::text AS quantity FROM user_asset_balances ORDER BY user_id, asset'))
        .rows;
    expect(await tokenBalances()).toEqual([{ user_id: 'user-0', asset: `${POLICY}.`, quantity: MAX_U64.toString() }]);
    const staysRow = (await fixture.db.pool.query('SELECT * FROM incoming_payments WHERE tx_hash = $1', [stays.id])).rows;

    // The chain as it is now: after the block with `stays`, another branch; `moves` in a different block, `vanishes` nowhere.
    const now = main.fork('now', 11n);
    now.next([]);
    now.next([moves]);
    now.empty(12);
    const point = main.at(10n);

    const ledger = async (txId: string) =>
      (
        await fixture.db.pool.query(
          `SELECT type, occurrence, asset, quantity::text AS quantity FROM balance_transactions WHERE payment_tx_hash = $1
            ORDER BY type, asset <> 'lovelace', asset, occurrence`,
          [txId],
        )
      ).rows;
    for (const round of [1, 2]) {
      await rebuild({ point: `${point.slot}.${point.hash}` });
      fixture.logger.entries.length = 0;
      await followFrom(now, 10n);

      // Every asset of the vanished payment is debited once: its lovelace and its token.
      expect(await ledger(vanishes.id)).toEqual([
        { type: 'credit', occurrence: 1, asset: 'lovelace', quantity: '5000000' },
        { type: 'credit', occurrence: 1, asset: `${POLICY}.`, quantity: MAX_U64.toString() },
        { type: 'debit', occurrence: 1, asset: 'lovelace', quantity: '5000000' },
        { type: 'debit', occurrence: 1, asset: `${POLICY}.`, quantity: MAX_U64.toString() },
      ]);
      expect(await ledger(moves.id)).toEqual([{ type: 'credit', occurrence: 1, asset: 'lovelace', quantity: '7000000' }]);
      expect(await ledger(stays.id)).toEqual([{ type: 'credit', occurrence: 1, asset: 'lovelace', quantity: '3000000' }]);
      expect(await balances()).toEqual({ 'user-0': 3_000_000n, 'user-1': 7_000_000n });
      expect(await tokenBalances()).toEqual([{ user_id: 'user-0', asset: `${POLICY}.`, quantity: '0' }]);

      const statuses = async (txId: string) =>
        (await fixture.db.pool.query('SELECT status, block_hash FROM incoming_payments WHERE tx_hash = $1 ORDER BY id', [txId])).rows;
      expect(await statuses(vanishes.id)).toEqual([{ status: 'reversed', block_hash: main.at(12n).hash }]);
      expect(await statuses(moves.id)).toEqual([
        { status: 'rolled_back', block_hash: main.at(13n).hash },
        { status: 'confirmed', block_hash: now.at(13n).hash },
      ]);
      expect((await fixture.db.pool.query('SELECT * FROM incoming_payments WHERE tx_hash = $1', [stays.id])).rows).toEqual(staysRow);
      const assets = (await fixture.db.pool.query('SELECT assets FROM incoming_payments WHERE tx_hash = $1', [vanishes.id])).rows[0].assets;
      expect(assets).toEqual({ [POLICY]: { '': MAX_U64.toString() } });

      // Reported once, in the first round only; the second finds it reversed already (history, kept as it is).
      expect(fixture.logger.events('payment_reversed')).toHaveLength(round === 1 ? 1 : 0);
      expect(await auditActions('payment_reversed')).toHaveLength(1);
      expect(await readRebuildProgress(fixture.db.pool)).toMatchObject({ status: 'completed', payments_held: 0 });
    }
  });

  it('two held rows of one payment (a second rebuild holding what the first found in another block) get one debit, and a later return and departure another', async () => {
    const main = new ChainBuilder('main', 100_000_000n, TEN_MINUTES_IN_SLOTS);
    main.empty(11);
    const paid = transaction([output(addresses[0]!, 5_000_000n)]);
    main.next([paid]); // height 12
    main.empty(8);
    await followFrom(main, 0n);
    const point = main.at(10n);
    const rebuildAtPoint = () => rebuild({ point: `${point.slot}.${point.hash}` });

    // First rebuild: the chain now has the payment at height 11 and is followed only until that one is confirmed,
    // before the old row (height 12) is due; a second rebuild then holds the new row too.
    await rebuildAtPoint();
    const moved = main.fork('moved', 10n);
    moved.next([paid]);
    moved.empty(2);
    await followFrom(moved, 10n);
    await rebuildAtPoint();
    expect((await fixture.db.pool.query('SELECT block_height FROM rebuild_held_payments ORDER BY block_height')).rows).toEqual([
      { block_height: 11n },
      { block_height: 12n },
    ]);
    // The chain as it is now has the payment nowhere: both held rows are due in the same step.
    const now = main.fork('now', 10n);
    now.empty(10);
    await followFrom(now, 10n);
    const ledger = async () =>
      (await fixture.db.pool.query('SELECT type, occurrence FROM balance_transactions WHERE payment_tx_hash = $1 ORDER BY id', [paid.id]))
        .rows;
    expect(await ledger()).toEqual([
      { type: 'credit', occurrence: 1 },
      { type: 'debit', occurrence: 1 },
    ]);

    // The payment returns, is credited again, then leaves once more: the second departure is debited too.
    now.next([paid]);
    now.empty(2);
    await followFrom(now, 20n);
    const gone = now.fork('gone', 20n);
    gone.empty(4);
    await fixture.engine.apply(gone.backward(20n));
    await followFrom(gone, 20n);
    expect(await ledger()).toEqual([
      { type: 'credit', occurrence: 1 },
      { type: 'debit', occurrence: 1 },
      { type: 'credit', occurrence: 2 },
      { type: 'debit', occurrence: 2 },
    ]);
    const balance = (await fixture.db.pool.query(`SELECT balance_lovelace FROM user_balances WHERE user_id = 'user-0'`)).rows[0]
      .balance_lovelace;
    expect(balance).toBe(0n);
  });

  it('a re-found payment still waiting for confirmations stays held until confirmed, and its credit is not repeated', async () => {
    const main = new ChainBuilder('main', 100_000_000n, TEN_MINUTES_IN_SLOTS);
    main.empty(5);
    const paid = transaction([output(addresses[2]!, 2_000_000n)]);
    main.next([paid]);
    main.empty(5);
    await followFrom(main, 0n);
    const { summary } = await rebuild({ slot: main.at(5n).slot!.toString() });
    expect(summary.point_height).toBe('5');
    await followFrom(main.fork('partial', 7n), 5n); // found again, not yet confirmed
    expect(await readRebuildProgress(fixture.db.pool)).toMatchObject({ status: 'running', payments_held: 1 });
    await fixture.engine.apply(main.forward(main.blocks.filter((block) => block.height > 7n)));
    expect(await readRebuildProgress(fixture.db.pool)).toMatchObject({ status: 'completed', payments_held: 0, payments_refound: 1 });
    const credits = (
      await fixture.db.pool.query(`SELECT count(*)::int AS n FROM balance_transactions WHERE payment_tx_hash = $1`, [paid.id])
    ).rows[0].n;
    expect(credits).toBe(1);
    expect(fixture.logger.events('payment_already_credited').length).toBeGreaterThan(0);
  });

  it('refuses a point that is not retained, and a malformed request, changing nothing', async () => {
    const main = new ChainBuilder('main', 100_000_000n, TEN_MINUTES_IN_SLOTS);
    main.empty(8);
    await followFrom(main, 0n);
    const before = await snapshot(fixture.db.pool, 0n);
    await expect(rebuild({ point: `${main.at(3n).slot! + 1n}.${main.at(3n).hash}` })).rejects.toThrow(RebuildPointNotFoundError);
    await expect(rebuild({ slot: '99999999' })).rejects.toThrow(/no retained point matches slot 99999999/);
    await expect(rebuild({ daysAgo: 30, slot: 5 })).rejects.toThrow(InvalidRebuildRequestError);
    await expect(rebuild({ daysAgo: -1 })).rejects.toThrow(/daysAgo must be a whole number/);
    await expect(rebuild({ point: 'origin' })).rejects.toThrow(/not from origin/);
    expect(await snapshot(fixture.db.pool, 0n)).toEqual(before);
    expect(await auditActions('rebuild_started')).toHaveLength(0);
  });

  it('the Lambda handler resets to the requested point, bumps the generation and audits it', async () => {
    const main = new ChainBuilder('main', 100_000_000n, TEN_MINUTES_IN_SLOTS);
    main.next([transaction([output(addresses[1]!, 4_000_000n)])]);
    main.empty(20);
    await followFrom(main, 0n);
    // Two recoveries without progress past height 21 so far: a third would halt, unless the rebuild starts the count anew.
    await fixture.db.pool.query(
      'UPDATE sync_state SET sync_generation = 4, fence_token = 17, applied_step = 30, recovery_streak = 2, recovery_streak_height = 21',
    );
    process.env.DATABASE_URL = fixture.db.url;
    process.env.STAGE ??= 'test';
    const { handler } = await import('../../functions/handlers/rebuild.js');
    const point = main.at(7n);
    const result = await handler({ point: `${point.slot}.${point.hash}` }, lambdaContext('payment-monitor-rebuild'));
    expect(result).toMatchObject({
      point: `${point.slot}.${point.hash}`,
      point_height: '7',
      target_height: '21',
      blocks_cleared: 14,
      generation: '5',
    });
    const state = (
      await fixture.db.pool.query(
        'SELECT last_block_hash, sync_generation, fence_token, recovery_streak, recovery_streak_height FROM sync_state',
      )
    ).rows[0];
    // The fence token is kept: within the new generation a deposed leader's lower token is still refused.
    expect(state).toEqual({
      last_block_hash: point.hash,
      sync_generation: 5n,
      fence_token: 17n,
      recovery_streak: 0,
      recovery_streak_height: null,
    });
    // A message of the former generation is now stale: the engine drops it.
    const rederivedBlocks = main.blocks.filter((block) => block.height > 7n);
    const rederived = main.forward(rederivedBlocks);
    const steps = { first: 1n, last: BigInt(rederivedBlocks.length) };
    expect(await fixture.engine.apply(rederived, { token: 17n, generation: 4n, steps })).toMatchObject({
      kind: 'unchanged',
      refused: 'stale',
    });
    expect(await fixture.engine.apply(rederived, { token: 16n, generation: 5n, steps })).toMatchObject({
      kind: 'unchanged',
      refused: 'stale',
    });
    // the new generation's session counts its steps from 1
    expect(await fixture.engine.apply(rederived, { token: 17n, generation: 5n, steps })).toMatchObject({ kind: 'applied' });
    const audit = await auditActions('rebuild_started');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'lambda:payment-monitor-rebuild', entity_type: 'rebuild_run' });
    await expect(handler({ days: 3 }, lambdaContext('payment-monitor-rebuild'))).rejects.toThrow(
      /name exactly one of daysAgo, slot, point/,
    );

    // The same function resumes a halted pipeline when asked with {"resumePipeline": true}.
    expect(await handler({ resumePipeline: true }, lambdaContext('payment-monitor-rebuild'))).toEqual({ resumed: false, generation: null });
    await fixture.db.pool.query(`UPDATE sync_state SET sync_generation = 8, halted_at = now(), halted_reason = 'poison, three times'`);
    expect(await handler({ resumePipeline: true }, lambdaContext('payment-monitor-rebuild'))).toEqual({ resumed: true, generation: '9' });
    const resumed = (await fixture.db.pool.query('SELECT sync_generation, halted_at, applied_step FROM sync_state')).rows[0];
    expect(resumed).toEqual({ sync_generation: 9n, halted_at: null, applied_step: 0n });
  });
});

function snapshotBlocks(before: { blocks: Record<string, unknown>[] }, aboveHeight: bigint) {
  return before.blocks.filter((block) => (block.height as bigint) > aboveHeight);
}
