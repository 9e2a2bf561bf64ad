/**
 * Reads the `params` of the requests the simulator serves. A malformed parameter throws InvalidParams, which the
 * session answers like Ogmios answers a request it cannot decode: -32600 without `method`.
 */
import { isLosslessJsonObject, type JsonObject, type JsonValue } from '../../domain/ogmios/lossless-json.js';
import type { AssetQuantity } from '../../domain/chain.js';
import type { OutputReference } from './block-draft.js';
import type { PaymentTarget } from './synthetic-transactions.js';

export class InvalidParams extends Error {
  override readonly name = 'InvalidParams';
}

/** A point a client names: a block (its slot may be any size: a slot beyond 2^53 simply matches nothing) or origin. */
export type RequestedPoint = 'origin' | { readonly slot: number | bigint; readonly id: string };

const HASH = /^[0-9a-f]{64}$/;
const HEX = /^(?:[0-9a-f]{2})+$/i;

/** `findIntersection` params: `{points: [Point | "origin", …]}`; a missing list means no points. */
export function readIntersectionPoints(params: JsonValue | undefined): RequestedPoint[] {
  const object = optionalObject(params, 'params');
  const points = object?.points;
  if (points === undefined) return [];
  if (!Array.isArray(points)) throw new InvalidParams("Invalid request: field 'params.points' must be a list of points.");
  return points.map((point, index) => readPoint(point, `params.points[${index}]`));
}

/** `acquireLedgerState` params: `{point: Point | "origin"}`. */
export function readAcquirePoint(params: JsonValue | undefined): RequestedPoint {
  const object = optionalObject(params, 'params');
  if (object?.point === undefined) throw new InvalidParams("Invalid request: field 'params.point' is required.");
  return readPoint(object.point, 'params.point');
}

export type UtxoFilter =
  | { readonly kind: 'whole' }
  | { readonly kind: 'addresses'; readonly addresses: readonly string[] }
  | { readonly kind: 'outputReferences'; readonly references: readonly OutputReference[] };

/** `queryLedgerState/utxo` params: `{addresses: […]}`, `{outputReferences: […]}`, or nothing for the whole set. */
export function readUtxoFilter(params: JsonValue | undefined): UtxoFilter {
  const object = optionalObject(params, 'params');
  const keys = object === undefined ? [] : Object.keys(object);
  if (keys.length === 0) return { kind: 'whole' };
  if (keys.length > 1) throw new InvalidParams("Invalid request: 'params' must hold either 'addresses' or 'outputReferences', not both.");
  const addresses = object?.addresses;
  if (addresses !== undefined) {
    if (!Array.isArray(addresses) || !addresses.every((address) => typeof address === 'string')) {
      throw new InvalidParams("Invalid request: field 'params.addresses' must be a list of addresses.");
    }
    return { kind: 'addresses', addresses: addresses as string[] };
  }
  const references = object?.outputReferences;
  if (!Array.isArray(references)) throw new InvalidParams(`Invalid request: unexpected field 'params.${keys[0]}'.`);
  return { kind: 'outputReferences', references: references.map((reference, index) => readOutputReference(reference, index)) };
}

/** `submitTransaction` params: `{transaction: {cbor: "<hex>"}}`; returns the bytes. */
export function readTransactionCbor(params: JsonValue | undefined): Uint8Array {
  const transaction = optionalObject(params, 'params')?.transaction;
  const cbor = isLosslessJsonObject(transaction) ? transaction.cbor : undefined;
  if (typeof cbor !== 'string' || !HEX.test(cbor)) {
    throw new InvalidParams("Invalid request: field 'params.transaction.cbor' must be a base16-encoded CBOR transaction.");
  }
  return Buffer.from(cbor, 'hex');
}

/** `simulator/queuePayment` params: `{address, lovelace?, assets?: [{policyId, assetName, quantity}]}` (amounts exact). */
export function readPaymentTarget(params: JsonValue | undefined): PaymentTarget {
  const object = optionalObject(params, 'params');
  const address = object?.address;
  if (typeof address !== 'string' || address.length === 0) throw new InvalidParams("Invalid request: field 'params.address' is required.");
  const lovelace = object?.lovelace === undefined ? undefined : readQuantity(object.lovelace, 'params.lovelace');
  const assets = object?.assets;
  if (assets !== undefined && !Array.isArray(assets)) throw new InvalidParams("Invalid request: field 'params.assets' must be a list.");
  return {
    address,
    ...(lovelace === undefined ? {} : { lovelace }),
    ...(assets === undefined ? {} : { assets: assets.map((asset, index) => readAsset(asset, `params.assets[${index}]`)) }),
  };
}

