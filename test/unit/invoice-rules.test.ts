/** The rules that judge an invoice (functions/domain/invoices/invoice-rules.ts), case by case. */
import { describe, expect, it } from 'vitest';
import {
  type AssetAmounts,
  type ChainTip,
  type InvoicePayment,
  type InvoiceTerms,
  invoiceTransitions,
  judgeInvoice,
  type StickyFacts,
} from '../../functions/domain/invoices/invoice-rules.js';

const USDM = `${'c4'.repeat(28)}.5553444d`;
const NFT = `${'d5'.repeat(28)}.6e6674`;
const MINUTE = 60_000;
const T0 = Date.parse('2026-12-01T00:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * MINUTE);

/** Expires at minute 60, monitoring window to minute 120. */
function terms(amount: Record<string, bigint>, confirmations = 3): InvoiceTerms {
  return { amount: new Map(Object.entries(amount)), expiresAt: at(60), monitoringUntil: at(120), confirmations };
}

let nextTx = 0;
function payment(height: number, minute: number, amounts: Record<string, bigint>): InvoicePayment {
  nextTx += 1;
  return {
    txId: `tx${String(nextTx).padStart(4, '0')}`,
    index: 0,
    blockHeight: BigInt(height),
    blockTime: at(minute),
    amounts: new Map(Object.entries(amounts)),
  };
}
const tip = (height: number, minute: number): ChainTip => ({ height: BigInt(height), time: at(minute) });
const fresh: StickyFacts = { everSettled: false, expired: false };
const amounts = (value: AssetAmounts) => Object.fromEntries(value);

describe('an invoice judged', () => {
  it('is new until paid, processing in a block, settled at its depth', () => {
    const ada = terms({ lovelace: 10_000_000n });
    expect(judgeInvoice(ada, [], tip(5, 1), fresh)).toMatchObject({ status: 'new', additionalStatus: 'none', settlesAtHeight: null });
    const paid = [payment(10, 5, { lovelace: 10_000_000n })];
    expect(judgeInvoice(ada, paid, tip(11, 6), fresh)).toMatchObject({ status: 'processing', settlesAtHeight: 12n });
    expect(judgeInvoice(ada, paid, tip(12, 7), fresh)).toMatchObject({ status: 'settled', additionalStatus: 'none', everSettled: true });
  });

  it('adds up several payments and settles at the depth of the one that completes it', () => {
    const mixed = terms({ lovelace: 5_000_000n, [USDM]: 100n }, 2);
    const payments = [payment(10, 5, { lovelace: 5_000_000n }), payment(14, 9, { lovelace: 1_200_000n, [USDM]: 100n })];
    expect(judgeInvoice(mixed, payments.slice(0, 1), tip(10, 5), fresh)).toMatchObject({ status: 'new', additionalStatus: 'paid_partial' });
    const judged = judgeInvoice(mixed, payments, tip(15, 10), fresh);
    expect(judged).toMatchObject({ status: 'settled', settlesAtHeight: 15n, additionalStatus: 'paid_over' });
    expect(amounts(judged.paid)).toEqual({ lovelace: 6_200_000n, [USDM]: 100n });
  });

  it('does not call the minimum ADA riding with tokens an overpayment of a token-only invoice', () => {
    const tokens = terms({ [USDM]: 100n }, 1);
    const judged = judgeInvoice(tokens, [payment(10, 5, { lovelace: 1_344_798n, [USDM]: 100n })], tip(10, 5), fresh);
    expect(judged).toMatchObject({ status: 'settled', additionalStatus: 'none' });
    expect(judgeInvoice(tokens, [payment(10, 5, { lovelace: 1_344_798n, [USDM]: 101n })], tip(10, 5), fresh).additionalStatus).toBe(
      'paid_over',
    );
  });

  it('records an unexpected token and shows the invoice overpaid', () => {
    const ada = terms({ lovelace: 2_000_000n }, 1);
    const judged = judgeInvoice(ada, [payment(10, 5, { lovelace: 2_000_000n, [NFT]: 1n })], tip(10, 5), fresh);
    expect(judged).toMatchObject({ status: 'settled', additionalStatus: 'paid_over', unexpectedAssets: [NFT] });
  });

  it('expires when the chain passes the deadline unpaid, paid_partial if something came', () => {
    const ada = terms({ lovelace: 10_000_000n });
    expect(judgeInvoice(ada, [], tip(40, 60), fresh).status).toBe('new'); // a block exactly at the deadline: not past it
    expect(judgeInvoice(ada, [], tip(41, 61), fresh)).toMatchObject({ status: 'expired', additionalStatus: 'none', expired: true });
    const partial = [payment(20, 30, { lovelace: 4_000_000n })];
    expect(judgeInvoice(ada, partial, tip(41, 61), fresh)).toMatchObject({ status: 'expired', additionalStatus: 'paid_partial' });
  });

  it('counts a payment by its block time, so catching up after downtime settles what was paid in time', () => {
    const ada = terms({ lovelace: 10_000_000n }, 2);
    // the monitor sees the block only now, long after the deadline: it was on time all the same
    const judged = judgeInvoice(ada, [payment(30, 59, { lovelace: 10_000_000n })], tip(500, 600), fresh);
    expect(judged).toMatchObject({ status: 'settled', additionalStatus: 'none' });
  });

  it('is paid_late when a payment within the monitoring window completes it, paid_partial after the window', () => {
    const ada = terms({ lovelace: 10_000_000n });
    const early = payment(20, 30, { lovelace: 4_000_000n });
    expect(judgeInvoice(ada, [early, payment(50, 90, { lovelace: 6_000_000n })], tip(60, 100), fresh)).toMatchObject({
      status: 'expired',
      additionalStatus: 'paid_late',
    });
    expect(judgeInvoice(ada, [early, payment(80, 121, { lovelace: 6_000_000n })], tip(90, 130), fresh)).toMatchObject({
      status: 'expired',
      additionalStatus: 'paid_partial',
    });
  });

  it('records a payment after settlement as an overpayment, never loses it', () => {
    const ada = terms({ lovelace: 10_000_000n }, 1);
    const payments = [payment(10, 5, { lovelace: 10_000_000n }), payment(70, 200, { lovelace: 3_000_000n })];
    const judged = judgeInvoice(ada, payments, tip(70, 200), { everSettled: true, expired: false });
    expect(judged).toMatchObject({ status: 'settled', additionalStatus: 'paid_over' });
    expect(judged.paid.get('lovelace')).toBe(13_000_000n);
  });

  it('moves back when a rollback lowers the tip or takes the completing payment, and stays expired', () => {
    const ada = terms({ lovelace: 10_000_000n }, 3);
    const paid = [payment(10, 5, { lovelace: 10_000_000n })];
    const settled = { everSettled: true, expired: false };
    expect(judgeInvoice(ada, paid, tip(11, 6), settled).status).toBe('processing');
    expect(judgeInvoice(ada, [], tip(9, 4), settled)).toMatchObject({ status: 'invalid', additionalStatus: 'none' });
    expect(judgeInvoice(ada, paid, tip(12, 7), settled).status).toBe('settled'); // the transaction landed again
    expect(judgeInvoice(ada, [], tip(30, 50), { everSettled: false, expired: true }).status).toBe('expired');
  });
});

describe('the events of a judgement', () => {
  const state = (status: string, additionalStatus = 'none', lovelace = 0n) =>
    ({ status, additionalStatus, paid: new Map([['lovelace', lovelace]]) }) as Parameters<typeof invoiceTransitions>[0];

  it('passes through processing on the way to settled', () => {
    expect(invoiceTransitions(state('new'), state('settled', 'none', 5n)).map((t) => t.type)).toEqual([
      'invoice.processing',
      'invoice.settled',
    ]);
    expect(invoiceTransitions(state('processing', 'none', 5n), state('settled', 'none', 5n)).map((t) => t.type)).toEqual([
      'invoice.settled',
    ]);
  });

  it('tells the status, then the additional status gained, else that the amounts changed', () => {
    expect(invoiceTransitions(state('new'), state('expired', 'paid_partial', 1n)).map((t) => t.type)).toEqual([
      'invoice.expired',
      'invoice.paid_partial',
    ]);
    expect(invoiceTransitions(state('new', 'paid_partial', 1n), state('new', 'paid_partial', 2n)).map((t) => t.type)).toEqual([
      'invoice.updated',
    ]);
    expect(invoiceTransitions(state('processing', 'none', 5n), state('new')).map((t) => t.type)).toEqual(['invoice.new']);
    // a rollback took the only partial payment: nothing is paid any more, and that is told
    expect(invoiceTransitions(state('new', 'paid_partial', 1n), state('new')).map((t) => t.type)).toEqual(['invoice.updated']);
    expect(invoiceTransitions(state('settled', 'none', 5n), state('settled', 'none', 5n))).toEqual([]);
  });
});
