/**
 * Decodes Ogmios v6 chain-sync `nextBlock` responses into the engine's chain events (see ../chain.ts).
 *
 * Only what payments need is read: block identity and position, and per transaction its id, which inputs it
 * consumes and which outputs it creates. Everything else (metadata, scripts, witnesses, governance) is skipped
 * without being looked at, so odd keys inside it cannot matter. What is read is checked strictly: a message
 * that does not have the expected shape fails with an `OgmiosDecodeError` saying where and what, rather than
 * producing a half-decoded block or a TypeError.
 *
 * Accepted input: the message text (parsed here with the bigint-preserving parser), or an already parsed value.
 * A value parsed with plain `JSON.parse` is accepted as long as every integer in it is still exact; an integer
 * that was rounded (beyond 2^53 − 1) is rejected rather than silently accepted.
 */
import type {
  ChainBlock,
  ChainTransaction,
  Hash,
  OutputReference,
  Point,
  RollBackward,
  RollForward,
  Tip,
  TransactionOutput,
  AssetQuantity,
} from '../chain.js';
import { JsonSyntaxError, parseLosslessJson } from './lossless-json.js';

/** A `nextBlock` response as the engine consumes it: one block forward, or a rollback. */
export type NextBlockEvent = RollForward | RollBackward;

export class OgmiosDecodeError extends Error {
  override readonly name = 'OgmiosDecodeError';
  /** Where the problem is, outermost first, e.g. ['block 1b7c5b05…', 'transaction 3 output 2']. */
  readonly location: string[];
  constructor(
    /** What is wrong, e.g. "value.ada.lovelace is not an integer (found string \"12\")". */
    readonly problem: string,
    location: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(formatDecodeMessage(location, problem), options);
    this.location = [...location];
  }

  /** Prefixes a location; used while the error propagates out of nested decoders. */
  within(segment: string): OgmiosDecodeError {
    this.location.unshift(segment);
    this.message = formatDecodeMessage(this.location, this.problem);
    return this;
  }
}

function formatDecodeMessage(location: readonly string[], problem: string): string {
  return location.length === 0 ? problem : `${location.join(': ')}: ${problem}`;
}

/**
 * Decodes a `nextBlock` JSON-RPC response: the raw message (text, or UTF-8 bytes as a WebSocket delivers them),
 * or the parsed message object. Throws `OgmiosDecodeError` for malformed JSON, JSON-RPC errors, other methods
 * and unexpected shapes.
 */
export function decodeNextBlockResponse(message: unknown): NextBlockEvent {
  const envelope = isRawMessage(message) ? parseMessageText(message, 'nextBlock response') : message;
  try {
    return decodeEnvelope(envelope);
  } catch (error) {
    throw inContext(error, 'nextBlock response');
  }
}

/**
 * Decodes one block object (the `result.block` of a RollForward; what the fixture files hold), given as JSON
 * text or as a parsed value.
 */
export function decodeBlock(block: unknown): ChainBlock {
  return decodeBlockObject(isRawMessage(block) ? parseMessageText(block, 'block') : block);
}

function isRawMessage(value: unknown): value is string | Uint8Array {
  return typeof value === 'string' || value instanceof Uint8Array;
}

/** Fatal, so that bytes that are not UTF-8 are reported rather than silently replaced. */
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function parseMessageText(raw: string | Uint8Array, what: string): unknown {
  let text: string;
  if (typeof raw === 'string') {
    text = raw;
  } else {
    try {
      text = utf8Decoder.decode(raw);
    } catch (error) {
      throw new OgmiosDecodeError(`${what} is not valid UTF-8`, [], { cause: error });
    }
  }
  try {
    return parseLosslessJson(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) {
      throw new OgmiosDecodeError(`${what} is not valid JSON: ${error.message}`, [], { cause: error });
    }
    throw error;
  }
}

