import { describe, expect, it } from 'vitest';
import type {
  AssetQuantity,
  ChainBlock,
  ChainEvent,
  ChainTransaction,
  OutputReference,
  TransactionOutput,
} from '../../functions/domain/chain.js';
import {
  assembleRollForwardMessage,
  decodeChainEventMessage,
  decodeQueueMessageBody,
  deduplicationId,
  encodeBlock,
  encodeChainEventMessage,
  encodeClaimCheckPointer,
  MessageFormatError,
  stepsOf,
  type ChainEventMessage,
} from '../../functions/domain/chain-event-message.js';
import { NETWORKS } from '../../functions/domain/network.js';
import { Random } from '../support/random.js';

const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MAX = (1n << 63n) - 1n;

/**
 * Random events of every shape the chain model allows, with integers across the whole range each field may hold:
 * up to 2^63 − 1 where the database keeps a BIGINT, 2^64 − 1 for token quantities, 2^31 − 1 for output indexes.
 */
class EventGenerator {
  constructor(private readonly random: Random) {}

  hex(bytes: number): string {
    return Array.from({ length: bytes }, () => this.random.int(0, 255).toString(16).padStart(2, '0')).join('');
  }

  hash(): string {
    return this.hex(32);
  }

  /** Edges and small values matter as much as uniform ones. */
  unsigned(bits: 63 | 64): bigint {
    const pick = this.random.int(0, 5);
    if (pick === 0) return 0n;
    if (pick === 1) return (1n << BigInt(bits)) - 1n;
    if (pick === 2) return (1n << 53n) + this.random.bigint(0n, 10n);
    return this.random.bits(this.random.int(1, bits));
  }

  int64(): bigint {
    return this.unsigned(63);
  }

  uint64(): bigint {
    return this.unsigned(64);
  }

  reference(): OutputReference {
    return { txId: this.hash(), index: this.random.chance(0.9) ? this.random.int(0, 20) : 0x7fff_ffff };
  }

  assets(): AssetQuantity[] {
    // A value is a map: each asset once, grouped by policy, names in the order a JavaScript object keeps its
    // keys (integer-like names such as "5853" first), exactly as the decoder produces it from Ogmios' JSON.
    const assets: AssetQuantity[] = [];
    for (let p = this.random.int(0, 3); p > 0; p--) {
      const policyId = this.hash().slice(0, 56);
      const names = new Set<string>();
      for (let n = this.random.int(1, 4); n > 0; n--) names.add(this.hex(this.random.int(0, 32)));
      for (const assetName of Object.keys(Object.fromEntries([...names].map((name) => [name, true]))))
        assets.push({ policyId, assetName, quantity: this.uint64() });
    }
    return assets;
  }

  output(): TransactionOutput {
    // Addresses are ASCII on chain; quotes, backslashes and non-ASCII here check escaping and byte counting.
    const address = this.random.pick([
      'addr1qx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgse35a3x',
      'DdzFFzCqrht"odd\\address',
      'addr_test1ünïcødé✓',
    ]);
    return { address, lovelace: this.int64(), assets: this.random.chance(0.5) ? this.assets() : [] };
  }

  transaction(): ChainTransaction {
    const list = <T>(make: () => T, max: number) => Array.from({ length: this.random.int(0, max) }, make);
    const collateralReturn = this.random.chance(0.3) ? this.output() : undefined;
    return {
      id: this.hash(),
      spends: this.random.chance(0.9) ? 'inputs' : 'collaterals',
      inputs: list(() => this.reference(), 3),
      collaterals: list(() => this.reference(), 2),
      outputs: list(() => this.output(), 4),
      ...(collateralReturn ? { collateralReturn } : {}),
    };
  }

  block(): ChainBlock {
    const slot = this.random.chance(0.95) ? this.int64() : undefined; // an epoch boundary block has none
    return {
      hash: this.hash(),
      height: this.int64(),
      ...(slot === undefined ? {} : { slot }),
      ancestor: this.random.chance(0.05) ? 'genesis' : this.hash(),
      transactions: Array.from({ length: this.random.int(0, 4) }, () => this.transaction()),
    };
  }

  tip() {
    return { slot: this.int64(), hash: this.hash(), height: this.int64() };
  }

  event(): ChainEvent {
    if (this.random.chance(0.7))
      return { type: 'rollForward', blocks: Array.from({ length: this.random.int(1, 4) }, () => this.block()), tip: this.tip() };
    const point = this.random.chance(0.1) ? ('origin' as const) : { slot: this.int64(), hash: this.hash() };
    return { type: 'rollBackward', point, tip: this.random.chance(0.1) ? 'origin' : this.tip() };
  }

