/**
 * The fast nextBlock decoder against the reference decoder (block-decoder.ts), which is its specification.
 *
 * The core check is differential: for every message, `decodeNextBlockResponseFast` must give what
 * `decodeNextBlockResponse` gives (a deep-equal event, or an OgmiosDecodeError with the same message), and the
 * fast path alone (`decodeNextBlockTextFastPath`, no fallback) must never accept a message the reference
 * rejects, nor decode one differently. Real messages (vectors, fixtures, and rewritings of them that keep their
 * meaning) must also be accepted by the fast path itself, or the decoder would be correct but slow.
 */
import { isUtf8 } from 'node:buffer';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ChainBlock, ChainTransaction } from '../../functions/domain/chain.js';
import { decodeNextBlockResponse, OgmiosDecodeError, type NextBlockEvent } from '../../functions/domain/ogmios/block-decoder.js';
import {
  decodeNextBlockFrame,
  decodeNextBlockResponseFast,
  decodeNextBlockTextFastPath,
  FastPathRejection,
} from '../../functions/domain/ogmios/fast-block-decoder.js';
import { CONTROL_CHARACTER, hasControlByte } from '../../functions/domain/ogmios/json-characters.js';
import { isLowercaseHex } from '../../functions/domain/ogmios/fast-string-pool.js';
import { parseLosslessJson, type JsonObject, type JsonValue } from '../../functions/domain/ogmios/lossless-json.js';
import { Random } from '../support/random.js';
import { requireShared, SHARED_DIR } from '../support/shared-files.js';

// Fails the whole file (rather than skipping it) when the shared folder is missing.
const SHARED = requireShared(SHARED_DIR);
const VECTORS = requireShared(`${SHARED}ogmios/vectors/chainsync/NextBlockResponse/`);
const FIXTURES = requireShared(`${SHARED}chain-fixtures/`);

const vectorFiles = readdirSync(VECTORS)
  .filter((file) => file.endsWith('.json'))
  .sort();
const vectors = vectorFiles.map((file) => [file, readFileSync(`${VECTORS}${file}`, 'utf8')] as const);
const vectorText = (file: string): string => vectors.find(([name]) => name === file)?.[1] ?? raise(`no vector ${file}`);

interface FixtureEntry {
  file: string;
  jsonBytes: number;
}
const fixtureIndex = JSON.parse(readFileSync(`${FIXTURES}index.json`, 'utf8')) as { blocks: FixtureEntry[] };
const fixtureBlocks = fixtureIndex.blocks.map((entry) => [entry.file, readFileSync(`${FIXTURES}${entry.file}`, 'utf8').trimEnd()] as const);

const TIP = '{"slot":181871994,"id":"9b2a5a4e3b0c7d5f1e8a6c4b2d0f9e7a5c3b1d9f7e5a3c1b9d7f5e3a1c9b7d5f","height":13155289}';
function nextBlockMessage(blockText: string): string {
  return `{"jsonrpc":"2.0","method":"nextBlock","result":{"direction":"forward","block":${blockText},"tip":${TIP}},"id":null}`;
}

function raise(message: string): never {
  throw new Error(message);
}

// ---- The differential check ----

type Outcome = { accepted: true; event: NextBlockEvent } | { accepted: false; error: string };

function outcomeOf(decode: () => NextBlockEvent): Outcome {
  try {
    return { accepted: true, event: decode() };
  } catch (error) {
    if (!(error instanceof OgmiosDecodeError)) throw error;
    return { accepted: false, error: error.message };
  }
}

/** What the fast path alone makes of the message: the event, or undefined when it declines (FastPathRejection). */
function fastPathAlone(text: string): NextBlockEvent | undefined {
  try {
    return decodeNextBlockTextFastPath(text);
  } catch (error) {
    if (error instanceof FastPathRejection) return undefined;
    throw error;
  }
}

/**
 * Checks that the fast decoder and the reference agree on `message`, and that the fast path alone is never
 * more lenient than the reference nor different from it. Returns whether the fast path alone accepted it.
 */
function expectSameAsReference(message: string | Uint8Array): boolean {
  const reference = outcomeOf(() => decodeNextBlockResponse(message));
  const fast = outcomeOf(() => decodeNextBlockResponseFast(message));
  expect(fast).toStrictEqual(reference);
  expectFrameSameAsReference(typeof message === 'string' ? Buffer.from(message, 'utf8') : message);
  const text = typeof message === 'string' ? message : decodeUtf8(message);
  if (text === undefined) return false;
  const alone = fastPathAlone(text);
  if (alone === undefined) return false;
  if (!reference.accepted) throw new Error(`the fast path accepted a message the reference rejects (${reference.error})`);
  expect(alone).toStrictEqual(reference.event);
  return true;
}

/**
 * The follower's path (chain-sync-session.ts): the frame's bytes with their text decoded as the adapter does
 * (Node's isUtf8 and toString, which keeps a byte-order mark), raw control characters found on the bytes.
 */
function expectFrameSameAsReference(bytes: Uint8Array): void {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = isUtf8(buffer) ? buffer.toString('utf8') : undefined;
  expect(outcomeOf(() => decodeNextBlockFrame(bytes, text))).toStrictEqual(outcomeOf(() => decodeNextBlockResponse(text ?? bytes)));
}

