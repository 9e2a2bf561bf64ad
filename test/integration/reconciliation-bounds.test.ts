/**
 * Reconciliation bounded by size and pinned to one ledger state (issue 11, items 1 and 2), against the simulator
 * and a real PostgreSQL the payment engine filled: a chunk whose answer is over the bound is halved until it
 * fits; an address over the bound alone is recorded unjudged with its reason and the run goes on; a reconnect
 * that reaches another node between a chunk's queries starts the chunk again under a fresh acquisition.
 *
 * The bound on one answer is made small here (the client's payload limit) so that a few hundred outputs exceed
 * it: the same mechanism as 16 MiB against hundreds of thousands.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LedgerStateClient } from '../../functions/adapters/ogmios/ledger-state-client.js';
import { OgmiosReconciliationLedger } from '../../functions/adapters/ogmios/reconciliation-ledger.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { PostgresReconciliationRecords } from '../../functions/adapters/postgres/reconciliation-records.js';
import { PostgresReconciliationRuns } from '../../functions/adapters/postgres/reconciliation-runs.js';
import { LogEvent, Metric } from '../../functions/domain/observability.js';
import type { ReconciliationRun } from '../../functions/domain/reconciliation/ports.js';
import { ReconciliationRunner } from '../../functions/domain/reconciliation/reconciliation-runner.js';
import { startOgmiosSimulator, type OgmiosSimulator } from '../../functions/local/simulator/index.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { createEngineFixture, type EngineFixture } from '../support/engine-fixture.js';
import { applyChainUpToTip } from '../support/follow-simulator.js';
import { OgmiosRelayProxy } from '../support/ogmios-relay-proxy.js';
import { OgmiosSchemas, RawOgmiosConnection } from '../support/ogmios-schema.js';
import { RecordingLogger } from '../support/recorders.js';

const payees = Array.from({ length: 8 }, (_, i) => syntheticAddress('mainnet', `bounds-payee-${i}`));
const idle = Array.from({ length: 3 }, (_, i) => syntheticAddress('mainnet', `bounds-idle-${i}`));
/** Its outputs are recorded: more than a chunk may hold, by the database's count. */
const recordedWhale = syntheticAddress('mainnet', 'bounds-recorded-whale');
/** Registered after its outputs were paid, so the database holds none of them: too large by the node's answer. */
const unrecordedWhale = syntheticAddress('mainnet', 'bounds-unrecorded-whale');

const OUTPUTS_PER_PAYEE = 12;
const WHALE_OUTPUTS = 120;
/** About 100 plain outputs: all payees' outputs together exceed it, half of them do not, a whale alone does. */
const ANSWER_LIMIT_BYTES = 14 * 1024;
/** A fixed clock: simulators given the same calls then produce the same chain, block for block. */
const CLOCK = () => Date.UTC(2026, 10, 24, 12);

let f: EngineFixture;
let simulators: OgmiosSimulator[];
let clients: LedgerStateClient[];

beforeEach(async () => {
  f = await createEngineFixture({ confirmations: 3 });
  await f.registry.register(
    [...payees.slice(0, 4), recordedWhale, ...payees.slice(4), ...idle].map((address, i) => ({
      address,
      referenceType: 'deposit',
      referenceId: `acct-${i}`,
      userId: `user-${i}`,
    })),
    'test',
  );
  simulators = [];
  clients = [];
});

afterEach(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all(simulators.map((simulator) => simulator.stop()));
  await f.db.drop();
});

async function startSimulator(): Promise<OgmiosSimulator> {
  const simulator = await startOgmiosSimulator({
    network: 'mainnet',
    seed: 'reconciliation-bounds',
    clock: CLOCK,
    transactionsPerBlock: { min: 0, max: 1 },
    paymentsPerBlock: 0,
  });
  simulators.push(simulator);
  return simulator;
}

/** Pays each address `count` outputs in one block, then buries it under enough blocks to confirm it. */
function pay(simulator: OgmiosSimulator, addresses: readonly string[], count: number): void {
  for (const address of addresses) for (let i = 0; i < count; i++) simulator.queuePayment({ address, lovelace: 1_000_000n + BigInt(i) });
  simulator.produceBlocks(5);
}

