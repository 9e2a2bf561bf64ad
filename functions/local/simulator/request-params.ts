/**
 * Reads the `params` of the requests the simulator serves. A malformed parameter throws InvalidParams, which the
 * session answers like Ogmios answers a request it cannot decode: -32600 without `method`.
 */
import { isLosslessJsonObject, type JsonObject, type JsonValue } from '../../domain/ogmios/lossless-json.js';
import type { OutputReference } from './block-draft.js';

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
