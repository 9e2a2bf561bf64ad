/**
 * A small seeded pseudo-random generator (mulberry32) for randomized tests: the same seed always gives the
 * same sequence, so a failing run is reproduced from its seed alone.
 */
export class Random {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uniform 32-bit unsigned integer. */
  uint32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }

  /** A uniform integer in [min, max] (both included). */
  int(min: number, max: number): number {
    if (max < min) throw new Error(`empty range ${min}..${max}`);
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('cannot pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** A uniform bigint in [0, 2^bits). */
  bits(bits: number): bigint {
    let value = 0n;
    for (let have = 0; have < bits; have += 32) value = (value << 32n) | BigInt(this.uint32());
    const extra = Math.ceil(bits / 32) * 32 - bits;
    return value >> BigInt(extra);
  }

  /** A uniform bigint in [min, max] (both included). */
  bigint(min: bigint, max: bigint): bigint {
    if (max < min) throw new Error(`empty range ${min}..${max}`);
    const span = max - min + 1n;
    const bits = span.toString(2).length + 16; // 16 spare bits keep the modulo bias negligible
    return min + (this.bits(bits) % span);
  }

  /** An independent generator derived from this one's seed and a label (a separate stream per concern). */
  fork(label: string): Random {
    return new Random(mixSeed(this.seed, label));
  }
}

/** Derives a well-spread 32-bit seed from a seed and a label or index (splitmix-style mixing). */
export function mixSeed(seed: number, salt: string | number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const ch of String(salt)) {
    h = Math.imul(h ^ ch.charCodeAt(0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
  }
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
