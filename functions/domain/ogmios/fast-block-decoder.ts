/**
 * A fast decoder for Ogmios v6 `nextBlock` responses, giving exactly what `decodeNextBlockResponse`
 * (./block-decoder.ts, the reference) gives, in about half the time on real blocks (bench/decoder.bench.ts).
 *
 * The reference decoder parses the whole message into a lossless JSON tree and then reads the few fields the
 * engine needs. About half of a real block's bytes are things the engine never looks at (scripts, datums,
 * witnesses, redeemers, metadata, governance, and per output `datum`, `datumHash`, `script`), so this decoder
 * is schema-directed instead: one pass over the text (see ./fast-json-cursor.ts) that recognises the keys it
 * needs at each level, reads their values straight into the chain event (integers to bigint without
 * intermediate strings, kept strings copied out of the message), and skips every other value with a validating
 * scan that builds nothing.
 *
 * Contract, relative to the reference decoder:
 * - Same input, same outcome. Whatever the fast path accepts, the reference accepts with a deep-equal result;
 *   whatever the fast path does not accept is handed to the reference decoder, whose result or
 *   `OgmiosDecodeError` is returned. Errors are therefore exactly the reference's (malformed JSON anywhere in
 *   the message, even inside a skipped value, is `…is not valid JSON: <problem> at position N (line, column)`),
 *   and the fast path needs no error reporting of its own: it only has to be strict, never accept more.
 * - The fast path declines, on purpose, a few legal inputs that Ogmios never sends and the reference decoder
 *   handles: JSON-RPC errors, integers written as `-0`, `1.0` or `1e3`, a needed key whose first occurrence
 *   is invalid and a later one valid. They cost a second decode, nothing else.
 * - Duplicate keys: the last occurrence wins, as with `JSON.parse` and the reference decoder. Every occurrence of
 *   a needed key replaces what earlier ones gave (even when it is skipped), and value maps with repeated or
 *   reordered keys are rebuilt through real objects so that their order is exactly `Object.keys` order.
 * - Keys such as `__proto__` or `constructor` are data: unneeded keys are matched by their characters and
 *   skipped, and the only maps read as maps (asset values) use null-prototype objects when they use objects at all.
 * - Key order is free at every level (`result` before `jsonrpc`, `direction` after `block`…), whitespace is
 *   allowed wherever JSON allows it, strings may contain escapes, and `method` may be absent (--strict-rpc).
 */
import type { AssetQuantity, ChainBlock, ChainTransaction, OutputReference, Point, Tip, TransactionOutput } from '../chain.js';
import { decodeNextBlockResponse, type NextBlockEvent } from './block-decoder.js';
import { FastPathRejection, JsonCursor } from './fast-json-cursor.js';
import { hasControlByte } from './json-characters.js';

export { FastPathRejection } from './fast-json-cursor.js';

/**
 * Decodes a `nextBlock` JSON-RPC response given as text or as UTF-8 bytes (as a WebSocket delivers it).
 * Same results and same `OgmiosDecodeError`s as `decodeNextBlockResponse`.
 */
export function decodeNextBlockResponseFast(message: string | Uint8Array): NextBlockEvent {
  const text = typeof message === 'string' ? message : decodeUtf8(message);
  if (text !== undefined) {
    try {
      return decodeNextBlockTextFastPath(text);
    } catch (error) {
      if (!(error instanceof FastPathRejection)) throw error;
    }
  }
  // Not accepted by the fast path: the reference decoder decides, and explains a failure in its own words.
  return decodeNextBlockResponse(text ?? message);
}

/**
 * A WebSocket frame: its UTF-8 `bytes` and, when they are valid UTF-8, `text`, their decoding (done by the caller
 * with a native decoder; undefined when they are not UTF-8). Same results and errors as
 * `decodeNextBlockResponseFast(bytes)`; faster, because the check for raw control characters runs on the bytes.
 */
export function decodeNextBlockFrame(bytes: Uint8Array, text: string | undefined): NextBlockEvent {
  if (text !== undefined) {
    try {
      return decodeNextBlockTextFastPath(text, hasControlByte(bytes));
    } catch (error) {
      if (!(error instanceof FastPathRejection)) throw error;
    }
  }
  return decodeNextBlockResponse(text ?? bytes);
}

