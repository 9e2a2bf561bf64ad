/** Character codes of the JSON grammar, and the limits shared by the lossless parser and the single-pass decoder. */

export const TAB = 0x09;
export const LINE_FEED = 0x0a;
export const CARRIAGE_RETURN = 0x0d;
export const SPACE = 0x20;
export const QUOTE = 0x22;
export const PLUS = 0x2b;
export const COMMA = 0x2c;
export const MINUS = 0x2d;
export const DOT = 0x2e;
export const DIGIT_0 = 0x30;
export const DIGIT_1 = 0x31;
export const DIGIT_9 = 0x39;
export const COLON = 0x3a;
export const UPPER_E = 0x45;
export const OPEN_BRACKET = 0x5b;
export const BACKSLASH = 0x5c;
export const CLOSE_BRACKET = 0x5d;
export const LOWER_A = 0x61;
export const LOWER_E = 0x65;
export const LOWER_F = 0x66;
export const LOWER_N = 0x6e;
export const LOWER_T = 0x74;
export const LOWER_U = 0x75;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;

/** Up to 15 decimal digits always fit exactly in a double, so they can be accumulated without rounding. */
export const MAX_EXACT_ACCUMULATED_DIGITS = 15;

/** Raw control characters are legal between tokens but not inside strings. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
export const CONTROL_CHARACTER = /[\u0000-\u001f]/;

/**
 * Whether UTF-8 `bytes` hold a raw control character (a byte below 0x20: in UTF-8 those bytes are exactly the
 * characters U+0000–U+001F, never part of a multi-byte sequence). Same answer as `CONTROL_CHARACTER` on the
 * decoded text, about a third faster on a block: four bytes at a time (for a 32-bit word x, the high bit of
 * a byte of `(x - 0x20202020) & ~x` is set in some byte exactly when some byte of x is below 0x20).
 */
export function hasControlByte(bytes: Uint8Array): boolean {
  const length = bytes.byteLength;
  // Words must be aligned in the underlying buffer; the bytes before the first aligned one are checked one by one.
  const head = Math.min(length, (4 - (bytes.byteOffset & 3)) & 3);
  for (let position = 0; position < head; position++) if ((bytes[position] as number) < SPACE) return true;
  const wordCount = (length - head) >> 2;
  if (wordCount > 0) {
    const words = new Int32Array(bytes.buffer, bytes.byteOffset + head, wordCount);
    let found = 0;
    let index = 0;
    // Eight words per iteration: the loop's own overhead is a fifth of the time otherwise.
    for (const unrolledEnd = wordCount & ~7; index < unrolledEnd; index += 8) {
      const w0 = words[index] as number;
      const w1 = words[index + 1] as number;
      const w2 = words[index + 2] as number;
      const w3 = words[index + 3] as number;
      const w4 = words[index + 4] as number;
      const w5 = words[index + 5] as number;
      const w6 = words[index + 6] as number;
      const w7 = words[index + 7] as number;
      found |=
        ((w0 - 0x20202020) & ~w0) |
        ((w1 - 0x20202020) & ~w1) |
        ((w2 - 0x20202020) & ~w2) |
        ((w3 - 0x20202020) & ~w3) |
        ((w4 - 0x20202020) & ~w4) |
        ((w5 - 0x20202020) & ~w5) |
        ((w6 - 0x20202020) & ~w6) |
        ((w7 - 0x20202020) & ~w7);
    }
    for (; index < wordCount; index++) {
      const word = words[index] as number;
      found |= (word - 0x20202020) & ~word;
    }
    if ((found & 0x80808080) !== 0) return true;
  }
  for (let position = head + wordCount * 4; position < length; position++) if ((bytes[position] as number) < SPACE) return true;
  return false;
}
