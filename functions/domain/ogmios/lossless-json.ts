/**
 * A JSON parser that behaves like `JSON.parse` except in two ways that matter for Ogmios messages:
 *
 * - Integer literals outside the safe range (|n| > 2^53 − 1) become `bigint`, so lovelace and token quantities
 *   up to 2^64 − 1 are never rounded. Every other number (small integers, fractions, exponents, `-0`) is the
 *   same `number` JSON.parse would give.
 * - Objects have no `Object.prototype` in their chain, so keys such as `__proto__`, `constructor` or `toString`
 *   found in on-chain metadata are plain own properties: they cannot pollute prototypes, throw, or shadow
 *   inherited methods, and an absent key always reads as `undefined`.
 *
 * It is an iterative scanner (explicit stack, no recursion), so nesting depth is bounded by memory, not by the
 * call stack. Malformed input throws `JsonSyntaxError` with the offset, line and column of the problem.
 *
 * Memory note: strings without escapes are returned as slices of the input, which V8 implements as views that
 * keep the whole input text alive. Copy any long-lived string out (see the block decoder) instead of keeping
 * a slice of a megabyte-sized message. Object keys are unaffected (V8 stores keys as separate strings).
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

/** A parsed JSON object: own keys only, no inherited members. */
export interface JsonObject {
  [key: string]: JsonValue | undefined;
}
export type JsonArray = JsonValue[];
export type JsonValue = null | boolean | number | bigint | string | JsonArray | JsonObject;

