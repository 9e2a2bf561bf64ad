/**
 * Reconciliation against the Ogmios simulator's ledger and a real PostgreSQL that the payment engine filled by
 * following the simulator's chain: each class of discrepancy after tampering with the database, the lag window,
 * continuation across invocations, balance verification, and the Lambda handler as deployed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { LedgerStateClient } from '../../functions/adapters/ogmios/ledger-state-client.js';
import { OgmiosReconciliationLedger } from '../../functions/adapters/ogmios/reconciliation-ledger.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { createPool } from '../../functions/adapters/postgres/pool.js';
import { PostgresReconciliationRecords } from '../../functions/adapters/postgres/reconciliation-records.js';
import { PostgresReconciliationRuns } from '../../functions/adapters/postgres/reconciliation-runs.js';
import { LogEvent, Metric } from '../../functions/domain/observability.js';
import type {
  AcquiredLedgerState,
  ChainLedger,
  ReconciliationRun,
  ReconciliationTrigger,
} from '../../functions/domain/reconciliation/ports.js';
import { ReconciliationRunner } from '../../functions/domain/reconciliation/reconciliation-runner.js';
import { readReconciliationSettings } from '../../functions/config/lambda-settings.js';
import { handleReconciliation } from '../../functions/handlers/reconciliation-core.js';
import { startOgmiosSimulator, type OgmiosSimulator } from '../../functions/local/simulator/index.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { createEngineFixture, type EngineFixture } from '../support/engine-fixture.js';
import { applyChainUpToTip as followUntilTip } from '../support/follow-simulator.js';
import { captureOutput, emfDocuments, lambdaContext, metricValues } from '../support/local-aws.js';
import { RecordingLogger } from '../support/recorders.js';

const POLICY = 'c0'.repeat(28);
const paid = [0, 1, 2, 3].map((i) => syntheticAddress('mainnet', `reconciliation-paid-${i}`));
const idle = Array.from({ length: 9 }, (_, i) => syntheticAddress('mainnet', `reconciliation-idle-${i}`));

let f: EngineFixture;
let simulator: OgmiosSimulator;
let ledgers: LedgerStateClient[];

beforeEach(async () => {
  f = await createEngineFixture({ confirmations: 3 });
  await f.registry.register(
    [
      ...paid.map((address, i) => ({ address, referenceType: 'deposit', referenceId: `acct-${i}`, userId: `user-${i}` })),
      ...idle.map((address, i) => ({ address, referenceType: 'invoice', referenceId: `INV-${i}`, userId: null })),
    ],
    'test',
  );
  simulator = await startOgmiosSimulator({
    network: 'mainnet',
    payTo: paid.map((address, i) => ({
      address,
      lovelace: BigInt(2 + i) * 1_000_000n,
      ...(i === 1 ? { assets: [{ policyId: POLICY, assetName: '01', quantity: 2n ** 64n - 1n }] } : {}),
    })),
    paymentsPerBlock: 1,
    paymentSpendsPerBlock: 0.2,
    transactionsPerBlock: { min: 1, max: 3 },
    seed: 'reconciliation-test',
  });
  simulator.produceBlocks(30);
  ledgers = [];
  await applyChainUpToTip();
});

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(ledgers.map((ledger) => ledger.close()));
  await simulator.stop();
  await f.db.drop();
});

function applyChainUpToTip(): Promise<void> {
  return followUntilTip(f, simulator);
}

function ledgerClient(): LedgerStateClient {
  const ledger = new LedgerStateClient({ urls: [simulator.url], logger: new RecordingLogger() });
  ledgers.push(ledger);
  return ledger;
}

interface RunnerOptions {
  chunkSize?: number;
  logger?: RecordingLogger;
  metrics?: InMemoryMetrics;
  /** Wraps the chain side (a test that injects an Ogmios failure). */
  chain?: (real: ChainLedger) => ChainLedger;
  sleep?: (ms: number) => Promise<void>;
  laggingRetries?: number;
}

/** The chain side with the queries of each acquired state wrapped. */
function wrappingStates(wrap: (state: AcquiredLedgerState) => AcquiredLedgerState): (real: ChainLedger) => ChainLedger {
  return (real) => ({ acquire: (queries) => real.acquire((state) => queries(wrap(state))) });
}

function runner(options: RunnerOptions = {}) {
  const runs = new PostgresReconciliationRuns(f.db.pool);
  const logger = options.logger ?? new RecordingLogger();
  const metrics = options.metrics ?? new InMemoryMetrics();
  const chain: ChainLedger = new OgmiosReconciliationLedger(ledgerClient());
  const reconciliation = new ReconciliationRunner({
    records: new PostgresReconciliationRecords(f.db.pool),
    chain: options.chain ? options.chain(chain) : chain,
    runs,
    logger,
    metrics,
    chunkSize: options.chunkSize ?? 4,
    // No real waits unless a test asks: a lagging chunk is then compared again at once.
    sleep: options.sleep ?? (async () => undefined),
    ...(options.laggingRetries !== undefined ? { laggingRetries: options.laggingRetries } : {}),
  });
  return { runs, runner: reconciliation, logger, metrics };
}

/** One uninterrupted run. */
async function reconcile(
  options: RunnerOptions & { trigger?: ReconciliationTrigger } = {},
): Promise<{ run: ReconciliationRun; logger: RecordingLogger; metrics: InMemoryMetrics }> {
  const { runs, runner: reconciliation, logger, metrics } = runner(options);
  const started = await runs.start(options.trigger ?? 'on_demand', 60_000);
  if (!('started' in started)) throw new Error('a run is already going');
  const progress = await reconciliation.advance(started.started, () => true);
  if (progress.outcome !== 'completed') throw new Error(`run ended ${progress.outcome}`);
  return { run: progress.run, logger, metrics };
}

