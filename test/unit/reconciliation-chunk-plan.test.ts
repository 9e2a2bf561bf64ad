import { describe, expect, it } from 'vitest';
import { nextChunk } from '../../functions/domain/reconciliation/chunk-plan.js';
import type { RegisteredAddress } from '../../functions/domain/reconciliation/ports.js';

const holding = (...counts: number[]): RegisteredAddress[] =>
  counts.map((recordedUnspent, i) => ({ id: BigInt(i + 1), address: `addr-${i + 1}`, recordedUnspent, openingRead: true }));
const ids = (chunk: readonly RegisteredAddress[]) => chunk.map((entry) => Number(entry.id));

describe('nextChunk', () => {
  it('takes addresses up to the address limit while their recorded outputs fit the bound', () => {
    expect(ids(nextChunk(holding(1, 1, 1, 1), 3, 100))).toEqual([1, 2, 3]);
    expect(ids(nextChunk(holding(40, 40, 40, 1), 10, 100))).toEqual([1, 2]);
    expect(ids(nextChunk(holding(40, 60, 1), 10, 100))).toEqual([1, 2]); // exactly the bound fits
  });

  it('ends a chunk before an address over the bound, and gives that address a chunk of its own', () => {
    const addresses = holding(5, 5, 500, 5);
    const first = nextChunk(addresses, 10, 100);
    expect(ids(first)).toEqual([1, 2]);
    const second = nextChunk(addresses.slice(first.length), 10, 100);
    expect(ids(second)).toEqual([3]);
    expect(ids(nextChunk(addresses.slice(3), 10, 100))).toEqual([4]);
  });

  it('never returns an empty chunk', () => {
    expect(ids(nextChunk(holding(1_000_000), 1, 1))).toEqual([1]);
  });
});
