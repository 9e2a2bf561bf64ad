/**
 * A CBOR (RFC 8949) decoder into a tree that remembers where each item lies in the input, so that a transaction's
 * body (whose hash is its id and what its witnesses sign) and its outputs (whose size the minimum deposit depends
 * on) can be taken as the exact bytes that were sent. Integers are bigint; definite and indefinite lengths, tags
 * and simple values are read; nesting is limited so that hostile input cannot exhaust the stack.
 */
import { TransactionCborError } from './transaction-cbor.js';

export type CborItem =
  | CborSpan<'uint', { readonly value: bigint }>
  | CborSpan<'nint', { readonly value: bigint }>
  | CborSpan<'bytes', { readonly value: Uint8Array }>
  | CborSpan<'text', { readonly value: string }>
  | CborSpan<'array', { readonly items: readonly CborItem[] }>
  | CborSpan<'map', { readonly entries: readonly (readonly [CborItem, CborItem])[] }>
  | CborSpan<'tag', { readonly tag: bigint; readonly item: CborItem }>
  | CborSpan<'simple', { readonly value: number }>;

type CborSpan<Kind extends string, Fields> = { readonly kind: Kind; readonly start: number; readonly end: number } & Fields;

const MAX_NESTING = 256;
const BREAK = 0xff;

/** Decodes one CBOR item that must fill `bytes` exactly. */
export function decodeCbor(bytes: Uint8Array): CborItem {
  const decoder = new Decoder(bytes);
  const item = decoder.item(0);
  if (decoder.offset !== bytes.length) throw new TransactionCborError(`${bytes.length - decoder.offset} bytes follow the CBOR item`);
  return item;
}

class Decoder {
  offset = 0;
  private readonly text = new TextDecoder('utf-8', { fatal: true });

  constructor(private readonly bytes: Uint8Array) {}

  item(depth: number): CborItem {
    if (depth > MAX_NESTING) throw new TransactionCborError(`CBOR nested deeper than ${MAX_NESTING}`);
    const start = this.offset;
    const initial = this.byte();
    const major = initial >>> 5;
    const info = initial & 0x1f;
    if (major === 7) return this.simple(start, info);
    if (info === 31) return this.indefinite(start, major, depth);
    const argument = this.argument(info, start);
    switch (major) {
      case 0:
        return { kind: 'uint', start, end: this.offset, value: argument };
      case 1:
        return { kind: 'nint', start, end: this.offset, value: -1n - argument };
      case 2: {
        const value = this.take(argument);
        return { kind: 'bytes', start, end: this.offset, value };
      }
      case 3: {
        const value = this.decodeText(this.take(argument));
        return { kind: 'text', start, end: this.offset, value };
      }
      case 4: {
        const items: CborItem[] = [];
        for (let count = this.length(argument); count > 0; count--) items.push(this.item(depth + 1));
        return { kind: 'array', start, end: this.offset, items };
      }
      case 5: {
        const entries: [CborItem, CborItem][] = [];
        for (let count = this.length(argument); count > 0; count--) entries.push([this.item(depth + 1), this.item(depth + 1)]);
        return { kind: 'map', start, end: this.offset, entries };
      }
      default: {
        const item = this.item(depth + 1);
        return { kind: 'tag', start, end: this.offset, tag: argument, item };
      }
    }
  }

  private indefinite(start: number, major: number, depth: number): CborItem {
    switch (major) {
      case 2:
      case 3: {
        const chunks: Uint8Array[] = [];
        while (this.peek() !== BREAK) {
          const chunk = this.item(depth + 1);
          if (chunk.kind !== (major === 2 ? 'bytes' : 'text'))
            throw new TransactionCborError(`a chunk of another type at byte ${chunk.start}`);
          chunks.push(this.bytes.subarray(chunk.start + headLength(this.bytes, chunk.start), chunk.end));
        }
        this.offset++;
        const joined = Buffer.concat(chunks);
        return major === 2
          ? { kind: 'bytes', start, end: this.offset, value: new Uint8Array(joined) }
          : { kind: 'text', start, end: this.offset, value: this.decodeText(joined) };
      }
      case 4: {
        const items: CborItem[] = [];
        while (this.peek() !== BREAK) items.push(this.item(depth + 1));
        this.offset++;
        return { kind: 'array', start, end: this.offset, items };
      }
      case 5: {
        const entries: [CborItem, CborItem][] = [];
        while (this.peek() !== BREAK) entries.push([this.item(depth + 1), this.item(depth + 1)]);
        this.offset++;
        return { kind: 'map', start, end: this.offset, entries };
      }
      default:
        throw new TransactionCborError(`malformed CBOR head at byte ${start}`);
    }
  }

  private simple(start: number, info: number): CborItem {
    if (info < 24) return { kind: 'simple', start, end: this.offset, value: info };
    if (info === 24) return { kind: 'simple', start, end: this.offset + 1, value: this.byte() };
    if (info >= 25 && info <= 27) {
      this.take(BigInt(1 << (info - 24))); // a float: its value does not matter here
      return { kind: 'simple', start, end: this.offset, value: -1 };
    }
    throw new TransactionCborError(`malformed CBOR head at byte ${start}`);
  }

  private argument(info: number, start: number): bigint {
    if (info < 24) return BigInt(info);
    if (info > 27) throw new TransactionCborError(`malformed CBOR head at byte ${start}`);
    let value = 0n;
    for (let index = 0; index < 1 << (info - 24); index++) value = (value << 8n) | BigInt(this.byte());
    return value;
  }

  /** An item count; every item takes at least one byte, so a count beyond the bytes left is malformed. */
  private length(argument: bigint): number {
    if (argument > BigInt(this.bytes.length - this.offset)) {
      throw new TransactionCborError(`a CBOR length at byte ${this.offset} runs past the end`);
    }
    return Number(argument);
  }

  private take(argument: bigint): Uint8Array {
    const length = Number(argument);
    if (argument > BigInt(this.bytes.length - this.offset))
      throw new TransactionCborError(`a CBOR string at byte ${this.offset} runs past the end`);
    const taken = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return taken;
  }

  private byte(): number {
    const value = this.bytes[this.offset];
    if (value === undefined) throw new TransactionCborError(`the CBOR data ends at byte ${this.offset}`);
    this.offset++;
    return value;
  }

  private peek(): number {
    const value = this.bytes[this.offset];
    if (value === undefined) throw new TransactionCborError('an indefinite-length CBOR item has no break');
    return value;
  }

  private decodeText(bytes: Uint8Array): string {
    try {
      return this.text.decode(bytes);
    } catch {
      throw new TransactionCborError('a CBOR text string is not UTF-8');
    }
  }
}

/** Bytes of the head of the (definite-length) item at `offset`. */
function headLength(bytes: Uint8Array, offset: number): number {
  const info = (bytes[offset] as number) & 0x1f;
  return info < 24 ? 1 : 1 + (1 << (info - 24));
}