async function paymentCounts(): Promise<{ confirmedUnspent: number; pendingUnspent: number }> {
  const { rows } = await f.db.pool.query<{ confirmed: string; pending: string }>(
    `SELECT count(*) FILTER (WHERE status = 'confirmed' AND spent_by_tx_hash IS NULL)::text AS confirmed,
            count(*) FILTER (WHERE status = 'pending' AND spent_by_tx_hash IS NULL)::text AS pending FROM incoming_payments`,
  );
  return { confirmedUnspent: Number(rows[0]!.confirmed), pendingUnspent: Number(rows[0]!.pending) };
}

async function oneConfirmedUnspent(): Promise<{ tx_hash: string; output_index: number; address: string }> {
  const { rows } = await f.db.pool.query<{ tx_hash: string; output_index: number; address: string }>(
    `SELECT tx_hash, output_index, address FROM incoming_payments
      WHERE status = 'confirmed' AND spent_by_tx_hash IS NULL ORDER BY block_height, tx_hash LIMIT 1`,
  );
  if (!rows[0]) throw new Error('no confirmed unspent payment');
  return rows[0];
}

const NO_DISCREPANCIES = { missingInDb: 0, extraInDb: 0, amountMismatch: 0, assetMismatch: 0 };

describe('reconciliation against the simulator', () => {
  it('reports every confirmed unspent payment as matched and the pending ones as too recent on a clean database', async () => {
    const expected = await paymentCounts();
    expect(expected.confirmedUnspent).toBeGreaterThan(5);
    const onChain = paid.reduce((total, address) => total + simulator.ledger.utxosAt(address).length, 0);

    const { run, logger, metrics } = await reconcile();

    expect(run.status).toBe('completed');
    expect(run.counts).toMatchObject({
      ...NO_DISCREPANCIES,
      matched: expected.confirmedUnspent,
      tooRecent: expected.pendingUnspent,
      addresses: 13,
      chunks: 4,
      laggingChunks: 0,
      balanceMismatches: 0,
    });
    expect(run.counts.matched + run.counts.tooRecent).toBe(onChain);
    const tip = simulator.tip();
    expect(run.lastPoint?.hash).toBe(tip === 'origin' ? null : tip.id);
    expect(logger.events(LogEvent.reconciliationSuccess)).toHaveLength(1);
    expect(logger.events(LogEvent.reconciliationDiscrepancy)).toHaveLength(0);
    expect(metrics.snapshot().counters).toMatchObject({
      [Metric.reconciliationRuns]: 1,
      [Metric.reconciliationDiscrepancies]: 0,
      [Metric.reconciliationMatched]: expected.confirmedUnspent,
    });
  });

  it('finds a payment deleted from the database as missing_in_db', async () => {
    const victim = await oneConfirmedUnspent();
    await f.db.pool.query('DELETE FROM incoming_payments WHERE tx_hash = $1 AND output_index = $2', [victim.tx_hash, victim.output_index]);

    const { run, logger } = await reconcile();

    expect(run.counts).toMatchObject({ missingInDb: 1, extraInDb: 0, amountMismatch: 0, assetMismatch: 0 });
    const lines = logger.events(LogEvent.reconciliationDiscrepancy);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      fields: { kind: 'missing_in_db', tx_hash: victim.tx_hash, output_index: victim.output_index, address: victim.address },
    });
    expect(lines.at(-1)).toMatchObject({ level: 'error', fields: { summary: true, missing_in_db: 1, discrepancies: 1 } });
    const stored = await f.db.pool.query('SELECT kind, tx_hash, chain_lovelace FROM reconciliation_discrepancies WHERE run_id = $1', [
      run.id.toString(),
    ]);
    expect(stored.rows).toEqual([{ kind: 'missing_in_db', tx_hash: victim.tx_hash, chain_lovelace: expect.any(BigInt) }]);
  });

  it('finds a confirmed payment that never happened as extra_in_db', async () => {
    await f.db.pool.query(
      `INSERT INTO incoming_payments (tx_hash, output_index, address, amount_lovelace, reference_type, reference_id, user_id,
                                      block_height, block_slot, block_hash, block_time, status, confirmed_at)
       SELECT repeat('ee', 32), 0, address, 1234567, reference_type, reference_id, user_id, block_height, block_slot, block_hash,
              block_time, 'confirmed', now()
         FROM incoming_payments WHERE status = 'confirmed' ORDER BY block_height LIMIT 1`,
    );
    const { run, logger } = await reconcile();
    expect(run.counts).toMatchObject({ missingInDb: 0, extraInDb: 1, amountMismatch: 0, assetMismatch: 0 });
    expect(logger.events(LogEvent.reconciliationDiscrepancy)[0]).toMatchObject({
      fields: { kind: 'extra_in_db', tx_hash: 'ee'.repeat(32), db_lovelace: '1234567' },
    });
  });

  it('finds a changed amount as amount_mismatch and changed tokens as asset_mismatch', async () => {
    const victim = await oneConfirmedUnspent();
    await f.db.pool.query('UPDATE incoming_payments SET amount_lovelace = amount_lovelace + 1 WHERE tx_hash = $1 AND output_index = $2', [
      victim.tx_hash,
      victim.output_index,
    ]);
    const withTokens = await f.db.pool.query<{ tx_hash: string }>(
      `UPDATE incoming_payments SET assets = jsonb_build_object($1::text, jsonb_build_object('01', '5'))
        WHERE (tx_hash, output_index) = (SELECT tx_hash, output_index FROM incoming_payments
                                          WHERE status = 'confirmed' AND spent_by_tx_hash IS NULL AND assets <> '{}'::jsonb LIMIT 1)
       RETURNING tx_hash`,
      [POLICY],
    );
    expect(withTokens.rowCount).toBe(1);

    const { run } = await reconcile();

    expect(run.counts).toMatchObject({ missingInDb: 0, extraInDb: 0, amountMismatch: 1, assetMismatch: 1 });
    const stored = await f.db.pool.query<{
      kind: string;
      chain_lovelace: bigint;
      db_lovelace: bigint;
      chain_assets: unknown;
      db_assets: unknown;
    }>(
      'SELECT kind, chain_lovelace, db_lovelace, chain_assets, db_assets FROM reconciliation_discrepancies WHERE run_id = $1 ORDER BY kind',
      [run.id.toString()],
    );
    const amount = stored.rows.find((row) => row.kind === 'amount_mismatch')!;
    expect(amount.db_lovelace - amount.chain_lovelace).toBe(1n);
    expect(stored.rows.find((row) => row.kind === 'asset_mismatch')).toMatchObject({
      chain_assets: { [POLICY]: { '01': '18446744073709551615' } },
      db_assets: { [POLICY]: { '01': '5' } },
    });
  });

  it('counts blocks not yet applied as too recent, never as discrepancies (new payments, and a spend)', async () => {
    const spent = await oneConfirmedUnspent();
    simulator.queueSpend([{ txId: spent.tx_hash, index: spent.output_index }]);
    const produced = simulator.produceBlocks(3);
    expect(produced.length).toBe(3);
    const chainRefs = new Set(paid.flatMap((address) => simulator.ledger.utxosAt(address).map((utxo) => `${utxo.txId}#${utxo.index}`)));
    expect(chainRefs.has(`${spent.tx_hash}#${spent.output_index}`)).toBe(false);
    const { rows } = await f.db.pool.query<{ ref: string; status: string }>(
      "SELECT tx_hash || '#' || output_index AS ref, status FROM incoming_payments WHERE status IN ('pending', 'confirmed') AND spent_by_tx_hash IS NULL",
    );
    const confirmed = rows.filter((row) => row.status === 'confirmed').map((row) => row.ref);
    const pending = rows.filter((row) => row.status === 'pending').map((row) => row.ref);
    const known = new Set(rows.map((row) => row.ref));
    const notYetApplied = [...chainRefs].filter((ref) => !known.has(ref)).length;
    const spentSinceApplied = confirmed.filter((ref) => !chainRefs.has(ref)).length;
    expect(notYetApplied).toBeGreaterThan(0);
    expect(spentSinceApplied).toBeGreaterThanOrEqual(1);

    const { run } = await reconcile();

    expect(run.counts).toMatchObject(NO_DISCREPANCIES);
    expect(run.counts.laggingChunks).toBe(run.counts.chunks);
    // Everything the database cannot yet know about (new outputs, payments spent since) is too recent.
    expect(run.counts.matched).toBe(confirmed.length - spentSinceApplied);
    expect(run.counts.tooRecent).toBe(pending.length + spentSinceApplied + notYetApplied);
    expect(run.lastPoint).toBeNull();

    // Once the engine has caught up, the same comparison is consistent again and clean.
    await applyChainUpToTip();
    const after = await reconcile();
    expect(after.run.counts).toMatchObject({ ...NO_DISCREPANCIES, laggingChunks: 0 });
  });

  it('detects a tampered user balance against the ledger', async () => {
    const { rows } = await f.db.pool.query<{ user_id: string; balance_lovelace: bigint }>(
      'UPDATE user_balances SET balance_lovelace = balance_lovelace + 5 WHERE user_id = (SELECT min(user_id) FROM user_balances) RETURNING user_id, balance_lovelace',
    );
    const tampered = rows[0]!;

    const { run, logger, metrics } = await reconcile();

    expect(run.counts).toMatchObject({ ...NO_DISCREPANCIES, balanceMismatches: 1 });
    expect(logger.events(LogEvent.balanceMismatch)).toEqual([
      {
        level: 'error',
        event: LogEvent.balanceMismatch,
        fields: expect.objectContaining({
          user_id: tampered.user_id,
          asset: 'lovelace',
          stored: tampered.balance_lovelace.toString(),
          calculated: (tampered.balance_lovelace - 5n).toString(),
          difference: '5',
        }),
      },
    ]);
    expect(metrics.snapshot().counters[Metric.balanceMismatches]).toBe(1);
    const stored = await f.db.pool.query(
      `SELECT user_id, asset, stored_quantity::text, calculated_quantity::text, stored_lovelace, calculated_lovelace
         FROM reconciliation_discrepancies WHERE kind = $1`,
      ['balance_mismatch'],
    );
    expect(stored.rows).toEqual([
      {
        user_id: tampered.user_id,
        asset: 'lovelace',
        stored_quantity: tampered.balance_lovelace.toString(),
        calculated_quantity: (tampered.balance_lovelace - 5n).toString(),
        stored_lovelace: tampered.balance_lovelace,
        calculated_lovelace: (tampered.balance_lovelace - 5n).toString(),
      },
    ]);
  });

  it('checks every asset: detects a tampered token balance, exactly at 2^64 - 1, and a token balance the ledger never credited', async () => {
    const token = `${POLICY}.01`;
    const max = 2n ** 64n - 1n;
    // The token payment to user-1 is confirmed by now: its credit is in the ledger and its balance stored.
    const { rows: before } = await f.db.pool.query<{ user_id: string; quantity: string }>(
      'SELECT user_id, quantity::text AS quantity FROM user_asset_balances WHERE asset = $1',
      [token],
    );
    expect(before.length).toBeGreaterThan(0);
    const holder = before[0]!;
    expect(BigInt(holder.quantity) % max).toBe(0n);
    expect((await reconcile()).run.counts).toMatchObject({ ...NO_DISCREPANCIES, balanceMismatches: 0 });

    await f.db.pool.query('UPDATE user_asset_balances SET quantity = quantity - 1 WHERE user_id = $1 AND asset = $2', [
      holder.user_id,
      token,
    ]);
    // A token the ledger never credited, stored for user-2.
    await f.db.pool.query(`INSERT INTO user_asset_balances (user_id, asset, quantity) VALUES ('user-2', $1, 7)`, [`${POLICY}.02`]);
    const { run, logger } = await reconcile();
    expect(run.counts).toMatchObject({ ...NO_DISCREPANCIES, balanceMismatches: 2 });
    expect(logger.events(LogEvent.balanceMismatch).map((event) => event.fields)).toEqual([
      expect.objectContaining({
        user_id: holder.user_id,
        asset: token,
        stored: (BigInt(holder.quantity) - 1n).toString(),
        calculated: holder.quantity,
        difference: '-1',
      }),
      expect.objectContaining({ user_id: 'user-2', asset: `${POLICY}.02`, stored: '7', calculated: '0', difference: '7' }),
    ]);
    const stored = await f.db.pool.query(
      `SELECT user_id, asset, stored_quantity::text, calculated_quantity::text, stored_lovelace, calculated_lovelace
         FROM reconciliation_discrepancies WHERE kind = 'balance_mismatch' AND run_id = $1 ORDER BY id`,
      [run.id.toString()],
    );
    expect(stored.rows).toEqual([
      {
        user_id: holder.user_id,
        asset: token,
        stored_quantity: (BigInt(holder.quantity) - 1n).toString(),
        calculated_quantity: holder.quantity,
        stored_lovelace: null,
        calculated_lovelace: null,
      },
      {
        user_id: 'user-2',
        asset: `${POLICY}.02`,
        stored_quantity: '7',
        calculated_quantity: '0',
        stored_lovelace: null,
        calculated_lovelace: null,
      },
    ]);
  });
});

