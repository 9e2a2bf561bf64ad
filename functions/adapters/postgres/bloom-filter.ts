import { createHash } from 'node:crypto';

// Which characters are hashed. Past its first 8 characters an address carries its payment credential (a
// transaction id is random throughout), and 24 of those characters tell entries apart well enough for a
// filter; hashing every character of every output (~103 for a base address) would cost several times more.
const WINDOW_START = 8;
const WINDOW_LENGTH = 24;

/** The characters a load reads of each value: those the filter hashes and those before them. */
export const PACKED_PREFIX = WINDOW_START + WINDOW_LENGTH;

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
  constructor(
    readonly capacity: number,
    falsePositiveRate = 0.001,
  ) {
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
    const start = windowStart(value);
    this.addHashes(hashPair(value, start, Math.min(value.length, start + WINDOW_LENGTH)));
  }

  /** Adds every entry collected in `entries`. */
  addAll(entries: EntryHashes): void {
    const pairs = entries.hashes();
    for (let entry = 0; entry < pairs.length; entry += 2) this.setBits(pairs[entry]!, pairs[entry + 1]!);
  }

  private addHashes([h1, h2]: [number, number]): void {
    this.setBits(h1, h2);
  }

  private setBits(h1: number, h2: number): void {
    for (let i = 0; i < this.hashCount; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0;
      const index = bit % this.bitCount;
      this.bits[index >>> 5]! |= 1 << (index & 31);
    }
    this.added++;
  }

  /** The filter as stored (filter-store.ts): its layout, what it holds, and a copy of its bits, taken at once. */
  stored(): StoredBloomFilter {
    const bits = Buffer.alloc(this.bits.byteLength);
    bits.set(new Uint8Array(this.bits.buffer, this.bits.byteOffset, this.bits.byteLength));
    return {
      format: BloomFilter.storedFormat(),
      capacity: this.capacity,
      bitCount: this.bitCount,
      hashCount: this.hashCount,
      entries: this.added,
      bits,
    };
  }

  /**
   * The filter a stored one describes, or undefined when it was stored in another format (other hashing, another
   * machine's byte order) or with another layout than this code gives its capacity: such a filter cannot be trusted
   * to answer as it did, and is loaded again from the tables instead.
   */
  static fromStored(stored: StoredBloomFilter): BloomFilter | undefined {
    if (stored.format !== BloomFilter.storedFormat()) return undefined;
    const filter = new BloomFilter(stored.capacity);
    if (filter.bitCount !== stored.bitCount || filter.hashCount !== stored.hashCount || stored.bits.byteLength !== filter.bits.byteLength)
      return undefined;
    new Uint8Array(filter.bits.buffer).set(stored.bits);
    filter.added = stored.entries;
    return filter;
  }

  private static format: string | undefined;

  /**
   * What a stored filter's bits mean, as a digest of the bits of a small filter holding fixed probes: a change to
   * the hashing, to where an entry's bits go, or to the byte order of the words changes it, so a filter stored by
   * other code (or on another kind of machine) is never read as this code's.
   */
  private static storedFormat(): string {
    if (BloomFilter.format === undefined) {
      const probe = new BloomFilter(1024);
      for (const value of ['probe', 'addr1q9'.repeat(6), 'é'.repeat(40)]) probe.add(value);
      const digest = createHash('sha256').update(new Uint8Array(probe.bits.buffer)).digest('hex').slice(0, 16);
      BloomFilter.format = `bloom/${WINDOW_START}+${WINDOW_LENGTH}/${digest}`;
    }
    return BloomFilter.format;
  }

  mightContain(value: string): boolean {
    const start = windowStart(value);
    const [h1, h2] = hashPair(value, start, Math.min(value.length, start + WINDOW_LENGTH));
    for (let i = 0; i < this.hashCount; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0;
      const index = bit % this.bitCount;
      if ((this.bits[index >>> 5]! & (1 << (index & 31))) === 0) return false;
    }
    return true;
  }
}

/** A Bloom filter as stored: enough to rebuild it bit for bit (BloomFilter.fromStored). */
export interface StoredBloomFilter {
  format: string;
  capacity: number;
  bitCount: number;
  hashCount: number;
  entries: number;
  bits: Buffer;
}

/**
 * The hashes of entries read before the filter that takes them can be sized: a load learns how many entries it has
 * by reading them (no count query), holding 8 bytes per entry, then builds the filter with BloomFilter.addAll.
 */
