/**
 * The invoice creation service on an in-memory book: what it asks of the store and in which order (the chain position
 * held before anything, the address registered before the invoice and its event), the gap limit's boundary, and the
 * amount rules. The Postgres book is tested over HTTP (test/integration/api-invoices.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { AddressRegistration } from '../../functions/domain/address-registration.js';
import {
  createInvoice,
  InvoiceConflictError,
  type InvoiceBook,
  type InvoiceRequest,
  InvoiceRequestError,
  type LockedAccount,
  parseInvoiceAmount,
} from '../../functions/domain/invoices/invoice-creation.js';

const TOKEN = `${'ab'.repeat(28)}.cafe`;

class MemoryBook implements InvoiceBook {
  calls: string[] = [];
  registered = new Map<string, { referenceType: string; referenceId: string }>();
  account: Omit<LockedAccount, 'addressAt'> | undefined = { id: 'acct_1', gapLimit: 3, nextIndex: 0, highestUsedIndex: -1 };
  invoices: { id: string; address: string; index: number | null }[] = [];

  async addressRegistration(address: string) {
    this.calls.push('addressRegistration');
    return this.registered.get(address);
  }
  async holdChainPosition() {
    this.calls.push('holdChainPosition');
  }
  async lockAccount(accountId: string | undefined) {
    this.calls.push(`lockAccount ${accountId ?? 'oldest'}`);
    if (!this.account || (accountId !== undefined && accountId !== this.account.id)) return undefined;
    return { ...this.account, addressAt: (index: number) => `addr-${index}` };
  }
  async registerAddress(registration: Required<AddressRegistration>) {
    this.calls.push(`registerAddress ${registration.address}`);
    if (this.registered.has(registration.address)) return false;
    this.registered.set(registration.address, registration);
    return true;
  }
  async passOverTakenAddress(_accountId: string, index: number) {
    this.calls.push(`passOverTakenAddress ${index}`);
  }
  async recordDerivedAddress(_accountId: string, index: number) {
    this.calls.push(`recordDerivedAddress ${index}`);
    if (this.account) this.account.nextIndex = index + 1;
  }
  async insertInvoice(invoice: { id: string; address: string; derivedFrom: { index: number } | null }) {
    this.calls.push('insertInvoice');
    this.invoices.push({ id: invoice.id, address: invoice.address, index: invoice.derivedFrom?.index ?? null });
  }
}

let counter = 0;
function create(book: MemoryBook, request: Partial<InvoiceRequest> = {}) {
  return createInvoice({ referenceId: 'R', amount: { lovelace: '1000000' }, expiresInSeconds: 600, ...request }, 'tester', {
    book,
    settings: { network: 'preprod', defaultConfirmations: 15, monitoringMinutes: 60 },
    now: new Date('2026-01-01T00:00:00Z'),
    newInvoiceId: () => `inv_${String(++counter).padStart(24, '0')}`,
    validateAddress: (registration) => registration,
  });
}

describe('invoice creation', () => {
  it('holds the chain position first, registers the address before the invoice and its event', async () => {
    const book = new MemoryBook();
    const invoice = await create(book);
    expect(book.calls).toEqual([
      'holdChainPosition',
      'lockAccount oldest',
      'addressRegistration',
      'registerAddress addr-0',
      'recordDerivedAddress 0',
      'insertInvoice',
    ]);
    expect(invoice).toMatchObject({ address: 'addr-0', account: { id: 'acct_1', index: 0 }, confirmations: 15, status: 'new' });
    expect(invoice.monitoring_until).toBe('2026-01-01T01:10:00.000Z');

    const given = new MemoryBook();
    await create(given, { address: 'addr-given' });
    expect(given.calls).toEqual(['holdChainPosition', 'addressRegistration', 'registerAddress addr-given', 'insertInvoice']);
  });

  it('hands out index highest used + gap limit, and refuses the next one', async () => {
    const book = new MemoryBook();
    book.account = { id: 'acct_1', gapLimit: 3, nextIndex: 4, highestUsedIndex: 1 };
    expect((await create(book)).account).toEqual({ id: 'acct_1', index: 4 });
    const refused = await create(book).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(InvoiceConflictError);
    expect(refused).toMatchObject({ code: 'gap_limit_reached' });
    expect(book.invoices).toHaveLength(1);
  });

  it('passes over an address of the account registered already, within the gap limit', async () => {
    const book = new MemoryBook();
    book.registered.set('addr-0', { referenceType: 'invoice', referenceId: 'inv_given' });
    book.registered.set('addr-1', { referenceType: 'deposit', referenceId: 'acct-9' });
    expect((await create(book)).account).toEqual({ id: 'acct_1', index: 2 });
    expect(book.calls.filter((call) => call.startsWith('passOver'))).toEqual(['passOverTakenAddress 0', 'passOverTakenAddress 1']);
    book.account = { id: 'acct_1', gapLimit: 3, nextIndex: 3, highestUsedIndex: -1 };
    book.registered.set('addr-3', { referenceType: 'deposit', referenceId: 'acct-10' });
    await expect(create(book)).rejects.toMatchObject({ code: 'gap_limit_reached' });
  });

  it('refuses an address in use, no account, both an address and an account', async () => {
    const book = new MemoryBook();
    book.registered.set('addr-taken', { referenceType: 'deposit', referenceId: 'acct-9' });
    await expect(create(book, { address: 'addr-taken' })).rejects.toMatchObject({ code: 'address_in_use' });
    book.account = undefined;
    await expect(create(book)).rejects.toMatchObject({ problems: [{ field: 'address' }] });
    await expect(create(book, { address: 'a', accountId: 'acct_1' })).rejects.toMatchObject({ problems: [{ field: 'account_id' }] });
    await expect(create(book, { referenceId: ' ', userId: '  ' })).rejects.toMatchObject({
      problems: [{ field: 'reference_id' }, { field: 'user_id' }],
    });
    expect(book.invoices).toEqual([]);
  });
});

describe('parseInvoiceAmount', () => {
  it('takes lovelace and tokens up to 2^64 − 1, leaves lovelace out at 0', () => {
    expect(parseInvoiceAmount({ lovelace: '0', assets: { [TOKEN]: '18446744073709551615' } })).toEqual(
      new Map([[TOKEN, 18446744073709551615n]]),
    );
    expect(parseInvoiceAmount({ lovelace: '5' })).toEqual(new Map([['lovelace', 5n]]));
  });

  it.each([
    [{}, 'amount.lovelace'],
    [{ lovelace: '0' }, 'amount.lovelace'],
    [{ lovelace: '18446744073709551616' }, 'amount.lovelace'],
    [{ lovelace: '-1' }, 'amount.lovelace'],
    [{ lovelace: '01' }, 'amount.lovelace'],
    [{ assets: { [TOKEN]: '0' } }, `amount.assets.${TOKEN}`],
    [{ assets: { [`${'ab'.repeat(28)}.c`]: '1' } }, `amount.assets.${'ab'.repeat(28)}.c`],
    [{ assets: { [`${'AB'.repeat(28)}.`]: '1' } }, `amount.assets.${'AB'.repeat(28)}.`],
    [{ assets: { [`${'ab'.repeat(28)}.${'00'.repeat(33)}`]: '1' } }, `amount.assets.${'ab'.repeat(28)}.${'00'.repeat(33)}`],
  ])('refuses %j naming %s', (amount, field) => {
    let error: unknown;
    try {
      parseInvoiceAmount(amount as never);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvoiceRequestError);
    expect((error as InvoiceRequestError).problems.map((problem) => problem.field)).toEqual([field]);
  });
});