  message(): ChainEventMessage {
    const event = this.event();
    const count = BigInt(stepsOf(event));
    const first = this.random.chance(0.2) ? INT64_MAX - count + 1n : 1n + this.random.bits(this.random.int(1, 40));
    return {
      version: 2,
      network: this.random.pick(NETWORKS),
      generation: this.int64(),
      fence: this.int64(),
      steps: { first, last: first + count - 1n },
      event,
    };
  }
}

const REMOVE = Symbol('remove');

/** The wire JSON of a message with one field changed (or removed) at a path. */
function mutated(text: string, path: readonly (string | number)[], value: unknown): string {
  const wire: unknown = JSON.parse(text);
  let parent = wire as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === REMOVE) delete parent[last];
  else parent[last] = typeof value === 'function' ? (value as (old: unknown) => unknown)(parent[last]) : value;
  return JSON.stringify(wire);
}

function errorOf(run: () => unknown): MessageFormatError {
  try {
    run();
  } catch (error) {
    if (error instanceof MessageFormatError) return error;
    throw error;
  }
  throw new Error('expected a MessageFormatError');
}

function sample(): ChainEventMessage {
  const hash = (n: number) => n.toString(16).padStart(64, '0');
  return {
    version: 2,
    network: 'mainnet',
    generation: 3n,
    fence: INT64_MAX,
    steps: { first: 7n, last: 7n },
    event: {
      type: 'rollForward',
      tip: { slot: INT64_MAX, hash: hash(9), height: INT64_MAX },
      blocks: [
        {
          hash: hash(2),
          height: INT64_MAX - 1n,
          slot: 123_456_789_012n,
          ancestor: hash(1),
          transactions: [
            {
              id: hash(3),
              spends: 'inputs',
              inputs: [{ txId: hash(4), index: 7 }],
              collaterals: [],
              outputs: [
                {
                  address: 'addr1qxy',
                  lovelace: INT64_MAX,
                  assets: [
                    { policyId: 'a'.repeat(56), assetName: '', quantity: UINT64_MAX },
                    { policyId: 'a'.repeat(56), assetName: 'cafe', quantity: 1n },
                  ],
                },
              ],
            },
          ],
        },
      ],
    },
  };
}

