/**
 * Native tokens for synthetic transactions: fungible tokens (some with supplies far beyond 2^53, as real
 * 18-decimal tokens have) and NFT collections (quantity 1). Policy ids and asset names are hex, as in Ogmios.
 */
import type { AssetQuantity } from '../../domain/chain.js';
import type { JsonWritable } from './json-writer.js';
import type { SeededRandom } from './random.js';

interface TokenPolicy {
  readonly policyId: string;
  readonly assetNames: readonly string[];
  readonly kind: 'fungible' | 'huge-supply' | 'nft';
}

const MAX_UINT64 = 2n ** 64n - 1n;

export class AssetCatalog {
  private readonly policies: readonly TokenPolicy[];

  constructor(random: SeededRandom, policyCount = 40) {
    this.policies = Array.from({ length: policyCount }, (_, position): TokenPolicy => {
      const kind = position % 10 === 0 ? 'huge-supply' : position % 4 === 0 ? 'nft' : 'fungible';
      const nameCount = kind === 'nft' ? random.integer(3, 20) : random.integer(1, 3);
      const assetNames = Array.from({ length: nameCount }, (_, index) => assetName(random, kind, index));
      return { policyId: random.hex(28), assetNames, kind };
    });
  }

  /** One to `max` random token quantities for an output. */
  randomBundle(random: SeededRandom, max = 4): AssetQuantity[] {
    const bundle = new Map<string, AssetQuantity>();
    for (let count = random.integer(1, max); count > 0; count--) {
      const policy = random.pick(this.policies);
      const name = random.pick(policy.assetNames);
      bundle.set(`${policy.policyId}.${name}`, { policyId: policy.policyId, assetName: name, quantity: quantity(random, policy.kind) });
    }
    return [...bundle.values()];
  }

  /** A token minted by a transaction: a new NFT name under one of the NFT policies. */
  randomMint(random: SeededRandom): AssetQuantity {
    const policy = random.pick(this.policies.filter((candidate) => candidate.kind === 'nft'));
    return { policyId: policy.policyId, assetName: Buffer.from(`Minted${random.integer(0, 999_999)}`).toString('hex'), quantity: 1n };
  }
}

/**
 * An Ogmios `Value` object: `ada` first, then policies and asset names in ascending order (the node's map order).
 * Quantities of the same token are added up.
 */
export function valueJson(lovelace: bigint, assets: readonly AssetQuantity[] = []): { [key: string]: JsonWritable } {
  const value: { [key: string]: JsonWritable } = { ada: { lovelace } };
  const byPolicy = new Map<string, Map<string, bigint>>();
  for (const { policyId, assetName, quantity } of assets) {
    const names = byPolicy.get(policyId) ?? new Map<string, bigint>();
    names.set(assetName, (names.get(assetName) ?? 0n) + quantity);
    byPolicy.set(policyId, names);
  }
  for (const policyId of [...byPolicy.keys()].sort()) {
    const names = byPolicy.get(policyId) as Map<string, bigint>;
    const tokens: { [name: string]: JsonWritable } = {};
    for (const name of [...names.keys()].sort()) tokens[name] = names.get(name) as bigint;
    value[policyId] = tokens;
  }
  return value;
}

function assetName(random: SeededRandom, kind: TokenPolicy['kind'], index: number): string {
  if (kind === 'nft') return Buffer.from(`Collectible${String(index).padStart(4, '0')}`).toString('hex');
  if (random.chance(0.2)) return ''; // tokens with an empty name exist (e.g. some stablecoins' policies)
  if (random.chance(0.3)) return random.hex(32); // LP-style names are hashes
  return Buffer.from(`TOKEN${random.integer(1, 999)}`).toString('hex');
}

function quantity(random: SeededRandom, kind: TokenPolicy['kind']): bigint {
  switch (kind) {
    case 'nft':
      return 1n;
    case 'huge-supply':
      // 18-decimal supplies: beyond 2^53, up to the uint64 limit.
      return 2n ** 53n + random.bigintBelow(MAX_UINT64 - 2n ** 53n);
    case 'fungible':
      return BigInt(Math.floor(10 ** (random.next() * 12))) + 1n;
  }
}
