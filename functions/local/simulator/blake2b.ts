/**
 * BLAKE2b (RFC 7693) with a chosen digest length. Cardano identifies transactions by the blake2b-256 hash of
 * their body, and node:crypto only offers the fixed 512-bit variant (a 512-bit digest truncated is NOT the 256-bit
 * digest: the length is part of the parameter block). Written for clarity over speed: it hashes the occasional
 * submitted transaction, never a hot path.
 *
 * Words are held in a BigUint64Array, whose stores reduce modulo 2^64, so additions and rotations need no masks.
 */

const BLOCK_BYTES = 128;

const INITIALIZATION_VECTOR = [
  0x6a09e667f3bcc908n,
  0xbb67ae8584caa73bn,
  0x3c6ef372fe94f82bn,
  0xa54ff53a5f1d36f1n,
  0x510e527fade682d1n,
  0x9b05688c2b3e6c1fn,
  0x1f83d9abfb41bd6bn,
  0x5be0cd19137e2179n,
] as const;

/** Message word schedule per round (rounds 10 and 11 repeat rounds 0 and 1). */
const SIGMA = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
] as const;

const ROUNDS = 12;

/** The BLAKE2b digest of `data`, `digestBytes` long (1 to 64; Cardano uses 32 for ids, 28 for key hashes). */
export function blake2b(data: Uint8Array, digestBytes: number): Uint8Array {
  if (!Number.isInteger(digestBytes) || digestBytes < 1 || digestBytes > 64) {
    throw new RangeError(`BLAKE2b digest length must be 1 to 64 bytes, got ${digestBytes}`);
  }
  const state = new BigUint64Array(INITIALIZATION_VECTOR);
  // Parameter block: digest length, no key, fanout 1, depth 1.
  state[0] = (state[0] as bigint) ^ (0x01010000n | BigInt(digestBytes));

  const block = new Uint8Array(BLOCK_BYTES);
  const blockView = new DataView(block.buffer);
  const words = new BigUint64Array(16);
  const work = new BigUint64Array(16);
  let offset = 0;
  // The last block is compressed with the final flag, even when the data is a whole number of blocks (or empty).
  do {
    const end = Math.min(offset + BLOCK_BYTES, data.length);
    block.fill(0);
    block.set(data.subarray(offset, end));
    offset = end;
    for (let index = 0; index < 16; index++) words[index] = blockView.getBigUint64(index * 8, true);
    compress(state, words, work, BigInt(offset), offset === data.length);
  } while (offset < data.length);

  const digest = new Uint8Array(64);
  const digestView = new DataView(digest.buffer);
  for (let index = 0; index < 8; index++) digestView.setBigUint64(index * 8, state[index] as bigint, true);
  return digest.slice(0, digestBytes);
}

/** blake2b-256 as lowercase hex: the form of Cardano transaction and block ids. */
export function blake2b256Hex(data: Uint8Array): string {
  return Buffer.from(blake2b(data, 32)).toString('hex');
}

function compress(state: BigUint64Array, words: BigUint64Array, v: BigUint64Array, bytesSoFar: bigint, isLast: boolean): void {
  for (let index = 0; index < 8; index++) {
    v[index] = state[index] as bigint;
    v[index + 8] = INITIALIZATION_VECTOR[index] as bigint;
  }
  v[12] = (v[12] as bigint) ^ bytesSoFar; // low word of the byte counter (messages here stay far below 2^64 bytes)
  if (isLast) v[14] = ~(v[14] as bigint);

  for (let round = 0; round < ROUNDS; round++) {
    const schedule = SIGMA[round % 10] as readonly number[];
    const word = (position: number): bigint => words[schedule[position] as number] as bigint;
    mix(v, 0, 4, 8, 12, word(0), word(1));
    mix(v, 1, 5, 9, 13, word(2), word(3));
    mix(v, 2, 6, 10, 14, word(4), word(5));
    mix(v, 3, 7, 11, 15, word(6), word(7));
    mix(v, 0, 5, 10, 15, word(8), word(9));
    mix(v, 1, 6, 11, 12, word(10), word(11));
    mix(v, 2, 7, 8, 13, word(12), word(13));
    mix(v, 3, 4, 9, 14, word(14), word(15));
  }
  for (let index = 0; index < 8; index++) {
    state[index] = (state[index] as bigint) ^ (v[index] as bigint) ^ (v[index + 8] as bigint);
  }
}

/** The G function: mixes two message words into four state words. */
function mix(v: BigUint64Array, a: number, b: number, c: number, d: number, x: bigint, y: bigint): void {
  v[a] = (v[a] as bigint) + (v[b] as bigint) + x;
  v[d] = rotateRight((v[d] as bigint) ^ (v[a] as bigint), 32n);
  v[c] = (v[c] as bigint) + (v[d] as bigint);
  v[b] = rotateRight((v[b] as bigint) ^ (v[c] as bigint), 24n);
  v[a] = (v[a] as bigint) + (v[b] as bigint) + y;
  v[d] = rotateRight((v[d] as bigint) ^ (v[a] as bigint), 16n);
  v[c] = (v[c] as bigint) + (v[d] as bigint);
  v[b] = rotateRight((v[b] as bigint) ^ (v[c] as bigint), 63n);
}

/** Rotation of a 64-bit word; the caller's store into a BigUint64Array drops the bits shifted past 2^64. */
function rotateRight(value: bigint, bits: bigint): bigint {
  return (value >> bits) | (value << (64n - bits));
}
