/**
 * The queue's wire format: one chain event, stamped with who emitted it, as versioned JSON.
 *
 * ```json
 * { "version": 2, "network": "mainnet", "generation": "3", "fence": "42", "steps": { "first": "7", "last": "9" },
 *   "event": { "type": "rollForward", "tip": { "slot": "…", "hash": "…", "height": "…" },
 *              "blocks": [ { "hash": "…", "height": "…", "slot": "…", "ancestor": "…", "transactions": [
 *                { "id": "…", "spends": "inputs", "inputs": ["<tx id>#0"],
 *                  "outputs": [ { "address": "addr1…", "lovelace": "1500000",
 *                                 "assets": { "<policy id>": { "<asset name hex>": "18446744073709551615" } } } ] } ] } ] } }
 * ```
 *
 * - Every integer that can pass 2^53 (heights, slots, lovelace, quantities, fence, generation, steps) is a
 *   decimal string; plain JSON numbers only carry the version and output indexes.
 * - `steps`: which steps of the emitting leader's session the message holds (a block is a step, a rollback is a
 *   step; numbered from 1 in each session): the processor recognises a repeated message and a lost one by them
 *   (domain/event-admission.ts). A roll-forward of n blocks holds n steps, a roll-backward one.
 * - Output references are `<tx id>#<index>`, the notation of cardano-cli and explorers.
 * - Assets are a map policy → asset name → quantity (the shape Ogmios uses): the policy id is written once per
 *   output, which keeps token-heavy blocks well under the queue's size limit. As for any map read from JSON,
 *   decoded assets come grouped by policy, names in JavaScript's key order (integer-like names first): the
 *   order the block decoder gives them in, so real events round-trip exactly.
 * - Empty lists (`assets`, `collaterals`) and absent fields (`slot` of an epoch boundary block,
 *   `collateralReturn`) are left out.
 *
 * Decoding is strict: unknown fields, wrong types, malformed hashes or out-of-range integers are refused with a
 * MessageFormatError that names the path of the offending field, so a poison message says what is wrong with it.
 * Ranges are those the database can hold: heights, slots, lovelace, fence, generation and steps up to 2^63 − 1
 * (BIGINT), output indexes up to 2^31 − 1 (INTEGER), token quantities up to 2^64 − 1 (kept as decimal strings).
 */
import { createHash } from 'node:crypto';
import type {
  AssetQuantity,
  BlockPoint,
  ChainBlock,
  ChainEvent,
  ChainTransaction,
  OutputReference,
  Point,
  RollBackward,
  Tip,
  TransactionOutput,
} from './chain.js';
import { NETWORKS, type Network } from './network.js';
import type { StepRange } from './ports.js';

export const CHAIN_EVENT_MESSAGE_VERSION = 2;

export interface ChainEventMessage {
  version: typeof CHAIN_EVENT_MESSAGE_VERSION;
  network: Network;
  /** The sync generation, bumped by a rebuild: messages of an older generation are dropped. */
  generation: bigint;
  /** The emitting leader's fencing token: messages of a deposed leader are dropped. */
  fence: bigint;
  /** The steps of the leader's session this message holds. */
  steps: StepRange;
  event: ChainEvent;
}

/** The key prefix of claim-checked messages in their bucket: the emitter writes there, the stacks grant only it. */
export const CLAIM_CHECK_KEY_PREFIX = 'chain-events/';

/** Where a message too large for the queue was put instead (the claim-check pattern). */
export interface ClaimCheckPointer {
  bucket: string;
  key: string;
  /** Lowercase hex SHA-256 of the stored message's UTF-8 bytes. */
  sha256: string;
  bytes: number;
}

/** What a queue message's body holds: the message itself, or a pointer to it. */
export type QueueMessageBody = { kind: 'event'; message: ChainEventMessage } | { kind: 'claimCheck'; pointer: ClaimCheckPointer };