/** The same check, also requiring that the fast path itself accepted the message (no fallback). */
function expectDecodedByFastPath(message: string | Uint8Array): NextBlockEvent {
  expect(expectSameAsReference(message), 'accepted by the fast path itself').toBe(true);
  return decodeNextBlockResponseFast(message);
}

/** The message is rejected, by both decoders with the same error; returns the error message. */
function expectRejected(message: string | Uint8Array): string {
  expect(expectSameAsReference(message)).toBe(false);
  const outcome = outcomeOf(() => decodeNextBlockResponseFast(message));
  if (outcome.accepted) throw new Error('expected a rejection');
  return outcome.error;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function forwardBlock(event: NextBlockEvent): ChainBlock {
  if (event.type !== 'rollForward') throw new Error(`expected rollForward, got ${event.type}`);
  return event.blocks[0] as ChainBlock;
}

// ---- Rewriting messages without changing their meaning ----

interface Style {
  /** Emit object keys in random order. */
  shuffleKeys?: boolean;
  /** Random whitespace between tokens. */
  whitespace?: boolean;
  /** Write some characters of strings and keys as escapes (\uXXXX in either case, \/). */
  escapes?: boolean;
}

/** Serialises a lossless JSON value (bigints as exact digits) in the given style. */
function toJson(value: JsonValue, style: Style, random: Random): string {
  const space = (): string => (style.whitespace && random.chance(0.3) ? random.pick([' ', '\n', '\t', '\r\n  ', '  ']) : '');
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return JSON.stringify(value);
  if (typeof value === 'string') return quote(value, style, random);
  if (Array.isArray(value))
    return `[${space()}${value.map((item) => toJson(item, style, random)).join(`${space()},${space()}`)}${space()}]`;
  const keys = Object.keys(value);
  if (style.shuffleKeys) shuffle(keys, random);
  const members = keys.map((key) => `${quote(key, style, random)}${space()}:${space()}${toJson(value[key] as JsonValue, style, random)}`);
  return `{${space()}${members.join(`${space()},${space()}`)}${space()}}`;
}

function quote(text: string, style: Style, random: Random): string {
  if (!style.escapes) return JSON.stringify(text);
  let quoted = '"';
  for (const character of text) {
    const code = character.charCodeAt(0);
    if (character.length === 1 && random.chance(0.15)) {
      const hex = code.toString(16).padStart(4, '0');
      quoted += `\\u${random.chance(0.5) ? hex : hex.toUpperCase()}`;
    } else if (character === '/' && random.chance(0.5)) {
      quoted += '\\/';
    } else {
      quoted += JSON.stringify(character).slice(1, -1);
    }
  }
  return `${quoted}"`;
}

function shuffle<T>(items: T[], random: Random): void {
  for (let index = items.length - 1; index > 0; index--) {
    const other = random.int(0, index);
    [items[index], items[other]] = [items[other] as T, items[index] as T];
  }
}

const parse = (text: string): JsonObject => parseLosslessJson(text) as JsonObject;
const compact = (value: JsonValue): string => toJson(value, {}, new Random(0));
const field = (value: JsonValue | undefined, key: string): JsonObject => (value as JsonObject)[key] as JsonObject;
const item = (value: JsonValue | undefined, index: number): JsonObject => (value as JsonValue[])[index] as JsonObject;
const blockOf = (message: JsonObject): JsonObject => field(field(message, 'result'), 'block');
const transactionOf = (message: JsonObject, index: number): JsonObject => item(blockOf(message).transactions, index);

/** Vector 003: a praos block whose first transaction has a collateral return and multi-asset outputs. */
const richVector = (): JsonObject => parse(vectorText('003.json'));

// ---- Tests ----

describe('fast nextBlock decoder: real messages', () => {
  it(`decodes the ${vectorFiles.length} Ogmios NextBlockResponse vectors itself, exactly as the reference`, () => {
    expect(vectorFiles.length).toBeGreaterThanOrEqual(50);
    for (const [file, text] of vectors) {
      expect(expectSameAsReference(text), file).toBe(true);
    }
  });

  it(`decodes all ${fixtureBlocks.length} chain fixture blocks as nextBlock messages, as text and as UTF-8 bytes`, () => {
    expect(fixtureBlocks).toHaveLength(1360);
    const encoder = new TextEncoder();
    for (const [file, blockText] of fixtureBlocks) {
      const message = nextBlockMessage(blockText);
      const event = decodeNextBlockResponseFast(message);
      expect(event, file).toStrictEqual(decodeNextBlockResponse(message));
      expect(fastPathAlone(message), file).toStrictEqual(event);
      expect(decodeNextBlockResponseFast(encoder.encode(message)), file).toStrictEqual(event);
      const bytes = Buffer.from(message, 'utf8');
      expect(decodeNextBlockFrame(bytes, bytes.toString('utf8')), file).toStrictEqual(event);
    }
  });

  it('keeps exact integers and hashes (values copied from the vector and fixture text)', () => {
    const block = forwardBlock(decodeNextBlockResponseFast(vectorText('004.json')));
    expect(block.ancestor).toBe('genesis');
    expect(block.transactions[0]?.outputs[0]?.lovelace).toBe(4951354522139984633n);
    expect(block.transactions[0]?.collateralReturn?.lovelace).toBe(3709831986137802095n);
    const ebb = forwardBlock(decodeNextBlockResponseFast(vectorText('029.json')));
    expect(ebb.height).toBe(13521870305663481883n);
    expect('slot' in ebb).toBe(false);

    const conway = fixtureBlocks.find(([file]) => file.endsWith('conway-10781375.json'))?.[1] ?? raise('fixture missing');
    const transaction = forwardBlock(decodeNextBlockResponseFast(nextBlockMessage(conway))).transactions[3] as ChainTransaction;
    expect(transaction.id).toBe('59ecfc5b645c35fb279707ab1ec94a9c6eae1d693954a0ef1a544431604d7b88');
    expect(transaction.outputs[1]?.assets).toContainEqual({
      policyId: '54648775544512675775bb5132ce6ae25407f5bab7a8dbfe416dc088',
      assetName: '4144415f544544595f4c50',
      quantity: 9223372036854775807n,
    });
  });

  it('decodes roll-backwards to a point and to origin, with a tip or origin', () => {
    expect(decodeNextBlockResponseFast(vectorText('010.json'))).toEqual({
      type: 'rollBackward',
      point: { slot: 92267n, hash: 'b5f556f2ff67952ca1237ccb40dbf33f213ce15b769597d12188e9ab8fbd7bdf' },
      tip: { slot: 4744n, hash: '669ea8a00b7307b08fae2a6eb3a59d42f7d32e80860320208938019789bef05f', height: 3015040n },
    });
    const message = parse(vectorText('021.json'));
    field(message, 'result').tip = 'origin';
    expect(expectDecodedByFastPath(compact(message))).toEqual({ type: 'rollBackward', point: 'origin', tip: 'origin' });
  });
});

describe('fast nextBlock decoder: layout freedom', () => {
  const random = new Random(20240601);
  const samples = [
    ...vectors.map(([, text]) => text),
    ...fixtureBlocks.filter((_, index) => index % 20 === 0).map(([, text]) => nextBlockMessage(text)),
  ];

  it.each<[string, Style]>([
    ['keys in any order', { shuffleKeys: true }],
    ['whitespace between tokens', { whitespace: true }],
    ['escapes in strings and keys (kept addresses and hashes included)', { escapes: true }],
    ['all of these at once', { shuffleKeys: true, whitespace: true, escapes: true }],
  ])('accepts %s on every vector and a fixture sample', (_name, style) => {
    for (const text of samples) {
      const rewritten = toJson(parseLosslessJson(text), style, random);
      expect(rewritten).not.toBe(text);
      // Against the reference on the same text: the order of policies in the text is the order of the assets.
      expect(decodeNextBlockTextFastPath(rewritten)).toStrictEqual(decodeNextBlockResponse(rewritten));
      if (!style.shuffleKeys) expect(decodeNextBlockResponse(rewritten)).toStrictEqual(decodeNextBlockResponse(text));
    }
  });

  it('accepts result before jsonrpc, direction after block and tip, and point before direction', () => {
    const forward = parse(vectorText('003.json'));
    const result = field(forward, 'result');
    const reordered = `{"result":{"tip":${compact(result.tip as JsonValue)},"block":${compact(result.block as JsonValue)},"direction":"forward"},"id":7,"jsonrpc":"2.0","method":"nextBlock"}`;
    expect(decodeNextBlockTextFastPath(reordered)).toStrictEqual(decodeNextBlockResponse(vectorText('003.json')));

    const backward = field(parse(vectorText('010.json')), 'result');
    const backwardFirst = `{"id":"x","result":{"point":${compact(backward.point as JsonValue)},"tip":${compact(backward.tip as JsonValue)},"direction":"backward"},"jsonrpc":"2.0"}`;
    expect(decodeNextBlockTextFastPath(backwardFirst)).toStrictEqual(decodeNextBlockResponse(vectorText('010.json')));
  });

  it('accepts a message without method (--strict-rpc) and an id of any JSON type', () => {
    const expected = decodeNextBlockResponse(vectorText('003.json'));
    for (const id of ['null', '1', '-2.5e3', '"abc"', 'true', '[1,{"a":[]}]', '{"requestId":"abc","n":18446744073709551616}']) {
      const message = parse(vectorText('003.json'));
      delete message.method;
      delete message.id;
      const text = compact(message).replace(/\}$/, `,"id":${id}}`);
      expect(text).toContain(`"id":${id}}`);
      expect(decodeNextBlockTextFastPath(text)).toStrictEqual(expected);
    }
  });

  it('accepts UTF-8 bytes, with multi-byte characters in skipped metadata, and rejects bytes that are not UTF-8 like the reference', () => {
    const nonAscii = vectors.filter(([, text]) => /[^\x00-\x7f]/.test(text));
    expect(nonAscii.length).toBeGreaterThan(0);
    for (const [, text] of nonAscii) expectDecodedByFastPath(Buffer.from(text, 'utf8'));
    const invalid = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","result":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    expect(expectRejected(invalid)).toBe('nextBlock response is not valid UTF-8');
    // A byte-order mark is dropped by both (same TextDecoder settings).
    expectSameAsReference(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(vectorText('003.json'))]));
  });

  it('skips values nested 100,000 deep without running out of stack', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const text = vectorText('003.json').replace('"spends":', `"deep":${deep},"spends":`);
    expect(text).toContain(deep);
    expectDecodedByFastPath(text);
  });
});

