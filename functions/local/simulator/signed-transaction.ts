/**
 * A submitted signed transaction, decoded as far as the simulator's ledger rules need: `[body, witnesses, isValid,
 * auxiliaryData]` (Conway; `[body, witnesses, auxiliaryData]` before Alonzo) whose body map holds 0 inputs, 1 outputs
 * (legacy `[address, value, datumHash?]` arrays and post-Alonzo maps, multi-asset values), 2 fee, 3 ttl, 8 validity
 * start, 14 required signers and 15 network id, and whose witness set holds 0 vkey witnesses. The body's bytes are
 * taken exactly as sent: its blake2b-256 hash is the id, and what the witnesses sign. Body fields the simulator has
 * no rules for (certificates, withdrawals, minting, collateral, governance…) are listed, so that the transaction
 * can be refused instead of half-validated.
 */
import type { AssetQuantity } from '../../domain/chain.js';
import { encodeBase58 } from '../../domain/address/base58.js';
import { encodeBech32 } from '../../domain/address/bech32.js';
import { blake2b } from './blake2b.js';
import { decodeCbor, type CborItem } from './cbor-decoder.js';
import { TransactionCborError } from './transaction-cbor.js';

export interface InputReference {
  readonly txId: string;
  readonly index: number;
}

export interface DecodedOutput {
  /** The address as Ogmios writes it: bech32 (Shelley) or base58 (Byron). */
  readonly address: string;
  readonly addressBytes: Uint8Array;
  readonly lovelace: bigint;
  readonly assets: readonly AssetQuantity[];
  readonly datumHash?: string;
  /** An inline datum's CBOR, hex. */
  readonly datum?: string;
  /** Bytes of the output as sent (the minimum deposit depends on them). */
  readonly size: number;
}

export interface VkeyWitness {
  readonly key: Uint8Array;
  readonly signature: Uint8Array;
}

export interface SignedTransaction {
  readonly id: string;
  /** blake2b-256 of the body bytes as sent: the id's bytes, and what every vkey witness signs. */
  readonly bodyHash: Uint8Array;
  /** Bytes of the whole transaction as sent. */
  readonly size: number;
  readonly inputs: readonly InputReference[];
  readonly outputs: readonly DecodedOutput[];
  readonly fee: bigint;
  /** The ttl (body key 3): valid in slots before it. Ogmios' `validityInterval.invalidAfter`. */
  readonly invalidAfter: bigint | undefined;
  /** Body key 8: valid from this slot on. Ogmios' `validityInterval.invalidBefore`. */
  readonly invalidBefore: bigint | undefined;
  /** Key hashes (hex) of body key 14. */
  readonly requiredSigners: readonly string[];
  readonly networkId: number | undefined;
  readonly witnesses: readonly VkeyWitness[];
  readonly isValid: boolean;
  /** What the simulator has no rules for (e.g. "body field 9 (mint)"); empty for a plain payment. */
  readonly unsupported: readonly string[];
}

const BODY_FIELD_NAMES: ReadonlyMap<number, string> = new Map([
  [4, 'certificates'],
  [5, 'withdrawals'],
  [6, 'protocol parameter updates'],
  [9, 'mint'],
  [11, 'script integrity hash'],
  [13, 'collateral inputs'],
  [16, 'collateral return'],
  [17, 'total collateral'],
  [18, 'reference inputs'],
  [19, 'votes'],
  [20, 'proposals'],
  [21, 'treasury value'],
  [22, 'treasury donation'],
]);

/** Body keys read here. Key 7 (auxiliary data hash) is accepted and not checked. */
const READ_BODY_KEYS = new Set([0, 1, 2, 3, 7, 8, 14, 15]);

