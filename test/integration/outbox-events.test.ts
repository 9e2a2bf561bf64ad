/**
 * Business events written by the engine (the transactional outbox): in the same transaction as the change, with
 * deterministic ids and per-payment versions, never twice on a replay, for forks and rebuilds; the event's data is
 * the payment as the API returns it (SQL-built in the engine's statements, TS-built by the API: they agree).
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { listEvents } from '../../functions/adapters/postgres/business-events.js';
import { PostgresRebuildStore } from '../../functions/adapters/postgres/rebuild-store.js';
import { settleHeldPayments } from '../../functions/adapters/postgres/rebuild-settlement.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import type { EngineTransaction, PaymentStore } from '../../functions/domain/ports.js';
import { paymentResource, type PaymentResourceRow } from '../../functions/domain/payment-resource.js';
import { runRebuild } from '../../functions/handlers/rebuild-core.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { createEngineFixture, type EngineFixture } from '../support/engine-fixture.js';
import { RecordingLogger } from '../support/recorders.js';

const alice = syntheticAddress('mainnet', 'outbox-alice');
const shop = syntheticAddress('mainnet', 'outbox-shop');
const POLICY = 'c1'.repeat(28);

let f: EngineFixture;
let chain: ChainBuilder;
/** When set, the engine's transaction fails at saveSyncPosition (after every change of the step was written). */
let failAtSave = false;

function failingStore(store: PaymentStore): PaymentStore {
  return {
    inTransaction: (work) =>
      store.inTransaction((tx) =>
        work(
          new Proxy(tx, {
            get(target, property, receiver) {
              if (property === 'saveSyncPosition' && failAtSave) return async () => Promise.reject(new Error('injected failure'));
              const value = Reflect.get(target, property, receiver);
              return typeof value === 'function' ? value.bind(target) : value;
            },
          }) as EngineTransaction,
        ),
      ),
  };
}

beforeEach(async () => {
  failAtSave = false;
  f = await createEngineFixture({ confirmations: 3, wrapStore: failingStore });
  chain = new ChainBuilder();
  await f.registry.register(
    [
      { address: alice, referenceType: 'deposit', referenceId: 'acct-alice', userId: 'user-alice' },
      { address: shop, referenceType: 'invoice', referenceId: 'INV-9', userId: null },
    ],
    'test',
  );
});
afterEach(async () => f.db.drop());

interface EventRow {
  seq: bigint;
  id: string;
  type: string;
  resource_id: string;
  version: number;
  data: Record<string, unknown>;
}

async function events(db: pg.Pool = f.db.pool): Promise<EventRow[]> {
  return (await db.query<EventRow>('SELECT seq, id, type, resource_id, version, data FROM business_events ORDER BY seq')).rows;
}

const summary = (rows: EventRow[]) => rows.map((e) => [e.type, e.resource_id, e.version]);

function expectedId(type: string, resourceId: string, version: number): string {
  return `evt_${createHash('sha256').update(`${type}\n${resourceId}\n${version}`).digest('hex').slice(0, 32)}`;
}

async function paymentRows(txHash: string): Promise<PaymentResourceRow[]> {
  return (await f.db.pool.query<PaymentResourceRow>('SELECT * FROM incoming_payments WHERE tx_hash = $1 ORDER BY id', [txHash])).rows;
}

