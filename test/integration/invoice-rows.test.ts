/**
 * Invoices as stored (migration 0018) and read back with their on-chain payments, and invoice events numbered per
 * invoice by the one statement that writes them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourceEvents } from '../../functions/adapters/postgres/business-events.js';
import { insertInvoiceEvents } from '../../functions/adapters/postgres/invoice-events.js';
import {
  INVOICE_COLUMNS,
  type InvoiceRow,
  invoiceFromRow,
  onChainInvoicePayments,
} from '../../functions/adapters/postgres/invoice-rows.js';
import { invoiceResource } from '../../functions/domain/invoices/invoice-resource.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const POLICY = 'ab'.repeat(28);
const TOKEN = `${POLICY}.746f6b656e`;
const MAX_U64 = '18446744073709551615';
const INVOICE = 'inv_0123456789abcdef01234567';
const OTHER = 'inv_76543210fedcba9876543210';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(
    `INSERT INTO invoices (id, reference_id, user_id, address, amount_lovelace, amount_assets, confirmations, created_at,
                           expires_at, monitoring_until, created_by, updated_at)
     VALUES ($1, 'order-1', 'user-1', 'addr_test1', 0, $3, 3, '2026-12-01T00:00:00Z', '2026-12-01T01:00:00Z',
             '2026-12-02T01:00:00Z', 'test', now()),
            ($2, 'order-2', NULL, 'addr_test2', 5000000, '{}', 1, '2026-12-01T00:00:00Z', '2026-12-01T01:00:00Z',
             '2026-12-02T01:00:00Z', 'test', now())`,
    [INVOICE, OTHER, JSON.stringify({ [TOKEN]: MAX_U64 })],
  );
  await db.pool.query(
    `INSERT INTO incoming_payments (tx_hash, output_index, address, amount_lovelace, assets, reference_type, reference_id,
                                    user_id, block_height, block_slot, block_hash, block_time, status, confirmed_at)
     VALUES ('aa', 0, 'addr_test1', 1500000, $2, 'invoice', $1, 'user-1', 10, 200, 'b10', '2026-12-01T00:10:00Z', 'confirmed', now()),
            ('bb', 1, 'addr_test1', 2000000, '{}', 'invoice', $1, 'user-1', 11, 220, 'b11', '2026-12-01T00:11:00Z', 'pending', NULL),
            ('cc', 0, 'addr_test1', 9000000, '{}', 'invoice', $1, 'user-1', 12, 240, 'b12', '2026-12-01T00:12:00Z', 'rolled_back', NULL),
            ('dd', 0, 'addr_test1', 9000000, '{}', 'deposit', $1, 'user-1', 12, 240, 'b12', '2026-12-01T00:12:00Z', 'pending', NULL)`,
    [INVOICE, JSON.stringify({ [POLICY]: { '746f6b656e': MAX_U64 } })],
  );
});

afterAll(() => db?.drop());

describe('invoice rows', () => {
  it('reads an invoice back exactly, tokens up to 2^64 - 1 included', async () => {
    const { rows } = await db.pool.query<InvoiceRow>(`SELECT ${INVOICE_COLUMNS} FROM invoices WHERE id = $1`, [INVOICE]);
    const invoice = invoiceFromRow(rows[0]!);
    expect(invoice.amount).toEqual(new Map([[TOKEN, BigInt(MAX_U64)]]));
    expect(invoice.status).toBe('new');
    expect(invoice.paid).toEqual(new Map());
    expect(invoice.derivedFrom).toBeNull();
  });

  it("reads only the invoice's payments that are on the chain, each asset exact", async () => {
    const payments = await onChainInvoicePayments(db.pool, [INVOICE, OTHER]);
    expect(payments.get(OTHER)).toEqual([]);
    const mine = payments.get(INVOICE)!;
    expect(mine.map((payment) => `${payment.txId}#${payment.index}:${payment.status}`).sort()).toEqual(['aa#0:confirmed', 'bb#1:pending']);
    expect(mine.find((payment) => payment.txId === 'aa')!.amounts).toEqual(
      new Map([
        ['lovelace', 1_500_000n],
        [TOKEN, BigInt(MAX_U64)],
      ]),
    );
  });
});

describe('invoice events', () => {
  it('numbers versions per invoice, in the order given, across statements', async () => {
    const { rows } = await db.pool.query<InvoiceRow>(`SELECT ${INVOICE_COLUMNS} FROM invoices ORDER BY id`);
    const [first, second] = rows.map((row) => invoiceResource(invoiceFromRow(row), []));
    await insertInvoiceEvents(db.pool, [
      { invoiceId: INVOICE, type: 'invoice.created', data: first! },
      { invoiceId: OTHER, type: 'invoice.created', data: second! },
      { invoiceId: INVOICE, type: 'invoice.processing', data: first! },
    ]);
    await insertInvoiceEvents(db.pool, [{ invoiceId: INVOICE, type: 'invoice.settled', data: first! }]);

    const events = await resourceEvents(db.pool, 'invoice', INVOICE);
    expect(events.map((event) => [event.type, event.version])).toEqual([
      ['invoice.created', 1],
      ['invoice.processing', 2],
      ['invoice.settled', 3],
    ]);
    expect((await resourceEvents(db.pool, 'invoice', OTHER)).map((event) => event.version)).toEqual([1]);
    expect(events[0]!.data).toMatchObject({ id: INVOICE, amount: { lovelace: '0', assets: { [TOKEN]: MAX_U64 } } });
  });
});
