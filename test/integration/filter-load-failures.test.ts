/**
 * The engine's in-memory candidate filters (registered addresses, payment transactions) must be installed only
 * once their load succeeded. A load that fails (connection dropped, RDS failover, statement timeout) fails the
 * event, which is delivered again to the same warm processor: the retry must load the filter again. Before this
 * was fixed, the filter was installed empty with its id watermark at max(id) before the rows were read, so after
 * one failed load every registered address (or every recorded payment) was missing for the life of the instance
 * and the blocks still counted as applied: payments never detected, spends never recorded.
 *
 * Each test fails, in turn, every statement the store sends during one apply (the k-th statement for k = 1, 2, …
 * until an apply sends fewer), so it does not depend on which statements the filters use; then applies the same
 * event again and checks what was detected and spent. (The over-capacity test, whose set-up is slow, fails in turn
 * only the statements that read payment rows.)
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventEmitter } from 'node:events';
import type pg from 'pg';
import type { ChainTransaction } from '../../functions/domain/chain.js';
import { PaymentEngine } from '../../functions/domain/payment-engine.js';
import { PostgresPaymentStore } from '../../functions/adapters/postgres/payment-store.js';
import { createPool } from '../../functions/adapters/postgres/pool.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { createEngineFixture, type EngineFixture } from '../support/engine-fixture.js';
import { RecordingLogger } from '../support/recorders.js';

const RETAINED_BLOCKS = 20;
const address = syntheticAddress('mainnet', 'filter-load-failures');
const elsewhere = syntheticAddress('mainnet', 'filter-load-failures-elsewhere');
/** More than the smallest filter is sized for (100,000 entries): adding them puts a filter over capacity. */
const OVER_CAPACITY_ROWS = 100_001;

type StatementFilter = (text: string) => boolean;
const everyStatement: StatementFilter = () => true;
/** The statement that stores a filter, after the engine's transaction committed. */
const STORING = /INSERT INTO candidate_filter_snapshots/;
/** Reads of payment rows: what a spend filter load may send. */
const paymentRowReads: StatementFilter = (text) =>
  /^\s*(SELECT|WITH)\b/i.test(text) && /incoming_payments|rebuild_held_payments/.test(text) && !/\b(INSERT|UPDATE|DELETE)\b/.test(text);

/**
 * A pool whose clients fail the k-th statement (among those the filter counts) sent after failStatement(k), once,
 * without sending it, as a dropped connection would fail it. Everything else goes to the real pool.
 */
class FaultyPool {
  readonly pool: pg.Pool;
  private sent = 0;
  private failAt: number | undefined;
  private counts: StatementFilter = everyStatement;
  /** The statement that was failed since the last failStatement, if any. */
  failed: string | undefined;

