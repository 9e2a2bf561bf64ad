/**
 * Invoices judged in every engine step, on the in-memory store (no PostgreSQL): the store selects the invoices as the
 * PostgreSQL one does and the engine judges them with the rules. The same against PostgreSQL, with events in the
 * outbox: test/integration/invoice-engine.test.ts. Also: webhook endpoints may subscribe to invoice events.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { judgedChange, touchedInvoiceIds } from '../../functions/domain/invoices/invoice-judging.js';
import { type InvoiceRecord, notYetJudged } from '../../functions/domain/invoices/invoice-resource.js';
import { LOVELACE } from '../../functions/domain/invoices/invoice-rules.js';
import { slotToTime } from '../../functions/domain/network.js';
import { PaymentEngine } from '../../functions/domain/payment-engine.js';
import { validateEventTypes } from '../../functions/domain/webhooks/event-types.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { InMemoryPaymentStore } from '../support/in-memory-payment-store.js';
import { FixedClock, RecordingLogger } from '../support/recorders.js';

const FIRST_SLOT = 100_000_000n;
const address = syntheticAddress('mainnet', 'invoice-unit');
const timeAt = (height: bigint) => slotToTime('mainnet', FIRST_SLOT + 20n * (height - 1n));

function invoiceRecord(overrides: Partial<InvoiceRecord> = {}): InvoiceRecord {
  return {
    id: 'inv_00000000000000000000000a',
    referenceId: 'order-a',
    userId: null,
    address,
    derivedFrom: null,
    amount: new Map([[LOVELACE, 10_000_000n]]),
    confirmations: 2,
    createdAt: new Date(timeAt(1n).getTime() - 3_600_000),
    expiresAt: timeAt(5n),
    monitoringUntil: timeAt(50n),
    ...notYetJudged(),
    ...overrides,
  };
}

let store: InMemoryPaymentStore;
let engine: PaymentEngine;
let chain: ChainBuilder;

beforeEach(() => {
  store = new InMemoryPaymentStore();
  store.register([{ address, referenceType: 'invoice', referenceId: 'inv_00000000000000000000000a', userId: null }]);
  store.addInvoice(invoiceRecord());
  engine = new PaymentEngine({
    store,
    logger: new RecordingLogger(),
    metrics: new InMemoryMetrics(),
    clock: new FixedClock(),
    network: 'mainnet',
    confirmations: 3,
  });
  chain = new ChainBuilder('main', FIRST_SLOT, 20n);
});

describe('invoices on the in-memory store', () => {
  it('settles at the invoice depth, goes invalid when the payment leaves, and expires by block time', async () => {
    await engine.apply(chain.forward([chain.next([transaction([output(address, 10_000_000n)])])]));
    expect(store.invoice('inv_00000000000000000000000a')).toMatchObject({ status: 'processing', settlesAtHeight: 2n });
    await engine.apply(chain.forward([chain.next()]));
    expect(store.invoice('inv_00000000000000000000000a')).toMatchObject({ status: 'settled', everSettled: true });
    await engine.apply(chain.backward(0n));
    expect(store.invoice('inv_00000000000000000000000a')).toMatchObject({ status: 'invalid', additionalStatus: 'none' });
    expect(store.invoiceEvents().map((event) => [event.type, event.version])).toEqual([
      ['invoice.processing', 1],
      ['invoice.settled', 2],
      ['invoice.invalid', 3],
    ]);
  });

  it('expires an unpaid invoice once a block past its deadline is applied, whatever the wall clock', async () => {
    chain.empty(5); // height 5: its time is the deadline, not past it
    await engine.apply(chain.forward(chain.blocks.slice()));
    expect(store.invoice('inv_00000000000000000000000a')?.status).toBe('new');
    await engine.apply(chain.forward([chain.next()]));
    expect(store.invoice('inv_00000000000000000000000a')).toMatchObject({ status: 'expired', expired: true });
  });
});

describe('judging one invoice', () => {
  it('changes nothing when the judgement is what is stored, and shows processing on the way to settled', () => {
    const tip = { height: 3n, time: timeAt(3n) };
    const payment = {
      txId: 'ab'.repeat(32),
      index: 0,
      status: 'confirmed' as const,
      blockHeight: 2n,
      blockTime: timeAt(2n),
      amounts: new Map([[LOVELACE, 10_000_000n]]),
    };
    const change = judgedChange({ invoice: invoiceRecord(), payments: [payment] }, tip, new Date('2026-01-01T00:00:00Z'));
    expect(change?.events.map((event) => [event.type, event.data.status, event.data.settled_at])).toEqual([
      ['invoice.processing', 'processing', null],
      ['invoice.settled', 'settled', '2026-01-01T00:00:00.000Z'],
    ]);
    expect(judgedChange({ invoice: change!.invoice, payments: [payment] }, tip, new Date())).toBeNull();
  });

  it('touches the invoices among payments only', () => {
    expect(
      touchedInvoiceIds(
        [
          { referenceType: 'invoice', referenceId: 'inv_b' },
          { referenceType: 'deposit', referenceId: 'acct' },
        ],
        [
          { referenceType: 'invoice', referenceId: 'inv_a' },
          { referenceType: 'invoice', referenceId: 'inv_b' },
        ],
      ),
    ).toEqual(['inv_a', 'inv_b']);
  });
});

describe('webhook subscriptions', () => {
  it('accept invoice events and their family', () => {
    expect(validateEventTypes(['invoice.*', 'invoice.settled', 'payment.*'])).toEqual(['invoice.*', 'invoice.settled', 'payment.*']);
    expect(() => validateEventTypes(['invoice.paid'])).toThrow(/unknown event type/);
  });
});
