/**
 * A forward-only JSON cursor for schema-directed decoding: the caller walks the objects and arrays it expects,
 * reads the few values it needs straight from the text, and skips everything else.
 *
 * Skipping still validates. Every skipped value is checked against the JSON grammar (strings, escapes, numbers,
 * literals, nesting), so a message that `JSON.parse` or `parseLosslessJson` would reject is rejected here too,
 * wherever the fault is. What skipping avoids is building anything: no objects, arrays, numbers or strings are
 * created for skipped values, and string contents are jumped over with `indexOf` instead of being walked.
 *
 * Failure is a `FastPathRejection`: "this cursor does not accept the input", with a short reason and position.
 * It is deliberately not a user-facing error; the block decoder answers a rejection by handing the message to the
 * reference decoder, which either accepts it (an input this fast path chose not to handle) or explains exactly
 * what is wrong with it.
 *
 * Past the end of the text `charCodeAt` returns NaN, which equals no character code, so "unexpected end of input"
 * needs no separate check: it fails whichever comparison came next.
 */

import {
  TAB,
  LINE_FEED,
  CARRIAGE_RETURN,
  SPACE,
  QUOTE,
  PLUS,
  COMMA,
  MINUS,
  DOT,
  DIGIT_0,
  DIGIT_1,
  DIGIT_9,
  COLON,
  UPPER_E,
  OPEN_BRACKET,
  BACKSLASH,
  CLOSE_BRACKET,
  LOWER_E,
  LOWER_F,
  LOWER_N,
  LOWER_T,
  LOWER_U,
  OPEN_BRACE,
  CLOSE_BRACE,
  MAX_EXACT_ACCUMULATED_DIGITS,
  CONTROL_CHARACTER,
} from './json-characters.js';
import { decodeJsonEscape } from './json-escapes.js';
import { detach, isLowercaseHex, keep, keepLowercaseHex } from './fast-string-pool.js';

/** The fast path does not accept this input (malformed JSON, unexpected shape, or a case it leaves to the reference decoder). */
export class FastPathRejection extends Error {
  override readonly name = 'FastPathRejection';
  constructor(
    readonly reason: string,
    /** Offset in UTF-16 code units where the cursor was when it gave up. */
    readonly position: number,
  ) {
    super(`${reason} at position ${position}`);
  }
}

// Character codes.

const HASH_LENGTH = 64;

export class JsonCursor {
  /** Offset of the next character to read. */
  private position = 0;

  /**
   * The key read by `enterObject` / `nextMember`, as a range of the text, or decoded in `escapedKey` when it
   * holds escapes (then `keyStart`/`keyEnd` are meaningless). Keys are matched in place, never materialised.
   */
  private keyStart = 0;
  private keyEnd = 0;
  private escapedKey: string | undefined;
  /** Length of the current key (decoded); the first thing key matching looks at. Read-only for callers. */
  keyLength = 0;

  /** Index of the next backslash at or after the last lookup (Infinity if none): found once, reused by the strings before it. */
  private nextBackslash = -1;
  /**
   * Whether the text has a raw control character anywhere. Compact JSON (what Ogmios sends) has none, so a single
   * regular-expression pass over the whole text spares checking each string; pretty-printed JSON (newlines between
   * tokens) pays the per-string check.
   */
  private readonly mayContainControlCharacters: boolean;
  /** For `skipValue`: per open container, 1 for an array, 0 for an object. Grows on demand; depth is unbounded. */
  private containers = new Uint8Array(32);

  /** `mayContainControlCharacters`: when the caller already knows (see `hasControlByte`); found here otherwise. */
  constructor(
    private readonly text: string,
    mayContainControlCharacters = CONTROL_CHARACTER.test(text),
  ) {
    this.mayContainControlCharacters = mayContainControlCharacters;
  }

  reject(reason: string): never {
    throw new FastPathRejection(reason, this.position);
  }

  /** Skips whitespace; returns the code of the next character (NaN at the end) without consuming it. */
  peek(): number {
    const text = this.text;
    let position = this.position;
    let code = text.charCodeAt(position);
    // Compact JSON has no whitespace: one comparison settles the usual case.
    if (code > SPACE) return code;
    while (code === SPACE || code === LINE_FEED || code === CARRIAGE_RETURN || code === TAB) code = text.charCodeAt(++position);
    this.position = position;
    return code;
  }