/**
 * The fast path alone: decodes the response or throws `FastPathRejection` (with a reason and a position) for
 * any input it does not accept. Exposed for tests and diagnostics; use `decodeNextBlockResponseFast`.
 * `mayContainControlCharacters` may be given when already known for this text (see `decodeNextBlockFrame`).
 */
export function decodeNextBlockTextFastPath(text: string, mayContainControlCharacters?: boolean): NextBlockEvent {
  const cursor = new JsonCursor(text, mayContainControlCharacters);
  const event = decodeEnvelope(cursor);
  cursor.expectEnd();
  return event;
}

/** Fatal, so that bytes that are not UTF-8 go to the reference decoder, which reports them. */
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

// ---- Keys ----
//
// Each level names the keys it reads; any other key is skipped. Matching goes by length first, so most unneeded
// keys cost one comparison.

const OTHER = 0;
const ID = 1;
const TYPE = 2;
const HEIGHT = 3;
const SLOT = 4;
const ANCESTOR = 5;
const TRANSACTIONS = 6;
const SPENDS = 7;
const INPUTS = 8;
const COLLATERALS = 9;
const OUTPUTS = 10;
const COLLATERAL_RETURN = 11;
const TRANSACTION = 12;
const INDEX = 13;
const ADDRESS = 14;
const VALUE = 15;
const METHOD = 16;
const RESULT = 17;
const ERROR = 18;
const DIRECTION = 19;
const BLOCK = 20;
const TIP = 21;
const POINT = 22;

function envelopeKey(cursor: JsonCursor): number {
  switch (cursor.keyLength) {
    case 5:
      return cursor.keyIs('error') ? ERROR : OTHER;
    case 6:
      return cursor.keyIs('result') ? RESULT : cursor.keyIs('method') ? METHOD : OTHER;
    default:
      return OTHER;
  }
}

function resultKey(cursor: JsonCursor): number {
  switch (cursor.keyLength) {
    case 3:
      return cursor.keyIs('tip') ? TIP : OTHER;
    case 5:
      return cursor.keyIs('block') ? BLOCK : cursor.keyIs('point') ? POINT : OTHER;
    case 9:
      return cursor.keyIs('direction') ? DIRECTION : OTHER;
    default:
      return OTHER;
  }
}

/** Keys of a tip or a point. */
function pointKey(cursor: JsonCursor): number {
  switch (cursor.keyLength) {
    case 2:
      return cursor.keyIs('id') ? ID : OTHER;
    case 4:
      return cursor.keyIs('slot') ? SLOT : OTHER;
    case 6:
      return cursor.keyIs('height') ? HEIGHT : OTHER;
    default:
      return OTHER;
  }
}

function blockKey(cursor: JsonCursor): number {
  switch (cursor.keyLength) {
    case 2:
      return cursor.keyIs('id') ? ID : OTHER;
    case 4:
      return cursor.keyIs('type') ? TYPE : cursor.keyIs('slot') ? SLOT : OTHER;
    case 6:
      return cursor.keyIs('height') ? HEIGHT : OTHER;
    case 8:
      return cursor.keyIs('ancestor') ? ANCESTOR : OTHER;
    case 12:
      return cursor.keyIs('transactions') ? TRANSACTIONS : OTHER;
    default:
      return OTHER;
  }
}

function transactionKey(cursor: JsonCursor): number {
  switch (cursor.keyLength) {
    case 2:
      return cursor.keyIs('id') ? ID : OTHER;
    case 6:
      return cursor.keyIs('inputs') ? INPUTS : cursor.keyIs('spends') ? SPENDS : OTHER;
    case 7:
      return cursor.keyIs('outputs') ? OUTPUTS : OTHER;
    case 11:
      return cursor.keyIs('collaterals') ? COLLATERALS : OTHER;
    case 16:
      return cursor.keyIs('collateralReturn') ? COLLATERAL_RETURN : OTHER;
    default:
      return OTHER;
  }
}

