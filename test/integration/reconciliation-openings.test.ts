/**
 * What an address held before the monitor began watching it is no discrepancy (issue 13, item 2): a business that
 * registers an address that already holds funds, or a monitor that starts following at the tip, sees those outputs
 * counted as predates_watch, not as missing_in_db; a payment lost after watching began is still missing_in_db.
 * Against the Ogmios simulator and a real PostgreSQL filled by the payment engine.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LedgerStateClient } from '../../functions/adapters/ogmios/ledger-state-client.js';
import { OgmiosReconciliationLedger } from '../../functions/adapters/ogmios/reconciliation-ledger.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { PostgresReconciliationRecords } from '../../functions/adapters/postgres/reconciliation-records.js';
import { PostgresReconciliationRuns } from '../../functions/adapters/postgres/reconciliation-runs.js';
import type { Point } from '../../functions/domain/chain.js';
import { LogEvent } from '../../functions/domain/observability.js';
import { type ChainLedger, LedgerStateLostError, type ReconciliationRun } from '../../functions/domain/reconciliation/ports.js';
import { ReconciliationRunner } from '../../functions/domain/reconciliation/reconciliation-runner.js';
import { startOgmiosSimulator, type OgmiosSimulator } from '../../functions/local/simulator/index.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { createEngineFixture, type EngineFixture } from '../support/engine-fixture.js';
import { RecordingLogger } from '../support/recorders.js';
import { applyChainUpToTip } from '../support/follow-simulator.js';

const early = syntheticAddress('mainnet', 'openings-early');
const later = syntheticAddress('mainnet', 'openings-later');

let f: EngineFixture;
let simulator: OgmiosSimulator;
let ledgers: LedgerStateClient[];

beforeEach(async () => {
  f = await createEngineFixture({ confirmations: 1 });
  // Both addresses are paid from the chain's first block on; spends are off, so what was held stays held.
  simulator = await startOgmiosSimulator({
    network: 'mainnet',
    payTo: [
      { address: early, lovelace: 3_000_000n },
      { address: later, lovelace: 4_000_000n },
    ],
    paymentsPerBlock: 1,
    paymentSpendsPerBlock: 0,
    transactionsPerBlock: { min: 1, max: 3 },
    seed: 'reconciliation-openings',
  });
  ledgers = [];
});

afterEach(async () => {
  await Promise.all(ledgers.map((ledger) => ledger.close()));
  await simulator.stop();
  await f.db.drop();
});

/** The engine follows the simulator until it has applied its tip; from `from` when the database holds no block. */
/** The engine follows the simulator up to its tip (from `from` on a database that has no points yet). */
function follow(from: Point = 'origin'): Promise<void> {
  return applyChainUpToTip(f, simulator, from);
}

async function reconcile(chain?: (real: ChainLedger) => ChainLedger): Promise<{ run: ReconciliationRun; logger: RecordingLogger }> {
  const ledger = new LedgerStateClient({ urls: [simulator.url], logger: new RecordingLogger() });
  ledgers.push(ledger);
  const real: ChainLedger = new OgmiosReconciliationLedger(ledger);
  const runs = new PostgresReconciliationRuns(f.db.pool);
  const logger = new RecordingLogger();
  const runner = new ReconciliationRunner({
    records: new PostgresReconciliationRecords(f.db.pool),
    chain: chain ? chain(real) : real,
    runs,
    logger,
    metrics: new InMemoryMetrics(),
    chunkSize: 10,
    sleep: async () => undefined,
  });
  const started = await runs.start('on_demand', 60_000);
  if (!('started' in started)) throw new Error('a run is already going');
  const progress = await runner.advance(started.started, () => true);
  if (progress.outcome !== 'completed') throw new Error(`run ended ${progress.outcome}`);
  return { run: progress.run, logger };
}

const register = (address: string, reference: string) =>
  f.registry.register([{ address, referenceType: 'deposit', referenceId: reference, userId: reference }], 'test');

const heldAt = (height: number, address: string) => {
  const block = simulator.chain().find((entry) => entry.height === height)!;
  return simulator.ledger.at({ slot: block.slot, id: block.id })!.utxosAt(address);
};

async function watchRow(address: string) {
  const { rows } = await f.db.pool.query<{
    watched_from_height: bigint | null;
    opening_height: bigint | null;
    opening_exact: boolean | null;
    opening_outputs: number | null;
  }>('SELECT watched_from_height, opening_height, opening_exact, opening_outputs FROM address_watch WHERE address = $1', [address]);
  return rows[0];
}

const NO_DISCREPANCIES = { missingInDb: 0, extraInDb: 0, amountMismatch: 0, assetMismatch: 0 };