describe('events written by the engine', () => {
  it('detected, spent and confirmed, with deterministic ids, per-payment versions, and the payment as the API returns it', async () => {
    const pay = transaction([output(alice, 12_000_000n, [{ policyId: POLICY, assetName: '746f6b', quantity: 2n ** 60n }])]);
    await f.engine.apply(chain.forward([chain.next([pay])]));

    let rows = await events();
    const resource = `${pay.id}#0`;
    expect(summary(rows)).toEqual([['payment.detected', resource, 1]]);
    expect(rows[0]!.id).toBe(expectedId('payment.detected', resource, 1));
    // The SQL-built data (payment_resource in the engine's statement) equals the TS function on the same row.
    const [pending] = await paymentRows(pay.id);
    expect(rows[0]!.data).toEqual(paymentResource(pending!));
    expect(rows[0]!.data).toMatchObject({
      status: 'pending',
      amount_lovelace: '12000000',
      assets: { [POLICY]: { '746f6b': (2n ** 60n).toString() } },
    });

    // spent in the next block, confirmed two blocks later
    const spend = transaction([output(syntheticAddress('mainnet', 'elsewhere'), 11_000_000n)], [{ txId: pay.id, index: 0 }]);
    await f.engine.apply(chain.forward([chain.next([spend])]));
    await f.engine.apply(chain.forward([chain.next()]));
    rows = await events();
    expect(summary(rows)).toEqual([
      ['payment.detected', resource, 1],
      ['payment.spent', resource, 2],
      ['payment.confirmed', resource, 3],
    ]);
    expect(rows.map((e) => e.id)).toEqual([
      expectedId('payment.detected', resource, 1),
      expectedId('payment.spent', resource, 2),
      expectedId('payment.confirmed', resource, 3),
    ]);
    const [confirmed] = await paymentRows(pay.id);
    expect(rows[2]!.data).toEqual(paymentResource(confirmed!));
    expect(rows[2]!.data).toMatchObject({ status: 'confirmed', spent: { tx_hash: spend.id, slot: Number(chain.at(2n).slot) } });
    expect(rows[1]!.data).toMatchObject({ status: 'pending', spent: { tx_hash: spend.id } });

    // the pull API's reading is the same log
    const pulled = await listEvents(f.db.pool, { limit: 10 });
    expect(pulled.events.map((e) => [e.id, e.type, e.version])).toEqual(rows.map((e) => [e.id, e.type, e.version]));
    expect(pulled.lastSeq).toBe(rows[2]!.seq);
    expect(
      (await listEvents(f.db.pool, { afterSeq: rows[0]!.seq, limit: 1, types: ['payment.confirmed'] })).events.map((e) => e.type),
    ).toEqual(['payment.confirmed']);
  });

  it('writes the events in the same transaction as the change: a step that fails writes none', async () => {
    const pay = transaction([output(shop, 5_000_000n)]);
    failAtSave = true;
    await expect(f.engine.apply(chain.forward([chain.next([pay]), ...chain.empty(3)]))).rejects.toThrow('injected failure');
    expect(await events()).toEqual([]);
    expect((await f.db.pool.query('SELECT count(*)::int AS n FROM incoming_payments')).rows[0].n).toBe(0);

    failAtSave = false;
    await f.engine.apply(chain.forward(chain.blocks));
    expect(summary(await events())).toEqual([
      ['payment.detected', `${pay.id}#0`, 1],
      ['payment.confirmed', `${pay.id}#0`, 2],
    ]);
  });

  it('writes nothing again when a batch is applied a second time', async () => {
    const pay = transaction([output(alice, 1_000_000n), output(shop, 2_000_000n)]);
    const batch = chain.forward([chain.next([pay]), ...chain.empty(3)]);
    await f.engine.apply(batch);
    const first = await events();
    expect(first).toHaveLength(4);
    expect(await f.engine.apply(batch)).toMatchObject({ kind: 'unchanged' });
    expect(await events()).toEqual(first);
  });

  it('a fork: a pending payment rolled back, a confirmed one reversed, and each coming back continues its count', async () => {
    const early = transaction([output(alice, 3_000_000n)]);
    const late = transaction([output(shop, 4_000_000n)]);
    chain.next([early]); // 1
    chain.empty(2); // 2, 3: early confirmed at 3
    chain.next([late]); // 4
    await f.engine.apply(chain.forward(chain.blocks));
    // one step: what it records, then what it confirms
    expect(summary(await events())).toEqual([
      ['payment.detected', `${early.id}#0`, 1],
      ['payment.detected', `${late.id}#0`, 1],
      ['payment.confirmed', `${early.id}#0`, 2],
    ]);

    // The chain switches from origin: both blocks leave.
    const other = new ChainBuilder('other');
    await f.engine.apply(chain.backward(0n));
    let rows = await events();
    expect(summary(rows.slice(3))).toEqual([
      ['payment.rolled_back', `${late.id}#0`, 2],
      ['payment.reversed', `${early.id}#0`, 3],
    ]);
    expect(rows[3]!.data).toMatchObject({ status: 'rolled_back' });
    expect(rows[4]!.data).toMatchObject({ status: 'reversed', confirmed_at: expect.any(String) });

    // Both come back in other blocks: detected again, versions continue.
    other.next([late]);
    other.next([early]);
    await f.engine.apply(other.forward(other.blocks));
    rows = await events();
    expect(summary(rows.slice(5))).toEqual([
      ['payment.detected', `${late.id}#0`, 3],
      ['payment.detected', `${early.id}#0`, 4],
    ]);
    expect(new Set(rows.map((e) => e.id)).size).toBe(rows.length);
    const [, lateAgain] = await paymentRows(late.id);
    expect(rows[5]!.data).toEqual(paymentResource(lateAgain!));
  });

  it('the same block coming back after the chain switched away and back is told again', async () => {
    const pay = transaction([output(alice, 3_000_000n)]);
    chain.next();
    chain.next([pay]);
    await f.engine.apply(chain.forward(chain.blocks));
    await f.engine.apply(chain.backward(1n));
    await f.engine.apply(chain.forward([chain.at(2n)]));
    expect(summary(await events())).toEqual([
      ['payment.detected', `${pay.id}#0`, 1],
      ['payment.rolled_back', `${pay.id}#0`, 2],
      ['payment.detected', `${pay.id}#0`, 3],
    ]);
  });
});