function reconciliation(urls: readonly string[], options: { maxAnswerBytes?: number; maxChunkUtxos?: number } = {}) {
  const client = new LedgerStateClient({
    urls,
    logger: new RecordingLogger(),
    ...(options.maxAnswerBytes ? { maxPayloadBytes: options.maxAnswerBytes } : {}),
  });
  clients.push(client);
  const runs = new PostgresReconciliationRuns(f.db.pool);
  const logger = new RecordingLogger();
  const metrics = new InMemoryMetrics();
  const runner = new ReconciliationRunner({
    records: new PostgresReconciliationRecords(f.db.pool),
    chain: new OgmiosReconciliationLedger(client),
    runs,
    logger,
    metrics,
    chunkSize: 1_000,
    ...(options.maxChunkUtxos ? { maxChunkUtxos: options.maxChunkUtxos } : {}),
    sleep: async () => undefined,
  });
  return { runs, runner, logger, metrics };
}

async function reconcile(urls: readonly string[], options: { maxAnswerBytes?: number; maxChunkUtxos?: number } = {}) {
  const { runs, runner, logger, metrics } = reconciliation(urls, options);
  const started = await runs.start('on_demand', 60_000);
  if (!('started' in started)) throw new Error('a run is already going');
  const progress = await runner.advance(started.started, () => true);
  if (progress.outcome !== 'completed') throw new Error(`run ended ${progress.outcome}`);
  return { run: progress.run as ReconciliationRun, logger, metrics };
}

async function answerBytes(simulator: OgmiosSimulator, addresses: readonly string[]): Promise<number> {
  const connection = await RawOgmiosConnection.open(simulator.url);
  try {
    return Buffer.byteLength(await connection.request('queryLedgerState/utxo', { addresses }));
  } finally {
    connection.close();
  }
}

async function confirmedUnspent(): Promise<number> {
  const { rows } = await f.db.pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM incoming_payments WHERE status = 'confirmed' AND spent_by_tx_hash IS NULL",
  );
  return rows[0]!.n;
}

const NO_DISCREPANCIES = { missingInDb: 0, extraInDb: 0, amountMismatch: 0, assetMismatch: 0 };

describe('reconciliation bounded by size', () => {
  it('halves a chunk whose answer exceeds the bound and judges every output (the run used to fail on it, every attempt)', async () => {
    const simulator = await startSimulator();
    pay(simulator, payees, OUTPUTS_PER_PAYEE);
    await applyChainUpToTip(f, simulator);
    expect(await answerBytes(simulator, payees)).toBeGreaterThan(ANSWER_LIMIT_BYTES);
    expect(await answerBytes(simulator, payees.slice(0, 4))).toBeLessThan(ANSWER_LIMIT_BYTES);

    const { run } = await reconcile([simulator.url], { maxAnswerBytes: ANSWER_LIMIT_BYTES });

    expect(run.status).toBe('completed');
    expect(run.counts).toMatchObject({
      ...NO_DISCREPANCIES,
      matched: payees.length * OUTPUTS_PER_PAYEE,
      tooRecent: 0,
      unjudgedAddresses: 0,
      laggingChunks: 0,
      addresses: 12,
    });
    expect(run.counts.chunks).toBeGreaterThan(1);
  });

  it('records an address too large even alone as unjudged (too_many_utxos) and judges all the others; the run completes', async () => {
    const simulator = await startSimulator();
    pay(simulator, payees, OUTPUTS_PER_PAYEE);
    pay(simulator, [recordedWhale, unrecordedWhale], WHALE_OUTPUTS);
    await applyChainUpToTip(f, simulator);
    await f.registry.register([{ address: unrecordedWhale, referenceType: 'deposit', referenceId: 'late', userId: 'user-late' }], 'test');
    expect(await answerBytes(simulator, [unrecordedWhale])).toBeGreaterThan(ANSWER_LIMIT_BYTES);

    const { run, logger, metrics } = await reconcile([simulator.url], { maxAnswerBytes: ANSWER_LIMIT_BYTES, maxChunkUtxos: 100 });

    expect(run.status).toBe('completed');
    const othersOnChain = payees.length * OUTPUTS_PER_PAYEE;
    expect(await confirmedUnspent()).toBe(othersOnChain + WHALE_OUTPUTS);
    expect(run.counts).toMatchObject({ ...NO_DISCREPANCIES, matched: othersOnChain, tooRecent: 0, unjudgedAddresses: 2, addresses: 13 });
    const unjudged = await f.db.pool.query<{ address: string; reason: string; recorded_unspent: bigint; detail: string }>(
      'SELECT address, reason, recorded_unspent, detail FROM reconciliation_unjudged_addresses WHERE run_id = $1 ORDER BY recorded_unspent DESC',
      [run.id.toString()],
    );
    expect(unjudged.rows).toEqual([
      {
        address: recordedWhale,
        reason: 'too_many_utxos',
        recorded_unspent: BigInt(WHALE_OUTPUTS),
        detail: expect.stringMatching(/database holds 120 unspent outputs/),
      },
      { address: unrecordedWhale, reason: 'too_many_utxos', recorded_unspent: 0n, detail: expect.stringMatching(/answer/) },
    ]);
    expect(logger.events(LogEvent.reconciliationAddressUnjudged).map((entry) => entry.fields)).toEqual([
      expect.objectContaining({ address: recordedWhale, reason: 'too_many_utxos', recorded_unspent: WHALE_OUTPUTS }),
      expect.objectContaining({ address: unrecordedWhale, reason: 'too_many_utxos', recorded_unspent: 0 }),
    ]);
    expect(metrics.snapshot().counters).toMatchObject({
      [Metric.reconciliationUnjudgedAddresses]: 2,
      [Metric.reconciliationDiscrepancies]: 0,
    });
    expect(logger.events(LogEvent.reconciliationSuccess)[0]).toMatchObject({ fields: { fully_judged: false, unjudged_addresses: 2 } });
  });
});

