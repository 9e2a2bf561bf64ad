import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import {
  BloomFilter,
  EntryHashes,
  PACKED_PREFIX,
  hashedWindow,
  packedPageIsExact,
} from '../../functions/adapters/postgres/bloom-filter.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';

const hash = (label: string) => createHash('sha256').update(label).digest('hex');
const prefix = (value: string) => value.slice(0, PACKED_PREFIX);
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

describe('BloomFilter', () => {
  it('has no false negatives, and a false positive rate near what it was sized for', () => {
    const filter = new BloomFilter(20_000);
    const members = Array.from({ length: 20_000 }, (_, i) => hash(`member:${i}`));
    for (const member of members) filter.add(member);
    expect(members.every((member) => filter.mightContain(member))).toBe(true);
    const strangers = Array.from({ length: 20_000 }, (_, i) => hash(`stranger:${i}`));
    const falsePositives = strangers.filter((stranger) => filter.mightContain(stranger)).length;
    expect(falsePositives).toBeLessThan(100); // sized for 0.1%: about 20 expected
    expect(filter.overCapacity).toBe(false);
    filter.add(hash('one more'));
    expect(filter.overCapacity).toBe(true);
  });

  it('a stored filter is rebuilt bit for bit: the same answers, the same count; another format or layout is refused', () => {
    const filter = new BloomFilter(20_000);
    const members = Array.from({ length: 5_000 }, (_, i) => hash(`member:${i}`));
    for (const member of members) filter.add(member);
    const strangers = Array.from({ length: 20_000 }, (_, i) => hash(`stranger:${i}`));
    const answers = strangers.map((stranger) => filter.mightContain(stranger));
    const stored = filter.stored();
    filter.add(hash('added after the copy')); // the copy is taken at once: later entries are not in it

    const rebuilt = BloomFilter.fromStored(stored)!;
    expect(rebuilt.size).toBe(5_000);
    expect(members.every((member) => rebuilt.mightContain(member))).toBe(true);
    expect(strangers.map((stranger) => rebuilt.mightContain(stranger))).toEqual(answers);
    expect(rebuilt.stored()).toEqual(stored);

    expect(BloomFilter.fromStored({ ...stored, format: `${stored.format}-other` })).toBeUndefined();
    expect(BloomFilter.fromStored({ ...stored, hashCount: stored.hashCount + 1 })).toBeUndefined();
    expect(BloomFilter.fromStored({ ...stored, bits: stored.bits.subarray(4) })).toBeUndefined();
  });

  it('entries collected one at a time or as packed prefixes are the values added: the same answers for members and strangers', () => {
    const values = Array.from({ length: 10_000 }, (_, i) => (i % 2 === 0 ? hash(`tx:${i}`) : syntheticAddress('mainnet', i)));
    const added = new BloomFilter(20_000);
    for (const value of values) added.add(value);
    const entries = new EntryHashes(); // grows past its first allocation
    for (const value of values.slice(0, 5_000)) entries.add(value);
    expect(entries.addPackedPrefixes(values.slice(5_000).map(prefix).join(''))).toBe(5_000);
    expect(entries.length).toBe(values.length);
    const collected = new BloomFilter(20_000);
    collected.addAll(entries);
    expect(collected.size).toBe(values.length);
    const probes = [...values, ...Array.from({ length: 20_000 }, (_, i) => hash(`probe:${i}`))];
    expect(probes.map((probe) => collected.mightContain(probe))).toEqual(probes.map((probe) => added.mightContain(probe)));
  });

  it('a packed prefix hashes as its value does', () => {
    for (const value of [hash('x'), syntheticAddress('mainnet', 'x'), syntheticAddress('preprod', 'y'), 'q'.repeat(32)]) {
      const packed = new EntryHashes();
      packed.addPackedPrefixes(prefix(value));
      const whole = new EntryHashes();
      whole.add(value);
      expect(Array.from(packed.hashes())).toEqual(Array.from(whole.hashes()));
    }
  });

  it('hashes a window of 24 characters, from the 9th or earlier in a shorter value', () => {
    const value = '0123456789abcdefghijklmnopqrstuvwxyz';
    expect(hashedWindow(value)).toBe(value.slice(8, 32));
    expect(hashedWindow(value.slice(0, 30))).toBe(value.slice(6, 30));
    expect(hashedWindow('short')).toBe('short');
  });

  it('refuses packed prefixes of the wrong length instead of adding shifted ones', () => {
    expect(() => new EntryHashes().addPackedPrefixes('x'.repeat(33))).toThrow(/32 characters each/);
  });
});

describe('packedPageIsExact', () => {
  const page = (values: string[]) => {
    const packed = values.map(prefix).join('');
    return packedPageIsExact(values.length, packed, bytes(packed));
  };

  it('accepts a page whose prefixes are all 32 ASCII characters', () => {
    expect(page([hash('a'), syntheticAddress('mainnet', 1), `${'x'.repeat(32)}é`])).toBe(true);
  });

  it('refuses a page with a short value, or one that is not ASCII within its prefix, even when the totals could meet', () => {
    expect(page([hash('a'), 'short'])).toBe(false);
    expect(page(['é'.repeat(40)])).toBe(false);
    expect(page(['😀'.repeat(40)])).toBe(false);
    // 20 characters short, made up in UTF-16 units by astral characters: the bytes then exceed.
    const short = 'a'.repeat(20);
    const astral = '😀'.repeat(12) + 'b'.repeat(20);
    expect((short + astral).length).toBe(2 * PACKED_PREFIX); // (PostgreSQL's left(astral, 32) is all of it)
    expect(packedPageIsExact(2, short + astral, bytes(short + astral))).toBe(false);
    // Made up in bytes by two-byte characters: the characters then fall short.
    const twoByte = 'é'.repeat(12) + 'b'.repeat(20);
    expect(bytes(short + twoByte)).toBe(2 * PACKED_PREFIX);
    expect(packedPageIsExact(2, short + twoByte, bytes(short + twoByte))).toBe(false);
  });
});
