/**
 * The hot-wallet balance, independent of the Lambda runtime: the UTxOs of the configured addresses summed
 * (lovelace as bigint), emitted as the `hot_wallet_balance_ada` gauge and logged.
 */
import { sumHotWallet, type HotWalletBalance, type HotWalletOutput } from '../domain/hot-wallet.js';
import { adaForDisplay, LogEvent, Metric } from '../domain/observability.js';
import type { Logger, Metrics } from '../domain/ports.js';

export interface HotWalletCoreOptions {
  addresses: readonly string[];
  utxoAt: (addresses: readonly string[]) => Promise<HotWalletOutput[]>;
  logger: Logger;
  metrics: Metrics;
}

export interface HotWalletReport {
  addresses: number;
  utxos: number;
  lovelace: string;
  ada: number;
  token_kinds: number;
}

export async function measureHotWallet({ addresses, utxoAt, logger, metrics }: HotWalletCoreOptions): Promise<HotWalletReport> {
  if (addresses.length === 0) throw new Error('HOT_WALLET_ADDRESSES is empty: no hot wallet to measure');
  const balance: HotWalletBalance = sumHotWallet(await utxoAt(addresses));
  const report = {
    addresses: addresses.length,
    utxos: balance.utxoCount,
    lovelace: balance.lovelace.toString(),
    ada: adaForDisplay(balance.lovelace),
    token_kinds: balance.tokenKinds,
  };
  metrics.gauge(Metric.hotWalletBalanceAda, report.ada);
  logger.info(LogEvent.hotWalletBalance, { ...report });
  return report;
}
