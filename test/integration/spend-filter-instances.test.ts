/**
 * Several processor instances share one database, each with its own in-memory spend filter, which follows
 * incoming_payments by id. Rows that become live again with an id below an instance's watermark (a payment a
 * rebuild found again, a rolled back payment whose block came back) must still reach every instance's filter,
 * or a spend of them applied by another instance is never recorded.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChainBlock } from '../../functions/domain/chain.js';
import { PaymentEngine } from '../../functions/domain/payment-engine.js';
import { PostgresPaymentStore } from '../../functions/adapters/postgres/payment-store.js';
import { PostgresRebuildStore } from '../../functions/adapters/postgres/rebuild-store.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { runRebuild } from '../../functions/handlers/rebuild-core.js';
import { ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { createEngineFixture, type EngineFixture } from '../support/engine-fixture.js';
import { RecordingLogger } from '../support/recorders.js';

const TEN_MINUTES_IN_SLOTS = 600n; // an hourly checkpoint every 6 blocks
const RETAINED_BLOCKS = 6;
const address = syntheticAddress('mainnet', 'spend-filter');
const elsewhere = syntheticAddress('mainnet', 'spend-filter-elsewhere');

let fixture: EngineFixture;
/** A second processor instance: same database, its own store and spend filter. */
let other: PaymentEngine;

beforeEach(async () => {
  fixture = await createEngineFixture({ confirmations: 3, retainedBlocks: RETAINED_BLOCKS });
  await fixture.registry.register([{ address, referenceType: 'deposit', referenceId: 'D-1', userId: 'user-1' }], 'test');
  other = new PaymentEngine({
    store: new PostgresPaymentStore(fixture.db.pool, { retainedBlocks: RETAINED_BLOCKS }),
    logger: new RecordingLogger(),
    metrics: new InMemoryMetrics(),
    clock: fixture.clock,
    network: 'mainnet',
    confirmations: 3,
    retainedBlocks: RETAINED_BLOCKS,
  });
});
afterEach(async () => {
  await fixture.db.drop();
});

const between = (chain: ChainBuilder, from: bigint, to: bigint): ChainBlock[] =>
  chain.blocks.filter((block) => block.height >= from && block.height <= to);

async function rebuildFrom(slot: bigint): Promise<bigint> {
  const summary = await runRebuild(
    { slot: slot.toString() },
    {
      store: new PostgresRebuildStore(fixture.db.pool),
      logger: new RecordingLogger(),
      metrics: new InMemoryMetrics(),
      clock: fixture.clock,
      actor: 'test',
    },
  );
  return BigInt(summary.point_height);
}

const spentBy = async (txId: string) =>
  (
    await fixture.db.pool.query(
      `SELECT status, spent_by_tx_hash FROM incoming_payments WHERE tx_hash = $1 AND status IN ('pending', 'confirmed')`,
      [txId],
    )
  ).rows;

describe('spend filters of several processor instances', () => {
  it('an instance that loaded its filter while a rebuild held a payment records the spend of that payment once found again', async () => {
    const main = new ChainBuilder('main', 100_000_000n, TEN_MINUTES_IN_SLOTS);
    main.empty(6);
    const paid = transaction([output(address, 2_000_000n)]);
    main.next([paid]); // height 7
    main.empty(3);
    await fixture.engine.apply(main.forward(main.blocks));
    // A later payment rolled back stays as history, so the ids in incoming_payments reach beyond the held one's.
    const side = main.fork('side', 10n);
    side.next([transaction([output(address, 5_000_000n)])]);
    await fixture.engine.apply(side.forward([side.tip!]));
    await fixture.engine.apply(main.backward(10n));
    const pointHeight = await rebuildFrom(main.at(5n).slot!);
    expect(pointHeight).toBe(5n);

    // The other instance starts during the rebuild: the payment is held, not in incoming_payments.
    await other.apply(main.forward(between(main, pointHeight + 1n, 6n)));
    // This one finds the payment again in its block: the row takes back its old id, below the other's watermark.
    await fixture.engine.apply(main.forward(between(main, 7n, 10n)));
    const spend = transaction([output(elsewhere, 1_000_000n)], [{ txId: paid.id, index: 0 }]);
    main.next([spend]);
    expect(await other.apply(main.forward([main.tip!]))).toMatchObject({ kind: 'applied', spent: 1 });
    expect(await spentBy(paid.id)).toEqual([{ status: 'confirmed', spent_by_tx_hash: spend.id }]);
  });

  it('an instance that loaded its filter before a rebuild records the re-derived spend of a payment spent long before', async () => {
    const main = new ChainBuilder('main', 100_000_000n, TEN_MINUTES_IN_SLOTS);
    main.empty(3);
    const paid = transaction([output(address, 3_000_000n)]);
    main.next([paid]); // height 4
    main.next([]);
    const spend = transaction([output(elsewhere, 1_000_000n)], [{ txId: paid.id, index: 0 }]);
    main.next([spend]); // height 6
    main.empty(24); // the spend is now far deeper than the rollback window
    await fixture.engine.apply(main.forward(main.blocks));
    main.next([]);
    await other.apply(main.forward([main.tip!])); // loads its filter: a payment spent that long ago is left out

    const pointHeight = await rebuildFrom(main.at(3n).slot!);
    expect(pointHeight).toBeLessThan(4n);
    await fixture.engine.apply(main.forward(between(main, pointHeight + 1n, 5n))); // found again, spend not yet
    expect(await spentBy(paid.id)).toEqual([{ status: 'pending', spent_by_tx_hash: null }]);
    expect(await other.apply(main.forward(between(main, 6n, main.tip!.height)))).toMatchObject({ kind: 'applied', spent: 1 });
    expect(await spentBy(paid.id)).toEqual([{ status: 'confirmed', spent_by_tx_hash: spend.id }]);
  });

  it('an instance that loaded its filter while a payment was rolled back records its spend once its block is back', async () => {
    const main = new ChainBuilder('main', 100_000_000n, TEN_MINUTES_IN_SLOTS);
    main.empty(5);
    const paid = transaction([output(address, 4_000_000n)]);
    main.next([paid]); // height 6
    main.empty(1);
    await fixture.engine.apply(main.forward(main.blocks));
    const side = main.fork('side', 5n);
    side.empty(3);
    await fixture.engine.apply(side.backward(5n));
    await fixture.engine.apply(side.forward(between(side, 6n, 7n)));
    expect((await fixture.db.pool.query('SELECT status FROM incoming_payments WHERE tx_hash = $1', [paid.id])).rows).toEqual([
      { status: 'rolled_back' },
    ]);
    await other.apply(side.forward([side.tip!])); // loads its filter while the payment is rolled back

    await fixture.engine.apply(main.backward(5n));
    main.empty(2);
    await fixture.engine.apply(main.forward(between(main, 6n, 9n))); // the row comes back with its id
    const spend = transaction([output(elsewhere, 1_000_000n)], [{ txId: paid.id, index: 0 }]);
    main.next([spend]);
    expect(await other.apply(main.forward([main.tip!]))).toMatchObject({ kind: 'applied', spent: 1 });
    expect(await spentBy(paid.id)).toEqual([{ status: 'confirmed', spent_by_tx_hash: spend.id }]);
  });
});
