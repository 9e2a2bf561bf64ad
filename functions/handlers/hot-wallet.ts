/**
 * Hot-wallet Lambda, invoked every minute by EventBridge Scheduler: the balance of HOT_WALLET_ADDRESSES through
 * Ogmios as the `hot_wallet_balance_ada` gauge (HotWalletLow / HotWalletCritical). The work is in hot-wallet-core.ts.
 */
import { readHotWalletSettings } from '../config/lambda-settings.js';
import { measureHotWallet, type HotWalletReport } from './hot-wallet-core.js';
import { lambdaHandler, logger, metrics } from './lambda-handler.js';
import { lambdaLedgerClient } from './lambda-ledger-client.js';

// A bad address is a clear error at cold start, before any query.
const settings = readHotWalletSettings();

/** Well within the function's timeout and the one-minute schedule. */
const OGMIOS_TIMEOUT_MS = 20_000;

const ledger = lambdaLedgerClient(settings.ogmios, OGMIOS_TIMEOUT_MS);

export const handler = lambdaHandler<unknown, HotWalletReport>(async () => {
  if (!ledger) throw new Error('OGMIOS_URL is not set: the hot-wallet balance is read through Ogmios');
  return measureHotWallet({ addresses: settings.addresses, utxoAt: (wanted) => ledger.utxoByAddresses(wanted), logger, metrics });
});
