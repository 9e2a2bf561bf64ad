/**
 * Health Lambda: behind an IAM-authenticated function URL it answers ready / not_ready; invoked by the
 * every-minute schedule it records the sync lag metrics. The work is in health-core.ts.
 */
import type { LambdaFunctionURLResult } from 'aws-lambda';
import { readHealthSettings } from '../config/lambda-settings.js';
import { handleHealthRequest, isFunctionUrlRequest, recordSyncLag, type HealthCoreOptions } from './health-core.js';
import { lambdaHandler, lambdaPool, logger, metrics } from './lambda-handler.js';
import { lambdaLedgerClient } from './lambda-ledger-client.js';

/** A health answer must come back well within the function's timeout, Ogmios reachable or not. */
const OGMIOS_TIMEOUT_MS = 5_000;

const settings = readHealthSettings();

// One connection: an invocation makes one query.
const pool = lambdaPool({ max: 1, applicationName: 'payment-monitor-health' });

// OGMIOS_URL gives the live network tip (sync_state's last one when unset).
const ledger = lambdaLedgerClient(settings.ogmios, OGMIOS_TIMEOUT_MS);

export const handler = lambdaHandler<unknown, LambdaFunctionURLResult | Record<string, unknown>>(async (event) => {
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
});
