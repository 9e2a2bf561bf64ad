/** Decodes `queryLedgerState/utxo` results: amounts as bigint, never rounded. */
import type { AssetQuantity, Hash } from '../../domain/chain.js';
import type { JsonValue } from '../../domain/ogmios/lossless-json.js';
import { OgmiosProtocolError } from './errors.js';
import { isObject } from './json-rpc.js';
import { decodeHash, decodeUnsigned } from './wire-format.js';

export interface Utxo {
  txId: Hash;
  index: number;
  address: string;
  lovelace: bigint;
  assets: AssetQuantity[];
  datumHash?: string;
  /** Inline datum, CBOR hex. */
  datum?: string;
}

const POLICY_ID = /^[0-9a-f]{56}$/;
const ASSET_NAME = /^(?:[0-9a-f]{2}){0,32}$/;

export function decodeUtxoList(result: JsonValue): Utxo[] {
  if (!Array.isArray(result)) throw new OgmiosProtocolError('queryLedgerState/utxo result is not an array');
  return result.map((entry, position) => decodeUtxo(entry, `utxo ${position}`));
}

function decodeUtxo(value: JsonValue, what: string): Utxo {
  if (!isObject(value)) throw new OgmiosProtocolError(`${what} is not an object`);
  const transaction = value.transaction;
  if (!isObject(transaction)) throw new OgmiosProtocolError(`${what}.transaction is not an object`);
  const index = decodeUnsigned(value.index, `${what}.index`);
  if (index > BigInt(Number.MAX_SAFE_INTEGER)) throw new OgmiosProtocolError(`${what}.index is too large`);
  const address = value.address;
  if (typeof address !== 'string' || address === '') throw new OgmiosProtocolError(`${what}.address is not a non-empty string`);
  const utxo: Utxo = {
    txId: decodeHash(transaction.id, `${what}.transaction.id`),
    index: Number(index),
    address,
    ...decodeValue(value.value, `${what}.value`),
  };
  if (typeof value.datumHash === 'string') utxo.datumHash = value.datumHash;
  if (typeof value.datum === 'string') utxo.datum = value.datum;
  return utxo;
}

function decodeValue(value: JsonValue | undefined, what: string): { lovelace: bigint; assets: AssetQuantity[] } {
  if (!isObject(value)) throw new OgmiosProtocolError(`${what} is not an object`);
  const ada = value.ada;
  if (!isObject(ada)) throw new OgmiosProtocolError(`${what}.ada is not an object`);
  const lovelace = decodeUnsigned(ada.lovelace, `${what}.ada.lovelace`);
  const assets: AssetQuantity[] = [];
  for (const policyId of Object.keys(value)) {
    if (policyId === 'ada') continue;
    const tokens = value[policyId];
    if (!POLICY_ID.test(policyId) || !isObject(tokens)) throw new OgmiosProtocolError(`${what} has an invalid policy entry`);
    for (const assetName of Object.keys(tokens)) {
      if (!ASSET_NAME.test(assetName)) throw new OgmiosProtocolError(`${what}.${policyId} has an invalid asset name`);
      assets.push({ policyId, assetName, quantity: decodeUnsigned(tokens[assetName], `${what}.${policyId}.${assetName}`) });
    }
  }
  return { lovelace, assets };
}