describe('events and rebuilds', () => {
  async function rebuildAt(height: bigint) {
    const point = chain.at(height);
    await runRebuild(
      { point: `${point.slot}.${point.hash}` },
      {
        store: new PostgresRebuildStore(f.db.pool),
        logger: new RecordingLogger(),
        metrics: new InMemoryMetrics(),
        clock: { now: () => new Date() },
        actor: 'test:operator',
      },
    );
  }

  it('a rebuild that re-derives the same chain tells consumers nothing', async () => {
    const a = transaction([output(alice, 1_000_000n)]);
    const b = transaction([output(shop, 2_000_000n)]);
    const spend = transaction([output(syntheticAddress('mainnet', 'x'), 900_000n)], [{ txId: a.id, index: 0 }]);
    chain.next();
    chain.next([a]);
    chain.next([b]);
    chain.next([spend]);
    chain.empty(4);
    await f.engine.apply(chain.forward(chain.blocks));
    const before = await events();
    expect(before).toHaveLength(5);

    await rebuildAt(1n);
    await f.engine.apply(chain.forward(chain.blocks.filter((block) => block.height > 1n)));
    expect(await events()).toEqual(before);
  });

  it('a rebuild across a fork tells what changed: the vanished payment reversed', async () => {
    const stays = transaction([output(alice, 1_000_000n)]);
    const vanishes = transaction([output(shop, 2_000_000n)]);
    chain.next([stays]); // 1
    chain.next([vanishes]); // 2
    chain.empty(4); // 3..6
    await f.engine.apply(chain.forward(chain.blocks));
    const before = await events();
    expect(summary(before)).toEqual([
      ['payment.detected', `${stays.id}#0`, 1],
      ['payment.detected', `${vanishes.id}#0`, 1],
      ['payment.confirmed', `${stays.id}#0`, 2],
      ['payment.confirmed', `${vanishes.id}#0`, 2],
    ]);
    // The chain as it is now forked after block 1; vanishes is nowhere on it.
    const now = chain.fork('now', 1n);
    now.empty(6);
    await rebuildAt(1n);
    await f.engine.apply(now.forward(now.blocks.filter((block) => block.height > 1n)));
    const after = await events();
    expect(summary(after.slice(before.length))).toEqual([['payment.reversed', `${vanishes.id}#0`, 3]]);
    expect(after.at(-1)!.data).toMatchObject({ status: 'reversed' });
  });

  it('a payment a rebuild finds in another block: its old block rolled back before the new one is detected, so the highest version tells its state', async () => {
    const moves = transaction([output(alice, 3_000_000n)]);
    chain.next(); // 1
    chain.next([moves]); // 2
    chain.empty(4); // 3..6
    await f.engine.apply(chain.forward(chain.blocks));
    const resource = `${moves.id}#0`;
    const before = await events();
    expect(summary(before)).toEqual([
      ['payment.detected', resource, 1],
      ['payment.confirmed', resource, 2],
    ]);
    const oldBlock = chain.at(2n).hash;
    // The chain as it is now: forked after block 1, the same transaction in the new chain's block 3.
    const now = chain.fork('now', 1n);
    now.next(); // 2
    now.next([moves]); // 3
    now.empty(5);
    const point = chain.at(1n);
    await runRebuild(
      { point: `${point.slot}.${point.hash}` },
      {
        store: new PostgresRebuildStore(f.db.pool),
        logger: new RecordingLogger(),
        metrics: new InMemoryMetrics(),
        clock: { now: () => new Date() },
        actor: 'test:operator',
      },
    );
    await f.engine.apply(now.forward(now.blocks.filter((block) => block.height > 1n)));
    const after = (await events()).slice(before.length);
    expect(summary(after)).toEqual([
      ['payment.rolled_back', resource, 3],
      ['payment.detected', resource, 4],
      ['payment.confirmed', resource, 5],
    ]);
    expect(after[0]!.data).toMatchObject({ status: 'rolled_back', block: { hash: oldBlock } });
    expect(after[2]!.data).toMatchObject({ status: 'confirmed', block: { hash: now.at(3n).hash } });
    // the credit stays: the payment moved, it was not reversed
    const { rows } = await f.db.pool.query('SELECT type FROM balance_transactions WHERE payment_tx_hash = $1 ORDER BY id', [moves.id]);
    expect(rows.map((row) => row.type)).toEqual(['credit']);
  });

  it('two events for one output in one settling statement get consecutive versions (reversed and rolled back)', async () => {
    const resource = `${'ab'.repeat(32)}#0`;
    const held = (block: string, height: number, status: string) =>
      f.db.pool.query(
        `INSERT INTO rebuild_held_payments (id, tx_hash, output_index, address, amount_lovelace, assets, reference_type,
                                            reference_id, user_id, block_height, block_slot, block_hash, block_time, status,
                                            detected_at, confirmed_at)
         VALUES ($1, $2, 0, $3, 5000000, '{}', 'invoice', 'INV-9', NULL, $4, $5, $6, now(), $7::text, now(),
                 CASE WHEN $7::text = 'confirmed' THEN now() END)`,
        [height, 'ab'.repeat(32), shop, height, height * 20, block, status],
      );
    await held('b1'.repeat(32), 2, 'confirmed');
    await held('b2'.repeat(32), 3, 'pending');
    const client = await f.db.pool.connect();
    try {
      await client.query('BEGIN');
      await settleHeldPayments(client, 20n, 3n, 'test');
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const rows = await events();
    expect(summary(rows)).toEqual([
      ['payment.reversed', resource, 1],
      ['payment.rolled_back', resource, 2],
    ]);
  });
});

describe('seq follows commit order', () => {
  it('a second writer waits for the first to commit before taking a seq', async () => {
    const insert = (client: pg.PoolClient, id: string) =>
      client.query(
        `INSERT INTO business_events (id, type, resource_type, resource_id, version, data)
         VALUES ($1, 'test.event', 'test', $1, 1, '{}') RETURNING seq`,
        [id],
      );
    const first = await f.db.pool.connect();
    const second = await f.db.pool.connect();
    try {
      await first.query('BEGIN');
      await second.query('BEGIN');
      const firstSeq = (await insert(first, 'evt_first')).rows[0].seq as bigint;
      const secondPid = (await second.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      const secondInsert = insert(second, 'evt_second');
      // The second insert waits on the advisory lock (visible in pg_stat_activity), not on anything else.
      for (;;) {
        const { rows } = await f.db.pool.query(`SELECT wait_event FROM pg_stat_activity WHERE pid = $1`, [secondPid]);
        if (rows[0]?.wait_event === 'advisory') break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await first.query('COMMIT');
      const secondSeq = (await secondInsert).rows[0].seq as bigint;
      await second.query('COMMIT');
      expect(secondSeq).toBeGreaterThan(firstSeq);
    } finally {
      first.release();
      second.release();
    }
  });
});