describe('continuation', () => {
  it('gives the same result over many short invocations as in one, and resuming a run again changes nothing', async () => {
    const victim = await oneConfirmedUnspent();
    await f.db.pool.query('DELETE FROM incoming_payments WHERE tx_hash = $1 AND output_index = $2', [victim.tx_hash, victim.output_index]);
    const uninterrupted = (await reconcile({ chunkSize: 2 })).run;

    const { runs, runner: reconciliation, logger, metrics } = runner({ chunkSize: 2 });
    const continuations: bigint[] = [];
    const invoke = (event: unknown) =>
      handleReconciliation(event, {
        runner: reconciliation,
        runs,
        logger,
        continueLater: async (runId) => void continuations.push(runId),
        remainingTimeMs: () => 1_000, // always short: one chunk per invocation
        timeReserveMs: 60_000,
        staleAfterMs: 60_000,
        maxFailedAttempts: 3,
      });

    const first = await invoke({ trigger: 'on_demand' });
    expect(first.status).toBe('continuing');
    const outcomes: string[] = [];
    while (continuations.length > 0) {
      const runId = continuations.shift()!;
      // Every continuation is delivered twice, the second time concurrently with a third: at-least-once delivery.
      const once = await invoke({ runId: runId.toString() });
      const again = await Promise.all([invoke({ runId: runId.toString() }), invoke({ runId: runId.toString() })]);
      outcomes.push(once.status, ...again.map((outcome) => outcome.status));
    }
    expect(outcomes).toContain('completed');
    expect(outcomes).toContain('already_finished');

    const [run] = await runs.recent(1);
    expect(run!.counts).toEqual({ ...uninterrupted.counts });
    expect(run!.counts.chunks).toBe(7); // 13 addresses in chunks of 2: no chunk counted twice
    expect(run!.invocations).toBeGreaterThan(7);
    expect(metrics.snapshot().counters[Metric.reconciliationRuns]).toBe(1);
    expect(logger.events(LogEvent.reconciliationDiscrepancy).filter((entry) => entry.fields.kind === 'missing_in_db')).toHaveLength(1);
    const details = await f.db.pool.query('SELECT count(*)::int AS n FROM reconciliation_discrepancies WHERE run_id = $1', [
      run!.id.toString(),
    ]);
    expect(details.rows[0]).toEqual({ n: 1 });

    const resumedAgain = await invoke({ runId: run!.id.toString() });
    expect(resumedAgain.status).toBe('already_finished');
    expect((await runs.find(run!.id))!.counts).toEqual(run!.counts);
  });

  it('starts no second run while one is going, and takes over a run nobody advanced for the stale threshold', async () => {
    const { runs } = runner();
    const first = await runs.start('daily', 60_000);
    expect('started' in first).toBe(true);
    const second = await runs.start('reconnect', 60_000);
    expect(second).toMatchObject({ alreadyRunning: { trigger: 'daily' } });
    expect(await runs.start('on_demand', 60_000)).toMatchObject({ alreadyRunning: { trigger: 'daily' } });
    await f.db.pool.query("UPDATE reconciliation_runs SET updated_at = now() - interval '2 hours'");
    const third = await runs.start('on_demand', 60_000);
    // Taken over, not failed and replaced: the day's run goes on from its cursor.
    expect(third).toMatchObject({ resumed: { trigger: 'daily', status: 'running', invocations: 2 }, reason: 'stale' });
    expect(await runs.recent(5)).toHaveLength(1);
  });

  it('refuses a malformed payload with a clear error and writes nothing', async () => {
    const { runs, runner: reconciliation, logger } = runner();
    const options = {
      runner: reconciliation,
      runs,
      logger,
      continueLater: async () => undefined,
      remainingTimeMs: () => 1e9,
      timeReserveMs: 1,
      staleAfterMs: 1,
      maxFailedAttempts: 3,
    };
    await expect(handleReconciliation({ trigger: 'hourly' }, options)).rejects.toThrow(
      /"trigger" must be one of daily, on_demand, reconnect/,
    );
    await expect(handleReconciliation({ runId: 'abc' }, options)).rejects.toThrow(/runId/);
    await expect(handleReconciliation({ trigger: 'daily', extra: 1 }, options)).rejects.toThrow(/unknown field/);
    expect(await runs.recent(5)).toEqual([]);
  });
});