/**
 * `simulator/rollBack` params: `{depth, requeueTransactions?}`, or `{beforeTransaction: <id>, …}`: back to the block
 * before the one that carries that transaction (a walkthrough knows its payment, not how deep it now lies).
 */
export function readRollBack(params: JsonValue | undefined): RollBackRequest {
  const object = optionalObject(params, 'params');
  const requeue = object?.requeueTransactions ?? true;
  if (typeof requeue !== 'boolean') throw new InvalidParams("Invalid request: field 'params.requeueTransactions' must be true or false.");
  const before = object?.beforeTransaction;
  if (before !== undefined) {
    if (typeof before !== 'string' || !HASH.test(before)) {
      throw new InvalidParams("Invalid request: field 'params.beforeTransaction' must be a transaction id (64 hex digits).");
    }
    return { beforeTransaction: before, requeueTransactions: requeue };
  }
  const depth = object?.depth;
  if (typeof depth !== 'number' || !Number.isSafeInteger(depth) || depth < 1) {
    throw new InvalidParams("Invalid request: field 'params.depth' must be a whole number of blocks, at least 1.");
  }
  return { depth, requeueTransactions: requeue };
}

export type RollBackRequest = ({ depth: number } | { beforeTransaction: string }) & { requeueTransactions: boolean };

function readAsset(value: JsonValue | undefined, field: string): AssetQuantity {
  if (isLosslessJsonObject(value)) {
    const { policyId, assetName } = value;
    if (
      typeof policyId === 'string' &&
      /^[0-9a-f]{56}$/.test(policyId) &&
      typeof assetName === 'string' &&
      /^(?:[0-9a-f]{2}){0,32}$/.test(assetName)
    ) {
      return { policyId, assetName, quantity: readQuantity(value.quantity, `${field}.quantity`) };
    }
  }
  throw new InvalidParams(`Invalid request: field '${field}' must be {"policyId": <56 hex>, "assetName": <hex>, "quantity": <quantity>}.`);
}

/** A positive quantity below 2^64, as a JSON number of any size or a decimal string. */
function readQuantity(value: JsonValue | undefined, field: string): bigint {
  const quantity =
    typeof value === 'bigint'
      ? value
      : typeof value === 'number' && Number.isSafeInteger(value)
        ? BigInt(value)
        : typeof value === 'string' && /^[0-9]{1,20}$/.test(value)
          ? BigInt(value)
          : undefined;
  if (quantity === undefined || quantity < 1n || quantity >= 2n ** 64n) {
    throw new InvalidParams(`Invalid request: field '${field}' must be a whole quantity from 1 to 2^64 - 1.`);
  }
  return quantity;
}

function readPoint(value: JsonValue | undefined, field: string): RequestedPoint {
  if (value === 'origin') return 'origin';
  if (isLosslessJsonObject(value)) {
    const { slot, id } = value;
    const slotIsValid = (typeof slot === 'number' && Number.isSafeInteger(slot) && slot >= 0) || (typeof slot === 'bigint' && slot >= 0n);
    if (slotIsValid && typeof id === 'string' && HASH.test(id)) return { slot, id };
  }
  throw new InvalidParams(`Invalid request: field '${field}' must be "origin" or a point {"slot": <slot>, "id": <block id>}.`);
}

function readOutputReference(value: JsonValue | undefined, index: number): OutputReference {
  if (isLosslessJsonObject(value) && isLosslessJsonObject(value.transaction)) {
    const id = value.transaction.id;
    const outputIndex = value.index;
    if (
      typeof id === 'string' &&
      HASH.test(id) &&
      typeof outputIndex === 'number' &&
      Number.isSafeInteger(outputIndex) &&
      outputIndex >= 0
    ) {
      return { txId: id, index: outputIndex };
    }
  }
  throw new InvalidParams(
    `Invalid request: field 'params.outputReferences[${index}]' must be {"transaction": {"id": <id>}, "index": <index>}.`,
  );
}

function optionalObject(value: JsonValue | undefined, field: string): JsonObject | undefined {
  if (value === undefined) return undefined;
  if (isLosslessJsonObject(value)) return value;
  throw new InvalidParams(`Invalid request: field '${field}' must be an object.`);
}
