/**
 * Payouts in the local stack: the hot wallet's key in a file (PAYOUT_SIGNER_KEY_FILE, made 0600 on first use), the
 * processor run every few seconds against the simulator (or OGMIOS_URL), and, on the simulator, a demo hot wallet
 * funded on first start so that `payouts create` can go all the way to `confirmed`.
 */
import type pg from 'pg';
import { FileTransactionSigner } from '../adapters/crypto/file-signer.js';
import { LedgerStateClient } from '../adapters/ogmios/ledger-state-client.js';
import type { OgmiosEndpoints } from '../adapters/ogmios/endpoints.js';
import { assemblePayoutProcessor } from '../handlers/payout-processor-core.js';
import { HOT_WALLET_REFERENCE_TYPE } from '../domain/hot-wallet.js';
import type { Network } from '../domain/network.js';
import { describeError, LocalStackLogEvent } from '../domain/observability.js';
import { signerHotWallet, type TransactionSigner } from '../domain/payouts/transaction-signer.js';
import type { Logger, Metrics } from '../domain/ports.js';
import type { PaymentTarget } from './simulator/index.js';
import { DEMO_TOKEN_ASSET_NAME, DEMO_TOKEN_POLICY } from './demo.js';

/** How often the local processor runs: about once a block of the demo chain. */
export const LOCAL_PAYOUT_INTERVAL_MS = 2_000;

const ADA = 1_000_000n;
/** The demo hot wallet's coins: ten outputs of 2,000 ADA, one carrying demo tokens. */
export function demoHotWalletFunding(address: string): PaymentTarget[] {
  return Array.from({ length: 10 }, (_, i) => ({
    address,
    lovelace: 2_000n * ADA,
    ...(i === 0 ? { assets: [{ policyId: DEMO_TOKEN_POLICY, assetName: DEMO_TOKEN_ASSET_NAME, quantity: 1_000_000n }] } : {}),
  }));
}

export interface LocalHotWallet {
  signer: TransactionSigner;
  address: string;
  keyHash: string;
}

export async function localHotWallet(keyFile: string, network: Network): Promise<LocalHotWallet> {
  const signer = new FileTransactionSigner(keyFile);
  return { signer, ...(await signerHotWallet(signer, network)) };
}

/** Whether the engine has ever seen an output of the hot wallet (if not, the demo funds it). */
export async function hotWalletSeen(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query('SELECT 1 FROM incoming_payments WHERE reference_type = $1 LIMIT 1', [HOT_WALLET_REFERENCE_TYPE]);
  return rows.length > 0;
}

export interface LocalPayoutsOptions {
  pool: pg.Pool;
  endpoints: OgmiosEndpoints;
  hotWallet: LocalHotWallet;
  network: Network;
  confirmations: number;
  validitySeconds: number;
  resubmitAfterSeconds: number;
  logger: Logger;
  metrics: Metrics;
  intervalMs?: number;
}

export interface LocalPayouts {
  /** Runs the processor now (after a wait for a run in progress). */
  runNow(): Promise<void>;
  stop(): Promise<void>;
}

export async function startLocalPayouts(options: LocalPayoutsOptions): Promise<LocalPayouts> {
  const ledger = new LedgerStateClient({ ...options.endpoints, logger: options.logger });
  const { processor } = await assemblePayoutProcessor({ ...options, ledger, signer: options.hotWallet.signer });
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  // One run at a time: a run that is late is followed by the next, never overlapped.
  const runNow = (): Promise<void> => {
    running = running.then(async () => {
      if (stopped) return;
      await processor.runOnce().catch((error: unknown) => {
        options.logger.warn(LocalStackLogEvent.payoutProcessorFailed, { error: describeError(error) });
      });
    });
    return running;
  };
  const timer = setInterval(() => void runNow(), options.intervalMs ?? LOCAL_PAYOUT_INTERVAL_MS);
  timer.unref();
  return {
    runNow,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      await ledger.close();
    },
  };
}