export class JsonSyntaxError extends SyntaxError {
  override readonly name = 'JsonSyntaxError';
  constructor(
    readonly problem: string,
    /** Offset in UTF-16 code units from the start of the text. */
    readonly position: number,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${problem} at position ${position} (line ${line}, column ${column})`);
  }
}

/**
 * Objects have a null prototype. Assigning the key `__proto__` to such an object creates an ordinary own
 * property, because the `__proto__` accessor lives on Object.prototype. (Measured: `Object.create(null)` is also
 * faster here than a constructor with a null-prototype `prototype`, for parsing and for reading the result.)
 */
const createObject = (): JsonObject => Object.create(null) as JsonObject;

/** True for objects produced by this parser: plain objects with a null prototype. */
export function isLosslessJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === null;
}

// Character codes used by the scanner.

/** Parses JSON text; see the module comment for how the result differs from `JSON.parse`. */
export function parseLosslessJson(text: string): JsonValue {
  return new LosslessJsonScanner(text).parseDocument();
}

class LosslessJsonScanner {
  private position = 0;
  /** Index of the next backslash in the text (Infinity if none), found once and reused by the strings before it. */
  private nextBackslash = -1;
  /** Raw control characters are legal between tokens but not inside strings; when the text has none, skip that check. */
  private readonly mayContainControlCharacters: boolean;

  constructor(private readonly text: string) {
    this.mayContainControlCharacters = CONTROL_CHARACTER.test(text);
  }

  parseDocument(): JsonValue {
    // Open containers, innermost last, with the pending key of each open object.
    const containers: (JsonObject | JsonArray)[] = [];
    const pendingKeys: string[] = [];
    let container: JsonObject | JsonArray | undefined;
    let containerIsArray = false;
    let key = '';

    parseValue: for (;;) {
      let value: JsonValue;
      let code = this.skipWhitespace();
      switch (code) {
        case QUOTE:
          value = this.parseString();
          break;
        case OPEN_BRACE: {
          this.position++;
          const object = createObject();
          code = this.skipWhitespace();
          if (code === CLOSE_BRACE) {
            this.position++;
            value = object;
            break;
          }
          if (container !== undefined) {
            containers.push(container);
            pendingKeys.push(key);
          }
          container = object;
          containerIsArray = false;
          key = this.parseKey(code);
          continue parseValue;
        }
        case OPEN_BRACKET: {
          this.position++;
          const array: JsonArray = [];
          if (this.skipWhitespace() === CLOSE_BRACKET) {
            this.position++;
            value = array;
            break;
          }
          if (container !== undefined) {
            containers.push(container);
            pendingKeys.push(key);
          }
          container = array;
          containerIsArray = true;
          continue parseValue;
        }
        case LOWER_T:
          this.expectLiteral('true');
          value = true;
          break;
        case LOWER_F:
          this.expectLiteral('false');
          value = false;
          break;
        case LOWER_N:
          this.expectLiteral('null');
          value = null;
          break;
        default:
          if (code === MINUS || (code >= DIGIT_0 && code <= DIGIT_9)) {
            value = this.parseNumber();
            break;
          }
          throw this.unexpected(code, 'a value');
      }

      // Store the finished value, then close as many containers as the following tokens end.
      for (;;) {
        if (container === undefined) {
          const trailing = this.skipWhitespace();
          if (trailing !== -1) throw this.unexpected(trailing, 'the end of the input');
          return value;
        }
        if (containerIsArray) (container as JsonArray).push(value);
        else (container as JsonObject)[key] = value;

        code = this.skipWhitespace();
        if (code === COMMA) {
          this.position++;
          if (!containerIsArray) key = this.parseKey(this.skipWhitespace());
          continue parseValue;
        }
        if (code !== (containerIsArray ? CLOSE_BRACKET : CLOSE_BRACE)) {
          throw this.unexpected(code, containerIsArray ? "',' or ']'" : "',' or '}'");
        }
        this.position++;
        value = container;
        container = containers.pop();
        if (container !== undefined) {
          key = pendingKeys.pop() as string;
          containerIsArray = Array.isArray(container);
        }
      }
    }
  }

  /** Returns the code of the next significant character (without consuming it), or -1 at the end. */
  private skipWhitespace(): number {
    const text = this.text;
    let position = this.position;
    for (;;) {
      const code = text.charCodeAt(position);
      if (code === SPACE || code === LINE_FEED || code === CARRIAGE_RETURN || code === TAB) {
        position++;
        continue;
      }
      this.position = position;
      // charCodeAt returns NaN past the end.
      // biome-ignore lint/suspicious/noSelfCompare: NaN is the one value unequal to itself; cheapest in the scanner's loop
      return code === code ? code : -1;
    }
  }

  /** Parses `"key"` and the following colon; `code` is the current character. */
  private parseKey(code: number): string {
    if (code !== QUOTE) throw this.unexpected(code, 'a string key');
    const key = this.parseString();
    const colon = this.skipWhitespace();
    if (colon !== COLON) throw this.unexpected(colon, "':'");
    this.position++;
    return key;
  }

  /** Position of the first backslash at or after `start` (Infinity if none), cached across strings. */
  private nextBackslashFrom(start: number): number {
    if (this.nextBackslash < start) {
      const found = this.text.indexOf('\\', start);
      this.nextBackslash = found === -1 ? Infinity : found;
    }
    return this.nextBackslash;
  }

  private parseString(): string {
    const text = this.text;
    const start = this.position + 1;
    const end = text.indexOf('"', start);
    if (end === -1) throw this.errorAt(text.length, 'Unterminated string');
    if (this.nextBackslashFrom(start) > end) {
      // Common case: no escapes, the string is a plain slice of the text.
      if (this.mayContainControlCharacters) this.rejectControlCharacters(start, end);
      this.position = end + 1;
      return text.slice(start, end);
    }
    return this.parseEscapedString(start);
  }

  private parseEscapedString(start: number): string {
    const text = this.text;
    let result = '';
    let chunkStart = start;
    let position = start;
    for (;;) {
      const code = text.charCodeAt(position);
      if (code === QUOTE) {
        this.position = position + 1;
        return result + text.slice(chunkStart, position);
      }
      if (code === BACKSLASH) {
        result += text.slice(chunkStart, position) + this.decodeEscape(position);
        // Every escape is a backslash and one character, except \uXXXX.
        position += text.charCodeAt(position + 1) === LOWER_U ? 6 : 2;
        chunkStart = position;
        continue;
      }
      // biome-ignore lint/suspicious/noSelfCompare: NaN past the end, as above
      if (code !== code) throw this.errorAt(text.length, 'Unterminated string');
      if (code < SPACE) throw this.errorAt(position, 'Bad control character in string literal');
      position++;
    }
  }

  /** Decodes the escape sequence whose backslash is at `position`. */
  private decodeEscape(position: number): string {
    const decoded = decodeJsonEscape(this.text, position);
    if (typeof decoded === 'string') return decoded;
    if (decoded.invalidAt >= this.text.length) throw this.errorAt(this.text.length, 'Unterminated string');
    const isUnicode = this.text.charCodeAt(position + 1) === LOWER_U;
    throw this.errorAt(decoded.invalidAt, isUnicode ? 'Bad Unicode escape in string literal' : 'Bad escaped character in string literal');
  }

  private rejectControlCharacters(start: number, end: number): void {
    const text = this.text;
    for (let position = start; position < end; position++) {
      if (text.charCodeAt(position) < SPACE) throw this.errorAt(position, 'Bad control character in string literal');
    }
  }

  private parseNumber(): number | bigint {
    const text = this.text;
    const start = this.position;
    let position = start;
    let code = text.charCodeAt(position);
    const negative = code === MINUS;
    if (negative) code = text.charCodeAt(++position);

    // Integer part: '0' alone, or a non-zero digit followed by digits. Small values are accumulated on the way.
    let accumulated = 0;
    const integerStart = position;
    if (code === DIGIT_0) {
      code = text.charCodeAt(++position);
    } else if (code > DIGIT_0 && code <= DIGIT_9) {
      do {
        accumulated = accumulated * 10 + (code - DIGIT_0);
        code = text.charCodeAt(++position);
      } while (code >= DIGIT_0 && code <= DIGIT_9);
    } else {
      throw this.invalidNumber(position, negative ? 'a digit after the minus sign' : 'a digit');
    }
    const integerDigits = position - integerStart;
    let isInteger = true;

    if (code === DOT) {
      isInteger = false;
      code = text.charCodeAt(++position);
      if (!(code >= DIGIT_0 && code <= DIGIT_9)) throw this.invalidNumber(position, 'a digit after the decimal point');
      do code = text.charCodeAt(++position);
      while (code >= DIGIT_0 && code <= DIGIT_9);
    }
    if (code === LOWER_E || code === UPPER_E) {
      isInteger = false;
      code = text.charCodeAt(++position);
      if (code === PLUS || code === MINUS) code = text.charCodeAt(++position);
      if (!(code >= DIGIT_0 && code <= DIGIT_9)) throw this.invalidNumber(position, 'a digit in the exponent');
      do code = text.charCodeAt(++position);
      while (code >= DIGIT_0 && code <= DIGIT_9);
    }
    this.position = position;

    if (isInteger) {
      if (integerDigits <= MAX_EXACT_ACCUMULATED_DIGITS) return negative ? -accumulated : accumulated;
      const literal = text.slice(start, position);
      const rounded = Number(literal);
      // Any integer beyond 2^53 − 1 rounds to a double that is not a safe integer, so this test is exact.
      return Number.isSafeInteger(rounded) ? rounded : BigInt(literal);
    }
    return Number(text.slice(start, position));
  }

  private expectLiteral(literal: 'true' | 'false' | 'null'): void {
    const text = this.text;
    const start = this.position;
    for (let offset = 0; offset < literal.length; offset++) {
      if (text.charCodeAt(start + offset) !== literal.charCodeAt(offset)) {
        const position = start + offset;
        if (position >= text.length) throw this.errorAt(position, 'Unexpected end of JSON input');
        throw this.errorAt(position, `Unexpected ${describeCharacter(text.charCodeAt(position))} in literal '${literal}'`);
      }
    }
    this.position = start + literal.length;
  }

  private invalidNumber(position: number, expected: string): JsonSyntaxError {
    if (position >= this.text.length) return this.errorAt(position, 'Unexpected end of JSON input');
    return this.errorAt(position, `Invalid number: expected ${expected} but found ${describeCharacter(this.text.charCodeAt(position))}`);
  }

  private unexpected(code: number, expected: string): JsonSyntaxError {
    if (code === -1) return this.errorAt(this.position, `Unexpected end of JSON input (expected ${expected})`);
    return this.errorAt(this.position, `Unexpected ${describeCharacter(code)} (expected ${expected})`);
  }

  private errorAt(position: number, problem: string): JsonSyntaxError {
    const text = this.text;
    let line = 1;
    let lineStart = 0;
    for (let index = text.indexOf('\n'); index !== -1 && index < position; index = text.indexOf('\n', index + 1)) {
      line++;
      lineStart = index + 1;
    }
    return new JsonSyntaxError(problem, position, line, position - lineStart + 1);
  }
}

function describeCharacter(code: number): string {
  if (code < SPACE || code === 0x7f) return `control character U+${code.toString(16).padStart(4, '0').toUpperCase()}`;
  return `character '${String.fromCharCode(code)}'`;
}