function outputReferenceKey(cursor: JsonCursor): number {
  switch (cursor.keyLength) {
    case 5:
      return cursor.keyIs('index') ? INDEX : OTHER;
    case 11:
      return cursor.keyIs('transaction') ? TRANSACTION : OTHER;
    default:
      return OTHER;
  }
}

function outputKey(cursor: JsonCursor): number {
  switch (cursor.keyLength) {
    case 5:
      return cursor.keyIs('value') ? VALUE : OTHER;
    case 7:
      return cursor.keyIs('address') ? ADDRESS : OTHER;
    default:
      return OTHER;
  }
}

// ---- Envelope and result ----

function decodeEnvelope(cursor: JsonCursor): NextBlockEvent {
  let event: NextBlockEvent | undefined;
  if (cursor.enterObject()) {
    do {
      switch (envelopeKey(cursor)) {
        case RESULT:
          event = decodeResult(cursor);
          break;
        case METHOD:
          // Absent with --strict-rpc; when present it must be ours.
          if (cursor.readString() !== 'nextBlock') cursor.reject('method is not "nextBlock"');
          break;
        case ERROR:
          // Whatever its content: the reference decoder words the JSON-RPC error.
          cursor.reject('a JSON-RPC error');
          break;
        default:
          cursor.skipValue();
      }
    } while (cursor.nextMember());
  }
  if (event === undefined) cursor.reject('result is missing');
  return event;
}

/**
 * `result`: which of `block`, `point` and `tip` matter depends on `direction`, which may come after them. A
 * value read before the direction was known is simply not used if the direction turns out the other way.
 */
function decodeResult(cursor: JsonCursor): NextBlockEvent {
  let direction: 'forward' | 'backward' | undefined;
  let block: ChainBlock | undefined;
  let point: Point | undefined;
  let tip: Tip | 'origin' | undefined;
  if (cursor.enterObject()) {
    do {
      switch (resultKey(cursor)) {
        case DIRECTION: {
          const value = cursor.readString();
          if (value === 'forward') direction = 'forward';
          else if (value === 'backward') direction = 'backward';
          else cursor.reject('unknown direction');
          break;
        }
        case BLOCK:
          // Every occurrence replaces the previous one, even a skipped one (the last key wins).
          block = undefined;
          if (direction === 'backward') cursor.skipValue();
          else block = decodeBlock(cursor);
          break;
        case POINT:
          point = undefined;
          if (direction === 'forward') cursor.skipValue();
          else point = decodePoint(cursor);
          break;
        case TIP:
          tip = cursor.nextIsString() ? readOrigin(cursor) : decodeTip(cursor);
          break;
        default:
          cursor.skipValue();
      }
    } while (cursor.nextMember());
  }
  if (direction === 'forward') {
    if (block === undefined || tip === undefined || tip === 'origin') cursor.reject('incomplete roll-forward');
    return { type: 'rollForward', blocks: [block], tip };
  }
  if (direction === 'backward') {
    if (point === undefined || tip === undefined) cursor.reject('incomplete roll-backward');
    return { type: 'rollBackward', point, tip };
  }
  return cursor.reject('direction is missing');
}

function decodeTip(cursor: JsonCursor): Tip {
  let slot: bigint | undefined;
  let hash: string | undefined;
  let height: bigint | undefined;
  if (cursor.enterObject()) {
    do {
      switch (pointKey(cursor)) {
        case SLOT:
          slot = cursor.readUnsignedInteger();
          break;
        case ID:
          hash = cursor.readHash();
          break;
        case HEIGHT:
          height = cursor.readUnsignedInteger();
          break;
        default:
          cursor.skipValue();
      }
    } while (cursor.nextMember());
  }
  if (slot === undefined || hash === undefined || height === undefined) cursor.reject('incomplete tip');
  return { slot, hash, height };
}

/** The string `"origin"`, which stands for a point or a tip before the first block. */
function readOrigin(cursor: JsonCursor): 'origin' {
  if (cursor.readString() !== 'origin') cursor.reject('expected "origin" or an object');
  return 'origin';
}

