import { DecodeError } from './decode-error.js';

// Just enough of CBOR (RFC 8949) to read a Byron address: unsigned integers, byte strings, arrays, maps and
// tags, all definite-length, plus skipping any other well-formed item (unknown address attributes).

const MAJOR_TYPE_NAMES = [
  'an unsigned integer',
  'a negative integer',
  'a byte string',
  'a text string',
  'an array',
  'a map',
  'a tag',
  'a simple value or float',
] as const;

const UNSIGNED_INTEGER = 0;
const BYTE_STRING = 2;
const TEXT_STRING = 3;
const ARRAY = 4;
const MAP = 5;
const TAG = 6;
const SIMPLE_OR_FLOAT = 7;

interface ItemHead {
  readonly majorType: number;
  /** The integer value, length, item count or tag number, depending on the major type. */
  readonly argument: bigint;
}

export class CborReader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get isAtEnd(): boolean {
    return this.offset === this.bytes.length;
  }

  readUnsignedInteger(): bigint {
    return this.readHead(UNSIGNED_INTEGER).argument;
  }

  readByteString(): Uint8Array {
    const length = this.readLength(this.readHead(BYTE_STRING).argument);
    return this.take(length);
  }

  readArrayLength(): number {
    return this.readLength(this.readHead(ARRAY).argument);
  }

  readMapSize(): number {
    return this.readLength(this.readHead(MAP).argument);
  }

  readTag(): bigint {
    return this.readHead(TAG).argument;
  }

  skipItem(): void {
    const head = this.readHead();
    switch (head.majorType) {
      case BYTE_STRING:
      case TEXT_STRING:
        this.take(this.readLength(head.argument));
        break;
      case ARRAY:
        for (let index = this.readLength(head.argument); index > 0; index--) this.skipItem();
        break;
      case MAP:
        for (let index = this.readLength(head.argument); index > 0; index--) {
          this.skipItem();
          this.skipItem();
        }
        break;
      case TAG:
        this.skipItem();
        break;
      default: // integers, simple values and floats carry everything in their head
        break;
    }
  }

  private readHead(expectedMajorType?: number): ItemHead {
    const position = this.offset;
    const initialByte = this.take(1)[0] ?? 0;
    const majorType = initialByte >>> 5;
    const additionalInfo = initialByte & 0x1f;
    if (expectedMajorType !== undefined && majorType !== expectedMajorType) {
      const expected = MAJOR_TYPE_NAMES[expectedMajorType];
      throw new DecodeError(`expected ${expected} at CBOR byte ${position}, found ${MAJOR_TYPE_NAMES[majorType]}`);
    }
    if (additionalInfo < 24) return { majorType, argument: BigInt(additionalInfo) };
    if (additionalInfo <= 27) {
      const argumentBytes = this.take(1 << (additionalInfo - 24)); // 1, 2, 4 or 8 bytes, big-endian
      const argument = argumentBytes.reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);
      return { majorType, argument };
    }
    if (additionalInfo === 31 && majorType !== SIMPLE_OR_FLOAT) {
      throw new DecodeError(`indefinite-length CBOR item at byte ${position} (Byron addresses never use them)`);
    }
    throw new DecodeError(`malformed CBOR item head at byte ${position}`);
  }

  private readLength(argument: bigint): number {
    const remaining = this.bytes.length - this.offset;
    if (argument > BigInt(remaining)) {
      throw new DecodeError(`CBOR length ${argument} at byte ${this.offset} runs past the end of the data`);
    }
    return Number(argument);
  }

  private take(count: number): Uint8Array {
    if (this.offset + count > this.bytes.length) {
      throw new DecodeError(`CBOR data ends unexpectedly at byte ${this.bytes.length}`);
    }
    const slice = this.bytes.subarray(this.offset, this.offset + count);
    this.offset += count;
    return slice;
  }
}
