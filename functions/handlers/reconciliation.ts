/**
 * Reconciliation Lambda: the daily check (EventBridge Scheduler, 03:00) of the database against the chain and
 * of the balances against the ledger; also on demand and after a follower reconnect. When its time runs short it
 * invokes itself asynchronously with `{ "runId": … }` to continue. The work is in reconciliation-core.ts.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { asynchronousInvocation } from '../adapters/lambda/asynchronous-invocation.js';
import { LedgerStateClient } from '../adapters/ogmios/ledger-state-client.js';
import { OgmiosReconciliationLedger } from '../adapters/ogmios/reconciliation-ledger.js';
import { PostgresReconciliationRecords } from '../adapters/postgres/reconciliation-records.js';
import { PostgresReconciliationRuns } from '../adapters/postgres/reconciliation-runs.js';
import { readReconciliationLambdaSettings } from '../config/lambda-settings.js';
import { ogmiosEndpoints } from '../config/ogmios-settings.js';
import { ReconciliationRunner } from '../domain/reconciliation/reconciliation-runner.js';
import { lambdaHandler, lambdaPool, logger, metrics } from './lambda-handler.js';
import { once } from './lazy.js';
import { handleReconciliation, type ReconciliationOutcome } from './reconciliation-core.js';

const settings = readReconciliationLambdaSettings();
const pool = lambdaPool({ max: 2, applicationName: 'payment-monitor-reconciliation' });

// Built once per instance, on first use; a continuation often lands on the same warm instance.
const dependencies = once(async () => {
  if (!settings.ogmios) throw new Error('OGMIOS_URL is not set: reconciliation compares the database with the chain through Ogmios');
  // The reconciliation's own client: it pins ledger states, and its payload limit bounds one UTxO answer.
  const ledger = new LedgerStateClient({ ...ogmiosEndpoints(settings.ogmios), logger, maxPayloadBytes: settings.maxAnswerBytes });
  const db = await pool();
  const runs = new PostgresReconciliationRuns(db);
  const runner = new ReconciliationRunner({
    records: new PostgresReconciliationRecords(db),
    chain: new OgmiosReconciliationLedger(ledger),
    runs,
    logger,
    metrics,
    chunkSize: settings.chunkSize,
    maxChunkUtxos: settings.maxChunkUtxos,
  });
  return { runs, runner, lambda: new LambdaClient({}) };
});

export const handler = lambdaHandler<unknown, ReconciliationOutcome>(async (event, context) => {
  const { runs, runner, lambda } = await dependencies();
  const continueWith = asynchronousInvocation(lambda, context.functionName);
  return handleReconciliation(event, {
    runner,
    runs,
    logger,
    continueLater: (runId) => continueWith({ runId: runId.toString() }),
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
    timeReserveMs: settings.timeReserveMs,
    staleAfterMs: settings.staleAfterMs,
    maxFailedAttempts: settings.maxFailedAttempts,
  });
});