describe('outputs held before watching began', () => {
  it('a first run that starts at the tip: what the addresses held before is predates_watch, not missing_in_db', async () => {
    simulator.produceBlocks(12);
    await register(early, 'early');
    await register(later, 'later');
    const start = simulator.tip() as { slot: number; id: string; height: number };
    simulator.produceBlocks(6);
    await follow({ slot: BigInt(start.slot), hash: start.id });
    const firstApplied = start.height + 1;
    const heldBefore = heldAt(firstApplied, early).length + heldAt(firstApplied, later).length;
    // The engine's first block paid them too: those it recorded, and they are compared as any payment.
    const recordedInFirst = Number(
      (await f.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM incoming_payments WHERE block_height = $1', [firstApplied]))
        .rows[0]!.n,
    );

    const { run } = await reconcile();
    expect(run.counts).toMatchObject({ ...NO_DISCREPANCIES, predatesWatch: heldBefore - recordedInFirst, tooRecent: 0 });
    expect(run.counts.predatesWatch).toBeGreaterThan(10);
    expect(run.counts.matched).toBeGreaterThan(0);
    expect(await watchRow(early)).toMatchObject({ watched_from_height: null, opening_height: BigInt(firstApplied), opening_exact: true });

    // A payment lost after watching began is still found.
    const { rows } = await f.db.pool.query<{ tx_hash: string }>(
      `DELETE FROM incoming_payments WHERE id = (SELECT id FROM incoming_payments WHERE status = 'confirmed' ORDER BY block_height DESC LIMIT 1)
       RETURNING tx_hash`,
    );
    expect(rows).toHaveLength(1);
    const again = await reconcile();
    expect(again.run.counts).toMatchObject({ missingInDb: 1, predatesWatch: run.counts.predatesWatch });
  });

  it('an address registered while the engine runs, already holding funds: they predate watching; payments after it are judged', async () => {
    simulator.produceBlocks(4);
    await register(early, 'early');
    await follow();
    simulator.produceBlocks(8);
    await follow();
    const registeredAt = (simulator.tip() as { height: number }).height;
    await register(later, 'later');
    simulator.produceBlocks(6);
    await follow();

    const { run } = await reconcile();
    const heldBefore = heldAt(registeredAt, later).length;
    expect(heldBefore).toBeGreaterThan(3);
    expect(run.counts).toMatchObject({ ...NO_DISCREPANCIES, predatesWatch: heldBefore, tooRecent: 0 });
    expect(await watchRow(later)).toMatchObject({
      watched_from_height: BigInt(registeredAt),
      opening_height: BigInt(registeredAt),
      opening_exact: true,
      opening_outputs: heldBefore,
    });
    // The engine followed `early` from the chain's start: nothing predates watching there.
    expect(await watchRow(early)).toMatchObject({ watched_from_height: null, opening_height: -1n, opening_outputs: 0 });
  });

  it('a watch start the node no longer keeps: the opening is read at the applied block, said so, and raises no false alarm', async () => {
    simulator.produceBlocks(4);
    await register(early, 'early');
    await follow();
    simulator.produceBlocks(6);
    await follow();
    const registeredAt = (simulator.tip() as { height: number }).height;
    await register(later, 'later');
    simulator.produceBlocks(5);
    await follow();
    const appliedHeight = (simulator.tip() as { height: number }).height;

    // As a node that keeps only its last k blocks: the watch start is refused (Ogmios 2000), the tip is not.
    const startBlock = simulator.chain().find((block) => block.height === registeredAt)!;
    const forgetful = (real: ChainLedger): ChainLedger => ({
      acquire: (queries, at) => {
        if (at?.hash === startBlock.id) return Promise.reject(new LedgerStateLostError('acquireLedgerState: point too old (2000)'));
        return real.acquire(queries, at);
      },
    });
    const { run, logger } = await reconcile(forgetful);
    // Read later, the opening holds the payments recorded since registration too: the database's rows speak for those.
    expect(run.counts).toMatchObject({ ...NO_DISCREPANCIES, predatesWatch: heldAt(registeredAt, later).length, tooRecent: 0 });
    expect(heldAt(appliedHeight, later).length).toBeGreaterThan(heldAt(registeredAt, later).length);
    expect(await watchRow(later)).toMatchObject({ opening_height: BigInt(appliedHeight), opening_exact: false });
    expect(logger.events(LogEvent.reconciliationOpeningLate)).toEqual([
      expect.objectContaining({
        level: 'warn',
        fields: expect.objectContaining({ addresses: 1, watch_start_height: String(registeredAt), read_at_height: String(appliedHeight) }),
      }),
    ]);
  });
});
