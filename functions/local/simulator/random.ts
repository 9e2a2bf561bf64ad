import { createHash } from 'node:crypto';

/**
 * A seeded pseudo-random generator (sfc32: small, fast, passes PractRand), so that a simulation started twice
 * with the same seed produces the same chain. Not for cryptography.
 */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Scratch space for hex(): random words are written here, then read back as bytes. */
  private readonly scratch = Buffer.allocUnsafeSlow(256);
  private readonly scratchWords = new Uint32Array(this.scratch.buffer, this.scratch.byteOffset, 64);

  constructor(seed: string | number) {
    // Spread the seed over the 128-bit state through a hash, so that nearby seeds give unrelated streams.
    const state = createHash('sha256').update(`simulator-seed:${seed}`).digest();
    this.a = state.readUInt32LE(0);
    this.b = state.readUInt32LE(4);
    this.c = state.readUInt32LE(8);
    this.d = state.readUInt32LE(12);
    for (let round = 0; round < 12; round++) this.uint32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.uint32() / 0x1_0000_0000;
  }

  /** An integer in [min, max], both inclusive. */
  integer(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** A non-negative bigint below `limit`, from 64 random bits (uniform enough for amounts). */
  bigintBelow(limit: bigint): bigint {
    const bits = (BigInt(this.uint32()) << 32n) | BigInt(this.uint32());
    return bits % limit;
  }

  /** True with probability `probability`. */
  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('cannot pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** `byteCount` random bytes as lowercase hex. */
  hex(byteCount: number): string {
    if (byteCount > this.scratch.length) return this.hex(this.scratch.length) + this.hex(byteCount - this.scratch.length);
    const words = Math.ceil(byteCount / 4);
    for (let index = 0; index < words; index++) this.scratchWords[index] = this.uint32();
    return this.scratch.toString('hex', 0, byteCount);
  }

  bytes(byteCount: number): Uint8Array {
    return Buffer.from(this.hex(byteCount), 'hex');
  }

  /**
   * How many trials until the first success when each succeeds with probability `probability` (at least 1).
   * Praos elects a slot leader with probability f = 0.05 per slot, so slot gaps between blocks follow this with
   * a mean of 20.
   */
  geometric(probability: number): number {
    const uniform = 1 - this.next(); // in (0, 1]
    return Math.max(1, Math.ceil(Math.log(uniform) / Math.log(1 - probability)));
  }

  /**
   * A count with expected value `rate`: the integer part always, plus one more with the fractional part as
   * probability (rate 0.25 gives one every four draws on average, 2.5 gives 2 or 3).
   */
  count(rate: number): number {
    const whole = Math.floor(rate);
    return whole + (this.chance(rate - whole) ? 1 : 0);
  }
}