function decodePoint(cursor: JsonCursor): Point {
  if (cursor.nextIsString()) return readOrigin(cursor);
  let slot: bigint | undefined;
  let hash: string | undefined;
  if (cursor.enterObject()) {
    do {
      switch (pointKey(cursor)) {
        case SLOT:
          slot = cursor.readUnsignedInteger();
          break;
        case ID:
          hash = cursor.readHash();
          break;
        default:
          cursor.skipValue();
      }
    } while (cursor.nextMember());
  }
  if (slot === undefined || hash === undefined) cursor.reject('incomplete point');
  return { slot, hash };
}

// ---- Block and transactions ----

function decodeBlock(cursor: JsonCursor): ChainBlock {
  let type: string | undefined;
  let hash: string | undefined;
  let height: bigint | undefined;
  let ancestor: string | undefined;
  let slot: bigint | undefined;
  let transactions: ChainTransaction[] | undefined;
  if (cursor.enterObject()) {
    do {
      switch (blockKey(cursor)) {
        case TYPE:
          type = cursor.readString();
          break;
        case ID:
          hash = cursor.readHash();
          break;
        case HEIGHT:
          height = cursor.readUnsignedInteger();
          break;
        case ANCESTOR:
          ancestor = cursor.readHash('genesis');
          break;
        case SLOT:
          slot = cursor.readUnsignedInteger();
          break;
        case TRANSACTIONS:
          transactions = decodeTransactions(cursor);
          break;
        default:
          cursor.skipValue();
      }
    } while (cursor.nextMember());
  }
  if (type === undefined || hash === undefined || height === undefined || ancestor === undefined) cursor.reject('incomplete block');
  // Epoch boundary blocks have no slot and carry no transactions (whatever the message says: the reference ignores both).
  if (type === 'ebb') return { hash, height, ancestor, transactions: [] };
  if (slot === undefined) cursor.reject('block without slot');
  return { hash, height, slot, ancestor, transactions: transactions ?? [] };
}

function decodeTransactions(cursor: JsonCursor): ChainTransaction[] {
  const transactions: ChainTransaction[] = [];
  if (cursor.enterArray()) {
    do transactions.push(decodeTransaction(cursor));
    while (cursor.nextElement());
  }
  return transactions;
}

function decodeTransaction(cursor: JsonCursor): ChainTransaction {
  let id: string | undefined;
  let spends: 'inputs' | 'collaterals' | undefined;
  let inputs: OutputReference[] | undefined;
  let collaterals: OutputReference[] | undefined;
  let outputs: TransactionOutput[] | undefined;
  let collateralReturn: TransactionOutput | undefined;
  if (cursor.enterObject()) {
    do {
      switch (transactionKey(cursor)) {
        case ID:
          id = cursor.readHash();
          break;
        case SPENDS: {
          const value = cursor.readString();
          if (value === 'inputs') spends = 'inputs';
          else if (value === 'collaterals') spends = 'collaterals';
          else cursor.reject('unknown spends');
          break;
        }
        case INPUTS:
          inputs = decodeOutputReferences(cursor);
          break;
        case COLLATERALS:
          collaterals = decodeOutputReferences(cursor);
          break;
        case OUTPUTS:
          outputs = decodeOutputs(cursor);
          break;
        case COLLATERAL_RETURN:
          collateralReturn = decodeOutput(cursor);
          break;
        default:
          cursor.skipValue();
      }
    } while (cursor.nextMember());
  }
  if (id === undefined || spends === undefined || inputs === undefined) cursor.reject('incomplete transaction');
  // `collaterals` is omitted when empty (and absent before Alonzo); `outputs` is omitted when empty from v7 on.
  const transaction: ChainTransaction = { id, spends, inputs, collaterals: collaterals ?? [], outputs: outputs ?? [] };
  if (collateralReturn !== undefined) transaction.collateralReturn = collateralReturn;
  return transaction;
}

function decodeOutputReferences(cursor: JsonCursor): OutputReference[] {
  const references: OutputReference[] = [];
  if (cursor.enterArray()) {
    do references.push(decodeOutputReference(cursor));
    while (cursor.nextElement());
  }
  return references;
}

