/** Points, tips and primitive fields between the domain (bigint slots, `hash`) and the Ogmios wire format (`slot`, `id`). */
import type { Point, Tip } from '../../domain/chain.js';
import type { JsonValue } from '../../domain/ogmios/lossless-json.js';
import { OgmiosProtocolError } from './errors.js';
import { isObject } from './json-rpc.js';

export function encodePoint(point: Point): JsonValue {
  return point === 'origin' ? 'origin' : { slot: point.slot, id: point.hash };
}

export function decodePoint(value: JsonValue | undefined, what: string): Point {
  if (value === 'origin') return 'origin';
  if (!isObject(value)) throw new OgmiosProtocolError(`${what} is not a point`);
  return { slot: decodeUnsigned(value.slot, `${what}.slot`), hash: decodeHash(value.id, `${what}.id`) };
}

export function decodeTip(value: JsonValue | undefined, what: string): Tip | 'origin' {
  if (value === 'origin') return 'origin';
  if (!isObject(value)) throw new OgmiosProtocolError(`${what} is not a tip`);
  return {
    slot: decodeUnsigned(value.slot, `${what}.slot`),
    hash: decodeHash(value.id, `${what}.id`),
    height: decodeUnsigned(value.height, `${what}.height`),
  };
}

export function samePoint(a: Point, b: Point): boolean {
  if (a === 'origin' || b === 'origin') return a === b;
  return a.slot === b.slot && a.hash === b.hash;
}

/** The lossless parser gives safe integers as numbers and larger ones as bigints. */
export function decodeUnsigned(value: JsonValue | undefined, what: string): bigint {
  if (typeof value === 'bigint' && value >= 0n) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw new OgmiosProtocolError(`${what} is not a non-negative integer`);
}

const HASH = /^[0-9a-f]{64}$/;

export function decodeHash(value: JsonValue | undefined, what: string): string {
  if (typeof value === 'string' && HASH.test(value)) return value;
  throw new OgmiosProtocolError(`${what} is not a 64-digit hex hash`);
}