function decodeEnvelope(envelope: unknown): NextBlockEvent {
  const message = expectObject(envelope, 'the message');
  if (message.error !== undefined) {
    const rpcError = message.error;
    const code =
      isObject(rpcError) && typeof rpcError.code === 'number'
        ? rpcError.code
        : describeValue(isObject(rpcError) ? rpcError.code : rpcError);
    const text = isObject(rpcError) && typeof rpcError.message === 'string' ? quote(rpcError.message, 200) : 'without a message';
    throw new OgmiosDecodeError(`the server answered with JSON-RPC error ${code} ${text}`);
  }
  // `method` is absent when Ogmios runs with --strict-rpc; when present it must be ours.
  if (message.method !== undefined && message.method !== 'nextBlock') {
    throw new OgmiosDecodeError(`method is ${describeValue(message.method)}, expected "nextBlock"`);
  }
  const result = expectObject(message.result, 'result');
  switch (result.direction) {
    case 'forward': {
      const block = decodeBlockObject(result.block);
      return { type: 'rollForward', blocks: [block], tip: decodeTip(result.tip, 'result.tip') };
    }
    case 'backward':
      return {
        type: 'rollBackward',
        point: decodePoint(result.point, 'result.point'),
        tip: result.tip === 'origin' ? 'origin' : decodeTip(result.tip, 'result.tip'),
      };
    default:
      throw new OgmiosDecodeError(`result.direction is ${describeValue(result.direction)}, expected "forward" or "backward"`);
  }
}

function decodeBlockObject(value: unknown): ChainBlock {
  const block = expectObject(value, 'the block');
  // The id comes first so that every later error can name the block.
  const hash = expectHash(block.id, 'block id');
  try {
    const type = block.type;
    if (typeof type !== 'string') throw new OgmiosDecodeError(`type is ${describeValue(type)}, expected a string`);
    const height = expectUnsignedBigInt(block.height, 'height');
    const ancestor = block.ancestor === 'genesis' ? 'genesis' : expectHash(block.ancestor, 'ancestor');
    if (type === 'ebb') {
      // Epoch boundary blocks have no slot and carry no transactions.
      return { hash, height, ancestor, transactions: [] };
    }
    // `bft`, `praos` and any later block type (a v7 `dijkstra` era is still `praos`) share this shape.
    const slot = expectUnsignedBigInt(block.slot, 'slot');
    const transactions = block.transactions === undefined ? [] : decodeTransactions(block.transactions);
    return { hash, height, slot, ancestor, transactions };
  } catch (error) {
    throw inContext(error, blockLabel(hash));
  }
}

function decodeTransactions(value: unknown): ChainTransaction[] {
  const list = expectArray(value, 'transactions');
  const transactions: ChainTransaction[] = new Array<ChainTransaction>(list.length);
  for (let index = 0; index < list.length; index++) {
    try {
      transactions[index] = decodeTransaction(list[index]);
    } catch (error) {
      throw inContext(error, `transaction ${index}`, ' ');
    }
  }
  return transactions;
}

function decodeTransaction(value: unknown): ChainTransaction {
  const transaction = expectObject(value, 'the transaction');
  const id = expectHash(transaction.id, 'id');
  const spends = transaction.spends;
  if (spends !== 'inputs' && spends !== 'collaterals') {
    throw new OgmiosDecodeError(`spends is ${describeValue(spends)}, expected "inputs" or "collaterals"`);
  }
  const inputs = decodeOutputReferences(transaction.inputs, 'input');
  // Optional in Ogmios: omitted when empty (and absent before Alonzo).
  const collaterals = transaction.collaterals === undefined ? [] : decodeOutputReferences(transaction.collaterals, 'collateral');
  // Required in v6 but omitted when empty from v7 on.
  const outputs = transaction.outputs === undefined ? [] : decodeOutputs(transaction.outputs);
  const decoded: ChainTransaction = { id, spends, inputs, collaterals, outputs };
  if (transaction.collateralReturn !== undefined) {
    try {
      decoded.collateralReturn = decodeOutput(transaction.collateralReturn);
    } catch (error) {
      throw inContext(error, 'collateralReturn', ' ');
    }
  }
  return decoded;
}