describe('reconnect runs beside the daily run', () => {
  it('a reconnect run reports nothing to the alarms (not even a 0), while a daily run does', async () => {
    const victim = await oneConfirmedUnspent();
    await f.db.pool.query('DELETE FROM incoming_payments WHERE tx_hash = $1 AND output_index = $2', [victim.tx_hash, victim.output_index]);
    const daily = await reconcile({ trigger: 'daily' });
    expect(daily.metrics.snapshot().counters).toMatchObject({
      [Metric.reconciliationRuns]: 1,
      [Metric.reconciliationDiscrepancies]: 1,
      [Metric.balanceMismatches]: 0,
    });

    const reconnect = await reconcile({ trigger: 'reconnect' });
    expect(reconnect.run.counts.missingInDb).toBe(1); // it judged, and logged what it found
    expect(reconnect.logger.events(LogEvent.reconciliationDiscrepancy).at(-1)).toMatchObject({
      fields: { summary: true, trigger: 'reconnect' },
    });
    const counters = reconnect.metrics.snapshot().counters;
    for (const metric of [
      Metric.reconciliationRuns,
      Metric.reconciliationDiscrepancies,
      Metric.balanceMismatches,
      Metric.reconciliationMatched,
    ]) {
      expect(counters[metric]).toBeUndefined();
    }
  });

  it('a daily or on-demand start ends a running reconnect run and takes the slot; the reconnect run records nothing more', async () => {
    const { runs, runner: reconciliation, logger } = runner({ chunkSize: 2 });
    const reconnect = await runs.start('reconnect', 60_000);
    if (!('started' in reconnect)) throw new Error('expected a new run');
    const paused = await reconciliation.advance(reconnect.started, () => false);
    expect(paused.outcome).toBe('paused');

    const options = {
      runner: reconciliation,
      runs,
      logger,
      continueLater: async () => undefined,
      remainingTimeMs: () => 1e9,
      timeReserveMs: 1,
      staleAfterMs: 60_000,
      maxFailedAttempts: 3,
    };
    const daily = await handleReconciliation({}, options);
    expect(daily).toMatchObject({ status: 'completed', run: { trigger: 'daily', addresses: 13 } });
    const ended = await runs.find(reconnect.started.id);
    expect(ended).toMatchObject({ status: 'failed', error: 'superseded by a daily run', counts: { chunks: 1 } });
    expect(logger.events(LogEvent.reconciliationSuperseded)).toHaveLength(1);

    // The reconnect run's continuation arrives late: nothing is counted again.
    expect(await handleReconciliation({ runId: reconnect.started.id.toString() }, options)).toMatchObject({ status: 'already_finished' });
    expect(await reconciliation.advance(paused.run!, () => true)).toMatchObject({ outcome: 'superseded' });
    expect((await runs.find(reconnect.started.id))!.counts.chunks).toBe(1);

    // A reconnect start while a full run is going changes nothing.
    const onDemand = await runs.start('on_demand', 60_000);
    if (!('started' in onDemand)) throw new Error('expected a new run');
    expect(await handleReconciliation({ trigger: 'reconnect' }, options)).toMatchObject({
      status: 'already_running',
      run: { trigger: 'on_demand' },
    });
  });
});

