import { describe, expect, it } from 'vitest';
import { JsonSyntaxError, isLosslessJsonObject, parseLosslessJson, type JsonValue } from '../../functions/domain/ogmios/lossless-json.js';

// ---- Helpers ----

/** Small deterministic PRNG (mulberry32) so that failures reproduce. */
function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const integerBelow = (random: Random, limit: number): number => Math.floor(random() * limit);

/**
 * Returns undefined when `actual` (our parse) is equivalent to `expected` (JSON.parse of the same text), else the
 * path and reason of the first difference. Equivalent: same structure and key order, numbers equal by Object.is,
 * and a bigint only where JSON.parse gave an unsafe integer that equals it after rounding.
 */
function firstDifference(actual: JsonValue | undefined, expected: unknown, path = '$'): string | undefined {
  if (typeof actual === 'bigint') {
    if (typeof expected !== 'number' || Number.isSafeInteger(expected) || Number(actual) !== expected) {
      return `${path}: bigint ${actual} vs ${String(expected)}`;
    }
    return undefined;
  }
  if (Array.isArray(actual)) {
    if (!Array.isArray(expected)) return `${path}: array vs ${typeof expected}`;
    if (actual.length !== expected.length) return `${path}: length ${actual.length} vs ${expected.length}`;
    for (let index = 0; index < actual.length; index++) {
      const difference = firstDifference(actual[index], expected[index] as unknown, `${path}[${index}]`);
      if (difference) return difference;
    }
    return undefined;
  }
  if (typeof actual === 'object' && actual !== null) {
    if (typeof expected !== 'object' || expected === null || Array.isArray(expected)) return `${path}: object vs ${typeof expected}`;
    if (Object.getPrototypeOf(actual) !== null) return `${path}: object has a prototype`;
    const actualKeys = Object.keys(actual);
    const expectedKeys = Object.keys(expected);
    if (JSON.stringify(actualKeys) !== JSON.stringify(expectedKeys))
      return `${path}: keys ${JSON.stringify(actualKeys)} vs ${JSON.stringify(expectedKeys)}`;
    for (const key of actualKeys) {
      const expectedValue = (Object.getOwnPropertyDescriptor(expected, key) as PropertyDescriptor).value as unknown;
      const difference = firstDifference(actual[key], expectedValue, `${path}.${key}`);
      if (difference) return difference;
    }
    return undefined;
  }
  return Object.is(actual, expected) ? undefined : `${path}: ${String(actual)} vs ${String(expected)}`;
}

