/** Reconciliation and the hot-wallet balance outside Lambda: the CLI and the local stack run them in-process. */
import type pg from 'pg';
import { LedgerStateClient } from '../adapters/ogmios/ledger-state-client.js';
import { OgmiosReconciliationLedger } from '../adapters/ogmios/reconciliation-ledger.js';
import type { OgmiosEndpoints } from '../adapters/ogmios/settings.js';
import { PostgresReconciliationRecords } from '../adapters/postgres/reconciliation-records.js';
import { PostgresReconciliationRuns } from '../adapters/postgres/reconciliation-runs.js';
import type { Logger, Metrics } from '../domain/ports.js';
import type { ReconciliationRun, ReconciliationTrigger } from '../domain/reconciliation/ports.js';
import { ReconciliationRunner } from '../domain/reconciliation/reconciliation-runner.js';
import { measureHotWallet, type HotWalletReport } from '../handlers/hot-wallet-core.js';

export interface LocalReconciliationOptions {
  pool: pg.Pool;
  ogmios: OgmiosEndpoints;
  logger: Logger;
  metrics: Metrics;
  trigger: ReconciliationTrigger;
  chunkSize?: number;
}

/** Runs one reconciliation to the end, or reports the run already in progress. */
export async function reconcileNow(options: LocalReconciliationOptions): Promise<{ run: ReconciliationRun; alreadyRunning: boolean }> {
  const ledger = new LedgerStateClient({ ...options.ogmios, logger: options.logger });
  try {
    const runs = new PostgresReconciliationRuns(options.pool);
    const runner = new ReconciliationRunner({
      records: new PostgresReconciliationRecords(options.pool),
      chain: new OgmiosReconciliationLedger(ledger),
      runs,
      logger: options.logger,
      metrics: options.metrics,
      chunkSize: options.chunkSize ?? 1_000,
    });
    const started = await runs.start(options.trigger, 20 * 60_000);
    if ('alreadyRunning' in started) return { run: started.alreadyRunning, alreadyRunning: true };
    try {
      const progress = await runner.advance(started.started, () => true);
      const run = progress.run ?? (await runs.find(started.started.id));
      if (run === null) throw new Error(`reconciliation run ${started.started.id} disappeared`);
      return { run, alreadyRunning: false };
    } catch (error) {
      await runs.finish(started.started.id, { status: 'failed', error: error instanceof Error ? error.message : String(error) }).catch(() => null);
      throw error;
    }
  } finally {
    await ledger.close();
  }
}

export async function measureHotWalletNow(options: { ogmios: OgmiosEndpoints; addresses: readonly string[]; logger: Logger; metrics: Metrics }): Promise<HotWalletReport> {
  const ledger = new LedgerStateClient({ ...options.ogmios, logger: options.logger });
  try {
    return await measureHotWallet({ addresses: options.addresses, utxoAt: (wanted) => ledger.utxoByAddresses(wanted), logger: options.logger, metrics: options.metrics });
  } finally {
    await ledger.close();
  }
}
