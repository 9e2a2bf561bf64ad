/**
 * The id of a submitted transaction, from its CBOR: a transaction is `[body, witnesses, isValid?, auxiliaryData]`
 * and its id is the blake2b-256 hash of the body's bytes exactly as sent. The simulator reads no further: it
 * does not validate the body or decode inputs and outputs (see SyntheticTransactions.submitted).
 *
 * Only the CBOR structure is walked (definite and indefinite lengths, tags, simple values), never more than
 * MAX_NESTING deep, so hostile input cannot exhaust the stack.
 */
import { blake2b256Hex } from './blake2b.js';

export class TransactionCborError extends Error {
  override readonly name = 'TransactionCborError';
}

const MAJOR_UNSIGNED = 0;
const MAJOR_NEGATIVE = 1;
const MAJOR_BYTES = 2;
const MAJOR_TEXT = 3;
const MAJOR_ARRAY = 4;
const MAJOR_MAP = 5;
const MAJOR_TAG = 6;
const INDEFINITE = 31;
const BREAK = 0xff;
const MAX_NESTING = 256;

/** The transaction id (64 hex) of a serialised transaction; throws TransactionCborError when it is not one. */
export function transactionIdFromCbor(bytes: Uint8Array): string {
  if (bytes.length === 0) throw new TransactionCborError('no bytes');
  const { majorType, count, start } = readHead(bytes, 0);
  if (majorType !== MAJOR_ARRAY) throw new TransactionCborError('a transaction is a CBOR array [body, witnesses, …]');
  if (count !== undefined && (count < 3 || count > 4))
    throw new TransactionCborError(`a transaction array has 3 or 4 items, found ${count}`);
  const bodyStart = start;
  if (readHead(bytes, bodyStart).majorType !== MAJOR_MAP) throw new TransactionCborError('a transaction body is a CBOR map');
  const bodyEnd = itemEnd(bytes, bodyStart, 1);
  let position = bodyEnd;
  let items = 1;
  while (count === undefined ? bytes[position] !== BREAK : items < count) {
    position = itemEnd(bytes, position, 1);
    items++;
  }
  if (count === undefined) {
    if (items < 3 || items > 4) throw new TransactionCborError(`a transaction array has 3 or 4 items, found ${items}`);
    position++; // the break
  }
  if (position !== bytes.length) throw new TransactionCborError(`${bytes.length - position} bytes follow the transaction`);
  return blake2b256Hex(bytes.subarray(bodyStart, bodyEnd));
}

interface Head {
  readonly majorType: number;
  /** Argument as a number: the length or count (undefined when indefinite), or the value of an integer. */
  readonly count: number | undefined;
  /** Offset just after the head. */
  readonly start: number;
}

function readHead(bytes: Uint8Array, offset: number): Head {
  const initial = bytes[offset];
  if (initial === undefined) throw new TransactionCborError(`the CBOR data ends at byte ${offset}`);
  const majorType = initial >>> 5;
  const info = initial & 0x1f;
  if (info < 24) return { majorType, count: info, start: offset + 1 };
  if (info <= 27) {
    const size = 1 << (info - 24);
    if (offset + 1 + size > bytes.length) throw new TransactionCborError(`the CBOR data ends inside the head at byte ${offset}`);
    let value = 0;
    for (let index = 1; index <= size; index++) value = value * 256 + (bytes[offset + index] as number);
    return { majorType, count: value, start: offset + 1 + size };
  }
  if (info === INDEFINITE && majorType >= MAJOR_BYTES && majorType <= MAJOR_MAP) return { majorType, count: undefined, start: offset + 1 };
  throw new TransactionCborError(`malformed CBOR head 0x${initial.toString(16)} at byte ${offset}`);
}

/** The offset just past the CBOR item that starts at `offset`. */
function itemEnd(bytes: Uint8Array, offset: number, depth: number): number {
  if (depth > MAX_NESTING) throw new TransactionCborError(`CBOR nested deeper than ${MAX_NESTING}`);
  const { majorType, count, start } = readHead(bytes, offset);
  switch (majorType) {
    case MAJOR_UNSIGNED:
    case MAJOR_NEGATIVE:
      return start;
    case MAJOR_BYTES:
    case MAJOR_TEXT: {
      if (count === undefined) return itemsUntilBreak(bytes, start, depth, 1);
      const end = start + count;
      if (end > bytes.length) throw new TransactionCborError(`a CBOR string at byte ${offset} runs past the end`);
      return end;
    }
    case MAJOR_ARRAY:
    case MAJOR_MAP: {
      const perEntry = majorType === MAJOR_MAP ? 2 : 1;
      if (count === undefined) return itemsUntilBreak(bytes, start, depth, perEntry);
      let position = start;
      for (let item = 0; item < count * perEntry; item++) position = itemEnd(bytes, position, depth + 1);
      return position;
    }
    case MAJOR_TAG:
      return itemEnd(bytes, start, depth + 1);
    default: // simple values and floats: the head holds everything
      return start;
  }
}

function itemsUntilBreak(bytes: Uint8Array, start: number, depth: number, perEntry: number): number {
  let position = start;
  while (bytes[position] !== BREAK) {
    if (position >= bytes.length) throw new TransactionCborError('an indefinite-length CBOR item has no break');
    for (let item = 0; item < perEntry; item++) position = itemEnd(bytes, position, depth + 1);
  }
  return position + 1;
}