describe('chain event message codec', () => {
  it('writes every big integer as a decimal string and reads it back exactly, up to 2^63 − 1 (2^64 − 1 for tokens)', () => {
    const message = sample();
    const text = encodeChainEventMessage(message);
    const wire = JSON.parse(text) as Record<string, unknown>;
    expect(wire).toMatchObject({
      version: 2,
      network: 'mainnet',
      generation: '3',
      fence: '9223372036854775807',
      steps: { first: '7', last: '7' },
    });
    expect(text).toContain('"lovelace":"9223372036854775807"');
    expect(text).toContain(`"inputs":["${'0'.repeat(63)}4#7"]`);
    expect(text).toContain(`"assets":{"${'a'.repeat(56)}":{"":"18446744073709551615","cafe":"1"}}`);
    expect(text).not.toContain('collaterals'); // empty lists are left out
    expect(text).not.toMatch(/:\d{16,}/); // no large integer is ever a JSON number
    expect(decodeChainEventMessage(text)).toEqual(message);
  });

  it('round-trips random events of every shape (property-style, 500 seeded cases)', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const message = new EventGenerator(new Random(seed)).message();
      const text = encodeChainEventMessage(message);
      const decoded = decodeChainEventMessage(text);
      expect(decoded, `seed ${seed}`).toEqual(message);
      expect(encodeChainEventMessage(decoded), `seed ${seed}: re-encoding is stable`).toBe(text);
    }
  });

  it('assembles a roll-forward from pre-encoded blocks into exactly the encoded message', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const message = new EventGenerator(new Random(seed)).message();
      if (message.event.type !== 'rollForward') continue;
      expect(assembleRollForwardMessage(message, message.event.tip, message.event.blocks.map(encodeBlock))).toBe(
        encodeChainEventMessage(message),
      );
    }
  });

  it('reads a body as either a message or a claim-check pointer', () => {
    const message = sample();
    expect(decodeQueueMessageBody(encodeChainEventMessage(message))).toEqual({ kind: 'event', message });
    const pointer = { bucket: 'claims', key: 'chain-events/x.json', sha256: 'f'.repeat(64), bytes: 2_000_000 };
    const text = encodeClaimCheckPointer(pointer);
    expect(JSON.parse(text)).toEqual({ version: 2, claimCheck: pointer });
    expect(decodeQueueMessageBody(text)).toEqual({ kind: 'claimCheck', pointer });
  });

  describe('refuses malformed messages, naming the field', () => {
    const text = encodeChainEventMessage(sample());
    const output = ['event', 'blocks', 0, 'transactions', 0, 'outputs', 0];
    const transaction = ['event', 'blocks', 0, 'transactions', 0];
    const cases: [string, string, string | RegExp][] = [
      ['not JSON', '{"version":1,', '$'],
      ['a list', '[]', '$'],
      ['a future version', mutated(text, ['version'], 3), '$.version'],
      ['version 1 (no steps): a leader of the previous release', mutated(mutated(text, ['version'], 1), ['steps'], REMOVE), '$.version'],
      ['a version as a string', mutated(text, ['version'], '2'), '$.version'],
      ['an unknown network', mutated(text, ['network'], 'testnet'), '$.network'],
      ['a fence as a JSON number', mutated(text, ['fence'], 42), '$.fence'],
      ['a negative generation', mutated(text, ['generation'], '-1'), '$.generation'],
      ['a fence above 2^63 − 1 (BIGINT)', mutated(text, ['fence'], '9223372036854775808'), '$.fence'],
      ['no steps', mutated(text, ['steps'], REMOVE), '$.steps'],
      ['steps from 0', mutated(text, ['steps'], { first: '0', last: '0' }), '$.steps.first'],
      ['steps that do not match the blocks', mutated(text, ['steps'], { first: '7', last: '8' }), '$.steps'],
      ['steps above 2^63 − 1', mutated(text, ['steps'], { first: '9223372036854775808', last: '9223372036854775808' }), '$.steps.first'],
      ['an unknown envelope field', mutated(text, ['extra'], true), '$.extra'],
      ['a missing event', mutated(text, ['event'], REMOVE), '$.event'],
      ['an unknown event type', mutated(text, ['event', 'type'], 'rollSideways'), '$.event.type'],
      ['an empty roll-forward', mutated(text, ['event', 'blocks'], []), '$.event.blocks'],
      ['a height with leading zeros', mutated(text, ['event', 'blocks', 0, 'height'], '007'), '$.event.blocks[0].height'],
      [
        'a height above 2^63 − 1 (BIGINT)',
        mutated(text, ['event', 'blocks', 0, 'height'], '9223372036854775808'),
        '$.event.blocks[0].height',
      ],
      ['a slot above 2^63 − 1 (BIGINT)', mutated(text, ['event', 'blocks', 0, 'slot'], '18446744073709551615'), '$.event.blocks[0].slot'],
      ['a tip height above 2^63 − 1', mutated(text, ['event', 'tip', 'height'], '9223372036854775808'), '$.event.tip.height'],
      ['a height in exponent form', mutated(text, ['event', 'blocks', 0, 'height'], '1e3'), '$.event.blocks[0].height'],
      ['an uppercase block hash', mutated(text, ['event', 'blocks', 0, 'hash'], 'A'.repeat(64)), '$.event.blocks[0].hash'],
      ['a bad spends', mutated(text, [...transaction, 'spends'], 'outputs'), '$.event.blocks[0].transactions[0].spends'],
      ['a malformed input', mutated(text, [...transaction, 'inputs', 0], 'abc#1'), '$.event.blocks[0].transactions[0].inputs[0]'],
      [
        'an output index above 2^31 − 1 (INTEGER)',
        mutated(text, [...transaction, 'inputs', 0], `${'0'.repeat(63)}4#2147483648`),
        '$.event.blocks[0].transactions[0].inputs[0]',
      ],
      ['lovelace as a float', mutated(text, [...output, 'lovelace'], '1.5'), '$.event.blocks[0].transactions[0].outputs[0].lovelace'],
      [
        'lovelace above 2^63 − 1 (BIGINT)',
        mutated(text, [...output, 'lovelace'], '9223372036854775808'),
        '$.event.blocks[0].transactions[0].outputs[0].lovelace',
      ],
      [
        'a token quantity above 2^64 − 1',
        mutated(text, [...output, 'assets', 'a'.repeat(56), 'cafe'], '18446744073709551616'),
        /assets\.a{56}\.cafe$/,
      ],
      ['an empty address', mutated(text, [...output, 'address'], ''), '$.event.blocks[0].transactions[0].outputs[0].address'],
      [
        'a short policy id',
        mutated(text, [...output, 'assets'], { abc: { '': '1' } }),
        '$.event.blocks[0].transactions[0].outputs[0].assets.abc',
      ],
      ['an odd-length asset name', mutated(text, [...output, 'assets', 'a'.repeat(56)], { abc: '1' }), /assets\.a{56}\.abc$/],
      ['an unknown output field', mutated(text, [...output, 'datum'], 'x'), '$.event.blocks[0].transactions[0].outputs[0].datum'],
      ['a pointer without sha256', '{"version":2,"claimCheck":{"bucket":"b","key":"k","bytes":1}}', '$.claimCheck.sha256'],
    ];
    for (const [what, body, path] of cases) {
      it(what, () => {
        const error = errorOf(() => decodeQueueMessageBody(body));
        if (typeof path === 'string') expect(error.path).toBe(path);
        else expect(error.path).toMatch(path);
        expect(error.message.startsWith(error.path)).toBe(true);
      });
    }
  });

  it('treats assets as the map they are: any order in, grouped by policy out, nothing lost', () => {
    const [policyA, policyB] = ['a'.repeat(56), 'b'.repeat(56)];
    const assets: AssetQuantity[] = [
      { policyId: policyA, assetName: 'cafe', quantity: 1n },
      { policyId: policyB, assetName: '', quantity: 2n },
      { policyId: policyA, assetName: '1234', quantity: 3n },
    ];
    const block: ChainBlock = {
      hash: 'c'.repeat(64),
      height: 1n,
      ancestor: 'genesis',
      transactions: [
        { id: 'd'.repeat(64), spends: 'inputs', inputs: [], collaterals: [], outputs: [{ address: 'addr1x', lovelace: 1n, assets }] },
      ],
    };
    const message: ChainEventMessage = {
      ...sample(),
      event: { type: 'rollForward', blocks: [block], tip: { slot: 1n, hash: block.hash, height: 1n } },
    };
    const decoded = decodeChainEventMessage(encodeChainEventMessage(message)).event as Extract<ChainEvent, { type: 'rollForward' }>;
    // "1234" is an integer-like key: a JavaScript object lists it first.
    expect(decoded.blocks[0]!.transactions[0]!.outputs[0]!.assets).toEqual([assets[2], assets[0], assets[1]]);
  });

  it('refuses to encode an output that holds the same asset twice (the map form would lose one)', () => {
    const message = sample();
    const block = (message.event as Extract<ChainEvent, { type: 'rollForward' }>).blocks[0]!;
    const output = block.transactions[0]!.outputs[0]!;
    (output.assets as AssetQuantity[]).push({ ...output.assets[0]! });
    expect(() => encodeChainEventMessage(message)).toThrow(/appears twice/);
  });
});