  /** Rejects anything but whitespace after the top-level value. */
  expectEnd(): void {
    this.peek();
    if (this.position !== this.text.length) this.reject('unexpected text after the message');
  }

  // ---- Objects and arrays ----
  //
  // Objects are walked as   if (cursor.enterObject()) do { ...match the key, read or skip the value... } while (cursor.nextMember());
  // and arrays as           if (cursor.enterArray()) do { ...read or skip the element... } while (cursor.nextElement());

  /** Consumes `{` and, unless the object is empty, its first key and colon. Rejects any other value. */
  enterObject(): boolean {
    if (this.peek() !== OPEN_BRACE) this.reject('expected an object');
    this.position++;
    const code = this.peek();
    if (code === CLOSE_BRACE) {
      this.position++;
      return false;
    }
    this.readKey(code);
    return true;
  }

  /** After a member's value: consumes `,` and the next key (true), or the closing `}` (false). */
  nextMember(): boolean {
    const code = this.peek();
    if (code === COMMA) {
      this.position++;
      this.readKey(this.peek());
      return true;
    }
    if (code !== CLOSE_BRACE) this.reject("expected ',' or '}'");
    this.position++;
    return false;
  }

  /** Consumes `[`; true when an element follows, false (with `]` consumed) for an empty array. Rejects any other value. */
  enterArray(): boolean {
    if (this.peek() !== OPEN_BRACKET) this.reject('expected an array');
    this.position++;
    if (this.peek() === CLOSE_BRACKET) {
      this.position++;
      return false;
    }
    return true;
  }

  /** After an element: consumes `,` (true: another element follows) or the closing `]` (false). */
  nextElement(): boolean {
    const code = this.peek();
    if (code === COMMA) {
      this.position++;
      return true;
    }
    if (code !== CLOSE_BRACKET) this.reject("expected ',' or ']'");
    this.position++;
    return false;
  }

  // ---- Keys ----

  /** Whether the current key is `literal` (compared in place). */
  keyIs(literal: string): boolean {
    if (this.escapedKey !== undefined) return this.escapedKey === literal;
    return this.keyLength === literal.length && textHas(this.text, this.keyStart, literal);
  }

  /** The current key if it is lowercase hex digits (a policy id, an asset name), as a string that does not keep the message alive. */
  hexKey(): string | undefined {
    const escaped = this.escapedKey;
    if (escaped === undefined) return keepLowercaseHex(this.text, this.keyStart, this.keyEnd);
    return isLowercaseHex(escaped, 0, escaped.length) ? detach(escaped) : undefined;
  }

  /** Reads `"key"` and the following colon; `code` is the current character. */
  private readKey(code: number): void {
    if (code !== QUOTE) this.reject('expected a string key');
    const text = this.text;
    const start = this.position + 1;
    const end = text.indexOf('"', start);
    if (end === -1) this.reject('unterminated string');
    if (this.nextBackslashFrom(start) > end) {
      if (this.mayContainControlCharacters) this.rejectControlCharacters(start, end);
      this.keyStart = start;
      this.keyEnd = end;
      this.keyLength = end - start;
      this.escapedKey = undefined;
      this.position = end + 1;
    } else {
      const key = this.readEscapedString(start, true);
      this.escapedKey = key;
      this.keyLength = key.length;
    }
    if (this.peek() !== COLON) this.reject("expected ':'");
    this.position++;
  }

  // ---- Values that are read ----

  /**
   * A string value, for comparison only: it may be a view into the message text (see `readKeptString` for
   * strings that outlive the message).
   */
  readString(): string {
    if (this.peek() !== QUOTE) this.reject('expected a string');
    const text = this.text;
    const start = this.position + 1;
    const end = text.indexOf('"', start);
    if (end === -1) this.reject('unterminated string');
    if (this.nextBackslashFrom(start) > end) {
      if (this.mayContainControlCharacters) this.rejectControlCharacters(start, end);
      this.position = end + 1;
      return text.slice(start, end);
    }
    return this.readEscapedString(start, true);
  }

