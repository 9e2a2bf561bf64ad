/**
 * The invoice creation's store (the `InvoiceBook` port of functions/domain/invoices/invoice-creation.ts) on one
 * transaction's client: account keys locked FOR UPDATE while an address is chosen, addresses registered through the
 * address registry's own statement (registerValidAddresses: payment_addresses and its audit row), the invoice row,
 * its `invoice.created` event (insertInvoiceEvents) and its audit row.
 */
import { randomBytes } from 'node:crypto';
import { parseAccountPublicKey, deriveAddress } from '../../domain/address/account-key.js';
import { AddressAlreadyRegisteredError, type AddressRegistration } from '../../domain/address-registration.js';
import type { InvoiceBook, LockedAccount } from '../../domain/invoices/invoice-creation.js';
import type { InvoiceRecord, InvoiceResource } from '../../domain/invoices/invoice-resource.js';
import { amountJson } from '../../domain/invoices/invoice-resource.js';
import { LOVELACE } from '../../domain/invoices/invoice-rules.js';
import type { Network } from '../../domain/network.js';
import { registerValidAddresses } from './address-registry.js';
import type { Queryable } from './business-events.js';
import { insertInvoiceEvents } from './invoice-events.js';

/** A new invoice's id: 'inv_' and 24 random hex digits (the schema's form). */
export function newInvoiceId(): string {
  return `inv_${randomBytes(12).toString('hex')}`;
}

export class PostgresInvoiceBook implements InvoiceBook {
  constructor(
    private readonly db: Queryable,
    private readonly network: Network,
  ) {}

  async addressRegistration(address: string) {
    const { rows } = await this.db.query<{ reference_type: string; reference_id: string }>(
      'SELECT reference_type, reference_id FROM payment_addresses WHERE address = $1',
      [address],
    );
    const row = rows[0];
    return row ? { referenceType: row.reference_type, referenceId: row.reference_id } : undefined;
  }

  async holdChainPosition(): Promise<void> {
    await this.db.query('SELECT 1 FROM sync_state WHERE id = 1 FOR SHARE');
  }

  async lockAccount(accountId: string | undefined): Promise<LockedAccount | undefined> {
    const { rows } = await this.db.query<{ id: string; public_key: string; gap_limit: number; next_index: number }>(
      accountId === undefined
        ? 'SELECT id, public_key, gap_limit, next_index FROM account_keys ORDER BY created_at, id LIMIT 1 FOR UPDATE'
        : 'SELECT id, public_key, gap_limit, next_index FROM account_keys WHERE id = $1 FOR UPDATE',
      accountId === undefined ? [] : [accountId],
    );
    const row = rows[0];
    if (!row) return undefined;
    // Used: the address holds a payment on the chain, which is what a restored wallet finds (one rolled back for good is
    // not there; one a running rebuild holds aside still is).
    const { rows: used } = await this.db.query<{ highest: number | null }>(
      `SELECT max(a.address_index) AS highest FROM account_addresses a
        WHERE a.account_id = $1
          AND (EXISTS (SELECT 1 FROM incoming_payments p WHERE p.address = a.address AND p.status IN ('pending', 'confirmed'))
               OR EXISTS (SELECT 1 FROM rebuild_held_payments h WHERE h.address = a.address))`,
      [row.id],
    );
    const key = parseAccountPublicKey(row.public_key);
    const network = this.network;
    return {
      id: row.id,
      gapLimit: row.gap_limit,
      nextIndex: row.next_index,
      highestUsedIndex: used[0]?.highest ?? -1,
      addressAt: (index) => deriveAddress(key, index, network),
    };
  }

  async registerAddress(registration: Required<AddressRegistration>, actor: string): Promise<boolean> {
    const { registered } = await registerValidAddresses(this.db, [registration], actor).catch((error: unknown) => {
      if (error instanceof AddressAlreadyRegisteredError) return { registered: 0 };
      throw error;
    });
    return registered === 1;
  }

  async passOverTakenAddress(
    accountId: string,
    index: number,
    address: string,
    holder: { referenceType: string; referenceId: string },
  ): Promise<void> {
    await this.db.query(
      `WITH held AS (
         INSERT INTO account_addresses (account_id, address_index, address, invoice_id)
         SELECT $1, $2, $3, i.id FROM invoices i WHERE $4 = 'invoice' AND i.id = $5 AND i.address = $3
         ON CONFLICT DO NOTHING
       )
       UPDATE account_keys SET next_index = greatest(next_index, $2 + 1) WHERE id = $1`,
      [accountId, index, address, holder.referenceType, holder.referenceId],
    );
  }

  async recordDerivedAddress(accountId: string, index: number, address: string, invoiceId: string): Promise<void> {
    await this.db.query(
      `WITH added AS (
         INSERT INTO account_addresses (account_id, address_index, address, invoice_id) VALUES ($1, $2, $3, $4)
       )
       UPDATE account_keys SET next_index = $2 + 1 WHERE id = $1`,
      [accountId, index, address, invoiceId],
    );
  }

  async insertInvoice(invoice: InvoiceRecord, resource: InvoiceResource, actor: string, details: Record<string, unknown>): Promise<void> {
    const asked = amountJson(invoice.amount);
    await this.db.query(
      `WITH invoice AS (
         INSERT INTO invoices (id, reference_id, user_id, address, account_id, address_index, amount_lovelace, amount_assets,
                               confirmations, created_at, expires_at, monitoring_until, created_by, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7::numeric, $8::jsonb, $9, $10, $11, $12, $13, $10)
         RETURNING id
       )
       INSERT INTO audit_log (action, entity_type, entity_id, actor, details)
       SELECT 'invoice_created', 'invoice', id, $13, $14::jsonb FROM invoice`,
      [
        invoice.id,
        invoice.referenceId,
        invoice.userId,
        invoice.address,
        invoice.derivedFrom?.accountId ?? null,
        invoice.derivedFrom?.index ?? null,
        (invoice.amount.get(LOVELACE) ?? 0n).toString(),
        JSON.stringify(asked.assets),
        invoice.confirmations,
        invoice.createdAt,
        invoice.expiresAt,
        invoice.monitoringUntil,
        actor,
        JSON.stringify(details),
      ],
    );
    await insertInvoiceEvents(this.db, [{ invoiceId: invoice.id, type: 'invoice.created', data: resource }]);
  }
}
