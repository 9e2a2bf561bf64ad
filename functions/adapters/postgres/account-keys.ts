/**
 * Account public keys (`account_keys`, migration 0018): registered watch-only, in their canonical `acct_xvk1…` form,
 * each write with its audit row. Invoices derive their addresses from them (invoice-book.ts).
 */
import { randomBytes } from 'node:crypto';
import { type AccountPublicKey, deriveAddress } from '../../domain/address/account-key.js';
import type { Network } from '../../domain/network.js';
import type { Queryable } from './business-events.js';

export interface AccountKeyRow {
  id: string;
  public_key: string;
  name: string | null;
  gap_limit: number;
  next_index: number;
  created_at: Date;
}

export const ACCOUNT_KEY_COLUMNS = 'id, public_key, name, gap_limit, next_index, created_at';

export interface AccountResource {
  id: string;
  public_key: string;
  name: string | null;
  gap_limit: number;
  next_index: number;
  first_address: string;
  created_at: string;
}

export function accountResource(row: AccountKeyRow, firstAddress: string): AccountResource {
  return {
    id: row.id,
    public_key: row.public_key,
    name: row.name,
    gap_limit: row.gap_limit,
    next_index: row.next_index,
    first_address: firstAddress,
    created_at: row.created_at.toISOString(),
  };
}

export class AccountKeyExistsError extends Error {
  override readonly name = 'AccountKeyExistsError';
  constructor(readonly existingId: string) {
    super(`This account key is already registered as ${existingId}.`);
  }
}

export function newAccountId(): string {
  return `acct_${randomBytes(12).toString('hex')}`;
}

/** Registers the key (refused when it is already registered), with an `account_key_registered` audit row. */
export async function registerAccountKey(
  db: Queryable,
  key: AccountPublicKey,
  options: { name: string | null; gapLimit: number; actor: string; network: Network },
): Promise<AccountResource> {
  const id = newAccountId();
  const { rows } = await db.query<AccountKeyRow>(
    `WITH new AS (
       INSERT INTO account_keys (id, public_key, name, gap_limit, created_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (public_key) DO NOTHING
       RETURNING ${ACCOUNT_KEY_COLUMNS}
     ), audited AS (
       INSERT INTO audit_log (action, entity_type, entity_id, actor, details)
       SELECT 'account_key_registered', 'account_key', id, $5,
              jsonb_build_object('name', name, 'gap_limit', gap_limit, 'fingerprint', $6::text)
         FROM new
     )
     SELECT * FROM new`,
    [id, key.bech32, options.name, options.gapLimit, options.actor, key.fingerprint],
  );
  const row = rows[0];
  if (!row) {
    const existing = await db.query<{ id: string }>('SELECT id FROM account_keys WHERE public_key = $1', [key.bech32]);
    throw new AccountKeyExistsError(existing.rows[0]?.id ?? 'another account');
  }
  return accountResource(row, deriveAddress(key, 0, options.network));
}