  /** A string value that outlives the message (an address): copied out of the message text. */
  readKeptString(): string {
    if (this.peek() !== QUOTE) this.reject('expected a string');
    const text = this.text;
    const start = this.position + 1;
    const end = text.indexOf('"', start);
    if (end === -1) this.reject('unterminated string');
    if (this.nextBackslashFrom(start) > end) {
      if (this.mayContainControlCharacters) this.rejectControlCharacters(start, end);
      this.position = end + 1;
      return keep(text, start, end);
    }
    return detach(this.readEscapedString(start, true));
  }

  /** Whether the next value is a string. */
  nextIsString(): boolean {
    return this.peek() === QUOTE;
  }

  /**
   * A block or transaction hash: 64 lowercase hex digits, copied out of the message text. `alternative` is
   * another string accepted in its place (`"genesis"` for an ancestor) and returned as is.
   */
  readHash(alternative?: string): string {
    const text = this.text;
    if (this.peek() === QUOTE) {
      const start = this.position + 1;
      const end = start + HASH_LENGTH;
      // Hex digits are neither quotes, backslashes nor control characters: in the usual case the string ends right after them.
      if (text.charCodeAt(end) === QUOTE) {
        const hash = keepLowercaseHex(text, start, end);
        if (hash !== undefined) {
          this.position = end + 1;
          return hash;
        }
      }
    }
    // The alternative, escaped digits (legal JSON, never sent by Ogmios), or not a hash at all.
    const value = this.readString();
    if (value === alternative) return alternative;
    if (value.length !== HASH_LENGTH || !isLowercaseHex(value, 0, HASH_LENGTH)) this.reject('expected 64 lowercase hex digits');
    return detach(value);
  }

  /**
   * A non-negative integer literal as a bigint, of any size. Anything else is rejected, including literals the
   * reference decoder would still accept as integers (`-0`, `1.0`, `1e3`): they never come from Ogmios, and
   * the rejection hands them over to it.
   */
  readUnsignedInteger(): bigint {
    const start = this.position;
    const accumulated = this.scanUnsignedInteger();
    if (this.position - start <= MAX_EXACT_ACCUMULATED_DIGITS) return BigInt(accumulated);
    return BigInt(this.text.slice(start, this.position));
  }

  /** A non-negative integer literal that must fit a JS number exactly (an output index). */
  readSafeUnsignedInteger(): number {
    const start = this.position;
    const accumulated = this.scanUnsignedInteger();
    if (this.position - start <= MAX_EXACT_ACCUMULATED_DIGITS) return accumulated;
    const value = Number(this.text.slice(start, this.position));
    if (!Number.isSafeInteger(value)) this.reject('integer beyond 2^53 - 1');
    return value;
  }

  /**
   * Consumes a plain integer literal (digits only) and returns its value, which is exact only when it has at most
   * MAX_EXACT_ACCUMULATED_DIGITS digits (the callers re-read longer ones from the text).
   */
  private scanUnsignedInteger(): number {
    const text = this.text;
    let code = this.peek();
    let position = this.position;
    let accumulated = 0;
    if (code === DIGIT_0) {
      code = text.charCodeAt(++position);
    } else if (code >= DIGIT_1 && code <= DIGIT_9) {
      do {
        accumulated = accumulated * 10 + (code - DIGIT_0);
        code = text.charCodeAt(++position);
      } while (code >= DIGIT_0 && code <= DIGIT_9);
    } else {
      this.reject('expected a non-negative integer');
    }
    // A fraction, an exponent, or a digit after a leading zero (which is malformed JSON).
    if (code === DOT || code === LOWER_E || code === UPPER_E || (code >= DIGIT_0 && code <= DIGIT_9)) {
      this.reject('expected a plain integer literal');
    }
    this.position = position;
    return accumulated;
  }

  // ---- Values that are skipped ----