describe('one ledger state per chunk', () => {
  it('a reconnect that reaches another node between the queries starts the chunk again under a fresh acquisition: no false extra_in_db', async () => {
    // Node B is node A five blocks ago: it lacks a payment that the database, following A, holds confirmed.
    const [nodeA, nodeB] = [await startSimulator(), await startSimulator()];
    for (const node of [nodeA, nodeB]) pay(node, payees.slice(0, 4), 1);
    pay(nodeA, payees.slice(4, 5), 1);
    expect(nodeB.chain().map((block) => block.id)).toEqual(
      nodeA
        .chain()
        .slice(0, -5)
        .map((block) => block.id),
    );
    await applyChainUpToTip(f, nodeA);
    expect(await confirmedUnspent()).toBe(5);

    // A load balancer: connections go to A, B, A, B…; the first two are closed after one answer each.
    const balancer = await OgmiosRelayProxy.start({
      backends: [nodeA.url, nodeB.url],
      route: (n) => n % 2,
      closeAfterAnswers: (n) => (n < 2 ? 1 : undefined),
    });
    try {
      const { run } = await reconcile([balancer.url]);

      expect(run.counts).toMatchObject({ ...NO_DISCREPANCIES, matched: 5, tooRecent: 0, laggingChunks: 0 });
      const tip = nodeA.tip();
      expect(run.lastPoint?.hash).toBe(tip === 'origin' ? null : tip.id);
      expect(balancer.requests.some((request) => request.backend === 1)).toBe(true); // node B was reached
      // Every request the client sent is one the Ogmios schema knows.
      const schemas = new OgmiosSchemas();
      const requestSchema: Record<string, string> = {
        acquireLedgerState: 'AcquireLedgerState',
        releaseLedgerState: 'ReleaseLedgerState',
        'queryNetwork/tip': 'QueryNetworkTip',
        'queryLedgerState/utxo': 'QueryLedgerStateUtxo',
      };
      const methods = balancer.requests.map((request) => (JSON.parse(request.text) as { method: string }).method);
      expect(methods).toContain('acquireLedgerState');
      expect(
        balancer.requests.flatMap((request, i) => schemas.errors(requestSchema[methods[i]!] ?? 'unknown method', request.text)),
      ).toEqual([]);
    } finally {
      await balancer.stop();
    }
  });
});
