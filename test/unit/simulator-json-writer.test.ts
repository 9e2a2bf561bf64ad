import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLosslessJson } from '../../functions/domain/ogmios/lossless-json.js';
import { writeJson, type JsonWritable } from '../../functions/local/simulator/json-writer.js';
import { CHAIN_FIXTURES_DIR, requireShared } from '../support/shared-files.js';

describe('writeJson', () => {
  it('writes plain JSON values exactly as JSON.stringify does', () => {
    const values: JsonWritable[] = [
      null,
      true,
      0,
      -0,
      -17,
      3.25,
      1e21,
      Number.MAX_SAFE_INTEGER,
      '',
      'plain',
      'quote " backslash \\ newline \n tab \t nul \u0000 del \u007f',
      'unicode é 😀 and a lone surrogate \ud800 ok',
      [],
      [1, [2, [3]], { a: [] }],
      {},
      { nested: { list: [null, 'x'], 'key with "quotes"': 1 }, '': 'empty key' },
    ];
    for (const value of values) expect(writeJson(value)).toBe(JSON.stringify(value));
  });

  it('writes bigints as bare numbers with every digit', () => {
    expect(writeJson({ lovelace: 2n ** 64n - 1n, negative: -(2n ** 63n), small: 5n })).toBe(
      '{"lovelace":18446744073709551615,"negative":-9223372036854775808,"small":5}',
    );
  });

  it('leaves out properties whose value is undefined, and writes null-prototype objects', () => {
    expect(writeJson({ a: 1, b: undefined, c: 'x' })).toBe('{"a":1,"c":"x"}');
    // On-chain metadata can hold such keys; the lossless parser keeps them as own properties.
    const text = '{"__proto__":1,"constructor":"c","toString":[]}';
    expect(writeJson(parseLosslessJson(text))).toBe(text);
  });

  it('refuses numbers JSON cannot hold', () => {
    expect(() => writeJson(Number.NaN)).toThrow(RangeError);
    expect(() => writeJson({ infinite: Number.POSITIVE_INFINITY })).toThrow(RangeError);
  });

  it('writes every real fixture block back byte for byte after a lossless parse', () => {
    const directory = requireShared(CHAIN_FIXTURES_DIR);
    const index = JSON.parse(readFileSync(join(directory, 'index.json'), 'utf8')) as { blocks: { file: string }[] };
    expect(index.blocks.length).toBeGreaterThan(1000);
    const different = index.blocks.filter(({ file }) => {
      const text = readFileSync(join(directory, file), 'utf8').trim();
      return writeJson(parseLosslessJson(text)) !== text;
    });
    expect(different).toEqual([]);
  });
});