  /**
   * Skips one JSON value of any kind, validating it completely. Iterative: the nesting depth is bounded by
   * memory, not by the call stack.
   */
  skipValue(): void {
    // One loop with the position in a local: about half of a real block's bytes go through here, and this ran
    // about a third faster than the same logic spread over the cursor's small methods.
    const text = this.text;
    let position = this.position;
    let containers = this.containers;
    let depth = 0;
    let code: number;
    for (;;) {
      // A value starts here (after whitespace).
      code = text.charCodeAt(position);
      if (code <= SPACE) code = text.charCodeAt((position = this.skipWhitespaceFrom(position)));
      if (code === QUOTE) {
        position = this.endOfString(position);
      } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
        const isArray = code === OPEN_BRACKET;
        code = text.charCodeAt(++position);
        if (code <= SPACE) code = text.charCodeAt((position = this.skipWhitespaceFrom(position)));
        if (code === (isArray ? CLOSE_BRACKET : CLOSE_BRACE)) {
          position++;
        } else {
          if (depth === containers.length) {
            const grown = new Uint8Array(depth * 2);
            grown.set(containers);
            this.containers = containers = grown;
          }
          containers[depth++] = isArray ? 1 : 0;
          if (!isArray) position = this.endOfKey(position);
          continue;
        }
      } else if (code >= DIGIT_1 && code <= DIGIT_9) {
        // Most numbers are plain integers: run over the digits here; a fraction or exponent takes the full check.
        const start = position;
        do code = text.charCodeAt(++position);
        while (code >= DIGIT_0 && code <= DIGIT_9);
        if (code === DOT || code === LOWER_E || code === UPPER_E) position = this.endOfNumber(start);
      } else if (code === MINUS || code === DIGIT_0) {
        position = this.endOfNumber(position);
      } else if (code === LOWER_T || code === LOWER_F || code === LOWER_N) {
        const literal = code === LOWER_T ? 'true' : code === LOWER_F ? 'false' : 'null';
        if (!textHas(text, position, literal)) this.rejectAt(position, `expected '${literal}'`);
        position += literal.length;
      } else {
        this.rejectAt(position, 'expected a value');
      }

      // The value is complete: close as many containers as the following tokens end, or move to the next member.
      for (;;) {
        if (depth === 0) {
          this.position = position;
          return;
        }
        code = text.charCodeAt(position);
        if (code <= SPACE) code = text.charCodeAt((position = this.skipWhitespaceFrom(position)));
        const inArray = containers[depth - 1] === 1;
        if (code === COMMA) {
          position++;
          if (!inArray) position = this.endOfKey(position);
          break;
        }
        if (code !== (inArray ? CLOSE_BRACKET : CLOSE_BRACE))
          this.rejectAt(position, inArray ? "expected ',' or ']'" : "expected ',' or '}'");
        position++;
        depth--;
      }
    }
  }

  /** The position of the first non-whitespace character at or after `position`. */
  private skipWhitespaceFrom(position: number): number {
    const text = this.text;
    let code = text.charCodeAt(position);
    while (code === SPACE || code === LINE_FEED || code === CARRIAGE_RETURN || code === TAB) code = text.charCodeAt(++position);
    return position;
  }

  /** Skips `"key":` (whitespace allowed around it) from `position`; returns the position after the colon. */
  private endOfKey(position: number): number {
    const text = this.text;
    if (text.charCodeAt(position) <= SPACE) position = this.skipWhitespaceFrom(position);
    if (text.charCodeAt(position) !== QUOTE) this.rejectAt(position, 'expected a string key');
    position = this.endOfString(position);
    if (text.charCodeAt(position) <= SPACE) position = this.skipWhitespaceFrom(position);
    if (text.charCodeAt(position) !== COLON) this.rejectAt(position, "expected ':'");
    return position + 1;
  }

  /** Validates the string whose opening quote is at `position`; returns the position after its closing quote. */
  private endOfString(position: number): number {
    const start = position + 1;
    const end = this.text.indexOf('"', start);
    if (end === -1) this.rejectAt(position, 'unterminated string');
    if (this.nextBackslashFrom(start) > end) {
      if (this.mayContainControlCharacters) this.rejectControlCharacters(start, end);
      return end + 1;
    }
    this.readEscapedString(start, false);
    return this.position;
  }

  /** Validates the number starting at `position`; returns the position after it. */
  private endOfNumber(position: number): number {
    this.position = position;
    this.skipNumber();
    return this.position;
  }

  private rejectAt(position: number, reason: string): never {
    this.position = position;
    return this.reject(reason);
  }

  /**
   * Reads a string that has an escape, from its first character at `start` to its closing quote (consumed).
   * Validates every escape and character; builds the decoded string only when `decode` is set.
   */
  private readEscapedString(start: number, decode: boolean): string {
    const text = this.text;
    let result = '';
    let chunkStart = start;
    let position = start;
    for (;;) {
      const code = text.charCodeAt(position);
      if (code === QUOTE) {
        this.position = position + 1;
        return decode ? result + text.slice(chunkStart, position) : '';
      }
      if (code === BACKSLASH) {
        const escaped = this.decodeEscape(position);
        if (decode) result += text.slice(chunkStart, position) + escaped;
        position += text.charCodeAt(position + 1) === LOWER_U ? 6 : 2;
        chunkStart = position;
        continue;
      }
      if (!(code >= SPACE)) {
        // A raw control character, or NaN past the end.
        this.position = position;
        // biome-ignore lint/suspicious/noSelfCompare: NaN (past the end) is the one value unequal to itself; cheapest in this loop
        this.reject(code === code ? 'control character in string' : 'unterminated string');
      }
      position++;
    }
  }

  /** Decodes the escape sequence whose backslash is at `position`. */
  private decodeEscape(position: number): string {
    const decoded = decodeJsonEscape(this.text, position);
    if (typeof decoded === 'string') return decoded;
    this.position = position;
    return this.reject(this.text.charCodeAt(position + 1) === LOWER_U ? 'bad unicode escape' : 'bad escape');
  }

  /** Skips a number, validating the JSON number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
  private skipNumber(): void {
    const text = this.text;
    let position = this.position;
    let code = text.charCodeAt(position);
    if (code === MINUS) code = text.charCodeAt(++position);
    if (code === DIGIT_0) {
      code = text.charCodeAt(++position);
    } else if (code >= DIGIT_1 && code <= DIGIT_9) {
      do code = text.charCodeAt(++position);
      while (code >= DIGIT_0 && code <= DIGIT_9);
    } else {
      this.position = position;
      this.reject('expected a digit');
    }
    if (code === DOT) {
      code = text.charCodeAt(++position);
      if (!(code >= DIGIT_0 && code <= DIGIT_9)) {
        this.position = position;
        this.reject('expected a digit after the decimal point');
      }
      do code = text.charCodeAt(++position);
      while (code >= DIGIT_0 && code <= DIGIT_9);
    }
    if (code === LOWER_E || code === UPPER_E) {
      code = text.charCodeAt(++position);
      if (code === PLUS || code === MINUS) code = text.charCodeAt(++position);
      if (!(code >= DIGIT_0 && code <= DIGIT_9)) {
        this.position = position;
        this.reject('expected a digit in the exponent');
      }
      do code = text.charCodeAt(++position);
      while (code >= DIGIT_0 && code <= DIGIT_9);
    }
    this.position = position;
  }

  // ---- String helpers ----

  /** Position of the first backslash at or after `start` (Infinity if none), cached across strings. */
  private nextBackslashFrom(start: number): number {
    if (this.nextBackslash < start) {
      const found = this.text.indexOf('\\', start);
      this.nextBackslash = found === -1 ? Infinity : found;
    }
    return this.nextBackslash;
  }

  private rejectControlCharacters(start: number, end: number): void {
    const text = this.text;
    for (let position = start; position < end; position++) {
      if (text.charCodeAt(position) < SPACE) {
        this.position = position;
        this.reject('control character in string');
      }
    }
  }
}

/**
 * Whether `literal` occurs in `text` at `start`. For the short literals used here (keys, `true`, `genesis`), a
 * loop is several times faster than `startsWith`, whose call overhead dominates.
 */
function textHas(text: string, start: number, literal: string): boolean {
  const length = literal.length;
  for (let offset = 0; offset < length; offset++) {
    if (text.charCodeAt(start + offset) !== literal.charCodeAt(offset)) return false;
  }
  return true;
}
