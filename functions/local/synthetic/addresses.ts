import { createHash } from 'node:crypto';
import { encodeBech32 } from '../../domain/address/bech32.js';
import type { Network } from '../../domain/network.js';

/**
 * A valid Shelley enterprise address (CIP-19 type 6, key hash) derived from a seed: the same seed always
 * gives the same address. For synthetic chains, demo registrations, tests and benchmarks.
 */
export function syntheticAddress(network: Network, seed: string | number): string {
  const keyHash = createHash('sha256').update(`address:${seed}`).digest().subarray(0, 28);
  const networkId = network === 'mainnet' ? 1 : 0;
  const bytes = new Uint8Array(29);
  bytes[0] = 0x60 | networkId;
  bytes.set(keyHash, 1);
  return encodeBech32(network === 'mainnet' ? 'addr' : 'addr_test', bytes);
}

/** A 64-hex identifier (block or transaction hash) derived from a label. */
export function syntheticHash(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}
