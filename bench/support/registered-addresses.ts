import type { PostgresAddressRegistry } from '../../functions/adapters/postgres/address-registry.js';

/**
 * Registers `count` addresses the way a business would, 20,000 to a request: a third are invoices without a user,
 * the rest deposits of 50,000 users. The benchmarks' chains pay some of them (`addressOf(i)` is the i-th).
 */
export async function registerBenchAddresses(
  registry: PostgresAddressRegistry,
  count: number,
  addressOf: (i: number) => string,
  referenceIdOf: (i: number) => string = (i) => `ref-${i}`,
): Promise<void> {
  for (let i = 0; i < count; i += 20_000) {
    await registry.register(
      Array.from({ length: Math.min(20_000, count - i) }, (_, j) => ({
        address: addressOf(i + j),
        referenceType: (i + j) % 3 === 0 ? 'invoice' : 'deposit',
        referenceId: referenceIdOf(i + j),
        userId: (i + j) % 3 === 0 ? null : `user-${(i + j) % 50_000}`,
      })),
      'bench',
    );
  }
}
