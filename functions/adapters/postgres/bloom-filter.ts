/**
 * A Bloom filter over strings: "definitely not present" or "maybe present". The engine uses it to skip,
 * in memory, the ~99% of outputs and inputs that cannot concern a registered address, so the database
 * only sees candidates. A false positive costs one row in a set-based query; there are no false negatives.
 */
export class BloomFilter {
  private readonly bits: Uint32Array;
  private readonly bitCount: number;
  private readonly hashCount: number;
  private added = 0;

  /** Sized for `capacity` entries at roughly `falsePositiveRate`. */
  constructor(readonly capacity: number, falsePositiveRate = 0.001) {
    const entries = Math.max(capacity, 1024);
    const bitCount = Math.ceil((-entries * Math.log(falsePositiveRate)) / Math.LN2 ** 2);
    this.bitCount = Math.ceil(bitCount / 32) * 32;
    this.bits = new Uint32Array(this.bitCount / 32);
    this.hashCount = Math.max(1, Math.round((this.bitCount / entries) * Math.LN2));
  }

  get size(): number {
    return this.added;
  }

  /** True once more entries were added than the filter was sized for: time to build a larger one. */
  get overCapacity(): boolean {
    return this.added > this.capacity;
  }

  add(value: string): void {
    const [h1, h2] = hashPair(value);
    for (let i = 0; i < this.hashCount; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0;
      const index = bit % this.bitCount;
      this.bits[index >>> 5]! |= 1 << (index & 31);
    }
    this.added++;
  }

  mightContain(value: string): boolean {
    const [h1, h2] = hashPair(value);
    for (let i = 0; i < this.hashCount; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0;
      const index = bit % this.bitCount;
      if ((this.bits[index >>> 5]! & (1 << (index & 31))) === 0) return false;
    }
    return true;
  }
}

/** Two independent 32-bit hashes (FNV-1a and a murmur-style mix) for double hashing. */
function hashPair(value: string): [number, number] {
  let fnv = 0x811c9dc5;
  let mix = 0x9747b28c;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    fnv = Math.imul(fnv ^ code, 0x01000193);
    mix = Math.imul(mix ^ code, 0x5bd1e995);
    mix ^= mix >>> 15;
  }
  mix = Math.imul(mix ^ (mix >>> 13), 0xc2b2ae35);
  mix ^= mix >>> 16;
  return [fnv >>> 0, (mix | 1) >>> 0];
}
