import { DecodeError } from './decode-error.js';

// Bitcoin's base58 alphabet (no 0, O, I, l), as used by Byron addresses. Addresses are short, so plain
// bigint arithmetic is fast enough and easy to check.

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

export function isBase58(text: string): boolean {
  return [...text].every((char) => ALPHABET.includes(char));
}

export function decodeBase58(text: string): Uint8Array {
  let value = 0n;
  for (const [index, char] of [...text].entries()) {
    const digit = ALPHABET.indexOf(char);
    if (digit < 0) {
      throw new DecodeError(`character "${char}" at position ${index} is not in the base58 alphabet`);
    }
    value = value * 58n + BigInt(digit);
  }
  const bytes: number[] = [];
  for (; value > 0n; value >>= 8n) bytes.unshift(Number(value & 0xffn));
  // Each leading "1" stands for a leading zero byte, which the number above cannot carry.
  const leadingZeros = /^1*/.exec(text)?.[0].length ?? 0;
  return Uint8Array.from([...new Array<number>(leadingZeros).fill(0), ...bytes]);
}

export function encodeBase58(bytes: Uint8Array): string {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  let digits = '';
  for (; value > 0n; value /= 58n) digits = ALPHABET.charAt(Number(value % 58n)) + digits;
  const leadingZeros = bytes.findIndex((byte) => byte !== 0);
  return '1'.repeat(leadingZeros < 0 ? bytes.length : leadingZeros) + digits;
}