describe('lag', () => {
  it('compares a lagging chunk again after a short wait, and judges it once the database has caught up', async () => {
    const victim = await oneConfirmedUnspent();
    await f.db.pool.query('DELETE FROM incoming_payments WHERE tx_hash = $1 AND output_index = $2', [victim.tx_hash, victim.output_index]);
    simulator.produceBlocks(2); // the database is now behind the node
    const waits: number[] = [];
    const { run } = await reconcile({
      chunkSize: 13,
      sleep: async (ms) => {
        waits.push(ms);
        await applyChainUpToTip(); // the processor catches up during the wait
      },
    });
    expect(waits).toEqual([1_000]);
    expect(run.counts).toMatchObject({ chunks: 1, laggingChunks: 0, missingInDb: 1 });
  });

  it('waits a bounded number of times while the database stays behind, and says what was left unjudged', async () => {
    simulator.produceBlocks(3);
    const waits: number[] = [];
    const { run, logger } = await reconcile({ chunkSize: 4, laggingRetries: 2, sleep: async (ms) => void waits.push(ms) });
    // The first chunk waits twice; the following ones do not wait while the database is still behind.
    expect(waits).toEqual([1_000, 1_000]);
    expect(run.counts).toMatchObject({ chunks: 4, laggingChunks: 4 });
    const lagging = logger.events(LogEvent.reconciliationChunkLagging);
    expect(lagging.length).toBeGreaterThan(0);
    expect(lagging.reduce((total, entry) => total + (entry.fields.too_recent as number), 0)).toBe(run.counts.tooRecent);
    expect(lagging[0]).toMatchObject({ level: 'warn', fields: { after_address_id: '0', comparisons: 3 } });
    expect(logger.events(LogEvent.reconciliationSuccess)[0]).toMatchObject({ fields: { fully_judged: false, lagging_chunks: 4 } });
  });
});

