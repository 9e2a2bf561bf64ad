/**
 * Partition maintenance against the engine and a rebuild running at the same time (issue 11, item 4). The
 * interleavings are forced: a hold keeps the engine's transaction open after its insert, a transaction holding a table lock stops
 * maintenance at its ATTACH, and each next step waits until pg_stat_activity shows the other side waiting for a lock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { ChainBlock, ChainEvent, ChainTransaction } from '../../functions/domain/chain.js';
import type { EngineTransaction, PaymentStore } from '../../functions/domain/ports.js';
import { slotToTime } from '../../functions/domain/network.js';
import { createPool } from '../../functions/adapters/postgres/pool.js';
import { defaultPartitionRows } from '../../functions/adapters/postgres/partitions.js';
import { PostgresRebuildStore } from '../../functions/adapters/postgres/rebuild-store.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { maintainPartitions } from '../../functions/handlers/partition-maintenance-core.js';
import { runRebuild } from '../../functions/handlers/rebuild-core.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { createEngineFixture, type EngineFixture } from '../support/engine-fixture.js';
import { RecordingLogger } from '../support/recorders.js';
import { Random } from '../support/random.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fixtureWith(options: Parameters<typeof createEngineFixture>[0] = {}): Promise<EngineFixture> {
  const fixture = await createEngineFixture(options);
  cleanups.push(() => fixture.db.drop());
  return fixture;
}

/** A pool of its own, named so that pg_stat_activity tells its connection apart. */
function namedPool(fixture: EngineFixture, applicationName: string): pg.Pool {
  const pool = createPool({ connectionString: fixture.db.url, max: 1, applicationName });
  cleanups.push(() => pool.end());
  return pool;
}

/** The first day of the month `offset` months from the current one, UTC (the test database's time zone). */
function monthStart(offset: number): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
}

function partitionOf(month: Date): string {
  return `incoming_payments_y${month.getUTCFullYear()}m${String(month.getUTCMonth() + 1).padStart(2, '0')}`;
}

const SHELLEY_FIRST_SLOT = 4_492_800n; // mainnet's Byron slots (network.ts)
/** The mainnet slot at a time (after Shelley: one slot a second). */
function slotAt(time: Date): bigint {
  return SHELLEY_FIRST_SLOT + BigInt(Math.floor((time.getTime() - slotToTime('mainnet', SHELLEY_FIRST_SLOT).getTime()) / 1000));
}

/** As after a lapse of maintenance: the current month has no partition, so its payments land in the default one. */
async function dropCurrentMonthPartition(pool: pg.Pool): Promise<void> {
  await pool.query(`DROP TABLE ${partitionOf(monthStart(0))}`);
}

async function partitionHolding(pool: pg.Pool, txHash: string): Promise<string[]> {
  const { rows } = await pool.query<{ partition: string }>(
    'SELECT tableoid::regclass::text AS partition FROM incoming_payments WHERE tx_hash = $1',
    [txHash],
  );
  return rows.map((row) => row.partition);
}

/**
 * Resolves once the connection of that application waits for a lock, so that what the test does next is known to
 * come after that point. Fails at once if the operation finished instead.
 */
async function untilWaitingForLock(observer: pg.Pool, applicationName: string, operation: Promise<unknown>): Promise<void> {
  let settled = false;
  operation.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let poll = 0; poll < 6000; poll++) {
    const { rows } = await observer.query(
      `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND wait_event_type = 'Lock'`,
      [applicationName],
    );
    if (rows.length > 0) return;
    if (settled) throw new Error(`${applicationName} finished without ever waiting for a lock`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`${applicationName} did not wait for a lock within the polls`);
}

/**
 * Wraps the engine's store: once armed, the next transaction that records payments stays open right after
 * inserting them (not yet committed) until release() is called; `recorded` resolves when it got there.
 */
class PaymentCommitHold {
  private armed = false;
  private releaseCommit!: () => void;
  private readonly released = new Promise<void>((resolve) => (this.releaseCommit = resolve));
  private reachedHold!: () => void;
  readonly recorded = new Promise<void>((resolve) => (this.reachedHold = resolve));

  arm(): void {
    this.armed = true;
  }

  release(): void {
    this.releaseCommit();
  }

  wrap = (store: PaymentStore): PaymentStore => ({
    inTransaction: <T>(work: (tx: EngineTransaction) => Promise<T>): Promise<T> =>
      store.inTransaction((tx) => work(new Proxy(tx, { get: (target, key) => this.member(target, key) }))),
  });

  private member(target: EngineTransaction, key: string | symbol): unknown {
    if (key === 'recordPayments') {
      return async (...args: Parameters<EngineTransaction['recordPayments']>) => {
        const payments = await target.recordPayments(...args);
        if (this.armed && payments.length > 0) {
          this.armed = false;
          this.reachedHold();
          await this.released;
        }
        return payments;
      };
    }
    const value = Reflect.get(target, key) as unknown;
    return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
  }
}

