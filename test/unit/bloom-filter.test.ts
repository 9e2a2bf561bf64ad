import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { BloomFilter, hashedWindow } from '../../functions/adapters/postgres/bloom-filter.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';

const hash = (label: string) => createHash('sha256').update(label).digest('hex');

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

  it('loading packed windows is adding the values: the same answers for members and strangers', () => {
    const values = [
      ...Array.from({ length: 500 }, (_, i) => hash(`tx:${i}`)),
      ...Array.from({ length: 500 }, (_, i) => syntheticAddress('mainnet', i)),
      'x'.repeat(24),
      'abcdefghijklmnopqrstuvwxyz0123', // 30 characters: the window starts before the 9th
    ];
    const added = new BloomFilter(2_000);
    for (const value of values) added.add(value);
    const packed = new BloomFilter(2_000);
    expect(packed.addPackedWindows(values.map(hashedWindow).join(''))).toBe(values.length);
    expect(packed.size).toBe(values.length);
    const probes = [...values, ...Array.from({ length: 20_000 }, (_, i) => hash(`probe:${i}`)), ...Array.from({ length: 2_000 }, (_, i) => syntheticAddress('mainnet', `probe:${i}`))];
    expect(probes.map((probe) => packed.mightContain(probe))).toEqual(probes.map((probe) => added.mightContain(probe)));
    expect(values.every((value) => packed.mightContain(value))).toBe(true);
  });

  it('hashes a window of 24 characters, from the 9th or earlier in a shorter value', () => {
    const value = '0123456789abcdefghijklmnopqrstuvwxyz';
    expect(hashedWindow(value)).toBe(value.slice(8, 32));
    expect(hashedWindow(value.slice(0, 30))).toBe(value.slice(6, 30));
    expect(hashedWindow('short')).toBe('short');
  });

  it('refuses packed windows of the wrong length instead of adding shifted ones', () => {
    expect(() => new BloomFilter(10).addPackedWindows('x'.repeat(25))).toThrow(/24 characters each/);
  });
});