/** `{"transaction": {"id": <hash>}, "index": <n>}` */
function decodeOutputReference(cursor: JsonCursor): OutputReference {
  let txId: string | undefined;
  let index: number | undefined;
  if (cursor.enterObject()) {
    do {
      switch (outputReferenceKey(cursor)) {
        case TRANSACTION:
          txId = decodeTransactionId(cursor);
          break;
        case INDEX:
          index = cursor.readSafeUnsignedInteger();
          break;
        default:
          cursor.skipValue();
      }
    } while (cursor.nextMember());
  }
  if (txId === undefined || index === undefined) cursor.reject('incomplete output reference');
  return { txId, index };
}

function decodeTransactionId(cursor: JsonCursor): string {
  let id: string | undefined;
  if (cursor.enterObject()) {
    do {
      if (cursor.keyLength === 2 && cursor.keyIs('id')) id = cursor.readHash();
      else cursor.skipValue();
    } while (cursor.nextMember());
  }
  if (id === undefined) cursor.reject('output reference without transaction id');
  return id;
}

// ---- Outputs and values ----

function decodeOutputs(cursor: JsonCursor): TransactionOutput[] {
  const outputs: TransactionOutput[] = [];
  if (cursor.enterArray()) {
    do outputs.push(decodeOutput(cursor));
    while (cursor.nextElement());
  }
  return outputs;
}

function decodeOutput(cursor: JsonCursor): TransactionOutput {
  let address: string | undefined;
  let output: TransactionOutput | undefined;
  if (cursor.enterObject()) {
    do {
      switch (outputKey(cursor)) {
        case ADDRESS:
          address = cursor.readKeptString();
          if (address.length === 0) cursor.reject('empty address');
          break;
        case VALUE:
          output = decodeValue(cursor);
          break;
        default:
          cursor.skipValue();
      }
    } while (cursor.nextMember());
  }
  if (address === undefined || output === undefined) cursor.reject('incomplete output');
  output.address = address;
  return output;
}

const POLICY_ID_LENGTH = 56;
const MAX_ASSET_NAME_LENGTH = 64;

/**
 * `{"ada": {"lovelace": n}, "<policy id>": {"<asset name>": n, …}, …}`
 *
 * The reference decoder lists assets in `Object.keys` order of these maps: first occurrence of each key, last
 * value, and asset names that are array indices ("31", "3132": decimal, no leading zero, below 2^32 - 1) first,
 * in numeric order. Assets are read in text order; when the keys were strictly increasing and no asset name is
 * an array index (the common case), that is the same order and there are no duplicates. Otherwise the map is
 * rebuilt through null-prototype objects, so that its order is `Object.keys` order by construction.
 *
 * Returned as the output it belongs to, with an empty address that the caller sets (one object per output).
 */
function decodeValue(cursor: JsonCursor): TransactionOutput {
  let lovelace: bigint | undefined;
  let assets: AssetQuantity[] = [];
  // Each policy occurrence, in text order, with where its assets start in `assets`; kept for the rare rebuild,
  // which needs two occurrences at least: the lists are only made at the second (the first starts at 0).
  let firstPolicyId: string | undefined;
  let policyIds: string[] | undefined;
  let policyStarts: number[] | undefined;
  let policiesInOrder = true;
  let previousPolicyId = '';
  if (cursor.enterObject()) {
    do {
      if (cursor.keyLength === 3 && cursor.keyIs('ada')) {
        lovelace = decodeAda(cursor);
        continue;
      }
      const policyId = cursor.keyLength === POLICY_ID_LENGTH ? cursor.hexKey() : undefined;
      if (policyId === undefined) cursor.reject('value key is neither "ada" nor a policy id');
      if (!(policyId > previousPolicyId)) policiesInOrder = false;
      previousPolicyId = policyId;
      if (firstPolicyId === undefined) {
        firstPolicyId = policyId;
      } else {
        (policyIds ??= [firstPolicyId]).push(policyId);
        (policyStarts ??= [0]).push(assets.length);
      }
      decodeTokens(cursor, policyId, assets);
    } while (cursor.nextMember());
  }
  if (lovelace === undefined) cursor.reject('value without ada');
  if (!policiesInOrder && policyIds !== undefined && policyStarts !== undefined) assets = regroupPolicies(assets, policyIds, policyStarts);
  return { address: '', lovelace, assets };
}

