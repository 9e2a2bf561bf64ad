import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresAddressRegistry } from '../../functions/adapters/postgres/address-registry.js';
import { AddressAlreadyRegisteredError, InvalidRegistrationError } from '../../functions/domain/address-registration.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
let registry: PostgresAddressRegistry;
beforeAll(async () => {
  db = await createTestDatabase();
  registry = new PostgresAddressRegistry(db.pool, 'preprod');
});
afterAll(async () => db.drop());

const count = async (table: string) => (await db.pool.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n as number;

describe('address registration', () => {
  it('registers valid addresses with an audit entry, and registering them again changes nothing', async () => {
    const registrations = [0, 1, 2].map((i) => ({
      address: syntheticAddress('preprod', i),
      referenceType: 'invoice',
      referenceId: `INV-${i}`,
      userId: i === 0 ? null : `user-${i}`,
    }));
    expect(await registry.register(registrations, 'api')).toEqual({ registered: 3, unchanged: 0 });
    expect(await registry.register(registrations, 'api')).toEqual({ registered: 0, unchanged: 3 });
    expect(await count('payment_addresses')).toBe(3);
    expect(await count(`audit_log WHERE action = 'address_registered'`)).toBe(3);
  });

  it('refuses the whole request when one address is invalid, naming it, and writes nothing', async () => {
    const before = await count('payment_addresses');
    const mainnetAddress = syntheticAddress('mainnet', 'x');
    const error = await registry
      .register(
        [
          { address: syntheticAddress('preprod', 'ok'), referenceType: 'order', referenceId: 'O-1' },
          { address: mainnetAddress, referenceType: 'order', referenceId: 'O-2' },
        ],
        'api',
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRegistrationError);
    expect((error as Error).message).toContain(mainnetAddress);
    expect((error as Error).message).toMatch(/preprod/);
    expect(await count('payment_addresses')).toBe(before);
  });

  it('refuses to move a registered address to another reference', async () => {
    const address = syntheticAddress('preprod', 'owned');
    await registry.register([{ address, referenceType: 'deposit', referenceId: 'A', userId: 'user-a' }], 'api');
    await expect(
      registry.register([{ address, referenceType: 'deposit', referenceId: 'B', userId: 'user-b' }], 'api'),
    ).rejects.toBeInstanceOf(AddressAlreadyRegisteredError);
  });

  it('refuses an empty reference', async () => {
    await expect(
      registry.register([{ address: syntheticAddress('preprod', 'r'), referenceType: ' ', referenceId: 'X' }], 'api'),
    ).rejects.toThrow(/referenceType must be a non-empty string/);
  });
});
