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
    const start = windowStart(value);
    this.addHashes(hashPair(value, start, Math.min(value.length, start + WINDOW_LENGTH)));
  }

  /**
   * Adds the values whose windows (windowSql) are concatenated in `packed`, WINDOW_LENGTH characters each: a load
   * reads a page of values as one string, so only the hashed characters cross the wire and no string is made per
   * value. Only values that packableSql admits may be packed: for them, hashing the window is hashing the value.
   */
  addPackedWindows(packed: string): number {
    if (packed.length % WINDOW_LENGTH !== 0) {
      throw new Error(`packed windows must be ${WINDOW_LENGTH} characters each; got ${packed.length} characters`);
    }
    for (let start = 0; start < packed.length; start += WINDOW_LENGTH) {
      this.addHashes(hashPair(packed, start, start + WINDOW_LENGTH));
    }
    return packed.length / WINDOW_LENGTH;
  }

  private addHashes([h1, h2]: [number, number]): void {
    for (let i = 0; i < this.hashCount; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0;
      const index = bit % this.bitCount;
      this.bits[index >>> 5]! |= 1 << (index & 31);
    }
    this.added++;
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

// Which characters are hashed. Past its first 8 characters an address carries its payment credential (a
// transaction id is random throughout), and 24 of those characters tell entries apart well enough for a
// filter; hashing every character of every output (~103 for a base address) would cost several times more.
const WINDOW_START = 8;
const WINDOW_LENGTH = 24;

/** Where the hashed window of a value starts: WINDOW_START, or earlier for a value shorter than 32 characters. */
function windowStart(value: string): number {
  return Math.min(WINDOW_START, Math.max(0, value.length - WINDOW_LENGTH));
}

/** The characters of a value that the filter hashes (what windowSql reads in SQL). */
export function hashedWindow(value: string): string {
  const start = windowStart(value);
  return value.slice(start, start + WINDOW_LENGTH);
}

/**
 * SQL: whether the value in `column` may be loaded as its window (windowSql, then addPackedWindows): at least a
 * window long and printable ASCII only, so that PostgreSQL's characters are JavaScript's UTF-16 units whatever the
 * database encoding. Any other value is loaded whole, with add().
 */
export function packableSql(column: string): string {
  return `(${column} ~ '^[ -~]{${WINDOW_LENGTH},}$')`;
}

/** SQL: the window of a packable value in `column`, the characters add() hashes (windowStart, 1-based). */
export function windowSql(column: string): string {
  return `substr(${column}, least(${WINDOW_START + 1}, length(${column}) - ${WINDOW_LENGTH - 1}), ${WINDOW_LENGTH})`;
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