describe('partition maintenance under concurrency', () => {
  it('moves the current month while the engine commits a payment of it, and creates the next months', async () => {
    const hold = new PaymentCommitHold();
    const fixture = await fixtureWith({ wrapStore: hold.wrap });
    const address = syntheticAddress('mainnet', 'moving-month');
    await fixture.registry.register([{ address, referenceType: 'invoice', referenceId: 'I-1', userId: 'user-1' }], 'test');
    await dropCurrentMonthPartition(fixture.db.pool);

    // A payment of this month already waits in the default partition, so the month has rows to move…
    const chain = new ChainBuilder('main', slotAt(new Date(monthStart(0).getTime() + 3_600_000)));
    const waiting = transaction([output(address, 1_000_000n)]);
    await fixture.engine.apply(chain.forward([chain.next([waiting])]));
    expect(await partitionHolding(fixture.db.pool, waiting.id)).toEqual(['incoming_payments_default']);

    // …the engine's next transaction has inserted another one and not committed yet…
    hold.arm();
    const committing = transaction([output(address, 2_000_000n)]);
    const engineApplying = fixture.engine.apply(chain.forward([chain.next([committing])]));
    await hold.recorded;
    const maintenance = maintainPartitions(namedPool(fixture, 'maintenance-during-insert'), {
      logger: new RecordingLogger(),
      monthsAhead: 5,
    });
    await untilWaitingForLock(fixture.db.pool, 'maintenance-during-insert', maintenance);
    // …and commits while maintenance is under way.
    hold.release();
    expect(await engineApplying).toMatchObject({ kind: 'applied', detected: [expect.objectContaining({ txId: committing.id })] });

    const summary = await maintenance;
    expect(summary.created).toEqual([partitionOf(monthStart(0)), partitionOf(monthStart(4)), partitionOf(monthStart(5))]);
    expect(summary).toMatchObject({ moved_rows: 2, default_rows: 0 });
    expect(await partitionHolding(fixture.db.pool, waiting.id)).toEqual([partitionOf(monthStart(0))]);
    expect(await partitionHolding(fixture.db.pool, committing.id)).toEqual([partitionOf(monthStart(0))]);
  });

  it('a rebuild that starts while maintenance moves a month sees the moved payments, and reverses one the new chain lacks', async () => {
    const fixture = await fixtureWith({ confirmations: 3 });
    const address = syntheticAddress('mainnet', 'rebuild-race');
    await fixture.registry.register([{ address, referenceType: 'deposit', referenceId: 'D-1', userId: 'user-1' }], 'test');
    await dropCurrentMonthPartition(fixture.db.pool);
    const main = new ChainBuilder('main', slotAt(new Date(monthStart(0).getTime() + 3_600_000)));
    const point = main.next();
    const payment = transaction([output(address, 5_000_000n)]);
    main.next([payment]);
    main.empty(4);
    await fixture.engine.apply(main.forward(main.blocks));
    const balance = async () =>
      (await fixture.db.pool.query('SELECT balance_lovelace FROM user_balances WHERE user_id = $1', ['user-1'])).rows[0]?.balance_lovelace;
    expect(await balance()).toBe(5_000_000n);

    // A reader holds the default partition, so maintenance stops at its ATTACH with the month's rows moved but
    // not yet committed; this maintenance creates no later month (the coming ones exist).
    const reader = await fixture.db.pool.connect();
    cleanups.push(async () => reader.release(true));
    await reader.query('BEGIN');
    await reader.query('LOCK TABLE incoming_payments_default IN ACCESS SHARE MODE');
    const maintenance = maintainPartitions(namedPool(fixture, 'maintenance-moving'), { logger: new RecordingLogger(), monthsAhead: 1 });
    await untilWaitingForLock(fixture.db.pool, 'maintenance-moving', maintenance);

    const rebuilding = runRebuild(
      { point: `${point.slot}.${point.hash}` },
      {
        store: new PostgresRebuildStore(namedPool(fixture, 'rebuild-during-move')),
        logger: new RecordingLogger(),
        metrics: new InMemoryMetrics(),
        clock: { now: () => new Date() },
        actor: 'test:operator',
      },
    );
    await untilWaitingForLock(fixture.db.pool, 'rebuild-during-move', rebuilding);
    await reader.query('COMMIT');

    expect((await maintenance).created).toEqual([partitionOf(monthStart(0))]);
    expect(await rebuilding).toMatchObject({ payments_held: 1 });

    // The re-derived chain does not carry the payment: once past its confirmation height it is reversed, debited.
    const fork = main.fork('without-payment', point.height);
    fork.empty(5);
    await fixture.engine.apply(fork.forward(fork.blocks.filter((block) => block.height > point.height)));
    const statuses = (await fixture.db.pool.query('SELECT status FROM incoming_payments WHERE tx_hash = $1', [payment.id])).rows;
    expect(statuses).toEqual([{ status: 'reversed' }]);
    expect(await balance()).toBe(0n);
  });

  it('partition maintenance succeeds during a concurrent engine load test, and the engine ends as it does without it', async () => {
    // About eight months of chain up to now, every month of it without a partition while the engine applies it.
    const blocks = 600;
    const firstTime = new Date(Date.now() - 240 * 86_400_000);
    const main = new ChainBuilder('main', slotAt(firstTime), 34_560n);
    const addresses = Array.from({ length: 12 }, (_, i) => syntheticAddress('mainnet', `load-${i}`));
    const random = new Random(114);
    const events = buildLoadChain(main, addresses, random, blocks);

    const reference = await fixtureWith();
    const withMaintenance = await fixtureWith();
    for (const fixture of [reference, withMaintenance]) {
      await fixture.registry.register(
        addresses.map((address, i) => ({ address, referenceType: 'deposit', referenceId: `D-${i}`, userId: `user-${i % 5}` })),
        'test',
      );
    }
    await dropCurrentMonthPartition(withMaintenance.db.pool);
    for (const event of events) await reference.engine.apply(event);

    let engineDone = false;
    const applyAll = async () => {
      try {
        for (const event of events) await withMaintenance.engine.apply(event);
      } finally {
        engineDone = true;
      }
    };
    const maintenancePool = namedPool(withMaintenance, 'maintenance-under-load');
    const runs: { created: string[]; moved_rows: number }[] = [];
    const maintainRepeatedly = async () => {
      do runs.push(await maintainPartitions(maintenancePool, { logger: new RecordingLogger(), monthsAhead: 1 }));
      while (!engineDone);
    };
    await Promise.all([applyAll(), maintainRepeatedly()]);
    runs.push(await maintainPartitions(maintenancePool, { logger: new RecordingLogger(), monthsAhead: 1 }));

    const months = new Set(
      (
        await withMaintenance.db.pool.query<{ month: string }>(
          `SELECT DISTINCT to_char(block_time, 'YYYY-MM') AS month FROM incoming_payments`,
        )
      ).rows.map((row) => row.month),
    );
    expect(months.size).toBeGreaterThanOrEqual(8);
    expect(runs.length).toBeGreaterThan(1);
    expect(await defaultPartitionRows(withMaintenance.db.pool)).toBe(0);
    expect(runs.reduce((sum, run) => sum + run.moved_rows, 0)).toBeGreaterThan(0);
    const partitioned = (
      await withMaintenance.db.pool.query<{ n: number }>(`SELECT count(DISTINCT tableoid)::int AS n FROM incoming_payments`)
    ).rows[0]!.n;
    expect(partitioned).toBe(months.size);
    expect(await engineState(withMaintenance.db.pool)).toEqual(await engineState(reference.db.pool));
  });
});