export class EntryHashes {
  private pairs = new Uint32Array(2 * 4096);
  private count = 0;

  get length(): number {
    return this.count;
  }

  add(value: string): void {
    const start = windowStart(value);
    this.push(hashPair(value, start, Math.min(value.length, start + WINDOW_LENGTH)));
  }

  /**
   * Adds the values whose prefixes (prefixSql) are concatenated in `packed`, PACKED_PREFIX characters each: a load
   * reads a page of values as one string, so that only the characters the filter hashes (and those before them)
   * cross the wire and no string is made per value. Only for values whose prefix is PACKED_PREFIX characters of one
   * byte each (the caller checks the page: see packedPageIsExact): for them, hashing the prefix's window is hashing
   * the value. Returns how many values were added.
   */
  addPackedPrefixes(packed: string): number {
    if (packed.length % PACKED_PREFIX !== 0) {
      throw new Error(`packed prefixes must be ${PACKED_PREFIX} characters each; got ${packed.length} characters`);
    }
    const values = packed.length / PACKED_PREFIX;
    this.reserve(values);
    // hashPair over each prefix's window, inlined: no allocation per entry (a load hashes millions).
    for (let prefix = 0; prefix < packed.length; prefix += PACKED_PREFIX) {
      let hash = 0x811c9dc5;
      for (let i = prefix + WINDOW_START; i < prefix + PACKED_PREFIX; i++) hash = Math.imul(hash ^ packed.charCodeAt(i), 0x01000193);
      let stride = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
      stride = Math.imul(stride ^ (stride >>> 13), 0xc2b2ae35);
      stride ^= stride >>> 16;
      this.pairs[2 * this.count] = hash >>> 0;
      this.pairs[2 * this.count + 1] = (stride | 1) >>> 0;
      this.count++;
    }
    return values;
  }

  /** The hash pairs collected: h1 and h2 of each entry, in turn. */
  hashes(): Uint32Array {
    return this.pairs.subarray(0, 2 * this.count);
  }

  private push([h1, h2]: [number, number]): void {
    this.reserve(1);
    this.pairs[2 * this.count] = h1;
    this.pairs[2 * this.count + 1] = h2;
    this.count++;
  }

  private reserve(entries: number): void {
    if (2 * (this.count + entries) <= this.pairs.length) return;
    let length = this.pairs.length * 2;
    while (length < 2 * (this.count + entries)) length *= 2;
    const larger = new Uint32Array(length);
    larger.set(this.pairs.subarray(0, 2 * this.count));
    this.pairs = larger;
  }
}

/** Where the hashed window of a value starts: WINDOW_START, or earlier for a value shorter than 32 characters. */
function windowStart(value: string): number {
  return Math.min(WINDOW_START, Math.max(0, value.length - WINDOW_LENGTH));
}

/** The characters of a value that the filter hashes. */
export function hashedWindow(value: string): string {
  const start = windowStart(value);
  return value.slice(start, start + WINDOW_LENGTH);
}

/** SQL: the prefix of the value in `column` that a packed page carries (its first PACKED_PREFIX characters). */
export function prefixSql(column: string): string {
  return `left(${column}, ${PACKED_PREFIX})`;
}

/**
 * Whether a page of `values` values, whose prefixes arrived concatenated as `packed` (a JavaScript string) and
 * measured `bytes` in the UTF8 database, can be added with addPackedPrefixes: only if every prefix is PACKED_PREFIX
 * ASCII characters. It is so exactly when both totals are PACKED_PREFIX per value: a shorter value makes the
 * characters fall short, which only characters beyond the BMP could make up in UTF-16 units (one more unit each),
 * and those take three more bytes each, so the bytes could not add up as well.
 */
export function packedPageIsExact(values: number, packed: string, bytes: number): boolean {
  return packed.length === values * PACKED_PREFIX && bytes === values * PACKED_PREFIX;
}

/**
 * Two 32-bit hashes for double hashing over the characters [start, end): FNV-1a, and a murmur3 finaliser of it
 * for the stride. Entries that share the window are false positives, which the database then filters out.
 */
function hashPair(value: string, start: number, end: number): [number, number] {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ value.charCodeAt(i), 0x01000193);
  let stride = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  stride = Math.imul(stride ^ (stride >>> 13), 0xc2b2ae35);
  stride ^= stride >>> 16;
  return [hash >>> 0, (stride | 1) >>> 0];
}
