/**
 * The hot wallet: the addresses the business pays out from. Its balance is watched (every minute) so that the
 * HotWalletLow / HotWalletCritical alarms fire before withdrawals start failing. Only ADA counts; tokens held
 * there are reported but carry no balance of their own.
 */
import { validateAddress } from './address.js';
import type { AssetQuantity, Hash } from './chain.js';
import type { Network } from './network.js';
import type { Payment } from './ports.js';

/**
 * The hot wallet's addresses are registered like payment addresses under this reference type, with no user: the
 * engine then keeps their outputs and who spent them (the payouts' coins), and credits nobody.
 */
export const HOT_WALLET_REFERENCE_TYPE = 'hot_wallet';
export const HOT_WALLET_REFERENCE_ID = 'payout-signer';

/**
 * The hot wallet's own change: an output to a hot-wallet address in a transaction that spends at least one
 * hot-wallet output (a payout's change, or any other move of the wallet's own coins). It stays a hot-wallet coin
 * (recorded, spent, confirmed and rolled back like any: coin selection, reconciliation and the hot_wallet_* gauges
 * see it) but it is no payment received: it writes no payment.* business event, ever (nor their reversals on a
 * rollback), and credits nobody. A deposit into the hot wallet from outside (funding) is a payment like any other.
 *
 * `recorded` are the payments a step recorded, `hotWalletSpenders` the transactions of the step that spent a
 * recorded hot-wallet output (the store's hot-wallet spends, outputs recorded in the same step included).
 */
export function hotWalletChange(recorded: readonly Payment[], hotWalletSpenders: ReadonlySet<Hash>): Payment[] {
  if (hotWalletSpenders.size === 0) return [];
  return recorded.filter((payment) => payment.referenceType === HOT_WALLET_REFERENCE_TYPE && hotWalletSpenders.has(payment.txId));
}

export interface HotWalletOutput {
  lovelace: bigint;
  assets: readonly AssetQuantity[];
}

export interface HotWalletBalance {
  lovelace: bigint;
  utxoCount: number;
  /** Distinct tokens held (ignored by the balance). */
  tokenKinds: number;
}

export function sumHotWallet(outputs: readonly HotWalletOutput[]): HotWalletBalance {
  let lovelace = 0n;
  const tokens = new Set<string>();
  for (const output of outputs) {
    lovelace += output.lovelace;
    for (const asset of output.assets) tokens.add(`${asset.policyId}.${asset.assetName}`);
  }
  return { lovelace, utxoCount: outputs.length, tokenKinds: tokens.size };
}

/**
 * HOT_WALLET_ADDRESSES: comma-separated, each a valid payment address of `network`, returned in canonical form
 * (what Ogmios answers with). An empty setting is no hot wallet; one bad address refuses the whole setting.
 */
export function parseHotWalletAddresses(setting: string | undefined, network: Network): string[] {
  const entries = (setting ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const addresses = entries.map((entry, position) => {
    try {
      return validateAddress(entry, network).address;
    } catch (error) {
      throw new Error(`HOT_WALLET_ADDRESSES entry ${position + 1}: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  return [...new Set(addresses)];
}
