import { DecodeError } from './decode-error.js';

// BIP-173. Cardano uses the original bech32 checksum (not bech32m) and lifts the 90-character limit,
// so the caller passes its own maximum length.

const ALPHABET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
const BECH32_CHECKSUM_CONSTANT = 1;
const BECH32M_CHECKSUM_CONSTANT = 0x2bc830a3;
const CHECKSUM_LENGTH = 6;

export interface Bech32 {
  /** The human-readable part, lower case (e.g. `addr_test`). */
  readonly prefix: string;
  readonly bytes: Uint8Array;
}

export function decodeBech32(text: string, maxLength: number): Bech32 {
  if (text.length > maxLength) {
    throw new DecodeError(`is ${text.length} characters long; the limit is ${maxLength}`);
  }
  if (!/^[\x21-\x7e]*$/.test(text)) {
    throw new DecodeError('contains characters that are not printable ASCII');
  }
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) {
    throw new DecodeError('mixes upper and lower case, which bech32 forbids');
  }
  const lower = text.toLowerCase();
  const separatorIndex = lower.lastIndexOf('1');
  if (separatorIndex < 1) {
    throw new DecodeError('has no bech32 prefix followed by the separator "1"');
  }
  const prefix = lower.slice(0, separatorIndex);
  const dataPart = lower.slice(separatorIndex + 1);
  if (dataPart.length < CHECKSUM_LENGTH) {
    throw new DecodeError('is too short to hold a bech32 checksum');
  }

  const words = [...dataPart].map((char, index) => {
    const word = ALPHABET.indexOf(char);
    if (word < 0) {
      throw new DecodeError(`character "${char}" at position ${separatorIndex + 1 + index} is not in the bech32 alphabet`);
    }
    return word;
  });

  const checksum = polymod([...expandPrefix(prefix), ...words]);
  if (checksum === BECH32M_CHECKSUM_CONSTANT) {
    throw new DecodeError('has a bech32m checksum; Cardano addresses use bech32');
  }
  if (checksum !== BECH32_CHECKSUM_CONSTANT) {
    throw new DecodeError('bech32 checksum does not match (mistyped or truncated?)');
  }

  const bytes = regroupBits(words.slice(0, -CHECKSUM_LENGTH), 5, 8, false);
  return { prefix, bytes: Uint8Array.from(bytes) };
}

export function encodeBech32(prefix: string, bytes: Uint8Array): string {
  const words = regroupBits(bytes, 8, 5, true);
  const checksum = polymod([...expandPrefix(prefix), ...words, 0, 0, 0, 0, 0, 0]) ^ BECH32_CHECKSUM_CONSTANT;
  const checksumWords = [25, 20, 15, 10, 5, 0].map((shift) => (checksum >>> shift) & 31);
  return `${prefix}1${[...words, ...checksumWords].map((word) => ALPHABET.charAt(word)).join('')}`;
}

function polymod(words: readonly number[]): number {
  let checksum = 1;
  for (const word of words) {
    const top = checksum >>> 25;
    checksum = ((checksum & 0x1ffffff) << 5) ^ word;
    for (const [bit, generator] of GENERATORS.entries()) {
      if ((top >>> bit) & 1) checksum ^= generator;
    }
  }
  return checksum >>> 0;
}

function expandPrefix(prefix: string): number[] {
  const codes = [...prefix].map((char) => char.charCodeAt(0));
  return [...codes.map((code) => code >>> 5), 0, ...codes.map((code) => code & 31)];
}

/** Re-packs a sequence of `fromBits`-wide values into `toBits`-wide values (5-bit words <-> bytes). */
function regroupBits(values: Iterable<number>, fromBits: number, toBits: number, pad: boolean): number[] {
  const maxValue = (1 << toBits) - 1;
  let accumulator = 0;
  let bitCount = 0;
  const result: number[] = [];
  for (const value of values) {
    accumulator = ((accumulator << fromBits) | value) & 0xffff; // at most 12 bits are ever pending
    bitCount += fromBits;
    while (bitCount >= toBits) {
      bitCount -= toBits;
      result.push((accumulator >>> bitCount) & maxValue);
    }
  }
  if (pad) {
    if (bitCount > 0) result.push((accumulator << (toBits - bitCount)) & maxValue);
  } else if (bitCount >= fromBits || ((accumulator << (toBits - bitCount)) & maxValue) !== 0) {
    // Decoding: at most 4 leftover bits, all zero, or the data was not produced by an encoder.
    throw new DecodeError('has invalid bech32 padding');
  }
  return result;
}