describe('failures and takeovers', () => {
  /** Ogmios fails the `failOn`-th UTxO query (and only that one). */
  function failingOnce(failOn: number) {
    let queries = 0;
    return wrappingStates((real) => ({
      tip: () => real.tip(),
      utxoAt: async (addresses) => {
        queries += 1;
        if (queries === failOn) throw new Error('ogmios: connection reset');
        return real.utxoAt(addresses);
      },
    }));
  }

  function core(reconciliation: ReturnType<typeof runner>, overrides: Partial<Parameters<typeof handleReconciliation>[1]> = {}) {
    return (event: unknown) =>
      handleReconciliation(event, {
        runner: reconciliation.runner,
        runs: reconciliation.runs,
        logger: reconciliation.logger,
        continueLater: async () => undefined,
        remainingTimeMs: () => 1e9,
        timeReserveMs: 1,
        staleAfterMs: 15 * 60_000,
        maxFailedAttempts: 3,
        ...overrides,
      });
  }

  it('a transient error leaves the run running; the retry of the same event resumes it from its cursor', async () => {
    const victim = await oneConfirmedUnspent();
    await f.db.pool.query('DELETE FROM incoming_payments WHERE tx_hash = $1 AND output_index = $2', [victim.tx_hash, victim.output_index]);
    const uninterrupted = (await reconcile({ chunkSize: 2, trigger: 'daily' })).run;

    const flaky = runner({ chunkSize: 2, chain: failingOnce(3) });
    const invoke = core(flaky);
    await expect(invoke({})).rejects.toThrow(/connection reset/);
    const [afterFailure] = await flaky.runs.recent(1);
    expect(afterFailure).toMatchObject({ status: 'running', failedAttempts: 1, error: 'ogmios: connection reset', counts: { chunks: 2 } });
    expect(flaky.logger.events('reconciliation_attempt_failed')).toHaveLength(1);

    // Lambda's automatic retry delivers the same event again.
    const retried = await invoke({});
    expect(retried).toMatchObject({ status: 'completed', run: { run_id: afterFailure!.id.toString(), invocations: 2 } });
    const [run] = await flaky.runs.recent(1);
    expect(run).toMatchObject({ status: 'completed', failedAttempts: 0, error: null });
    expect(run!.counts).toEqual(uninterrupted.counts);
    expect(flaky.logger.events(LogEvent.reconciliationResumed)[0]).toMatchObject({ fields: { reason: 'failed_attempt' } });
  });

  it('a continuation that fails is continued by its retry, and a run fails only after the allowed attempts in a row', async () => {
    const alwaysDown = runner({
      chunkSize: 2,
      chain: wrappingStates((real) => ({ tip: () => real.tip(), utxoAt: async () => Promise.reject(new Error('ogmios: unreachable')) })),
    });
    const invoke = core(alwaysDown);
    await expect(invoke({ trigger: 'on_demand' })).rejects.toThrow(/unreachable/);
    const [run] = await alwaysDown.runs.recent(1);
    await expect(invoke({ runId: run!.id.toString() })).rejects.toThrow(/unreachable/);
    expect(await alwaysDown.runs.find(run!.id)).toMatchObject({ status: 'running', failedAttempts: 2 });
    await expect(invoke({ runId: run!.id.toString() })).rejects.toThrow(/unreachable/);
    expect(await alwaysDown.runs.find(run!.id)).toMatchObject({ status: 'failed', failedAttempts: 3, error: 'ogmios: unreachable' });
    expect(alwaysDown.logger.events(LogEvent.reconciliationFailed)).toHaveLength(1);
    expect(await invoke({ runId: run!.id.toString() })).toMatchObject({ status: 'already_finished' });
  });

  it('an invocation stuck in a chunk counts a failed attempt just before its timeout, once even if the hung call fails after, so that the retry takes the run over', async () => {
    const stuckAt = 2;
    let queries = 0;
    let failHungCall: (error: Error) => void = () => undefined;
    const stuck = runner({
      chunkSize: 2,
      // The second UTxO query hangs (a hung connection) until the test makes it fail.
      chain: wrappingStates((real) => ({
        tip: () => real.tip(),
        utxoAt: (addresses) =>
          ++queries === stuckAt ? new Promise<never>((_, reject) => (failHungCall = reject)) : real.utxoAt(addresses),
      })),
    });
    // The watch fires 1.5 s in: past the 1 s in which it takes a recent update for progress.
    const timeLeft = 6_500;
    const startedAt = Date.now();
    const invocation = core(stuck, {
      remainingTimeMs: () => timeLeft - (Date.now() - startedAt),
      timeReserveMs: 1_000,
      timeoutMarginMs: 5_000,
    })({});
    invocation.catch(() => undefined);
    await vi.waitFor(
      async () =>
        expect((await stuck.runs.recent(1))[0]).toMatchObject({
          status: 'running',
          failedAttempts: 1,
          error: expect.stringMatching(/timed out/),
        }),
      {
        timeout: 5_000,
        interval: 20,
      },
    );
    // The hung call gives up before Lambda ends the invocation: the same invocation counts no second attempt.
    failHungCall(new Error('ogmios: connection reset at last'));
    await expect(invocation).rejects.toThrow(/at last/);
    expect((await stuck.runs.recent(1))[0]).toMatchObject({
      status: 'running',
      failedAttempts: 1,
      error: expect.stringMatching(/timed out/),
    });
    expect(stuck.logger.events(LogEvent.reconciliationAttemptFailed)).toHaveLength(1);

    const retry = await core(runner({ chunkSize: 2 }))({});
    expect(retry).toMatchObject({ status: 'completed', run: { trigger: 'daily', addresses: 13, chunks: 7 } });
  });

  it('a start takes over a run whose invocation timed out once it is stale, and finishes it with nothing counted twice', async () => {
    const uninterrupted = (await reconcile({ chunkSize: 2, trigger: 'daily' })).run;
    const timedOut = runner({ chunkSize: 2 });
    // The first invocation records two chunks, then dies without a word (a Lambda timeout).
    const first = await core(timedOut, { remainingTimeMs: () => 0 })({});
    expect(first.status).toBe('continuing');
    const runId = BigInt(first.run!.run_id as string);
    await timedOut.runner.advance((await timedOut.runs.find(runId))!, () => false);

    const retry = core(runner({ chunkSize: 2 }), { staleAfterMs: 60_000 });
    expect(await retry({})).toMatchObject({ status: 'already_running' }); // updated a moment ago: maybe still alive
    await f.db.pool.query("UPDATE reconciliation_runs SET updated_at = now() - interval '61 seconds' WHERE id = $1", [runId.toString()]);
    expect(await retry({})).toMatchObject({ status: 'completed', run: { run_id: runId.toString(), trigger: 'daily' } });
    expect((await timedOut.runs.find(runId))!.counts).toEqual(uninterrupted.counts);
  });
});

