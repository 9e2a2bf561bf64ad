import type { AddressRegistration } from '../domain/address-registration.js';
import { SIMULATOR_DEFAULT_INITIAL_BLOCKS } from '../config/variables.js';
import type { Network } from '../domain/network.js';
import type { OgmiosSimulatorOptions } from './simulator/index.js';
import { syntheticAddress } from './synthetic/addresses.js';

/** The demo's token (policy and asset name hex, "DEMO"): what the simulator pays bob, and what the token invoice asks. */
export const DEMO_TOKEN_POLICY = 'd0'.repeat(28);
export const DEMO_TOKEN_ASSET_NAME = '44454d4f';

/** The addresses `npm start` registers with the simulator: two user deposit accounts, an invoice, an order. */
export function demoRegistrations(network: Network): Required<AddressRegistration>[] {
  return [
    { address: syntheticAddress(network, 'demo-deposit-alice'), referenceType: 'deposit', referenceId: 'acct-alice', userId: 'alice' },
    { address: syntheticAddress(network, 'demo-deposit-bob'), referenceType: 'deposit', referenceId: 'acct-bob', userId: 'bob' },
    { address: syntheticAddress(network, 'demo-invoice-1001'), referenceType: 'invoice', referenceId: 'INV-1001', userId: null },
    { address: syntheticAddress(network, 'demo-order-77'), referenceType: 'order', referenceId: 'ORD-77', userId: 'carol' },
  ];
}

/**
 * A lively local chain: a block every 2 s (SIMULATOR_BLOCK_TIME_MS), 300 blocks of history, a payment to a demo
 * address about every other block (some with tokens), and a shallow fork every ~40 blocks. The stack starts
 * following at the tip (START_POINT), as against a real Ogmios: what the history paid the demo addresses predates
 * watching them, and reconciliation counts it apart (predates_watch), not as missing.
 */
export function demoSimulatorOptions(
  network: Network,
  registrations: readonly AddressRegistration[],
  blockTimeMs: number,
): OgmiosSimulatorOptions {
  return {
    network,
    source: 'synthetic',
    blockTimeMs,
    initialBlocks: SIMULATOR_DEFAULT_INITIAL_BLOCKS,
    payTo: registrations.map((registration, i) => ({
      address: registration.address,
      lovelace: BigInt(5 + i * 7) * 1_000_000n,
      ...(i === 1 ? { assets: [{ policyId: DEMO_TOKEN_POLICY, assetName: DEMO_TOKEN_ASSET_NAME, quantity: 2n ** 63n + 1n }] } : {}),
    })),
    paymentsPerBlock: 0.5,
    forks: { everyBlocks: 40, maxDepth: 3 },
    // smaller than mainnet's blocks: the demo chain is journaled to disk to survive restarts
    transactionsPerBlock: { min: 5, max: 40 },
    retainedBlocks: 5000,
    seed: 'npm-start',
  };
}
