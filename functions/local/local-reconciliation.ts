/** Reconciliation and the hot-wallet balance outside Lambda: the CLI and the local stack run them in-process. */
import type pg from 'pg';
import { LedgerStateClient } from '../adapters/ogmios/ledger-state-client.js';
import { OgmiosReconciliationLedger } from '../adapters/ogmios/reconciliation-ledger.js';
import type { OgmiosEndpoints } from '../adapters/ogmios/endpoints.js';
import { PostgresReconciliationRecords } from '../adapters/postgres/reconciliation-records.js';
import { PostgresReconciliationRuns } from '../adapters/postgres/reconciliation-runs.js';
import type { Logger, Metrics } from '../domain/ports.js';
import type { ReconciliationRun, ReconciliationTrigger } from '../domain/reconciliation/ports.js';
import { ReconciliationRunner } from '../domain/reconciliation/reconciliation-runner.js';
import { measureHotWallet, type HotWalletReport } from '../handlers/hot-wallet-core.js';
import { readReconciliationSettings } from '../config/lambda-settings.js';
import { DEFAULT_STALE_AFTER_MS } from '../config/variables.js';

export interface LocalReconciliationOptions {
  pool: pg.Pool;
  ogmios: OgmiosEndpoints;
  logger: Logger;
  metrics: Metrics;
  trigger: ReconciliationTrigger;
  /** Default: RECONCILIATION_CHUNK_SIZE, as the Lambda reads it (and likewise the bounds below). */
  chunkSize?: number;
  maxChunkUtxos?: number;
  /** The largest UTxO answer read (the reconciliation client's payload limit). */
  maxAnswerBytes?: number;
}

/** Runs one reconciliation to the end, or reports the run already in progress. */
export async function reconcileNow(options: LocalReconciliationOptions): Promise<{ run: ReconciliationRun; alreadyRunning: boolean }> {
  const settings = readReconciliationSettings();
  const ledger = new LedgerStateClient({
    ...options.ogmios,
    logger: options.logger,
    maxPayloadBytes: options.maxAnswerBytes ?? settings.maxAnswerBytes,
  });
  try {
    const runs = new PostgresReconciliationRuns(options.pool);
    const runner = new ReconciliationRunner({
      records: new PostgresReconciliationRecords(options.pool),
      chain: new OgmiosReconciliationLedger(ledger),
      runs,
      logger: options.logger,
      metrics: options.metrics,
      chunkSize: options.chunkSize ?? settings.chunkSize,
      maxChunkUtxos: options.maxChunkUtxos ?? settings.maxChunkUtxos,
    });
    const started = await runs.start(options.trigger, DEFAULT_STALE_AFTER_MS);
    if ('alreadyRunning' in started) return { run: started.alreadyRunning, alreadyRunning: true };
    const taken = 'resumed' in started ? started.resumed : started.started;
    try {
      const progress = await runner.advance(taken, () => true);
      const run = progress.run ?? (await runs.find(taken.id));
      if (run === null) throw new Error(`reconciliation run ${taken.id} disappeared`);
      return { run, alreadyRunning: false };
    } catch (error) {
      // Nobody retries in-process: the run is failed at once (a later start begins a new one).
      await runs.finish(taken.id, { status: 'failed', error: error instanceof Error ? error.message : String(error) }).catch(() => null);
      throw error;
    }
  } finally {
    await ledger.close();
  }
}

export async function measureHotWalletNow(options: {
  ogmios: OgmiosEndpoints;
  addresses: readonly string[];
  logger: Logger;
  metrics: Metrics;
}): Promise<HotWalletReport> {
  const ledger = new LedgerStateClient({ ...options.ogmios, logger: options.logger });
  try {
    return await measureHotWallet({
      addresses: options.addresses,
      utxoAt: (wanted) => ledger.utxoByAddresses(wanted),
      logger: options.logger,
      metrics: options.metrics,
    });
  } finally {
    await ledger.close();
  }
}