/** Decodes a serialised transaction; throws TransactionCborError when it is not one. */
export function decodeSignedTransaction(bytes: Uint8Array): SignedTransaction {
  const root = decodeCbor(bytes);
  const parts = expectArray(root, 'a transaction');
  if (parts.length < 3 || parts.length > 4) throw new TransactionCborError(`a transaction array has 3 or 4 items, found ${parts.length}`);
  const [bodyItem, witnessItem] = parts as [CborItem, CborItem];
  const isValidItem = parts.length === 4 ? (parts[2] as CborItem) : undefined;
  if (isValidItem !== undefined && (isValidItem.kind !== 'simple' || (isValidItem.value !== 20 && isValidItem.value !== 21))) {
    throw new TransactionCborError('the third item of a transaction is its validity flag, true or false');
  }
  const body = expectMap(bodyItem, 'a transaction body');
  const bodyHash = blake2b(bytes.subarray(bodyItem.start, bodyItem.end), 32);
  const fields = new Map<number, CborItem>();
  const unsupported: string[] = [];
  for (const [keyItem, value] of body) {
    const key = Number(expectUint(keyItem, 'a body key'));
    if (fields.has(key)) throw new TransactionCborError(`body key ${key} appears twice`);
    fields.set(key, value);
    if (!READ_BODY_KEYS.has(key)) unsupported.push(`body field ${key} (${BODY_FIELD_NAMES.get(key) ?? 'unknown'})`);
  }
  const inputsItem = fields.get(0);
  const outputsItem = fields.get(1);
  const feeItem = fields.get(2);
  if (inputsItem === undefined || outputsItem === undefined || feeItem === undefined) {
    throw new TransactionCborError('a transaction body needs inputs (0), outputs (1) and a fee (2)');
  }
  const outputs = expectArray(outputsItem, 'outputs').map((output) => decodeOutput(output, unsupported));
  const inputs = setItems(inputsItem, 'inputs').map(decodeInput);
  // Conway decodes sets strictly: an input listed twice is not a transaction.
  if (new Set(inputs.map((input) => `${input.txId}#${input.index}`)).size !== inputs.length) {
    throw new TransactionCborError('an input appears twice in the input set');
  }
  const networkItem = fields.get(15);
  return {
    id: Buffer.from(bodyHash).toString('hex'),
    bodyHash,
    size: bytes.length,
    inputs,
    outputs,
    fee: expectUint(feeItem, 'the fee'),
    invalidAfter: optionalUint(fields.get(3), 'the ttl'),
    invalidBefore: optionalUint(fields.get(8), 'the validity start'),
    requiredSigners: fields.has(14)
      ? setItems(fields.get(14) as CborItem, 'required signers').map((item) => hex(expectBytes(item, 'a required signer', 28)))
      : [],
    networkId: networkItem === undefined ? undefined : Number(expectUint(networkItem, 'the network id')),
    witnesses: decodeWitnesses(witnessItem),
    isValid: isValidItem === undefined || (isValidItem.kind === 'simple' && isValidItem.value === 21),
    unsupported,
  };
}

/** The address of raw address bytes as Ogmios writes it. */
export function addressText(bytes: Uint8Array): string {
  const type = (bytes[0] ?? 0) >>> 4;
  if (type === 8) return encodeBase58(bytes);
  if (type > 7) throw new TransactionCborError(`an output address has header type ${type}`);
  return encodeBech32(((bytes[0] as number) & 0x0f) === 1 ? 'addr' : 'addr_test', bytes);
}

function decodeInput(item: CborItem): InputReference {
  const pair = expectArray(item, 'an input');
  if (pair.length !== 2) throw new TransactionCborError('an input is [transaction id, index]');
  const index = expectUint(pair[1] as CborItem, 'an input index');
  if (index > 0xffffn) throw new TransactionCborError('an input index is at most 65535');
  return { txId: hex(expectBytes(pair[0] as CborItem, 'an input transaction id', 32)), index: Number(index) };
}

function decodeOutput(item: CborItem, unsupported: string[]): DecodedOutput {
  let addressItem: CborItem | undefined;
  let valueItem: CborItem | undefined;
  let datumHash: string | undefined;
  let datum: string | undefined;
  if (item.kind === 'array') {
    if (item.items.length < 2 || item.items.length > 3) throw new TransactionCborError('a legacy output is [address, value, datum hash?]');
    [addressItem, valueItem] = item.items;
    if (item.items[2] !== undefined) datumHash = hex(expectBytes(item.items[2], 'a datum hash', 32));
  } else if (item.kind === 'map') {
    for (const [keyItem, value] of item.entries) {
      const key = expectUint(keyItem, 'an output key');
      if (key === 0n) addressItem = value;
      else if (key === 1n) valueItem = value;
      else if (key === 2n) ({ datumHash, datum } = decodeDatumOption(value));
      else if (key === 3n) unsupported.push('an output reference script');
      else throw new TransactionCborError(`output key ${key} is unknown`);
    }
  } else {
    throw new TransactionCborError('an output is an array or a map');
  }
  if (addressItem === undefined || valueItem === undefined) throw new TransactionCborError('an output needs an address and a value');
  const addressBytes = expectBytes(addressItem, 'an output address');
  if (addressBytes.length === 0) throw new TransactionCborError('an output address is empty');
  const { lovelace, assets } = decodeValue(valueItem);
  return {
    address: addressText(addressBytes),
    addressBytes,
    lovelace,
    assets,
    ...(datumHash === undefined ? {} : { datumHash }),
    ...(datum === undefined ? {} : { datum }),
    size: item.end - item.start,
  };
}