  constructor(real: pg.Pool) {
    this.pool = new Proxy(real, {
      get: (target, property) => {
        if (property === 'connect') return async () => this.client(await target.connect());
        if (property === 'query')
          return (...args: unknown[]) => this.send(args, (target.query as (...a: unknown[]) => unknown).bind(target));
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  failStatement(k: number, counts: StatementFilter = everyStatement): void {
    this.sent = 0;
    this.counts = counts;
    this.failAt = k;
    this.failed = undefined;
  }

  private client(client: pg.PoolClient): pg.PoolClient {
    return new Proxy(client, {
      get: (target, property) => {
        if (property === 'query')
          return (...args: unknown[]) => this.send(args, (target.query as (...a: unknown[]) => unknown).bind(target));
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  private send(args: unknown[], query: (...a: unknown[]) => unknown): unknown {
    const config = args[0];
    const text = typeof config === 'string' ? config : (config as { text: string }).text;
    if (this.failAt !== undefined && this.counts(text)) this.sent++;
    if (this.sent === this.failAt) {
      this.failAt = undefined;
      this.failed = text;
      const error = new Error(`injected fault (statement ${this.sent}): connection lost`);
      // A submittable (a streamed query) reports through its events; a plain query through its promise.
      if (typeof (config as { submit?: unknown }).submit === 'function') {
        setImmediate(() => (config as EventEmitter).emit('error', error));
        return config;
      }
      return Promise.reject(error);
    }
    return query(...args);
  }
}

let fixture: EngineFixture;
let chain: ChainBuilder;
/** The pool of the processor instances under test. */
let instancePool: pg.Pool;

beforeEach(async () => {
  fixture = await createEngineFixture({ confirmations: 3, retainedBlocks: RETAINED_BLOCKS });
  await fixture.registry.register([{ address, referenceType: 'deposit', referenceId: 'D-1', userId: 'user-1' }], 'test');
  chain = new ChainBuilder('main');
  // One connection, as the processor has by default: the statements go in one order, so every one is failed in turn.
  instancePool = createPool({ connectionString: fixture.db.url, max: 1 });
});
afterEach(async () => {
  await instancePool.end();
  await fixture.db.drop();
});

/** A processor instance of its own (cold: nothing loaded yet) on the faulty pool. */
function coldInstance(faults: FaultyPool): PaymentEngine {
  return new PaymentEngine({
    store: new PostgresPaymentStore(faults.pool, { retainedBlocks: RETAINED_BLOCKS }),
    logger: new RecordingLogger(),
    metrics: new InMemoryMetrics(),
    clock: fixture.clock,
    network: 'mainnet',
    confirmations: 3,
    retainedBlocks: RETAINED_BLOCKS,
  });
}

const spendOf = async (txId: string) =>
  (await fixture.db.pool.query(`SELECT spent_by_tx_hash FROM incoming_payments WHERE tx_hash = $1`, [txId])).rows;

/** A block that pays the registered address and spends the payment `previous` (both must be seen). */
function payingAndSpending(previous: ChainTransaction): { paid: ChainTransaction; spend: ChainTransaction } {
  const paid = transaction([output(address, 2_000_000n)]);
  const spend = transaction([output(elsewhere, 1_000_000n)], [{ txId: previous.id, index: 0 }]);
  chain.next([paid, spend]);
  return { paid, spend };
}

/**
 * Applies the chain's tip block with statement k failed: the event fails (or, once k is past the statements the
 * apply sends, it applies at once). Returns whether a fault was injected, after applying the same event again.
 */
async function applyWithFault(engine: PaymentEngine, faults: FaultyPool, k: number, counts = everyStatement) {
  const event = chain.forward([chain.tip!]);
  faults.failStatement(k, counts);
  const first = await engine.apply(event).then(
    (outcome) => ({ outcome }),
    (error: unknown) => ({ error }),
  );
  const injected = faults.failed;
  if (injected !== undefined && STORING.test(injected)) {
    // Storing a filter after the commit: its failure costs a later cold start a load from the tables, never the batch.
    if ('error' in first) throw first.error;
    return { injected, outcome: first.outcome };
  }
  if (injected !== undefined) {
    expect('error' in first, `statement ${k} failed (${injected}) but the apply succeeded`).toBe(true);
    return { injected, outcome: await engine.apply(event) };
  }
  if ('error' in first) throw first.error;
  return { injected, outcome: first.outcome };
}

/** Inserts rows that no filter load reads (spent long ago) but every instance's refresh adds to its spend filter. */
async function addSpentHistory(rows: number): Promise<void> {
  await fixture.db.pool.query(
    `INSERT INTO incoming_payments (tx_hash, output_index, address, amount_lovelace, reference_type, reference_id,
                                    block_height, block_slot, block_hash, block_time, status, confirmed_at,
                                    spent_by_tx_hash, spent_at_slot, spent_at_height)
     SELECT md5('history' || i || clock_timestamp()), 0, 'addr-history', 1, 'history', 'h', 1, 1,
            md5('block'), '2020-01-01', 'confirmed', '2020-01-01', md5('spender' || i), 2, 2
       FROM generate_series(1, $1::int) AS i`,
    [rows],
  );
}

describe('a filter load that fails is loaded again by the next attempt', () => {
  it('whichever statement of a cold instance fails, the same event applied again detects the payment and records the spend', async () => {
    let previous = transaction([output(address, 3_000_000n)]);
    chain.next([previous]);
    await fixture.engine.apply(chain.forward([chain.tip!]));

    const faults = new FaultyPool(instancePool);
    let injected = 0;
    for (let k = 1; ; k++) {
      const engine = coldInstance(faults); // a fresh processor instance for every statement failed
      const { paid, spend } = payingAndSpending(previous);
      const result = await applyWithFault(engine, faults, k);
      expect(result.outcome, `after failing statement ${k}: ${result.injected}`).toMatchObject({ kind: 'applied', spent: 1 });
      expect(
        result.outcome.kind === 'applied' && result.outcome.detected.map((p) => p.txId),
        `after failing statement ${k}: ${result.injected}`,
      ).toEqual([paid.id]);
      expect(await spendOf(previous.id)).toEqual([{ spent_by_tx_hash: spend.id }]);
      previous = paid;
      if (result.injected === undefined) break;
      injected++;
    }
    expect(injected).toBeGreaterThan(5);
  });

  it('an over-capacity spend filter whose reload fails is reloaded by the next attempt (whichever statement fails)', async () => {
    let previous = transaction([output(address, 3_000_000n)]);
    chain.next([previous]);
    await fixture.engine.apply(chain.forward([chain.tip!]));

    const faults = new FaultyPool(instancePool);
    const engine = coldInstance(faults);
    chain.next([]);
    await engine.apply(chain.forward([chain.tip!])); // loads both filters

    let injected = 0;
    for (let k = 1; ; k++) {
      // Rows the instance's next refresh adds: its spend filter ends over capacity, so the apply after reloads it.
      await addSpentHistory(OVER_CAPACITY_ROWS);
      chain.next([]);
      await engine.apply(chain.forward([chain.tip!]));
      await fixture.db.pool.query(`DELETE FROM incoming_payments WHERE reference_type = 'history'`);

      const { paid, spend } = payingAndSpending(previous);
      const result = await applyWithFault(engine, faults, k, paymentRowReads);
      expect(result.outcome, `after failing statement ${k}: ${result.injected}`).toMatchObject({ kind: 'applied', spent: 1 });
      expect(await spendOf(previous.id)).toEqual([{ spent_by_tx_hash: spend.id }]);
      previous = paid;
      if (result.injected === undefined) break;
      injected++;
    }
    expect(injected).toBeGreaterThan(1);
  });

  it('a spend filter reload for a new sync generation that fails is reloaded by the next attempt', async () => {
    chain.next([]);
    await fixture.engine.apply(chain.forward([chain.tip!]));
    const faults = new FaultyPool(instancePool);
    const engine = coldInstance(faults);
    chain.next([]);
    await engine.apply(chain.forward([chain.tip!])); // loads both filters

    let injected = 0;
    for (let k = 1; ; k++) {
      // What a rebuild does (a payment row back with an id below the instance's watermark) in a new generation.
      const paid = transaction([output(address, 2_000_000n)]);
      await fixture.db.pool.query(
        `WITH moved AS (
           INSERT INTO incoming_payments (id, tx_hash, output_index, address, amount_lovelace, reference_type, reference_id,
                                          block_height, block_slot, block_hash, block_time)
           VALUES (-$1::bigint, $2, 0, $3, 2000000, 'deposit', 'D-1', $4, $5, $6, $7)
         )
         UPDATE sync_state SET sync_generation = sync_generation + 1`,
        [k, paid.id, address, chain.tip!.height, chain.tip!.slot, chain.tip!.hash, new Date('2020-01-01')],
      );
      const spend = transaction([output(elsewhere, 1_000_000n)], [{ txId: paid.id, index: 0 }]);
      chain.next([spend]);
      const result = await applyWithFault(engine, faults, k);
      expect(result.outcome, `after failing statement ${k}: ${result.injected}`).toMatchObject({ kind: 'applied', spent: 1 });
      expect(await spendOf(paid.id)).toEqual([{ spent_by_tx_hash: spend.id }]);
      if (result.injected === undefined) break;
      injected++;
    }
    expect(injected).toBeGreaterThan(5);
  });
});