describe('fast nextBlock decoder: keys', () => {
  it('treats __proto__, constructor, prototype and toString as data at every level', () => {
    const impostor = `{"id":"${'f'.repeat(64)}","outputs":[],"collaterals":[{"transaction":{"id":"${'e'.repeat(64)}"},"index":9}]}`;
    const hostile = `"__proto__":${impostor},"constructor":{"name":"x"},"prototype":null,"toString":1,"valueOf":{},"hasOwnProperty":false,`;
    const text = vectorText('003.json')
      .replace(/^\{/, `{${hostile}`)
      .replace('"result":{', `"result":{${hostile}`)
      .replace('"block":{', `"block":{${hostile}`)
      .replace(/\{"id":"([0-9a-f]{64})","spends"/g, `{${hostile}"id":"$1","spends"`)
      .replace(/\{"address":/g, `{${hostile}"address":`)
      .replace(/"ada":\{/g, `"ada":{${hostile}`)
      .replace(/\{"transaction":\{/g, `{${hostile}"transaction":{${hostile}`);
    expect(text.split('__proto__').length).toBeGreaterThan(20);
    expect(decodeNextBlockTextFastPath(text)).toStrictEqual(decodeNextBlockResponse(vectorText('003.json')));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('name');
  });

  it('rejects __proto__ as a policy id or an asset name, like the reference', () => {
    const message = richVector();
    field(item(transactionOf(message, 0).outputs, 0), 'value').__proto__ = { '00': 1n };
    expect(expectRejected(compact(message))).toContain('value has key "__proto__", expected "ada" or a policy id');
  });

  describe('duplicate keys: the last occurrence wins, as in JSON.parse and the reference decoder', () => {
    const hash = (digit: string): string => digit.repeat(64);
    const transaction = (members: string): string => vectorText('003.json').replace(/"transactions":\[\{/, `"transactions":[{${members},`);

    it('in needed fields of a transaction, block, output and reference', () => {
      const cases = [
        // A valid first value replaced by another valid one: the fast path itself must take the last.
        vectorText('003.json').replace(
          '"spends":"inputs"',
          `"spends":"collaterals","id":"${hash('a')}","spends":"inputs","id":"${hash('b')}"`,
        ),
        vectorText('003.json').replace(/"block":\{/, `"block":{"height":1,"slot":2,"type":"ebb","type":"praos","ancestor":"genesis",`),
        vectorText('003.json').replace(/\{"address":"([^"]+)"/, '{"address":"addr_test1first","address":"$1"'),
        vectorText('003.json').replace(
          /\{"transaction":\{"id":"[0-9a-f]{64}"\},"index":(\d+)/,
          `{"transaction":{"id":"${hash('c')}"},"index":99,"transaction":{"id":"${hash('d')}","id":"${hash('e')}"},"index":$1`,
        ),
      ];
      for (const text of cases) {
        const event = expectDecodedByFastPath(text);
        expect(event).toStrictEqual(decodeNextBlockResponse(text));
      }
      const first = forwardBlock(decodeNextBlockTextFastPath(cases[0] as string)).transactions[0] as ChainTransaction;
      expect(first.id).toBe(hash('b'));
      expect(forwardBlock(decodeNextBlockTextFastPath(cases[3] as string)).transactions[0]?.inputs[0]?.txId).toBe(hash('e'));
    });

    it('when a later duplicate repairs or breaks an earlier value', () => {
      const texts = [
        transaction(`"id":5,"id":"${hash('a')}"`),
        transaction(`"id":"${hash('a')}","id":5`),
        transaction('"outputs":"none"'),
        vectorText('003.json').replace(/"outputs":\[/, '"outputs":{},"outputs":['),
        vectorText('003.json').replace('"method":"nextBlock"', '"method":"findIntersection","method":"nextBlock"'),
        vectorText('003.json').replace('"direction":"forward"', '"direction":"backward","direction":"forward"'),
        vectorText('003.json')
          .replace('"direction":"forward",', '')
          .replace('"result":{', '"result":{"direction":"backward","point":"origin",')
          .replace(/,"tip":/, ',"direction":"forward","tip":'),
        vectorText('003.json').replace('"result":{', '"result":{"block":{"id":1},'),
      ];
      for (const text of texts) expectSameAsReference(text);
    });

    it('in value maps: repeated or reordered policies and asset names keep Object.keys order', () => {
      const policy = (digit: string): string => digit.repeat(56);
      const values = [
        `{"ada":{"lovelace":1},"${policy('b')}":{"4c":1},"${policy('a')}":{"4d":2}}`,
        `{"ada":{"lovelace":1},"${policy('a')}":{"4c":1},"${policy('b')}":{"4d":2},"${policy('a')}":{"4e":3,"4c":4}}`,
        `{"ada":{"lovelace":1},"${policy('a')}":{"4c":1},"${policy('a')}":{}}`,
        `{"ada":{"lovelace":1},"${policy('a')}":{"4c":1,"31":2,"4c":3,"":4}}`,
        `{"ada":{"lovelace":1},"ada":{"lovelace":2},"${policy('a')}":{"3132":1,"35":2,"31":3,"4c":4,"3130":5,"":6}}`,
        `{"ada":{"lovelace":1},"${policy('a')}":{"34323934393637323934":1,"34323934393637323935":2,"4294967294":3,"4294967295":4,"31":5}}`,
      ];
      for (const value of values) {
        const text = vectorText('003.json').replace(
          /"value":\{"ada":\{"lovelace":\d+\}(,"[0-9a-f]{56}":\{[^{}]*\})*\}/,
          `"value":${value}`,
        );
        expect(text).toContain(value);
        expectDecodedByFastPath(text);
      }
      const mixed = forwardBlock(
        decodeNextBlockResponseFast(
          vectorText('003.json').replace(/"value":\{"ada":\{"lovelace":\d+\}(,"[0-9a-f]{56}":\{[^{}]*\})*\}/, `"value":${values[4]}`),
        ),
      );
      expect(mixed.transactions[0]?.outputs[0]?.lovelace).toBe(2n);
      expect(mixed.transactions[0]?.outputs[0]?.assets.map((asset) => asset.assetName)).toEqual(['31', '35', '3130', '3132', '4c', '']);
    });
  });
});

describe('raw control characters found on the bytes (hasControlByte)', () => {
  it('answers like the regular expression on the text, wherever the byte is and however the bytes are aligned', () => {
    const random = new Random(20261124);
    // Long enough for several eight-word rounds of the unrolled loop plus every remainder.
    const backing = new Uint8Array(160);
    for (let round = 0; round < 20_000; round++) {
      const offset = random.int(0, 7);
      const length = random.int(0, 150);
      // Mostly printable ASCII, sometimes a UTF-8 lead or continuation byte, sometimes a control byte.
      for (let index = 0; index < backing.length; index++) {
        backing[index] = random.chance(0.03) ? random.int(0, 0x1f) : random.chance(0.1) ? random.int(0x80, 0xff) : random.int(0x20, 0x7f);
      }
      const bytes = backing.subarray(offset, offset + length);
      expect(hasControlByte(bytes)).toBe(CONTROL_CHARACTER.test(Buffer.from(bytes).toString('latin1')));
    }
    expect(hasControlByte(Buffer.from('{"a":"b"}'))).toBe(false);
    expect(hasControlByte(Buffer.from('{"a":"b\u0001"}'))).toBe(true);
    expect(hasControlByte(new Uint8Array(0))).toBe(false);
  });
});

describe('fast nextBlock decoder: strictness', () => {
  /** Puts `fragment` as the value of an unknown (skipped) key of the first transaction of vector 003. */
  const inSkippedValue = (fragment: string): string => vectorText('003.json').replace('"spends":', `"skipped":${fragment},"spends":`);

  it.each([
    ['an unterminated string', '"abc'],
    ['a bad escape', '"a\\x"'],
    ['a bad unicode escape', '"\\u12G4"'],
    ['a raw control character in a string', '"a\u0001b"'],
    ['a raw line feed in a string', '"a\nb"'],
    ['a leading zero', '01'],
    ['a fraction without digits', '1.'],
    ['a lone minus', '-'],
    ['an exponent without digits', '1e+'],
    ['a truncated literal', 'tru'],
    ['a misspelt literal', 'nul1'],
    ['NaN', 'NaN'],
    ['a single-quoted string', "'x'"],
    ['a trailing comma in an array', '[1,]'],
    ['a trailing comma in an object', '{"a":1,}'],
    ['a missing colon', '{"a" 1}'],
    ['a non-string key', '{1:2}'],
    ['missing commas', '[1 2]'],
    ['a mismatched bracket', '[1}'],
    ['an empty value', ''],
  ])('rejects malformed JSON inside a skipped value: %s', (_name, fragment) => {
    const text = inSkippedValue(fragment);
    expect(fastPathAlone(text)).toBeUndefined();
    expect(expectRejected(text)).toMatch(/^nextBlock response is not valid JSON: .* at position \d+ \(line \d+, column \d+\)$/);
  });

  it('rejects malformed JSON around the message and truncated messages', () => {
    const text = vectorText('004.json');
    for (const bad of [`${text}x`, `${text}{}`, text.slice(0, 1000), text.slice(0, -1), ` ${text.slice(1)}`, '', '   ']) {
      expect(expectRejected(bad)).toMatch(/^nextBlock response is not valid JSON: /);
    }
    expectDecodedByFastPath(`\n\t ${text} \r\n`);
  });

  it.each<[string, (message: JsonObject) => void, string]>([
    [
      'lovelace a string',
      (m) => void (field(field(item(transactionOf(m, 0).outputs, 0), 'value'), 'ada').lovelace = '12'),
      'transaction 0 output 0: value.ada.lovelace is not an integer (found string "12")',
    ],
    [
      'lovelace negative',
      (m) => void (field(field(item(transactionOf(m, 0).outputs, 0), 'value'), 'ada').lovelace = -1n),
      'value.ada.lovelace is negative (found number -1)',
    ],
    [
      'lovelace a fraction',
      (m) => void (field(field(item(transactionOf(m, 0).outputs, 0), 'value'), 'ada').lovelace = 1.5),
      'value.ada.lovelace is not an integer (found number 1.5)',
    ],
    [
      'value without ada',
      (m) => void delete field(item(transactionOf(m, 0).outputs, 0), 'value').ada,
      'value.ada is missing, expected an object',
    ],
    [
      'asset quantity null',
      (m) =>
        void (field(field(item(transactionOf(m, 0).outputs, 0), 'value'), '4d50a11e297e7783383bf06dd6e4e481230323bd96cd8b8d9ee3888d')[
          '02c8a8669b0fff7daa3de92164359b2840e434060e6baca88c3861fd9e5aa3'
        ] = null),
      'is not an integer (found null)',
    ],
    [
      'asset name of odd length',
      (m) =>
        void (field(field(item(transactionOf(m, 0).outputs, 0), 'value'), '4d50a11e297e7783383bf06dd6e4e481230323bd96cd8b8d9ee3888d').abc =
          1),
      'has asset name "abc"',
    ],
    [
      'asset name too long',
      (m) =>
        void (field(field(item(transactionOf(m, 0).outputs, 0), 'value'), '4d50a11e297e7783383bf06dd6e4e481230323bd96cd8b8d9ee3888d')[
          'ab'.repeat(33)
        ] = 1),
      'expected an even number (0 to 64) of lowercase hex digits',
    ],
    [
      'policy id in upper case',
      (m) => void (field(item(transactionOf(m, 0).outputs, 0), 'value')['4D50A11E297E7783383BF06DD6E4E481230323BD96CD8B8D9EE3888D'] = {}),
      'expected "ada" or a policy id',
    ],
    [
      'tokens not an object',
      (m) => void (field(item(transactionOf(m, 0).outputs, 0), 'value')['4d50a11e297e7783383bf06dd6e4e481230323bd96cd8b8d9ee3888d'] = [1]),
      'expected an object',
    ],
    ['address empty', (m) => void (item(transactionOf(m, 0).outputs, 1).address = ''), 'address is string "", expected a non-empty string'],
    [
      'address a number',
      (m) => void (item(transactionOf(m, 0).outputs, 1).address = 5),
      'address is number 5, expected a non-empty string',
    ],
    [
      'output is null',
      (m) => void ((transactionOf(m, 1).outputs as JsonValue[])[0] = null),
      'transaction 1 output 0: the output is null, expected an object',
    ],
    ['outputs not an array', (m) => void (transactionOf(m, 2).outputs = {}), 'transaction 2: outputs is an object, expected an array'],
    [
      'input index a string',
      (m) => void (item(transactionOf(m, 0).inputs, 1).index = '0'),
      'index is not a non-negative integer (found string "0")',
    ],
    [
      'input index beyond 2^53',
      (m) => void (item(transactionOf(m, 0).inputs, 0).index = 2n ** 64n),
      'index is 18446744073709551616, too large for an output index',
    ],
    [
      'input transaction id short',
      (m) => void (field(item(transactionOf(m, 0).inputs, 0), 'transaction').id = 'abc'),
      'transaction.id is string "abc", expected 64 lowercase hex digits',
    ],
    ['inputs missing', (m) => void delete transactionOf(m, 1).inputs, 'transaction 1: inputs is missing, expected an array'],
    ['collaterals null', (m) => void (transactionOf(m, 0).collaterals = null), 'collaterals is null, expected an array'],
    [
      'collateral return without value',
      (m) => void delete field(transactionOf(m, 0), 'collateralReturn').value,
      'transaction 0 collateralReturn: value is missing, expected an object',
    ],
    [
      'spends unknown',
      (m) => void (transactionOf(m, 0).spends = 'everything'),
      'spends is string "everything", expected "inputs" or "collaterals"',
    ],
    ['transaction id upper case', (m) => void (transactionOf(m, 0).id = 'A'.repeat(64)), 'expected 64 lowercase hex digits'],
    ['transactions not an array', (m) => void (blockOf(m).transactions = 'none'), 'transactions is string "none", expected an array'],
    ['slot missing', (m) => void delete blockOf(m).slot, 'slot is missing, expected an integer'],
    ['height negative', (m) => void (blockOf(m).height = -(2n ** 64n)), 'height is negative'],
    ['ancestor origin', (m) => void (blockOf(m).ancestor = 'origin'), 'ancestor is string "origin", expected 64 lowercase hex digits'],
    ['block type missing', (m) => void delete blockOf(m).type, 'type is missing, expected a string'],
    ['block missing', (m) => void delete field(m, 'result').block, 'the block is missing, expected an object'],
    ['forward tip origin', (m) => void (field(m, 'result').tip = 'origin'), 'result.tip is string "origin", expected an object'],
    ['tip height missing', (m) => void delete field(field(m, 'result'), 'tip').height, 'result.tip.height is missing, expected an integer'],
    ['direction unknown', (m) => void (field(m, 'result').direction = 'sideways'), 'result.direction is string "sideways"'],
    ['other method', (m) => void (m.method = 'findIntersection'), 'method is string "findIntersection", expected "nextBlock"'],
    ['method null', (m) => void (m.method = null), 'method is null, expected "nextBlock"'],
    ['result missing', (m) => void delete m.result, 'result is missing, expected an object'],
    [
      'JSON-RPC error',
      (m) => {
        delete m.result;
        m.error = { code: -32600, message: 'Invalid request' };
      },
      'the server answered with JSON-RPC error -32600 "Invalid request"',
    ],
    ['JSON-RPC error beside a result', (m) => void (m.error = null), 'the server answered with JSON-RPC error null without a message'],
  ])('rejects a wrong needed field like the reference: %s', (_name, mutate, expected) => {
    const message = richVector();
    mutate(message);
    expect(expectRejected(compact(message))).toContain(expected);
  });

  it('rejects a message that is not an object like the reference', () => {
    for (const text of ['null', '[]', '"x"', '42', 'true']) {
      expect(expectRejected(text)).toMatch(/^nextBlock response: the message is .*, expected an object$/);
    }
  });

  it('declines integers written as -0, 1.0 or 1e2, which the reference still accepts, and then answers like it', () => {
    for (const literal of ['-0', '1.0', '1e2', '0.5e1', '2E+1']) {
      for (const pattern of [/"lovelace":\d+/, /"height":\d+/, /"index":\d+/]) {
        const text = vectorText('003.json').replace(pattern, (match) => `${match.split(':')[0]}:${literal}`);
        expect(fastPathAlone(text)).toBeUndefined();
        expect(expectSameAsReference(text)).toBe(false);
        expect(decodeNextBlockResponseFast(text)).toStrictEqual(decodeNextBlockResponse(text));
      }
    }
  });

  it('never takes a kept address for a hash, even one seen in an earlier message', () => {
    const lookalike = 'g'.repeat(64);
    const withAddress = vectorText('003.json').replace(/\{"address":"[^"]+"/, `{"address":"${lookalike}"`);
    expect(forwardBlock(expectDecodedByFastPath(withAddress)).transactions[0]?.outputs[0]?.address).toBe(lookalike);
    const withHash = vectorText('003.json').replace(/\{"transaction":\{"id":"[0-9a-f]{64}"/, `{"transaction":{"id":"${lookalike}"`);
    expect(expectRejected(withHash)).toContain('transaction.id is string "gggg');
    const both = withAddress.replace(/("outputs":.*?)\{"transaction":\{"id":"[0-9a-f]{64}"/, `$1{"transaction":{"id":"${lookalike}"`);
    expect(both).toContain(`{"transaction":{"id":"${lookalike}"`);
    expectRejected(both);
  });

  it('rejects leading zeros in needed integers, like the reference', () => {
    for (const [pattern, literal] of [
      [/"lovelace":\d+/, '"lovelace":01'],
      [/"height":\d+/, '"height":00'],
      [/"index":\d+/, '"index":007'],
    ] as const) {
      expect(expectRejected(vectorText('003.json').replace(pattern, literal))).toMatch(/^nextBlock response is not valid JSON: /);
    }
  });

  it('agrees with the reference on ebb blocks, whose slot and transactions are ignored', () => {
    const ebb = vectorText('029.json');
    const transactions = /"transactions":\[.*\](?=\},"tip")/.exec(vectorText('003.json'))?.[0] ?? raise('no transactions in 003.json');
    const texts = [
      ebb,
      ebb.replace('"type":"ebb"', `"type":"ebb",${transactions}`),
      ebb.replace('"type":"ebb"', `${transactions},"type":"ebb","slot":12`),
      ebb.replace('"type":"ebb"', '"type":"ebb","slot":"not a slot","transactions":7'),
      ebb.replace('"type":"ebb"', '"type":"praos"'),
      ebb.replace('"type":"ebb"', `"type":"praos","slot":12,${transactions}`),
    ];
    expect(new Set(texts).size).toBe(texts.length);
    for (const text of texts) expectSameAsReference(text);
    expect(forwardBlock(expectDecodedByFastPath(texts[1] as string)).transactions).toEqual([]);
    expect(forwardBlock(expectDecodedByFastPath(texts[5] as string)).transactions.length).toBeGreaterThan(0);
  });
});

describe('fast nextBlock decoder: random mutations', () => {
  /** Characters that make or break JSON, and some that strings may hold. */
  const ALPHABET = [
    '{',
    '}',
    '[',
    ']',
    '"',
    ':',
    ',',
    '\\',
    ' ',
    '\n',
    '0',
    '1',
    '9',
    '-',
    '+',
    '.',
    'e',
    'E',
    't',
    'f',
    'n',
    'u',
    'a',
    'x',
    '\u0000',
    '\u001f',
    'é',
    '\ud83d',
  ];

  it('agrees with the reference under random text corruption (3,000 messages)', () => {
    const random = new Random(7);
    let acceptedByFastPath = 0;
    let rejected = 0;
    for (let round = 0; round < 3000; round++) {
      const [, original] = random.pick(vectors);
      let text = original;
      for (let edits = random.int(1, 3); edits > 0; edits--) {
        const at = random.int(0, text.length - 1);
        switch (random.int(0, 4)) {
          case 0:
            text = text.slice(0, at) + text.slice(at + 1);
            break;
          case 1:
            text = text.slice(0, at) + random.pick(ALPHABET) + text.slice(at);
            break;
          case 2:
            text = text.slice(0, at) + random.pick(ALPHABET) + text.slice(at + 1);
            break;
          case 3: {
            const length = random.int(1, 40);
            text = text.slice(0, at) + text.slice(at, at + length) + text.slice(at);
            break;
          }
          default: {
            const from = random.int(0, text.length - 1);
            text = text.slice(0, at) + text.slice(from, from + random.int(1, 80)) + text.slice(at + random.int(0, 80));
          }
        }
      }
      const accepted = expectSameAsReference(text);
      if (accepted) acceptedByFastPath++;
      if (!outcomeOf(() => decodeNextBlockResponse(text)).accepted) rejected++;
    }
    // Both kinds of outcome must be well represented for the comparison to mean anything.
    expect(acceptedByFastPath).toBeGreaterThan(300);
    expect(rejected).toBeGreaterThan(1000);
  });

  it('agrees with the reference when values are replaced, removed or duplicated (3,000 messages)', () => {
    const random = new Random(11);
    const junk: readonly (JsonValue | undefined)[] = [
      undefined,
      null,
      true,
      0,
      -1,
      1.5,
      2n ** 60n,
      2n ** 64n,
      -5n,
      '',
      'x',
      'origin',
      'genesis',
      'ebb',
      'forward',
      'backward',
      'inputs',
      'collaterals',
      'a'.repeat(64),
      'addr1',
      [],
      [null],
      {},
      { id: 1 },
      { ada: { lovelace: 1n } },
      { transaction: { id: 'b'.repeat(64) }, index: 0 },
    ];
    let acceptedByFastPath = 0;
    for (let round = 0; round < 3000; round++) {
      const [, original] = random.pick(vectors);
      const message = parse(original);
      // Walk down a random path, then replace or delete what is there.
      let container: JsonObject | JsonValue[] = message;
      for (;;) {
        const keys = Object.keys(container);
        if (keys.length === 0) break;
        const key = random.pick(keys);
        const child = (container as Record<string, JsonValue>)[key] as JsonValue;
        if (typeof child === 'object' && child !== null && random.chance(0.85)) {
          container = child as JsonObject | JsonValue[];
          continue;
        }
        const replacement = random.pick(junk);
        if (replacement === undefined) delete (container as Record<string, JsonValue>)[key];
        else (container as Record<string, JsonValue>)[key] = replacement;
        break;
      }
      let text = toJson(message, { shuffleKeys: random.chance(0.3), whitespace: random.chance(0.2), escapes: random.chance(0.2) }, random);
      if (random.chance(0.3)) {
        // A duplicate of some key with a junk value, before or after the original.
        const keys = [...text.matchAll(/"([a-zA-Z]+)":/g)];
        if (keys.length > 0) {
          const match = random.pick(keys);
          const duplicate = `"${match[1]}":${compact(random.pick(junk) ?? null)}`;
          const at = match.index;
          text = random.chance(0.5)
            ? `${text.slice(0, at)}${duplicate},${text.slice(at)}`
            : insertAfterValue(text, at + match[0].length, duplicate);
        }
      }
      if (expectSameAsReference(text)) acceptedByFastPath++;
    }
    expect(acceptedByFastPath).toBeGreaterThan(500);
  });
});

/** Inserts `,member` right after the JSON value that starts at `start` (a test input either way). */
function insertAfterValue(text: string, start: number, member: string): string {
  const end = endOfValue(text, start);
  return `${text.slice(0, end)},${member}${text.slice(end)}`;
}

function endOfValue(text: string, start: number): number {
  let position = start;
  while (/\s/.test(text[position] ?? '')) position++;
  const first = text[position];
  if (first === '"') return endOfString(text, position);
  if (first === '{' || first === '[') {
    let depth = 0;
    while (position < text.length) {
      const character = text[position];
      if (character === '"') {
        position = endOfString(text, position);
        continue;
      }
      if (character === '{' || character === '[') depth++;
      else if ((character === '}' || character === ']') && --depth === 0) return position + 1;
      position++;
    }
    return position;
  }
  // A number or a literal: up to the next delimiter.
  while (position < text.length && !/[\s,\]}]/.test(text[position] as string)) position++;
  return position;
}

function endOfString(text: string, quote: number): number {
  let position = quote + 1;
  while (position < text.length && text[position] !== '"') position += text[position] === '\\' ? 2 : 1;
  return position + 1;
}

describe('lowercase hex check on a range of the text (isLowercaseHex)', () => {
  it('accepts exactly the ranges made of 0-9 and a-f, whatever surrounds them', () => {
    const text = 'xx0123456789abcdefXX';
    expect(isLowercaseHex(text, 2, 18)).toBe(true);
    expect(isLowercaseHex(text, 5, 5)).toBe(true);
    expect(isLowercaseHex(text, 1, 18)).toBe(false);
    expect(isLowercaseHex(text, 2, 19)).toBe(false);
    expect(isLowercaseHex(text, 17, 19)).toBe(false);
    expect(isLowercaseHex(text, 2, 21)).toBe(false);
  });

  it('answers like a character-by-character check on random ranges', () => {
    const random = new Random(20261125);
    const alphabet = '0123456789abcdefABCDEFgz:"\\ /`\u0660\u00e9';
    for (let round = 0; round < 5_000; round++) {
      const length = random.int(0, 40);
      let text = '';
      for (let index = 0; index < length; index++)
        text += random.chance(0.9) ? '0123456789abcdef'.charAt(random.int(0, 15)) : alphabet.charAt(random.int(0, alphabet.length - 1));
      const start = random.int(0, length);
      const end = random.int(start, length);
      expect(isLowercaseHex(text, start, end)).toBe(/^[0-9a-f]*$/.test(text.slice(start, end)));
    }
  });
});