describe('failures and takeovers: run bookkeeping', () => {
  it('a database outage that keeps the failed attempt from being counted: the retry a minute later takes the run over', async () => {
    const uninterrupted = (await reconcile({ chunkSize: 2, trigger: 'daily' })).run;
    // The failing invocation reaches the database through its own pool, which goes away mid-run.
    const outagePool = createPool({ connectionString: f.db.url, max: 2 });
    let queries = 0;
    const logger = new RecordingLogger();
    const failing = new ReconciliationRunner({
      records: new PostgresReconciliationRecords(outagePool),
      chain: wrappingStates((real) => ({
        tip: () => real.tip(),
        utxoAt: async (addresses) => {
          if (++queries === 3) await outagePool.end();
          return real.utxoAt(addresses);
        },
      }))(new OgmiosReconciliationLedger(ledgerClient())),
      runs: new PostgresReconciliationRuns(outagePool),
      logger,
      metrics: new InMemoryMetrics(),
      chunkSize: 2,
      sleep: async () => undefined,
    });
    const settings = readReconciliationSettings({}); // the deployed defaults
    const invoke = (reconciliation: ReconciliationRunner, runs: PostgresReconciliationRuns) =>
      handleReconciliation(
        {},
        { runner: reconciliation, runs, logger, continueLater: async () => undefined, remainingTimeMs: () => 1e9, ...settings },
      );

    await expect(invoke(failing, new PostgresReconciliationRuns(outagePool))).rejects.toThrow(/pool/);
    const runs = new PostgresReconciliationRuns(f.db.pool);
    const [untouched] = await runs.recent(1);
    expect(untouched).toMatchObject({ status: 'running', failedAttempts: 0, counts: { chunks: 2 } });
    // Not "failed": the run is still running, and nothing could be counted.
    expect(logger.events(LogEvent.reconciliationFailed)).toEqual([]);
    expect(logger.events(LogEvent.reconciliationAttemptUnrecorded)).toMatchObject([
      { level: 'error', fields: { run_id: untouched!.id.toString(), unrecorded_because: expect.stringMatching(/pool/) } },
    ]);

    // Lambda's first retry of the event comes a minute after the failure; the database is back.
    await f.db.pool.query("UPDATE reconciliation_runs SET updated_at = updated_at - interval '60 seconds' WHERE id = $1", [
      untouched!.id.toString(),
    ]);
    const retried = await invoke(runner({ chunkSize: 2 }).runner, runs);
    expect(retried).toMatchObject({ status: 'completed', run: { run_id: untouched!.id.toString(), trigger: 'daily' } });
    expect((await runs.find(untouched!.id))!.counts).toEqual(uninterrupted.counts);
    expect(logger.events(LogEvent.reconciliationResumed)).toMatchObject([{ fields: { reason: 'stale' } }]);
  });

  it('a failed attempt lets one start take the run over, not every start that follows', async () => {
    const { runs } = runner();
    const longAgo = 15 * 60_000; // nothing is stale here: only the failure can let a start in
    const started = await runs.start('daily', longAgo);
    if (!('started' in started)) throw new Error('expected a new run');
    const id = started.started.id;
    await runs.noteFailure(id, 'ogmios: connection reset', 3);

    const concurrent = await Promise.all([runs.start('daily', longAgo), runs.start('daily', longAgo)]);
    expect(concurrent.filter((outcome) => 'resumed' in outcome)).toMatchObject([{ resumed: { id }, reason: 'failed_attempt' }]);
    expect(concurrent.filter((outcome) => 'alreadyRunning' in outcome)).toMatchObject([{ alreadyRunning: { id } }]);
    expect(await runs.start('on_demand', longAgo)).toMatchObject({ alreadyRunning: { id } });

    // A new failure lets one start in again.
    await runs.noteFailure(id, 'ogmios: connection reset', 3);
    expect(await runs.start('on_demand', longAgo)).toMatchObject({ resumed: { id, failedAttempts: 2 }, reason: 'failed_attempt' });
    expect(await runs.start('on_demand', longAgo)).toMatchObject({ alreadyRunning: { id } });
  });

  it('the timeout watch counts no failed attempt on a run updated a moment ago (a chunk just recorded)', async () => {
    const { runs } = runner();
    const started = await runs.start('daily', 60_000);
    if (!('started' in started)) throw new Error('expected a new run');
    const id = started.started.id;
    expect(await runs.noteFailure(id, 'timed out', 3, { unlessUpdatedWithinMs: 60_000 })).toBeNull();
    expect(await runs.find(id)).toMatchObject({ status: 'running', failedAttempts: 0, error: null });

    await f.db.pool.query("UPDATE reconciliation_runs SET updated_at = now() - interval '2 minutes' WHERE id = $1", [id.toString()]);
    expect(await runs.noteFailure(id, 'timed out', 3, { unlessUpdatedWithinMs: 60_000 })).toMatchObject({
      failedAttempts: 1,
      error: 'timed out',
    });
  });

  it('a completed run shows no failed attempts left over from a retried failure', async () => {
    const { runs } = runner();
    const started = await runs.start('daily', 60_000);
    if (!('started' in started)) throw new Error('expected a new run');
    // A failure after the last chunk (in the balance check) is followed by no chunk that would reset the count.
    await runs.noteFailure(started.started.id, 'database: connection reset', 3);
    expect(await runs.finish(started.started.id, { status: 'completed' })).toMatchObject({
      status: 'completed',
      failedAttempts: 0,
      error: null,
    });
  });
});

