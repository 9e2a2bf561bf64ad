/**
 * JSON serialisation for everything the simulator sends. It differs from `JSON.stringify` in the ways Ogmios
 * messages need:
 *
 * - `bigint` is written as a bare JSON number with all its digits (Ogmios sends lovelace and token quantities up
 *   to 2^64 − 1 as plain numbers, never strings).
 * - Objects parsed by `parseLosslessJson` (null prototype) are written like any other object, keys in insertion
 *   order, so a block read from a fixture file is written back with the same content.
 * - A property whose value is `undefined` is left out, so optional fields can be built inline.
 * - Non-finite numbers are refused rather than silently written as `null`.
 */

/** A value this writer accepts: JSON values, with bigint for large integers and undefined for absent fields. */
export type JsonWritable =
  | null
  | boolean
  | number
  | bigint
  | string
  | readonly JsonWritable[]
  | { readonly [key: string]: JsonWritable | undefined };

export function writeJson(value: JsonWritable): string {
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
      return writeNumber(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      if (value === null) return 'null';
      if (isArray(value)) return writeArray(value);
      return writeObject(value);
  }
}

function writeNumber(value: number): string {
  if (Number.isSafeInteger(value)) return value === 0 ? '0' : String(value); // '0' also for -0
  if (!Number.isFinite(value)) throw new RangeError(`cannot write ${value} as JSON`);
  // JSON.stringify gives the shortest round-trip form.
  return JSON.stringify(value);
}

/** Characters a JSON string cannot hold as they are (JSON.stringify also escapes lone surrogates). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the characters JSON must escape include the control characters
const NEEDS_ESCAPING = /["\\\u0000-\u001f\ud800-\udfff]/;

/** Most strings here are hex, bech32 or base58 and need no escaping: skip JSON.stringify for those. */
function quote(text: string): string {
  return NEEDS_ESCAPING.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/** Object keys repeat endlessly (field names, policy ids): quote each once. Bounded, since keys come from data too. */
const quotedKeys = new Map<string, string>();
const MAX_QUOTED_KEYS = 10_000;

function quoteKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = quote(key);
    if (quotedKeys.size < MAX_QUOTED_KEYS) quotedKeys.set(key, quoted);
  }
  return quoted;
}

function writeArray(values: readonly JsonWritable[]): string {
  if (values.length === 0) return '[]';
  let text = `[${writeJson(values[0] as JsonWritable)}`;
  for (let index = 1; index < values.length; index++) text += `,${writeJson(values[index] as JsonWritable)}`;
  return `${text}]`;
}

function writeObject(object: { readonly [key: string]: JsonWritable | undefined }): string {
  let text = '{';
  let first = true;
  // for…in over own keys: the lossless parser's objects have no prototype, and object literals built here
  // inherit nothing enumerable.
  for (const key in object) {
    const value = object[key];
    if (value === undefined) continue;
    text += `${(first ? '' : ',') + quoteKey(key)}:${writeJson(value)}`;
    first = false;
  }
  return `${text}}`;
}

/** Array.isArray narrowed to the readonly array type of this module. */
function isArray(value: unknown): value is readonly JsonWritable[] {
  return Array.isArray(value);
}
