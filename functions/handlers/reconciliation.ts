/**
 * Reconciliation Lambda: the daily check (EventBridge Scheduler, 03:00) of the database against the chain and
 * of the balances against the ledger; also on demand and after a follower reconnect. When its time runs short it
 * invokes itself asynchronously with `{ "runId": … }` to continue. The work is in reconciliation-core.ts.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { Context } from 'aws-lambda';
import { asynchronousInvocation } from '../adapters/lambda/asynchronous-invocation.js';
import { LedgerStateClient } from '../adapters/ogmios/ledger-state-client.js';
import { OgmiosReconciliationLedger } from '../adapters/ogmios/reconciliation-ledger.js';
import { createPool } from '../adapters/postgres/pool.js';
import { PostgresReconciliationRecords } from '../adapters/postgres/reconciliation-records.js';
import { PostgresReconciliationRuns } from '../adapters/postgres/reconciliation-runs.js';
import { logger, metrics } from '../adapters/powertools/instances.js';
import { ReconciliationRunner } from '../domain/reconciliation/reconciliation-runner.js';
import { once } from './lazy.js';
import { handleReconciliation, readReconciliationSettings, type ReconciliationOutcome } from './reconciliation-core.js';
import { resolveDatabaseConnection, resolveOgmiosEndpoints } from './runtime-config.js';

const settings = readReconciliationSettings(process.env);

// Built once per instance, on first use; a continuation often lands on the same warm instance.
const dependencies = once(async () => {
  const endpoints = await resolveOgmiosEndpoints(process.env);
  if (!endpoints) throw new Error('OGMIOS_URL is not set: reconciliation compares the database with the chain through Ogmios');
  const pool = createPool({ ...(await resolveDatabaseConnection(process.env)), max: 2, applicationName: 'payment-monitor-reconciliation' });
  // The reconciliation's own client: it pins ledger states, and its payload limit bounds one UTxO answer.
  const ledger = new LedgerStateClient({ ...endpoints, logger, maxPayloadBytes: settings.maxAnswerBytes });
  const runs = new PostgresReconciliationRuns(pool);
  const runner = new ReconciliationRunner({
    records: new PostgresReconciliationRecords(pool),
    chain: new OgmiosReconciliationLedger(ledger),
    runs,
    logger,
    metrics,
    chunkSize: settings.chunkSize,
    maxChunkUtxos: settings.maxChunkUtxos,
  });
  return { runs, runner, lambda: new LambdaClient({}) };
});

export async function handler(event: unknown, context: Context): Promise<ReconciliationOutcome> {
  logger.addContext(context);
  metrics.captureColdStart(context.functionName);
  try {
    const { runs, runner, lambda } = await dependencies();
    const continueWith = asynchronousInvocation(lambda, context.functionName);
    return await handleReconciliation(event, {
      runner,
      runs,
      logger,
      continueLater: (runId) => continueWith({ runId: runId.toString() }),
      remainingTimeMs: () => context.getRemainingTimeInMillis(),
      timeReserveMs: settings.timeReserveMs,
      staleAfterMs: settings.staleAfterMs,
      maxFailedAttempts: settings.maxFailedAttempts,
    });
  } finally {
    metrics.publish();
  }
}