/**
 * Blocks in catch-up batches of ten: payments to the addresses, spends of earlier ones, and every 150 blocks a
 * short fork that carries a payment and is rolled back, so rows of every status move between partitions.
 */
function buildLoadChain(main: ChainBuilder, addresses: string[], random: Random, blocks: number) {
  const events: ChainEvent[] = [];
  const unspent: { txId: string; index: number }[] = [];
  let pending: ChainBlock[] = [];
  const flush = () => {
    if (pending.length > 0) events.push(main.forward(pending));
    pending = [];
  };
  for (let i = 0; i < blocks; i++) {
    const transactions: ChainTransaction[] = [];
    for (let n = random.int(0, 3); n > 0; n--) {
      const payment = transaction([output(random.pick(addresses), BigInt(random.int(1_000_000, 90_000_000)))]);
      transactions.push(payment);
      unspent.push({ txId: payment.id, index: 0 });
    }
    if (unspent.length > 5 && random.chance(0.3)) {
      transactions.push(
        transaction([output(syntheticAddress('mainnet', 'elsewhere'), 1n)], [unspent.splice(random.int(0, unspent.length - 1), 1)[0]!]),
      );
    }
    pending.push(main.next(transactions));
    if (pending.length === 10) flush();
    if (i % 150 === 75) {
      flush();
      const base = main.tip!.height;
      const side = main.fork(`side-${i}`, base);
      side.next([transaction([output(random.pick(addresses), 7_000_000n)])]);
      side.empty(4);
      events.push(side.forward(side.blocks.filter((block) => block.height > base)));
      events.push(main.backward(base));
    }
  }
  flush();
  return events;
}

/**
 * What the engine derived, without the columns that hold the wall-clock time of the write. The ledger is compared
 * without its ids: credits of one confirmation take ids in the order the rows are scanned, which moving rows
 * between partitions changes.
 */
async function engineState(pool: pg.Pool) {
  const rows = async (sql: string) => (await pool.query(sql)).rows;
  return {
    payments: await rows('SELECT * FROM incoming_payments ORDER BY id'),
    ledger: await rows(
      `SELECT user_id, type, amount_lovelace, payment_tx_hash, payment_output_index, occurrence, reason FROM balance_transactions
        ORDER BY payment_tx_hash, payment_output_index, type, occurrence`,
    ),
    balances: await rows('SELECT user_id, balance_lovelace FROM user_balances ORDER BY user_id'),
    blocks: await rows('SELECT hash, height, slot, ancestor, block_time FROM blocks ORDER BY height, slot'),
    checkpoints: await rows('SELECT * FROM checkpoints ORDER BY slot'),
    sync: await rows('SELECT last_block_height, last_block_slot, last_block_hash, network_tip_height, sync_generation FROM sync_state'),
  };
}
