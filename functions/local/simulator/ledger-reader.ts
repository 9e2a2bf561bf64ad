/** Read access to the simulated ledger for tests and tools, with values decoded to bigint amounts. */
import type { AssetQuantity } from '../../domain/chain.js';
import { isLosslessJsonObject, parseLosslessJson } from '../../domain/ogmios/lossless-json.js';
import type { UtxoEntry } from './block-effects.js';
import type { OutputReference } from './block-draft.js';
import type { LedgerView } from './ledger.js';

export interface SimulatorUtxo {
  readonly txId: string;
  readonly index: number;
  readonly address: string;
  readonly lovelace: bigint;
  readonly assets: readonly AssetQuantity[];
}

export interface SimulatorBalance {
  readonly lovelace: bigint;
  /** Summed per token, ordered by policy id then asset name. */
  readonly assets: readonly AssetQuantity[];
}

export interface SimulatorLedgerView {
  /** Number of unspent outputs. */
  readonly size: number;
  utxo(reference: OutputReference): SimulatorUtxo | undefined;
  utxosAt(address: string): SimulatorUtxo[];
  balanceOf(address: string): SimulatorBalance;
}

export class LedgerReader implements SimulatorLedgerView {
  constructor(private readonly view: LedgerView) {}

  get size(): number {
    return this.view.all().length;
  }

  utxo(reference: OutputReference): SimulatorUtxo | undefined {
    const entry = this.view.get(reference.txId, reference.index);
    return entry === undefined ? undefined : decodeUtxo(entry);
  }

  utxosAt(address: string): SimulatorUtxo[] {
    return this.view.atAddresses([address]).map(decodeUtxo);
  }

  balanceOf(address: string): SimulatorBalance {
    let lovelace = 0n;
    const tokens = new Map<string, AssetQuantity>();
    for (const utxo of this.utxosAt(address)) {
      lovelace += utxo.lovelace;
      for (const asset of utxo.assets) {
        const key = `${asset.policyId}.${asset.assetName}`;
        tokens.set(key, { ...asset, quantity: (tokens.get(key)?.quantity ?? 0n) + asset.quantity });
      }
    }
    const assets = [...tokens.entries()].sort(([left], [right]) => (left < right ? -1 : 1)).map(([, asset]) => asset);
    return { lovelace, assets };
  }
}

export function decodeUtxo(entry: UtxoEntry): SimulatorUtxo {
  const output = parseLosslessJson(entry.outputJson);
  const value = isLosslessJsonObject(output) ? output.value : undefined;
  if (!isLosslessJsonObject(value)) throw new Error(`output ${entry.txId}#${entry.index} has no value`);
  let lovelace = 0n;
  const assets: AssetQuantity[] = [];
  for (const [policyId, tokens] of Object.entries(value)) {
    if (!isLosslessJsonObject(tokens)) continue;
    if (policyId === 'ada') {
      lovelace = toBigInt(tokens.lovelace);
      continue;
    }
    for (const [assetName, quantity] of Object.entries(tokens)) assets.push({ policyId, assetName, quantity: toBigInt(quantity) });
  }
  return { txId: entry.txId, index: entry.index, address: entry.address, lovelace, assets };
}

function toBigInt(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw new TypeError(`expected an integer amount, found ${String(value)}`);
}