function decodeOutputReferences(value: unknown, kind: 'input' | 'collateral'): OutputReference[] {
  const list = expectArray(value, `${kind}s`);
  const references: OutputReference[] = new Array<OutputReference>(list.length);
  for (let index = 0; index < list.length; index++) {
    const reference = list[index];
    try {
      const entry = expectObject(reference, 'the reference');
      const transaction = expectObject(entry.transaction, 'transaction');
      references[index] = { txId: expectHash(transaction.id, 'transaction.id'), index: expectOutputIndex(entry.index, 'index') };
    } catch (error) {
      throw inContext(error, `${kind} ${index}`, ' ');
    }
  }
  return references;
}

function decodeOutputs(value: unknown): TransactionOutput[] {
  const list = expectArray(value, 'outputs');
  const outputs: TransactionOutput[] = new Array<TransactionOutput>(list.length);
  for (let index = 0; index < list.length; index++) {
    try {
      outputs[index] = decodeOutput(list[index]);
    } catch (error) {
      throw inContext(error, `output ${index}`, ' ');
    }
  }
  return outputs;
}

function decodeOutput(value: unknown): TransactionOutput {
  const output = expectObject(value, 'the output');
  const address = output.address;
  if (typeof address !== 'string' || address.length === 0) {
    throw new OgmiosDecodeError(`address is ${describeValue(address)}, expected a non-empty string`);
  }
  const amounts = expectObject(output.value, 'value');
  const ada = expectObject(amounts.ada, 'value.ada');
  const lovelace = expectUnsignedBigInt(ada.lovelace, 'value.ada.lovelace');
  const assets: AssetQuantity[] = [];
  // Own keys only: the value map is data, never a place to look up inherited members.
  for (const policyId of Object.keys(amounts)) {
    if (policyId === 'ada') continue;
    if (policyId.length !== POLICY_ID_LENGTH || !isLowercaseHex(policyId)) {
      throw new OgmiosDecodeError(`value has key ${quote(policyId)}, expected "ada" or a policy id (56 lowercase hex digits)`);
    }
    const tokens = amounts[policyId];
    if (!isObject(tokens)) throw new OgmiosDecodeError(`value.${policyId} is ${describeValue(tokens)}, expected an object`);
    for (const assetName of Object.keys(tokens)) {
      if (assetName.length > MAX_ASSET_NAME_LENGTH || assetName.length % 2 !== 0 || !isLowercaseHex(assetName)) {
        throw new OgmiosDecodeError(
          `value.${policyId} has asset name ${quote(assetName)}, expected an even number (0 to 64) of lowercase hex digits`,
        );
      }
      const rawQuantity = tokens[assetName];
      // The field name is only built on failure: this loop runs for every token of every output.
      const quantity =
        toUnsignedBigInt(rawQuantity) ?? rejectUnsignedBigInt(rawQuantity, `value.${policyId}.${assetName === '' ? '""' : assetName}`);
      assets.push({ policyId, assetName, quantity });
    }
  }
  return { address: detachFromMessage(address), lovelace, assets };
}

function decodeTip(value: unknown, what: string): Tip {
  const tip = expectObject(value, what);
  return {
    slot: expectUnsignedBigInt(tip.slot, `${what}.slot`),
    hash: expectHash(tip.id, `${what}.id`),
    height: expectUnsignedBigInt(tip.height, `${what}.height`),
  };
}

function decodePoint(value: unknown, what: string): Point {
  if (value === 'origin') return 'origin';
  const point = expectObject(value, what);
  return { slot: expectUnsignedBigInt(point.slot, `${what}.slot`), hash: expectHash(point.id, `${what}.id`) };
}

// ---- Primitive checks. Each names the field and shows what was found instead. ----

const HASH_LENGTH = 64;
const POLICY_ID_LENGTH = 56;
const MAX_ASSET_NAME_LENGTH = 64;

/** Lowercase hex check; a plain loop is several times faster than a regular expression here (hot path). */
function isLowercaseHex(text: string): boolean {
  for (let position = 0; position < text.length; position++) {
    const code = text.charCodeAt(position);
    // '0'-'9' or 'a'-'f'
    if (!((code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x66))) return false;
  }
  return true;
}