describe('the deployed handlers (environment, Powertools, simulator)', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  function stubEnvironment(extra: Record<string, string>): void {
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('STAGE', 'test');
    vi.stubEnv('NETWORK', 'mainnet');
    vi.stubEnv('LOG_LEVEL', 'info');
    vi.stubEnv('OGMIOS_URL', simulator.url);
    for (const [name, value] of Object.entries(extra)) vi.stubEnv(name, value);
  }

  it('reconciliation: runs on schedule, continues itself through Lambda Invoke, emits the run metrics once', async () => {
    stubEnvironment({ DATABASE_URL: f.db.url, RECONCILIATION_CHUNK_SIZE: '5', RECONCILIATION_TIME_RESERVE_MS: '60000' });
    // Lambda Invoke has no local implementation: the SDK call is stubbed, and the test delivers each payload.
    const invoked: { functionName: string; invocationType: string; payload: unknown }[] = [];
    vi.spyOn(LambdaClient.prototype, 'send').mockImplementation(async (command: unknown) => {
      const { input } = command as InvokeCommand;
      invoked.push({
        functionName: input.FunctionName!,
        invocationType: input.InvocationType!,
        payload: JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array)),
      });
      return { StatusCode: 202 };
    });
    const { handler } = await import('../../functions/handlers/reconciliation.js');
    const context = { ...lambdaContext('reconciliation'), getRemainingTimeInMillis: () => 30_000 };

    const first = await captureOutput(() => handler({}, context));
    expect(first.result).toMatchObject({ status: 'continuing', run: { trigger: 'daily', addresses: 5 } });
    const lines = [...first.lines];
    for (let delivered = 0; delivered < invoked.length; delivered++) {
      expect(invoked[delivered]).toMatchObject({
        functionName: 'reconciliation',
        invocationType: 'Event',
        payload: { runId: expect.stringMatching(/^\d+$/) },
      });
      lines.push(...(await captureOutput(() => handler(invoked[delivered]!.payload, context))).lines);
    }
    expect(invoked).toHaveLength(2); // 13 addresses, 5 per invocation: 5, 5, then the short last chunk

    const expected = await paymentCounts();
    const success = lines.filter((line) => line.message === LogEvent.reconciliationSuccess);
    expect(success).toEqual([
      expect.objectContaining({
        level: 'INFO',
        stage: 'test',
        addresses: 13,
        matched: expected.confirmedUnspent,
        discrepancies: 0,
        invocations: 3,
      }),
    ]);
    const documents = emfDocuments(lines);
    expect(metricValues(documents, Metric.reconciliationRuns)).toEqual([
      { value: 1, dimensions: { service: 'payment-monitor', stage: 'test' } },
    ]);
    expect(metricValues(documents, Metric.reconciliationDiscrepancies).map((metric) => metric.value)).toEqual([0]);
    expect(metricValues(documents, Metric.reconciliationMatched).map((metric) => metric.value)).toEqual([expected.confirmedUnspent]);
  });

  it('hot wallet: emits the summed balance of the configured addresses as hot_wallet_balance_ada', async () => {
    const wallet = [paid[0]!, paid[1]!];
    const lovelace = wallet.reduce((total, address) => total + simulator.ledger.balanceOf(address).lovelace, 0n);
    expect(lovelace).toBeGreaterThan(0n);
    stubEnvironment({ HOT_WALLET_ADDRESSES: ` ${wallet[0]} ,${wallet[1]}` });
    const { handler } = await import('../../functions/handlers/hot-wallet.js');

    const { result, lines } = await captureOutput(() => handler({}, lambdaContext('hot-wallet')));

    expect(result).toMatchObject({ addresses: 2, lovelace: lovelace.toString(), token_kinds: 1 });
    expect(metricValues(emfDocuments(lines), Metric.hotWalletBalanceAda)).toEqual([
      { value: Number(lovelace) / 1_000_000, dimensions: { service: 'payment-monitor', stage: 'test' } },
    ]);
    expect(lines.find((line) => line.message === LogEvent.hotWalletBalance)).toMatchObject({ lovelace: lovelace.toString(), addresses: 2 });
  });

  it('hot wallet: refuses an address of another network at cold start', async () => {
    stubEnvironment({ HOT_WALLET_ADDRESSES: syntheticAddress('preprod', 'hot') });
    await expect(import('../../functions/handlers/hot-wallet.js')).rejects.toThrow(/HOT_WALLET_ADDRESSES entry 1/);
  });
});

describe('the operator CLI', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('reconcile prints the counts and exits 0 when clean, 1 with the discrepancy listed; reconciliation list; hot-wallet; status', async () => {
    vi.stubEnv('DATABASE_URL', f.db.url);
    vi.stubEnv('OGMIOS_URL', simulator.url);
    vi.stubEnv('NETWORK', 'mainnet');
    vi.stubEnv('HOT_WALLET_ADDRESSES', paid[2]!);
    const { runCli } = await import('../../functions/local/cli/main.js');
    const run = async (...argv: string[]) => {
      const lines: string[] = [];
      const code = await runCli(argv, (text) => lines.push(text));
      return { code, text: lines.join('\n') };
    };

    const clean = await run('reconcile', '--chunk-size', '3');
    expect(clean.code).toBe(0);
    expect(clean.text).toMatch(/missing_in_db\s+0/);

    const victim = await oneConfirmedUnspent();
    await f.db.pool.query('DELETE FROM incoming_payments WHERE tx_hash = $1 AND output_index = $2', [victim.tx_hash, victim.output_index]);
    const found = await run('reconcile');
    expect(found.code).toBe(1);
    expect(found.text).toContain(`missing_in_db     ${victim.tx_hash}#${victim.output_index}`);

    const listed = await run('reconciliation', 'list', '--json');
    expect((JSON.parse(listed.text) as { missing_in_db: number; status: string }[]).map((row) => [row.status, row.missing_in_db])).toEqual([
      ['completed', 1],
      ['completed', 0],
    ]);

    const balance = simulator.ledger.balanceOf(paid[2]!).lovelace;
    const hotWallet = await run('hot-wallet', '--json');
    expect(JSON.parse(hotWallet.text)).toMatchObject({ lovelace: balance.toString(), addresses: 1 });
    expect((await run('status')).text).toMatch(/hot wallet\s+\d+\.\d{6} ADA/);
  });
});