function decodeDatumOption(item: CborItem): { datumHash?: string; datum?: string } {
  const option = expectArray(item, 'a datum option');
  const [kind, content] = option;
  if (option.length !== 2 || kind === undefined || content === undefined) throw new TransactionCborError('a datum option is [kind, datum]');
  if (expectUint(kind, 'a datum option kind') === 0n) return { datumHash: hex(expectBytes(content, 'a datum hash', 32)) };
  if (content.kind !== 'tag' || content.tag !== 24n) throw new TransactionCborError('an inline datum is tagged 24');
  return { datum: hex(expectBytes(content.item, 'an inline datum')) };
}

function decodeValue(item: CborItem): { lovelace: bigint; assets: AssetQuantity[] } {
  if (item.kind === 'uint') return { lovelace: item.value, assets: [] };
  const pair = expectArray(item, 'a value');
  if (pair.length !== 2) throw new TransactionCborError('a multi-asset value is [lovelace, assets]');
  const assets: AssetQuantity[] = [];
  for (const [policyItem, namesItem] of expectMap(pair[1] as CborItem, 'a multi-asset')) {
    const policyId = hex(expectBytes(policyItem, 'a policy id', 28));
    for (const [nameItem, quantityItem] of expectMap(namesItem, 'the assets of a policy')) {
      const assetName = hex(expectBytes(nameItem, 'an asset name'));
      if (assetName.length > 64) throw new TransactionCborError('an asset name is at most 32 bytes');
      const quantity = expectUint(quantityItem, 'an asset quantity');
      if (quantity === 0n) throw new TransactionCborError('an output carries no zero token quantities');
      assets.push({ policyId, assetName, quantity });
    }
  }
  return { lovelace: expectUint(pair[0] as CborItem, 'lovelace'), assets };
}

function decodeWitnesses(item: CborItem): VkeyWitness[] {
  const witnesses: VkeyWitness[] = [];
  for (const [keyItem, value] of expectMap(item, 'a witness set')) {
    if (expectUint(keyItem, 'a witness set key') !== 0n) continue; // scripts, bootstrap witnesses, redeemers…: no rules here
    for (const witness of setItems(value, 'vkey witnesses')) {
      const pair = expectArray(witness, 'a vkey witness');
      if (pair.length !== 2) throw new TransactionCborError('a vkey witness is [key, signature]');
      witnesses.push({
        key: expectBytes(pair[0] as CborItem, 'a verification key', 32),
        signature: expectBytes(pair[1] as CborItem, 'a signature', 64),
      });
    }
  }
  return witnesses;
}

/** A set: an array, tagged 258 or not (Conway writes the tag). */
function setItems(item: CborItem, what: string): readonly CborItem[] {
  return expectArray(item.kind === 'tag' && item.tag === 258n ? item.item : item, what);
}

function expectArray(item: CborItem, what: string): readonly CborItem[] {
  if (item.kind !== 'array') throw new TransactionCborError(`${what} is not a CBOR array`);
  return item.items;
}

function expectMap(item: CborItem, what: string): readonly (readonly [CborItem, CborItem])[] {
  if (item.kind !== 'map') throw new TransactionCborError(`${what} is not a CBOR map`);
  return item.entries;
}

function expectUint(item: CborItem, what: string): bigint {
  if (item.kind !== 'uint') throw new TransactionCborError(`${what} is not an unsigned integer`);
  if (item.value >= 2n ** 64n) throw new TransactionCborError(`${what} exceeds 2^64 - 1`);
  return item.value;
}

function optionalUint(item: CborItem | undefined, what: string): bigint | undefined {
  return item === undefined ? undefined : expectUint(item, what);
}

function expectBytes(item: CborItem, what: string, length?: number): Uint8Array {
  if (item.kind !== 'bytes') throw new TransactionCborError(`${what} is not a CBOR byte string`);
  if (length !== undefined && item.value.length !== length)
    throw new TransactionCborError(`${what} is ${length} bytes, found ${item.value.length}`);
  return item.value;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