function syntaxErrorOf(text: string): JsonSyntaxError {
  try {
    parseLosslessJson(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

// ---- Random JSON text generator (the text is generated directly so that escapes, exponents and whitespace vary) ----

const KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '',
  '0',
  '1',
  '10',
  '674',
  'a',
  'id',
  'value',
  'ada',
  'lovelace',
];
const WHITESPACE = ['', '', '', ' ', '\n', '\t', '\r\n', '  '];
const CHARACTERS = [
  'a',
  'Z',
  '0',
  ' ',
  '"',
  '\\',
  '/',
  '\n',
  '\t',
  '\u0000',
  '\u001f',
  '\u007f',
  'é',
  '€',
  '\u2028',
  '😀',
  '𝄞',
  '\ud800',
  '\udfff',
  '\ufeff',
];

function randomStringToken(random: Random): string {
  let token = '"';
  const length = integerBelow(random, 8);
  for (let count = 0; count < length; count++) {
    const character = pick(random, CHARACTERS);
    for (let unit = 0; unit < character.length; unit++) {
      const code = character.charCodeAt(unit);
      const mustEscape = code < 0x20 || character === '"' || character === '\\';
      if (mustEscape || random() < 0.25) {
        const short: Record<string, string> = { '"': '\\"', '\\': '\\\\', '/': '\\/', '\n': '\\n', '\t': '\\t' };
        const shortForm = short[character[unit] as string];
        const hex = code.toString(16).padStart(4, '0');
        token += shortForm && random() < 0.5 ? shortForm : `\\u${random() < 0.5 ? hex : hex.toUpperCase()}`;
      } else {
        token += character[unit];
      }
    }
  }
  return `${token}"`;
}

function randomNumberToken(random: Random): string {
  const sign = random() < 0.3 ? '-' : '';
  const kind = integerBelow(random, 5);
  if (kind === 0) return `${sign}0`;
  const digits = (count: number): string => {
    let text = String(1 + integerBelow(random, 9));
    for (let index = 1; index < count; index++) text += String(integerBelow(random, 10));
    return text;
  };
  if (kind === 1) {
    // An integer literal; only safe ones, since the oracle is JSON.parse.
    const literal = digits(1 + integerBelow(random, 16));
    return Number.isSafeInteger(Number(literal)) ? `${sign}${literal}` : `${sign}${literal.slice(0, 15)}`;
  }
  const integerPart = random() < 0.3 ? '0' : digits(1 + integerBelow(random, 22));
  const fraction = kind !== 3 ? `.${String(integerBelow(random, 1e6)).padStart(1 + integerBelow(random, 6), '0')}` : '';
  const exponent = kind !== 2 ? `${pick(random, ['e', 'E'])}${pick(random, ['', '+', '-'])}${integerBelow(random, 400)}` : '';
  return `${sign}${integerPart}${fraction}${exponent}`;
}

function randomJsonText(random: Random, depth: number): string {
  const space = (): string => pick(random, WHITESPACE);
  const choice = depth <= 0 ? integerBelow(random, 4) : integerBelow(random, 6);
  switch (choice) {
    case 0:
      return pick(random, ['null', 'true', 'false']);
    case 1:
      return randomNumberToken(random);
    case 2:
    case 3:
      return randomStringToken(random);
    case 4: {
      const count = integerBelow(random, 5);
      const items = Array.from({ length: count }, () => `${space()}${randomJsonText(random, depth - 1)}${space()}`);
      return `[${items.join(',') || space()}]`;
    }
    default: {
      const count = integerBelow(random, 5);
      const members = Array.from({ length: count }, () => {
        const key = random() < 0.6 ? JSON.stringify(pick(random, KEYS)) : randomStringToken(random);
        return `${space()}${key}${space()}:${space()}${randomJsonText(random, depth - 1)}${space()}`;
      });
      return `{${members.join(',') || space()}}`;
    }
  }
}

// ---- Tests ----

describe('parseLosslessJson: agreement with JSON.parse', () => {
  it('parses 3,000 random documents exactly like JSON.parse', () => {
    const random = randomSource(20240601);
    for (let documentIndex = 0; documentIndex < 3000; documentIndex++) {
      const text = `${pick(random, WHITESPACE)}${randomJsonText(random, 5)}${pick(random, WHITESPACE)}`;
      const difference = firstDifference(parseLosslessJson(text), JSON.parse(text));
      expect(difference, `document ${documentIndex}: ${text}`).toBeUndefined();
    }
  });

  it('accepts and rejects exactly what JSON.parse does on 20,000 mutated documents', () => {
    const random = randomSource(7);
    const alphabet = '{}[]",:0123456789-+.eE tfnrul\\/\u0000\n';
    let rejected = 0;
    for (let caseIndex = 0; caseIndex < 20000; caseIndex++) {
      let text = randomJsonText(random, 3);
      const mutations = 1 + integerBelow(random, 3);
      for (let count = 0; count < mutations; count++) {
        const at = integerBelow(random, text.length + 1);
        const operation = integerBelow(random, 4);
        if (operation === 0) text = text.slice(0, at) + text.slice(at + 1);
        else if (operation === 1) text = text.slice(0, at) + pick(random, [...alphabet]) + text.slice(at);
        else if (operation === 2) text = text.slice(0, at);
        else text = text.slice(0, at) + text.slice(at, at + 5) + text.slice(at);
      }
      let expected: unknown;
      let expectedValid = true;
      try {
        expected = JSON.parse(text);
      } catch {
        expectedValid = false;
      }
      if (expectedValid) {
        expect(firstDifference(parseLosslessJson(text), expected), text).toBeUndefined();
      } else {
        rejected++;
        expect(() => parseLosslessJson(text), JSON.stringify(text)).toThrow(JsonSyntaxError);
      }
    }
    // Sanity: the mutations produce plenty of both outcomes.
    expect(rejected).toBeGreaterThan(5000);
    expect(rejected).toBeLessThan(19000);
  });

  it('parses every kind of scalar at the top level', () => {
    for (const text of [
      'null',
      'true',
      'false',
      '0',
      '-0',
      '1',
      '-1',
      '1.5',
      '"x"',
      '""',
      ' \t\r\n7 \n',
      '1e2',
      '1E+2',
      '1e-2',
      '-0.0',
      '0e0',
    ]) {
      expect(firstDifference(parseLosslessJson(text), JSON.parse(text)), text).toBeUndefined();
    }
  });
});

describe('parseLosslessJson: numbers', () => {
  it('keeps integers beyond 2^53 - 1 exact as bigint', () => {
    const text =
      '[9007199254740993, 18446744073709551615, -9007199254740993, -18446744073709551615, 9007199254740992, 123456789012345678901234567890]';
    expect(parseLosslessJson(text)).toEqual([
      9007199254740993n,
      18446744073709551615n,
      -9007199254740993n,
      -18446744073709551615n,
      9007199254740992n,
      123456789012345678901234567890n,
    ]);
  });

  it('keeps safe integers as numbers, up to and including ±(2^53 - 1)', () => {
    const parsed = parseLosslessJson('[9007199254740991, -9007199254740991, 123456789012345, 1234567890123456, 0, 42]');
    expect(parsed).toEqual([9007199254740991, -9007199254740991, 123456789012345, 1234567890123456, 0, 42]);
    expect((parsed as JsonValue[]).every((value) => typeof value === 'number')).toBe(true);
  });

  it('keeps fractions and exponents as numbers, even for large magnitudes', () => {
    const parsed = parseLosslessJson(
      '[1.5, -2.25, 1e3, 1E+3, 2e-3, 18446744073709551615.0, 18446744073709551615e0, 1e400, -1e400, 5e-324, 0.1]',
    );
    expect(parsed).toEqual([1.5, -2.25, 1000, 1000, 0.002, 18446744073709551615, 18446744073709551615, Infinity, -Infinity, 5e-324, 0.1]);
  });

  it('parses -0 as negative zero, like JSON.parse', () => {
    const parsed = parseLosslessJson('[-0, -0.0, -0e5]') as number[];
    for (const value of parsed) expect(Object.is(value, -0)).toBe(true);
  });

  it('bigints appear inside objects and nested structures', () => {
    const parsed = parseLosslessJson('{"value":{"ada":{"lovelace":45000000000000000},"p":{"":18446744073709551615}}}');
    expect(parsed).toEqual({ value: { ada: { lovelace: 45000000000000000n }, p: { '': 18446744073709551615n } } });
  });
});

describe('parseLosslessJson: strings', () => {
  it('decodes every escape form', () => {
    expect(parseLosslessJson(String.raw`"\" \\ \/ \b \f \n \r \t \u0041 \u00e9 \u00E9 \u20ac"`)).toBe('" \\ / \b \f \n \r \t A é é €');
  });

  it('joins surrogate pairs and keeps lone surrogates like JSON.parse', () => {
    expect(parseLosslessJson(String.raw`"\ud83d\ude00"`)).toBe('😀');
    expect(parseLosslessJson(String.raw`"\uD834\uDD1E"`)).toBe('𝄞');
    expect(parseLosslessJson('"raw 😀 and 𝄞"')).toBe('raw 😀 and 𝄞');
    const lone = parseLosslessJson(String.raw`"\ud800x\udfff"`) as string;
    expect(lone.length).toBe(3);
    expect(lone.charCodeAt(0)).toBe(0xd800);
    expect(lone.charCodeAt(2)).toBe(0xdfff);
  });

  it('handles strings with many escapes and long plain runs', () => {
    const value = `${'x'.repeat(10000)}"\\\n${'é'.repeat(100)}\u0001`;
    expect(parseLosslessJson(JSON.stringify({ [value]: value }))).toEqual({ [value]: value });
  });
});

describe('parseLosslessJson: objects are safe for any key', () => {
  it('creates null-prototype objects with __proto__, constructor, prototype and toString as own data', () => {
    const parsed = parseLosslessJson(
      '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"prototype":1,"toString":"x","nested":{"hasOwnProperty":2}}',
    );
    if (!isLosslessJsonObject(parsed)) throw new Error('expected an object');
    expect(Object.getPrototypeOf(parsed)).toBeNull();
    expect(Object.keys(parsed)).toEqual(['__proto__', 'constructor', 'prototype', 'toString', 'nested']);
    expect(parsed.__proto__).toEqual({ polluted: true });
    expect(parsed.toString).toBe('x');
    expect(Object.getPrototypeOf(parsed.nested)).toBeNull();
    // Nothing leaked into the real prototypes.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('inherits nothing: absent keys read as undefined', () => {
    const parsed = parseLosslessJson('{"a":1}') as Record<string, unknown>;
    expect(parsed.constructor).toBeUndefined();
    expect(parsed.toString).toBeUndefined();
    expect(parsed.__proto__).toBeUndefined();
    expect('hasOwnProperty' in parsed).toBe(false);
  });

  it('lets the last duplicate key win and orders keys like JSON.parse', () => {
    const text = '{"b":1,"10":2,"a":3,"b":4,"2":5,"__proto__":6,"__proto__":7}';
    expect(firstDifference(parseLosslessJson(text), JSON.parse(text))).toBeUndefined();
    expect(Object.keys(parseLosslessJson(text) as object)).toEqual(['2', '10', 'b', 'a', '__proto__']);
  });
});

describe('parseLosslessJson: nesting', () => {
  it('parses 200,000 levels of nesting without a stack overflow', () => {
    const depth = 200_000;
    let value = parseLosslessJson(`${'['.repeat(depth)}1${']'.repeat(depth)}`);
    for (let level = 0; level < depth; level++) value = (value as JsonValue[])[0] as JsonValue;
    expect(value).toBe(1);

    let object = parseLosslessJson(`${'{"__proto__":'.repeat(depth)}null${'}'.repeat(depth)}`);
    let levels = 0;
    while (object !== null) {
      object = (object as Record<string, JsonValue>).__proto__ as JsonValue;
      levels++;
    }
    expect(levels).toBe(depth);
  });

  it('handles mixed containers, empty containers and whitespace everywhere', () => {
    const text = ' { "a" : [ ] , "b" : { } , "c" : [ { } , [ [ ] ] , { "d" : [ 1 , { "e" : null } ] } ] } ';
    expect(firstDifference(parseLosslessJson(text), JSON.parse(text))).toBeUndefined();
  });
});

describe('parseLosslessJson: malformed input', () => {
  const malformed: readonly [string, RegExp][] = [
    ['', /Unexpected end of JSON input/],
    ['   ', /Unexpected end of JSON input/],
    ['{"a":[1,2', /Unexpected end of JSON input/],
    ['{"a":1', /Unexpected end of JSON input/],
    ['{"a":', /Unexpected end of JSON input/],
    ['{"a"', /Unexpected end of JSON input/],
    ['"abc', /Unterminated string/],
    ['"ab\\', /Unterminated string/],
    ['"\\u12', /Unterminated string/],
    ['{"a":1,}', /Unexpected character '}' \(expected a string key\)/],
    ['[1,]', /Unexpected character ']' \(expected a value\)/],
    ['[1 2]', /Unexpected character '2' \(expected ',' or ']'\)/],
    ['{"a" 1}', /Unexpected character '1' \(expected ':'\)/],
    ['{a:1}', /expected a string key/],
    ["{'a':1}", /expected a string key/],
    ['01', /Unexpected character '1' \(expected the end of the input\)/],
    ['-', /Unexpected end of JSON input/],
    ['-a', /Invalid number: expected a digit after the minus sign/],
    ['+1', /Unexpected character '\+'/],
    ['.5', /Unexpected character '\.'/],
    ['1.', /Unexpected end of JSON input/],
    ['1.e5', /expected a digit after the decimal point/],
    ['1e', /Unexpected end of JSON input/],
    ['1e+', /Unexpected end of JSON input/],
    ['tru', /Unexpected end of JSON input/],
    ['nul', /Unexpected end of JSON input/],
    ['trUe', /Unexpected character 'U' in literal 'true'/],
    ['NaN', /Unexpected character 'N'/],
    ['Infinity', /Unexpected character 'I'/],
    ['"a\u0001b"', /Bad control character in string literal/],
    ['"line\nbreak"', /Bad control character in string literal/],
    ['"\\x41"', /Bad escaped character/],
    ['"\\u00G0"', /Bad Unicode escape/],
    ['1 2', /expected the end of the input/],
    ['{} {}', /expected the end of the input/],
    ['\ufeff{}', /Unexpected character/],
    ['/* comment */ 1', /Unexpected character '\/'/],
    ['[1,2]]', /expected the end of the input/],
  ];

  it.each(malformed)('rejects %j with a clear JsonSyntaxError', (text, message) => {
    const error = syntaxErrorOf(text);
    expect(error).toBeInstanceOf(SyntaxError);
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/at position \d+ \(line \d+, column \d+\)$/);
    // JSON.parse agrees that it is invalid.
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
  });

  it('reports the exact position, line and column', () => {
    const error = syntaxErrorOf('{\n  "a": 1,\n  "b": tru\n}');
    expect(error.position).toBe(22);
    expect(error.line).toBe(3);
    expect(error.column).toBe(11);
    expect(syntaxErrorOf('{"a":1,}').position).toBe(7);
    expect(syntaxErrorOf('[1,2').position).toBe(4);
  });

  it('reports where a truncated Ogmios frame ends', () => {
    const frame = '{"jsonrpc":"2.0","method":"nextBlock","result":{"direction":"forward","block":{"type":"praos","id":"ab';
    const error = syntaxErrorOf(frame);
    expect(error.message).toMatch(/Unterminated string/);
    expect(error.position).toBe(frame.length);
  });
});