/** An object read as a bag of fields. Reading a missing field yields undefined, which the checks reject. */
type Fields = { readonly [field: string]: unknown };

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function expectObject(value: unknown, what: string): Fields {
  if (isObject(value)) return value;
  throw new OgmiosDecodeError(`${what} is ${describeValue(value)}, expected an object`);
}

function expectArray(value: unknown, what: string): readonly unknown[] {
  if (Array.isArray(value)) return value;
  throw new OgmiosDecodeError(`${what} is ${describeValue(value)}, expected an array`);
}

function expectHash(value: unknown, what: string): Hash {
  if (typeof value === 'string' && value.length === HASH_LENGTH && isLowercaseHex(value)) return detachFromMessage(value);
  throw new OgmiosDecodeError(`${what} is ${describeValue(value)}, expected 64 lowercase hex digits`);
}

/** Integers of any size as bigint. A JS number must be a safe integer: a bigger one was rounded in parsing. */
function expectUnsignedBigInt(value: unknown, what: string): bigint {
  return toUnsignedBigInt(value) ?? rejectUnsignedBigInt(value, what);
}

function toUnsignedBigInt(value: unknown): bigint | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : undefined;
  if (typeof value === 'bigint') return value >= 0n ? value : undefined;
  return undefined;
}

/** Throws the error explaining why `value` is not a non-negative integer. */
function rejectUnsignedBigInt(value: unknown, what: string): never {
  if (value === undefined) throw new OgmiosDecodeError(`${what} is missing, expected an integer`);
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) {
    throw new OgmiosDecodeError(
      `${what} is ${value}, beyond 2^53 - 1 as a JS number, so its exact value was lost in parsing (parse with parseLosslessJson)`,
    );
  }
  if ((typeof value === 'number' && Number.isInteger(value)) || typeof value === 'bigint') {
    throw new OgmiosDecodeError(`${what} is negative (found ${describeValue(value)})`);
  }
  throw new OgmiosDecodeError(`${what} is not an integer (found ${describeValue(value)})`);
}

function expectOutputIndex(value: unknown, what: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'bigint' && value >= 0n) {
    throw new OgmiosDecodeError(`${what} is ${value}, too large for an output index`);
  }
  if (value === undefined) throw new OgmiosDecodeError(`${what} is missing, expected an integer`);
  throw new OgmiosDecodeError(`${what} is not a non-negative integer (found ${describeValue(value)})`);
}

/**
 * Strings parsed from a message are slices that keep the whole message text (up to megabytes) alive for as long
 * as they are referenced. Hashes and addresses outlive the message (tips, pending payments), so they are copied
 * out: concatenation then slice makes V8 flatten into a fresh 65-character string. Object keys (policy ids,
 * asset names) need no copy: V8 already stores keys as separate internalised strings.
 */
function detachFromMessage(text: string): string {
  return ` ${text}`.slice(1);
}

/** A short, safe description of an unexpected value for error messages (never dumps a whole structure). */
function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (typeof value === 'string') return `string ${quote(value)}`;
  if (typeof value === 'number') return `number ${value}`;
  if (typeof value === 'bigint') return `integer ${value}`;
  if (typeof value === 'boolean') return `boolean ${value}`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** A string as a JSON literal, shortened so that error messages stay readable. */
function quote(text: string, maxLength = 48): string {
  return JSON.stringify(text.length > maxLength ? `${text.slice(0, maxLength - 3)}...` : text);
}

function blockLabel(hash: Hash): string {
  return `block ${hash.slice(0, 8)}…`;
}

/**
 * Adds a location to a decode error on its way out. `separator` ' ' joins the nested parts of one transaction
 * ("transaction 3 output 2"); ': ' (the default) starts a new level ("block …: transaction 3 output 2").
 */
function inContext(error: unknown, segment: string, separator: ' ' | ': ' = ': '): unknown {
  if (!(error instanceof OgmiosDecodeError)) return error;
  const innermost = error.location[0];
  if (separator === ' ' && innermost !== undefined) {
    error.location[0] = `${segment} ${innermost}`;
    error.message = formatDecodeMessage(error.location, error.problem);
    return error;
  }
  return error.within(segment);
}
