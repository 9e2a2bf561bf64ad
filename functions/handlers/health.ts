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
import { readHealthSettings, resolveDatabaseUrl } from './runtime-config.js';

/** A health answer must come back well within the function's timeout, Ogmios reachable or not. */
const OGMIOS_TIMEOUT_MS = 5_000;

const settings = readHealthSettings(process.env);

// One connection: an invocation makes one query. Created on first use, kept for the instance's life.
const pool = once(async () => createPool({ connectionString: await resolveDatabaseUrl(process.env), max: 1, applicationName: 'payment-monitor-health' }));

// Kept open between invocations (one a minute, under Ogmios' 90 s idle limit); reopened on demand when closed.
const ledger = settings.ogmios
  ? new LedgerStateClient({ ...settings.ogmios, logger, connectTimeoutMs: OGMIOS_TIMEOUT_MS, requestTimeoutMs: OGMIOS_TIMEOUT_MS })
  : undefined;

export async function handler(event: unknown, context: Context): Promise<LambdaFunctionURLResult | Record<string, unknown>> {
  logger.addContext(context);
  metrics.captureColdStart(context.functionName);
  try {
    const options: HealthCoreOptions = {
      db: await pool(),
      network: settings.network,
      ...(ledger ? { networkTipHeight: () => ledger.networkBlockHeight() } : {}),
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
