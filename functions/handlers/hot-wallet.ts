/**
 * Hot-wallet Lambda, invoked every minute by EventBridge Scheduler: the balance of HOT_WALLET_ADDRESSES through
 * Ogmios as the `hot_wallet_balance_ada` gauge (HotWalletLow / HotWalletCritical). The work is in hot-wallet-core.ts.
 */
import type { Context } from 'aws-lambda';
import { LedgerStateClient } from '../adapters/ogmios/ledger-state-client.js';
import { logger, metrics } from '../adapters/powertools/instances.js';
import { parseHotWalletAddresses } from '../domain/hot-wallet.js';
import { parseNetwork } from '../domain/network.js';
import { measureHotWallet, type HotWalletReport } from './hot-wallet-core.js';
import { once } from './lazy.js';
import { resolveOgmiosEndpoints } from './runtime-config.js';

// A bad address is a clear error at cold start, before any query.
const addresses = parseHotWalletAddresses(process.env.HOT_WALLET_ADDRESSES, parseNetwork(process.env.NETWORK));

/** Well within the function's timeout and the one-minute schedule. */
const OGMIOS_TIMEOUT_MS = 20_000;

// Kept open between invocations (one a minute, under Ogmios' 90 s idle limit), reopened on demand when closed.
const ledger = once(async () => {
  const endpoints = await resolveOgmiosEndpoints(process.env);
  if (!endpoints) throw new Error('OGMIOS_URL is not set: the hot-wallet balance is read through Ogmios');
  return new LedgerStateClient({ ...endpoints, logger, connectTimeoutMs: OGMIOS_TIMEOUT_MS, requestTimeoutMs: OGMIOS_TIMEOUT_MS });
});

export async function handler(_event: unknown, context: Context): Promise<HotWalletReport> {
  logger.addContext(context);
  metrics.captureColdStart(context.functionName);
  try {
    const client = await ledger();
    return await measureHotWallet({ addresses, utxoAt: (wanted) => client.utxoByAddresses(wanted), logger, metrics });
  } finally {
    metrics.publish();
  }
}
