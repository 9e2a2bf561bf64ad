/**
 * Health Lambda: behind an IAM-authenticated function URL it answers ready / not_ready; invoked by the
 * every-minute schedule it records the sync lag metrics. The work is in health-core.ts.
 */
import type { Context, LambdaFunctionURLResult } from 'aws-lambda';
import { LedgerStateClient } from '../adapters/ogmios/ledger-state-client.js';
import { createPool } from '../adapters/postgres/pool.js';
import { logger, metrics } from '../adapters/powertools/instances.js';
import { handleHealthRequest, isFunctionUrlRequest, recordSyncLag, type HealthCoreOptions } from './health-core.js';
import { once } from './lazy.js';
import { readHealthSettings, resolveDatabaseConnection, resolveOgmiosEndpoints } from './runtime-config.js';

/** A health answer must come back well within the function's timeout, Ogmios reachable or not. */
const OGMIOS_TIMEOUT_MS = 5_000;

const settings = readHealthSettings(process.env);

// One connection: an invocation makes one query. Created on first use, kept for the instance's life.
const pool = once(async () => createPool({ ...(await resolveDatabaseConnection(process.env)), max: 1, applicationName: 'payment-monitor-health' }));

// OGMIOS_URL gives the live network tip (sync_state's last one when unset). The client is kept open between
// invocations (one a minute, under Ogmios' 90 s idle limit) and reopened on demand when closed.
const ledger = once(async () => {
  const endpoints = await resolveOgmiosEndpoints(process.env);
  return endpoints && new LedgerStateClient({ ...endpoints, logger, connectTimeoutMs: OGMIOS_TIMEOUT_MS, requestTimeoutMs: OGMIOS_TIMEOUT_MS });
});

export async function handler(event: unknown, context: Context): Promise<LambdaFunctionURLResult | Record<string, unknown>> {
  logger.addContext(context);
  metrics.captureColdStart(context.functionName);
  try {
    const ledgerState = await ledger();
    const options: HealthCoreOptions = {
      db: await pool(),
      network: settings.network,
      ...(ledgerState ? { networkTipHeight: () => ledgerState.networkBlockHeight() } : {}),
      logger,
      metrics,
      clock: { now: () => new Date() },
      maxReadyLagBlocks: settings.maxReadyLagBlocks,
    };
    return isFunctionUrlRequest(event) ? await handleHealthRequest(event, options) : await recordSyncLag(options);
  } finally {
    metrics.publish();
  }
}