/** A message that cannot be read. Retrying it cannot help: it is a poison message. */
export class MessageFormatError extends Error {
  override readonly name = 'MessageFormatError';
  constructor(
    /** Where in the message, e.g. `$.event.blocks[2].transactions[0].outputs[1].lovelace`; `$` is the whole. */
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

/**
 * A message in another version of the format: written by another release of the follower (the one a deploy is
 * replacing, or one deployed before its processor). Not damaged, so not poison: the leader of this release
 * re-derives whatever it held from the database's points.
 */
export class OtherReleaseError extends MessageFormatError {
  constructor(
    path: string,
    readonly version: number,
  ) {
    super(path, `unsupported version ${version}: this code reads version ${CHAIN_EVENT_MESSAGE_VERSION} (a message of another release)`);
  }
}

const UINT64_MAX = (1n << 64n) - 1n;
/** PostgreSQL BIGINT: heights, slots, lovelace, fence, generation, steps. */
const INT64_MAX = (1n << 63n) - 1n;
/** PostgreSQL INTEGER: output indexes. */
const MAX_OUTPUT_INDEX = 0x7fff_ffff;

// ————— encoding —————

/** The message as JSON text. Equal messages always give the same text. */
export function encodeChainEventMessage(message: ChainEventMessage): string {
  const { event } = message;
  if (event.type === 'rollForward') return assembleRollForwardMessage(message, event.tip, event.blocks.map(encodeBlock));
  return JSON.stringify({
    ...envelopeOf(message),
    event: { type: 'rollBackward', point: wirePoint(event.point), tip: event.tip === 'origin' ? 'origin' : wireTip(event.tip) },
  });
}

export type MessageEnvelope = Pick<ChainEventMessage, 'network' | 'generation' | 'fence' | 'steps'>;

/**
 * One block as it appears inside a roll-forward message. With assembleRollForwardMessage this lets a sender
 * measure and pack blocks into messages without encoding any block twice.
 */
export function encodeBlock(block: ChainBlock): string {
  return JSON.stringify({
    hash: block.hash,
    height: block.height.toString(),
    ...(block.slot === undefined ? {} : { slot: block.slot.toString() }),
    ancestor: block.ancestor,
    transactions: block.transactions.map(wireTransaction),
  });
}

/** A roll-forward message from blocks already encoded with encodeBlock, oldest first. */
export function assembleRollForwardMessage(envelope: MessageEnvelope, tip: Tip, encodedBlocks: readonly string[]): string {
  const head = JSON.stringify({ ...envelopeOf(envelope), event: { type: 'rollForward', tip: wireTip(tip), blocks: [] } });
  // head ends with `[]}}`: the blocks go between the brackets.
  return `${head.slice(0, -3)}${encodedBlocks.join(',')}]}}`;
}

export function encodeClaimCheckPointer(pointer: ClaimCheckPointer): string {
  return JSON.stringify({ version: CHAIN_EVENT_MESSAGE_VERSION, claimCheck: pointer });
}

function envelopeOf({ network, generation, fence, steps }: MessageEnvelope) {
  return {
    version: CHAIN_EVENT_MESSAGE_VERSION,
    network,
    generation: generation.toString(),
    fence: fence.toString(),
    steps: { first: steps.first.toString(), last: steps.last.toString() },
  };
}

/** How many steps of its session an event holds: one per block, one for a rollback. */
export function stepsOf(event: ChainEvent): number {
  return event.type === 'rollForward' ? event.blocks.length : 1;
}

function wireTip(tip: Tip) {
  return { slot: tip.slot.toString(), hash: tip.hash, height: tip.height.toString() };
}

function wirePoint(point: Point) {
  return point === 'origin' ? 'origin' : { slot: point.slot.toString(), hash: point.hash };
}

function wireTransaction(transaction: ChainTransaction) {
  return {
    id: transaction.id,
    spends: transaction.spends,
    inputs: transaction.inputs.map(wireReference),
    ...(transaction.collaterals.length > 0 ? { collaterals: transaction.collaterals.map(wireReference) } : {}),
    outputs: transaction.outputs.map(wireOutput),
    ...(transaction.collateralReturn ? { collateralReturn: wireOutput(transaction.collateralReturn) } : {}),
  };
}

function wireReference(reference: OutputReference): string {
  return `${reference.txId}#${reference.index}`;
}

function wireOutput(output: TransactionOutput) {
  return {
    address: output.address,
    lovelace: output.lovelace.toString(),
    ...(output.assets.length > 0 ? { assets: wireAssets(output.assets) } : {}),
  };
}

function wireAssets(assets: readonly AssetQuantity[]): Record<string, Record<string, string>> {
  // Keys are hex, so they can never collide with Object.prototype members; a null prototype keeps it obvious.
  const byPolicy: Record<string, Record<string, string>> = Object.create(null) as Record<string, Record<string, string>>;
  for (const { policyId, assetName, quantity } of assets) {
    const names = (byPolicy[policyId] ??= Object.create(null) as Record<string, string>);
    // A value holds each asset once; two entries would silently become one in the map.
    if (names[assetName] !== undefined) throw new Error(`Asset ${policyId}.${assetName} appears twice in one output`);
    names[assetName] = quantity.toString();
  }
  return byPolicy;
}

// ————— decoding —————

/** Reads a message body: a chain event message, or a claim-check pointer to one. */
export function decodeQueueMessageBody(text: string): QueueMessageBody {
  const root = parseJson(text);
  const object = expectObject(root, '$');
  if ('claimCheck' in object) return { kind: 'claimCheck', pointer: readPointer(object) };
  return { kind: 'event', message: readMessage(object) };
}

/** Reads a chain event message (never a pointer: a claim-checked payload must be the message itself). */
export function decodeChainEventMessage(text: string): ChainEventMessage {
  return readMessage(expectObject(parseJson(text), '$'));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new MessageFormatError('$', `not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

type WireObject = Record<string, unknown>;

function readMessage(object: WireObject): ChainEventMessage {
  // The version first: a message of another release says so, rather than which field it lacks.
  readVersion(object.version, '$.version');
  expectKeys(object, '$', ['version', 'network', 'generation', 'fence', 'steps', 'event'], []);
  const network = readNetwork(object.network, '$.network');
  const generation = readUnsigned(object.generation, '$.generation', INT64_MAX);
  const fence = readUnsigned(object.fence, '$.fence', INT64_MAX);
  const event = readEvent(object.event, '$.event');
  return {
    version: CHAIN_EVENT_MESSAGE_VERSION,
    network,
    generation,
    fence,
    steps: readSteps(object.steps, '$.steps', stepsOf(event)),
    event,
  };
}

function readSteps(value: unknown, path: string, count: number): StepRange {
  const object = expectObject(value, path);
  expectKeys(object, path, ['first', 'last'], []);
  const first = readUnsigned(object.first, `${path}.first`, INT64_MAX);
  const last = readUnsigned(object.last, `${path}.last`, INT64_MAX);
  if (first < 1n) throw new MessageFormatError(`${path}.first`, 'steps are numbered from 1');
  if (last - first + 1n !== BigInt(count)) {
    throw new MessageFormatError(
      path,
      `steps ${first}..${last} do not match the event, which holds ${count} step${count === 1 ? '' : 's'}`,
    );
  }
  return { first, last };
}

function readPointer(object: WireObject): ClaimCheckPointer {
  expectKeys(object, '$', ['version', 'claimCheck'], []);
  readVersion(object.version, '$.version');
  const pointer = expectObject(object.claimCheck, '$.claimCheck');
  expectKeys(pointer, '$.claimCheck', ['bucket', 'key', 'sha256', 'bytes'], []);
  const bytes = pointer.bytes;
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) {
    throw new MessageFormatError('$.claimCheck.bytes', `expected a byte count, got ${describe(bytes)}`);
  }
  const sha256 = readString(pointer.sha256, '$.claimCheck.sha256');
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new MessageFormatError('$.claimCheck.sha256', 'expected 64 lowercase hex digits');
  return {
    bucket: readNonEmptyString(pointer.bucket, '$.claimCheck.bucket'),
    key: readNonEmptyString(pointer.key, '$.claimCheck.key'),
    sha256,
    bytes,
  };
}

function readVersion(value: unknown, path: string): void {
  if (value === CHAIN_EVENT_MESSAGE_VERSION) return;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) throw new OtherReleaseError(path, value);
  throw new MessageFormatError(path, `expected the number ${CHAIN_EVENT_MESSAGE_VERSION}, got ${describe(value)}`);
}

function readNetwork(value: unknown, path: string): Network {
  if (typeof value === 'string' && (NETWORKS as readonly string[]).includes(value)) return value as Network;
  throw new MessageFormatError(path, `expected one of ${NETWORKS.join(', ')}, got ${describe(value)}`);
}

function readEvent(value: unknown, path: string): ChainEvent {
  const object = expectObject(value, path);
  switch (object.type) {
    case 'rollForward': {
      expectKeys(object, path, ['type', 'tip', 'blocks'], []);
      const blocks = expectArray(object.blocks, `${path}.blocks`).map((block, i) => readBlock(block, `${path}.blocks[${i}]`));
      if (blocks.length === 0) throw new MessageFormatError(`${path}.blocks`, 'a roll-forward needs at least one block');
      return { type: 'rollForward', tip: readTip(object.tip, `${path}.tip`), blocks };
    }
    case 'rollBackward': {
      expectKeys(object, path, ['type', 'point', 'tip'], []);
      const tip: RollBackward['tip'] = object.tip === 'origin' ? 'origin' : readTip(object.tip, `${path}.tip`);
      return { type: 'rollBackward', point: readPoint(object.point, `${path}.point`), tip };
    }
    default:
      throw new MessageFormatError(`${path}.type`, `expected "rollForward" or "rollBackward", got ${describe(object.type)}`);
  }
}

function readTip(value: unknown, path: string): Tip {
  const object = expectObject(value, path);
  expectKeys(object, path, ['slot', 'hash', 'height'], []);
  return {
    slot: readUnsigned(object.slot, `${path}.slot`, INT64_MAX),
    hash: readHash(object.hash, `${path}.hash`),
    height: readUnsigned(object.height, `${path}.height`, INT64_MAX),
  };
}

function readPoint(value: unknown, path: string): Point {
  if (value === 'origin') return 'origin';
  const object = expectObject(value, path);
  expectKeys(object, path, ['slot', 'hash'], []);
  const point: BlockPoint = { slot: readUnsigned(object.slot, `${path}.slot`, INT64_MAX), hash: readHash(object.hash, `${path}.hash`) };
  return point;
}

function readBlock(value: unknown, path: string): ChainBlock {
  const object = expectObject(value, path);
  expectKeys(object, path, ['hash', 'height', 'ancestor', 'transactions'], ['slot']);
  const ancestor = object.ancestor === 'genesis' ? 'genesis' : readHash(object.ancestor, `${path}.ancestor`);
  return {
    hash: readHash(object.hash, `${path}.hash`),
    height: readUnsigned(object.height, `${path}.height`, INT64_MAX),
    ...(object.slot === undefined ? {} : { slot: readUnsigned(object.slot, `${path}.slot`, INT64_MAX) }),
    ancestor,
    transactions: expectArray(object.transactions, `${path}.transactions`).map((transaction, i) =>
      readTransaction(transaction, `${path}.transactions[${i}]`),
    ),
  };
}

function readTransaction(value: unknown, path: string): ChainTransaction {
  const object = expectObject(value, path);
  expectKeys(object, path, ['id', 'spends', 'inputs', 'outputs'], ['collaterals', 'collateralReturn']);
  const spends = object.spends;
  if (spends !== 'inputs' && spends !== 'collaterals') {
    throw new MessageFormatError(`${path}.spends`, `expected "inputs" or "collaterals", got ${describe(spends)}`);
  }
  const readReferences = (list: unknown, listPath: string) =>
    expectArray(list, listPath).map((reference, i) => readReference(reference, `${listPath}[${i}]`));
  return {
    id: readHash(object.id, `${path}.id`),
    spends,
    inputs: readReferences(object.inputs, `${path}.inputs`),
    collaterals: object.collaterals === undefined ? [] : readReferences(object.collaterals, `${path}.collaterals`),
    outputs: expectArray(object.outputs, `${path}.outputs`).map((output, i) => readOutput(output, `${path}.outputs[${i}]`)),
    ...(object.collateralReturn === undefined ? {} : { collateralReturn: readOutput(object.collateralReturn, `${path}.collateralReturn`) }),
  };
}

function readReference(value: unknown, path: string): OutputReference {
  const text = readString(value, path);
  const match = /^([0-9a-f]{64})#(0|[1-9]\d{0,9})$/.exec(text);
  const index = match ? Number(match[2]) : NaN;
  if (!match || index > MAX_OUTPUT_INDEX) throw new MessageFormatError(path, `expected "<64-hex tx id>#<index>", got ${describe(value)}`);
  return { txId: match[1]!, index };
}

function readOutput(value: unknown, path: string): TransactionOutput {
  const object = expectObject(value, path);
  expectKeys(object, path, ['address', 'lovelace'], ['assets']);
  return {
    address: readNonEmptyString(object.address, `${path}.address`),
    lovelace: readUnsigned(object.lovelace, `${path}.lovelace`, INT64_MAX),
    assets: object.assets === undefined ? [] : readAssets(object.assets, `${path}.assets`),
  };
}

function readAssets(value: unknown, path: string): AssetQuantity[] {
  const assets: AssetQuantity[] = [];
  for (const [policyId, names] of Object.entries(expectObject(value, path))) {
    const policyPath = `${path}.${policyId}`;
    if (!/^[0-9a-f]{56}$/.test(policyId)) throw new MessageFormatError(policyPath, 'a policy id must be 56 lowercase hex digits');
    for (const [assetName, quantity] of Object.entries(expectObject(names, policyPath))) {
      const assetPath = `${policyPath}.${assetName === '' ? '""' : assetName}`;
      if (!/^(?:[0-9a-f]{2}){0,32}$/.test(assetName))
        throw new MessageFormatError(assetPath, 'an asset name must be at most 32 bytes of lowercase hex');
      assets.push({ policyId, assetName, quantity: readUnsigned(quantity, assetPath, UINT64_MAX) });
    }
  }
  return assets;
}

// ————— small readers —————

function expectObject(value: unknown, path: string): WireObject {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as WireObject;
  throw new MessageFormatError(path, `expected an object, got ${describe(value)}`);
}

function expectArray(value: unknown, path: string): unknown[] {
  if (Array.isArray(value)) return value;
  throw new MessageFormatError(path, `expected a list, got ${describe(value)}`);
}

/** Refuses missing required fields and any field the format does not define. */
function expectKeys(object: WireObject, path: string, required: readonly string[], optional: readonly string[]): void {
  for (const key of required) {
    if (object[key] === undefined) throw new MessageFormatError(`${path}.${key}`, 'missing');
  }
  for (const key of Object.keys(object)) {
    if (!required.includes(key) && !optional.includes(key)) throw new MessageFormatError(`${path}.${key}`, 'not a field of this format');
  }
}

function readString(value: unknown, path: string): string {
  if (typeof value === 'string') return value;
  throw new MessageFormatError(path, `expected a string, got ${describe(value)}`);
}

function readNonEmptyString(value: unknown, path: string): string {
  const text = readString(value, path);
  if (text === '') throw new MessageFormatError(path, 'must not be empty');
  return text;
}

function readHash(value: unknown, path: string): string {
  const text = readString(value, path);
  if (!/^[0-9a-f]{64}$/.test(text)) throw new MessageFormatError(path, `expected 64 lowercase hex digits, got ${describe(value)}`);
  return text;
}

/** An unsigned integer up to `max` written as a decimal string without sign, leading zeros or exponent. */
function readUnsigned(value: unknown, path: string, max: bigint): bigint {
  if (typeof value !== 'string' || !/^(?:0|[1-9]\d{0,19})$/.test(value)) {
    throw new MessageFormatError(path, `expected an unsigned integer as a decimal string, got ${describe(value)}`);
  }
  const number = BigInt(value);
  if (number > max)
    throw new MessageFormatError(
      path,
      `${value} exceeds ${max === INT64_MAX ? '2^63 − 1' : '2^64 − 1'}, the largest the database holds here`,
    );
  return number;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

// ————— identity —————

/**
 * The SQS FIFO MessageDeduplicationId (64 hex characters; SQS allows 128): a SHA-256 of the message's identity.
 *
 * - generation and fence: a new leader's (or a new generation's) re-send of a block is a different message,
 *   never deduplicated against a deposed leader's copy, which the processor drops as stale.
 * - the steps: after a fork switch A → B → A the follower sends A's blocks (or a rollback to the same point)
 *   again as later steps of its session, a different message that must not be deduplicated (the processor would
 *   see steps missing); only a true re-send of the same message (a retry after an ambiguous send) is dropped.
 * - direction, first..last block ids or the rollback point, and the network tip: what the steps hold.
 * A needless duplicate is harmless (the processor recognises the steps as applied); a missed one costs a recovery.
 */
export function deduplicationId(message: ChainEventMessage): string {
  const { event } = message;
  const identity = [
    `chain-event/v${CHAIN_EVENT_MESSAGE_VERSION}`,
    message.network,
    `generation ${message.generation}`,
    `fence ${message.fence}`,
    `steps ${message.steps.first}..${message.steps.last}`,
  ];
  if (event.type === 'rollForward') {
    identity.push('forward', event.blocks[0]?.hash ?? '', event.blocks[event.blocks.length - 1]?.hash ?? '', `tip ${event.tip.hash}`);
  } else {
    const point = event.point === 'origin' ? 'origin' : `${event.point.slot}.${event.point.hash}`;
    identity.push('backward', point, `tip ${event.tip === 'origin' ? 'origin' : event.tip.hash}`);
  }
  return createHash('sha256').update(identity.join('\n')).digest('hex');
}