/** `{"lovelace": n}` (other keys ignored, as the reference does). */
function decodeAda(cursor: JsonCursor): bigint {
  let lovelace: bigint | undefined;
  if (cursor.enterObject()) {
    do {
      if (cursor.keyLength === 8 && cursor.keyIs('lovelace')) lovelace = cursor.readUnsignedInteger();
      else cursor.skipValue();
    } while (cursor.nextMember());
  }
  if (lovelace === undefined) cursor.reject('ada without lovelace');
  return lovelace;
}

/**
 * Appends one policy's `{"<asset name>": n, …}` to `assets`, in `Object.keys` order. Text order is that order
 * when names are strictly increasing (so distinct), and array-index names, if any, come first in numeric order:
 * for canonical decimal strings already increasing as text, that means of non-decreasing length.
 */
function decodeTokens(cursor: JsonCursor, policyId: string, assets: AssetQuantity[]): void {
  const first = assets.length;
  let inKeyOrder = true;
  let previousName = '';
  let previousIndexLength = 0;
  let sawOtherName = false;
  if (cursor.enterObject()) {
    do {
      const length = cursor.keyLength;
      const assetName = length <= MAX_ASSET_NAME_LENGTH && length % 2 === 0 ? cursor.hexKey() : undefined;
      if (assetName === undefined) cursor.reject('bad asset name');
      if (assets.length > first && !(assetName > previousName)) inKeyOrder = false;
      if (isArrayIndex(assetName)) {
        if (sawOtherName || length < previousIndexLength) inKeyOrder = false;
        previousIndexLength = length;
      } else {
        sawOtherName = true;
      }
      previousName = assetName;
      assets.push({ policyId, assetName, quantity: cursor.readUnsignedInteger() });
    } while (cursor.nextMember());
  }
  if (!inKeyOrder) reorderTokens(assets, first);
}

/** Rewrites `assets[first…]` (one policy's tokens in text order) as the reference decoder lists them. */
function reorderTokens(assets: AssetQuantity[], first: number): void {
  const tokens = Object.create(null) as Record<string, AssetQuantity>;
  for (let index = first; index < assets.length; index++) {
    const asset = assets[index] as AssetQuantity;
    tokens[asset.assetName] = asset;
  }
  assets.length = first;
  for (const assetName of Object.keys(tokens)) assets.push(tokens[assetName] as AssetQuantity);
}

/**
 * Regroups assets whose policies were out of order or repeated: the last occurrence of a policy (even an empty
 * one) replaces the earlier ones, at the first one's place. Policy ids (56 hex digits) are never array indices,
 * so `Object.keys` order is first-insertion order.
 */
function regroupPolicies(assets: readonly AssetQuantity[], policyIds: readonly string[], policyStarts: readonly number[]): AssetQuantity[] {
  const policies = Object.create(null) as Record<string, AssetQuantity[]>;
  policyIds.forEach((policyId, occurrence) => {
    policies[policyId] = assets.slice(policyStarts[occurrence], policyStarts[occurrence + 1] ?? assets.length);
  });
  return Object.keys(policies).flatMap((policyId) => policies[policyId] as AssetQuantity[]);
}

/** Whether a property key is an array index, which `Object.keys` lists before all other keys (ascending). */
function isArrayIndex(key: string): boolean {
  const length = key.length;
  if (length === 0 || length > 10) return false;
  const first = key.charCodeAt(0);
  if (first < 0x31 || first > 0x39) return length === 1 && first === 0x30;
  for (let position = 1; position < length; position++) {
    const code = key.charCodeAt(position);
    if (code < 0x30 || code > 0x39) return false;
  }
  return length < 10 || Number(key) < 4294967295;
}
