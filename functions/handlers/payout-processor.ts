/**
 * Payout processor Lambda, invoked every minute by EventBridge Scheduler with a reserved concurrency of one (one
 * processor per hot wallet): expires, builds, signs with the KMS key (PAYOUT_SIGNER_KMS_KEY_ID) and submits
 * through Ogmios. The parts are put together in payout-processor-core.ts; the rules are domain/payouts.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { KmsTransactionSigner } from '../adapters/kms/kms-signer.js';
import { LedgerStateClient } from '../adapters/ogmios/ledger-state-client.js';
import { readPayoutProcessorSettings } from '../config/lambda-settings.js';
import { ogmiosEndpoints } from '../config/ogmios-settings.js';
import type { ProcessorReport } from '../domain/payouts/payout-processor.js';
import { lambdaHandler, lambdaPool, logger, metrics } from './lambda-handler.js';
import { once } from './lazy.js';
import { assemblePayoutProcessor } from './payout-processor-core.js';

const settings = readPayoutProcessorSettings();
const pool = lambdaPool({ max: 2, applicationName: 'payment-monitor-payout-processor' });
/** Well within the function's timeout and the one-minute schedule. */
const OGMIOS_TIMEOUT_MS = 20_000;

// Built once per instance: the KMS public key is read once (it gives the hot wallet's address).
const assembled = once(async () =>
  assemblePayoutProcessor({
    pool: await pool(),
    ledger: new LedgerStateClient({
      ...ogmiosEndpoints(settings.ogmios),
      logger,
      connectTimeoutMs: OGMIOS_TIMEOUT_MS,
      requestTimeoutMs: OGMIOS_TIMEOUT_MS,
    }),
    signer: new KmsTransactionSigner(new KMSClient({}), settings.signerKeyId),
    network: settings.network,
    confirmations: settings.confirmations,
    validitySeconds: settings.validitySeconds,
    resubmitAfterSeconds: settings.resubmitAfterSeconds,
    logger,
    metrics,
  }),
);

export const handler = lambdaHandler<unknown, ProcessorReport>(async () => {
  const { processor } = await assembled();
  return processor.runOnce();
});
