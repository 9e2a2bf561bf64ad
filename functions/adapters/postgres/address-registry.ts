import type pg from 'pg';
import { AddressAlreadyRegisteredError, validateRegistrations, type AddressRegistration } from '../../domain/address-registration.js';
import type { Network } from '../../domain/network.js';
import { inTransaction } from './pool.js';

export interface RegistrationResult {
  registered: number;
  /** Already registered with the same reference and user: registering again is a no-op. */
  unchanged: number;
}

/**
 * Registers payment addresses: all of a request or none. Re-registering an address with the same reference
 * is a no-op; with a different one it is refused, because payments must never silently change owner.
 */
export class PostgresAddressRegistry {
  constructor(
    private readonly pool: pg.Pool,
    private readonly network: Network,
  ) {}

  async register(registrations: readonly AddressRegistration[], actor: string): Promise<RegistrationResult> {
    const valid = validateRegistrations(registrations, this.network);
    if (valid.length === 0) return { registered: 0, unchanged: 0 };
    return inTransaction(this.pool, (client) => registerValidAddresses(client, valid, actor));
  }
}

/**
 * Writes registrations already validated (`validateRegistrations`) inside the caller's transaction (the HTTP API
 * runs it in the transaction that also stores its idempotent response), with an `audit_log` row per new address.
 */
export async function registerValidAddresses(
  client: Pick<pg.ClientBase, 'query'>,
  valid: readonly Required<AddressRegistration>[],
  actor: string,
): Promise<RegistrationResult> {
  const unique = [...new Map(valid.map((r) => [r.address, r])).values()];
  if (unique.length === 0) return { registered: 0, unchanged: 0 };
  const { rows: inserted } = await client.query<{ address: string }>(
    `WITH new AS (
       INSERT INTO payment_addresses (address, reference_type, reference_id, user_id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
       ON CONFLICT (address) DO NOTHING
       RETURNING address, reference_type, reference_id, user_id
     ), audited AS (
       INSERT INTO audit_log (action, entity_type, entity_id, actor, details)
       SELECT 'address_registered', 'payment_address', address, $5,
              jsonb_build_object('reference_type', reference_type, 'reference_id', reference_id, 'user_id', user_id)
         FROM new
     )
     SELECT address FROM new`,
    [
      unique.map((r) => r.address),
      unique.map((r) => r.referenceType),
      unique.map((r) => r.referenceId),
      unique.map((r) => r.userId),
      actor,
    ],
  );
  const insertedAddresses = new Set(inserted.map((row) => row.address));
  const existing = unique.filter((r) => !insertedAddresses.has(r.address));
  if (existing.length > 0) await assertSameReferences(client, existing);
  return { registered: inserted.length, unchanged: existing.length };
}

async function assertSameReferences(client: Pick<pg.ClientBase, 'query'>, wanted: Required<AddressRegistration>[]): Promise<void> {
  const { rows } = await client.query<{ address: string; reference_type: string; reference_id: string; user_id: string | null }>(
    'SELECT address, reference_type, reference_id, user_id FROM payment_addresses WHERE address = ANY($1::text[])',
    [wanted.map((r) => r.address)],
  );
  const byAddress = new Map(rows.map((row) => [row.address, row]));
  for (const registration of wanted) {
    const row = byAddress.get(registration.address)!;
    if (
      row.reference_type !== registration.referenceType ||
      row.reference_id !== registration.referenceId ||
      row.user_id !== registration.userId
    ) {
      throw new AddressAlreadyRegisteredError(registration.address, {
        referenceType: row.reference_type,
        referenceId: row.reference_id,
        userId: row.user_id,
      });
    }
  }
}