describe('deduplicationId', () => {
  const base = sample();
  const withEvent = (event: ChainEvent, changes: Partial<ChainEventMessage> = {}): ChainEventMessage => ({ ...base, ...changes, event });
  const forward = base.event as Extract<ChainEvent, { type: 'rollForward' }>;

  it('is a short, stable hash of the identity, within SQS limits', () => {
    const id = deduplicationId(base);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(deduplicationId(decodeChainEventMessage(encodeChainEventMessage(base)))).toBe(id);
  });

  it('changes with the fencing token, the generation, the steps, the network and the direction', () => {
    const id = deduplicationId(base);
    expect(deduplicationId({ ...base, steps: { first: 8n, last: 8n } })).not.toBe(id);
    expect(deduplicationId({ ...base, fence: base.fence - 1n })).not.toBe(id);
    expect(deduplicationId({ ...base, generation: base.generation + 1n })).not.toBe(id);
    expect(deduplicationId({ ...base, network: 'preprod' })).not.toBe(id);
    const point = { slot: forward.blocks[0]!.slot!, hash: forward.blocks[0]!.hash };
    expect(deduplicationId(withEvent({ type: 'rollBackward', point, tip: forward.tip }))).not.toBe(id);
  });

  it('changes with the first and last block, and with the network tip (a fork switched back and forth)', () => {
    const id = deduplicationId(base);
    const [block] = forward.blocks;
    const next: ChainBlock = { ...block!, hash: 'e'.repeat(64), height: block!.height + 1n, ancestor: block!.hash };
    expect(deduplicationId(withEvent({ ...forward, blocks: [block!, next] }))).not.toBe(id);
    expect(deduplicationId(withEvent({ ...forward, tip: { ...forward.tip, hash: 'd'.repeat(64) } }))).not.toBe(id);
    // What does not identify the event (its transactions' content) does not change it.
    expect(deduplicationId(withEvent({ ...forward, blocks: [{ ...block!, transactions: [] }] }))).toBe(id);
  });
});
