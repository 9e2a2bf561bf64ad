/**
 * Invoices judged by the payment engine (issue 15): through the real engine on PostgreSQL, with chain events, the
 * invoice rows and their events (the outbox) follow invoice-rules.md step by step, in the engine's own transaction.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AssetQuantity } from '../../functions/domain/chain.js';
import { slotToTime } from '../../functions/domain/network.js';
import { LogEvent, Metric } from '../../functions/domain/observability.js';
import { amountJson, invoiceResource } from '../../functions/domain/invoices/invoice-resource.js';
import { LOVELACE } from '../../functions/domain/invoices/invoice-rules.js';
import { resourceEvents } from '../../functions/adapters/postgres/business-events.js';
import { insertInvoiceEvents } from '../../functions/adapters/postgres/invoice-events.js';
import { INVOICE_COLUMNS, invoiceFromRow } from '../../functions/adapters/postgres/invoice-rows.js';
import { PostgresRebuildStore } from '../../functions/adapters/postgres/rebuild-store.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { runRebuild } from '../../functions/handlers/rebuild-core.js';
import { PostgresReconciliationRecords } from '../../functions/adapters/postgres/reconciliation-records.js';
import { PostgresReconciliationRuns } from '../../functions/adapters/postgres/reconciliation-runs.js';
import type { ChainLedger } from '../../functions/domain/reconciliation/ports.js';
import { ReconciliationRunner } from '../../functions/domain/reconciliation/reconciliation-runner.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { createEngineFixture, type EngineFixture } from '../support/engine-fixture.js';
import { RecordingLogger } from '../support/recorders.js';

const POLICY = 'c0'.repeat(28);
const TOKEN = `${POLICY}.746f6b656e`; // "token"
const OTHER = `${POLICY}.6f74686572`; // "other"
const FIRST_SLOT = 100_000_000n;
const SLOTS_PER_BLOCK = 20n;

let f: EngineFixture;
let chain: ChainBuilder;

beforeEach(async () => {
  f = await createEngineFixture({ confirmations: 3 });
  chain = new ChainBuilder('main', FIRST_SLOT, SLOTS_PER_BLOCK);
});
afterEach(async () => f.db.drop());

/** The block time of the main chain's block at this height (blocks every 20 slots). */
function timeAt(height: bigint): Date {
  return slotToTime('mainnet', FIRST_SLOT + SLOTS_PER_BLOCK * (height - 1n));
}

function token(asset: string, quantity: bigint): AssetQuantity {
  const [policyId, assetName] = asset.split('.') as [string, string];
  return { policyId, assetName, quantity };
}

interface NewInvoice {
  lovelace?: bigint;
  assets?: Record<string, bigint>;
  confirmations?: number;
  /** Block height whose time is the deadline (payments in that block are on time). */
  expiresAtHeight?: bigint;
  monitoringUntilHeight?: bigint;
}

/** An invoice as its creator writes it: the address registered to it, the row, and invoice.created (version 1). */
async function createInvoice(terms: NewInvoice = {}): Promise<{ id: string; address: string }> {
  const id = `inv_${randomBytes(12).toString('hex')}`;
  const address = syntheticAddress('mainnet', id);
  const expiresAt = timeAt(terms.expiresAtHeight ?? 1_000n);
  const monitoringUntil = timeAt(terms.monitoringUntilHeight ?? (terms.expiresAtHeight ?? 1_000n) + 100n);
  const createdAt = new Date(timeAt(1n).getTime() - 3_600_000);
  await f.registry.register([{ address, referenceType: 'invoice', referenceId: id, userId: null }], 'test');
  const assets = Object.fromEntries(Object.entries(terms.assets ?? {}).map(([asset, quantity]) => [asset, quantity.toString()]));
  const { rows } = await f.db.pool.query(
    `INSERT INTO invoices (id, reference_id, address, amount_lovelace, amount_assets, confirmations, created_at, expires_at,
                           monitoring_until, created_by, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'test', $7) RETURNING ${INVOICE_COLUMNS}`,
    [
      id,
      `order-${id}`,
      address,
      (terms.lovelace ?? 0n).toString(),
      assets,
      terms.confirmations ?? 1,
      createdAt,
      expiresAt,
      monitoringUntil,
    ],
  );
  await insertInvoiceEvents(f.db.pool, [{ invoiceId: id, type: 'invoice.created', data: invoiceResource(invoiceFromRow(rows[0]), []) }]);
  return { id, address };
}

async function invoice(id: string) {
  const { rows } = await f.db.pool.query(
    `SELECT status, additional_status, paid, settles_at_height, ever_settled, expired, settled_at FROM invoices WHERE id = $1`,
    [id],
  );
  return rows[0];
}

/** The invoice's events as [type, data.status, data.additional_status]; the versions must be 1..n in order. */
async function events(id: string): Promise<string[]> {
  const envelopes = await resourceEvents(f.db.pool, 'invoice', id);
  expect(envelopes.map((envelope) => envelope.version)).toEqual(envelopes.map((_, i) => i + 1));
  return envelopes.map((envelope) => {
    const data = envelope.data as { status: string; additional_status: string };
    return `${envelope.type} ${data.status}/${data.additional_status}`;
  });
}

/** An operator's rebuild from the block at this height (the chain then re-derived by the engine's next steps). */
async function rebuildFrom(height: bigint) {
  await runRebuild(
    { slot: chain.at(height).slot!.toString() },
    {
      store: new PostgresRebuildStore(f.db.pool),
      logger: new RecordingLogger(),
      metrics: new InMemoryMetrics(),
      clock: f.clock,
      actor: 'test',
    },
  );
}

async function forward(count = 1, transactions: ReturnType<typeof transaction>[] = []) {
  const blocks = [chain.next(transactions), ...chain.empty(count - 1)];
  return f.engine.apply(chain.forward(blocks));
}

const paid = (lovelace: bigint, assets: Record<string, bigint> = {}) =>
  amountJson(new Map<string, bigint>([[LOVELACE, lovelace], ...Object.entries(assets)]));

describe('invoices judged by the engine', () => {
  it('an ADA invoice is processing once paid in full and settled at its depth', async () => {
    const { id, address } = await createInvoice({ lovelace: 10_000_000n, confirmations: 3 });
    await forward(1, [transaction([output(address, 10_000_000n)])]);
    expect(await invoice(id)).toMatchObject({
      status: 'processing',
      additional_status: 'none',
      paid: paid(10_000_000n),
      settles_at_height: 3n,
    });
    const second = await forward(1);
    expect(second).toMatchObject({ kind: 'applied', invoices: [] });
    expect((await invoice(id)).status).toBe('processing');
    const third = await forward(1);
    expect(third).toMatchObject({
      kind: 'applied',
      invoices: [expect.objectContaining({ transitions: [{ type: 'invoice.settled', status: 'settled' }] })],
    });
    expect(await invoice(id)).toMatchObject({ status: 'settled', ever_settled: true, settled_at: f.clock.now() });
    expect(await events(id)).toEqual(['invoice.created new/none', 'invoice.processing processing/none', 'invoice.settled settled/none']);
    expect(f.logger.events(LogEvent.invoiceTransition).map((entry) => entry.fields.event_type)).toEqual([
      'invoice.processing',
      'invoice.settled',
    ]);
    expect(f.metrics.snapshot().counters).toMatchObject({ [`${Metric.invoiceTransitions}{event_type=invoice.settled}`]: 1 });
  });

  it('a token-only invoice paid with the tokens and the minimum ADA riding along is settled, additional none', async () => {
    const { id, address } = await createInvoice({ assets: { [TOKEN]: 500n }, confirmations: 1 });
    await forward(1, [transaction([output(address, 1_344_798n, [token(TOKEN, 500n)])])]);
    expect(await invoice(id)).toMatchObject({ status: 'settled', additional_status: 'none', paid: paid(1_344_798n, { [TOKEN]: 500n }) });
    // Straight to settled: consumers are still told processing first.
    expect(await events(id)).toEqual(['invoice.created new/none', 'invoice.processing processing/none', 'invoice.settled settled/none']);
  });

  it('a mixed invoice is paid by two payments that add up', async () => {
    const { id, address } = await createInvoice({ lovelace: 5_000_000n, assets: { [TOKEN]: 100n }, confirmations: 2 });
    await forward(1, [transaction([output(address, 3_000_000n)])]);
    expect(await invoice(id)).toMatchObject({ status: 'new', additional_status: 'paid_partial' });
    await forward(1, [transaction([output(address, 2_000_000n, [token(TOKEN, 100n)])])]);
    expect(await invoice(id)).toMatchObject({ status: 'processing', additional_status: 'none', settles_at_height: 3n });
    await forward(1);
    expect(await invoice(id)).toMatchObject({ status: 'settled', additional_status: 'none', paid: paid(5_000_000n, { [TOKEN]: 100n }) });
    expect(await events(id)).toEqual([
      'invoice.created new/none',
      'invoice.paid_partial new/paid_partial',
      'invoice.processing processing/none',
      'invoice.settled settled/none',
    ]);
  });

  it('a partial payment and then the deadline: expired, paid_partial', async () => {
    const { id, address } = await createInvoice({ lovelace: 10_000_000n, expiresAtHeight: 3n });
    await forward(1, [transaction([output(address, 4_000_000n)])]);
    await forward(2); // height 3: its time is the deadline, not past it
    expect(await invoice(id)).toMatchObject({ status: 'new', additional_status: 'paid_partial' });
    await forward(1);
    expect(await invoice(id)).toMatchObject({ status: 'expired', additional_status: 'paid_partial', expired: true });
    expect(await events(id)).toEqual([
      'invoice.created new/none',
      'invoice.paid_partial new/paid_partial',
      'invoice.expired expired/paid_partial',
    ]);
  });

  it('a payment after the deadline and within the monitoring window: expired, paid_late; after the window it counts as paid only', async () => {
    const { id, address } = await createInvoice({ lovelace: 10_000_000n, expiresAtHeight: 2n, monitoringUntilHeight: 5n });
    const late = await createInvoice({ lovelace: 10_000_000n, expiresAtHeight: 2n, monitoringUntilHeight: 3n });
    await forward(3); // height 3: past the deadline
    expect(await invoice(id)).toMatchObject({ status: 'expired', additional_status: 'none' });
    await forward(1, [transaction([output(address, 10_000_000n), output(late.address, 10_000_000n)])]); // height 4
    expect(await invoice(id)).toMatchObject({ status: 'expired', additional_status: 'paid_late', paid: paid(10_000_000n) });
    expect(await invoice(late.id)).toMatchObject({ status: 'expired', additional_status: 'paid_partial', paid: paid(10_000_000n) });
    expect(await events(id)).toEqual(['invoice.created new/none', 'invoice.expired expired/none', 'invoice.paid_late expired/paid_late']);
    expect(await events(late.id)).toEqual([
      'invoice.created new/none',
      'invoice.expired expired/none',
      'invoice.paid_partial expired/paid_partial',
    ]);
  });

  it('a payment after settlement is recorded as paid_over, and so is an unexpected token', async () => {
    const { id, address } = await createInvoice({ lovelace: 10_000_000n });
    const tokens = await createInvoice({ lovelace: 2_000_000n });
    await forward(1, [transaction([output(address, 10_000_000n), output(tokens.address, 2_000_000n, [token(OTHER, 7n)])])]);
    expect(await invoice(id)).toMatchObject({ status: 'settled', additional_status: 'none' });
    expect(await invoice(tokens.id)).toMatchObject({
      status: 'settled',
      additional_status: 'paid_over',
      paid: paid(2_000_000n, { [OTHER]: 7n }),
    });
    const envelopes = await resourceEvents(f.db.pool, 'invoice', tokens.id);
    expect(envelopes.at(-1)).toMatchObject({ type: 'invoice.paid_over', data: { unexpected_assets: [OTHER], status: 'settled' } });

    await forward(1, [transaction([output(address, 1_000_000n)])]);
    expect(await invoice(id)).toMatchObject({ status: 'settled', additional_status: 'paid_over', paid: paid(11_000_000n) });
    await forward(1, [transaction([output(address, 1_000_000n)])]);
    expect(await invoice(id)).toMatchObject({ status: 'settled', additional_status: 'paid_over', paid: paid(12_000_000n) });
    expect(await events(id)).toEqual([
      'invoice.created new/none',
      'invoice.processing processing/none',
      'invoice.settled settled/none',
      'invoice.paid_over settled/paid_over',
      'invoice.updated settled/paid_over',
    ]);
  });

  it('a rollback that lowers the tip moves settled back to processing, and the chain settles it again', async () => {
    const { id, address } = await createInvoice({ lovelace: 10_000_000n, confirmations: 3 });
    await forward(1, [transaction([output(address, 10_000_000n)])]);
    await forward(2);
    expect((await invoice(id)).status).toBe('settled');
    const rollback = await f.engine.apply(chain.backward(2n));
    expect(rollback).toMatchObject({
      kind: 'rolled_back',
      invoices: [expect.objectContaining({ transitions: [{ type: 'invoice.processing', status: 'processing' }] })],
    });
    expect(await invoice(id)).toMatchObject({ status: 'processing', ever_settled: true, settled_at: null });
    const fork = chain.fork('again', 2n);
    chain = fork;
    await forward(1);
    expect((await invoice(id)).status).toBe('settled');
    expect(await events(id)).toEqual([
      'invoice.created new/none',
      'invoice.processing processing/none',
      'invoice.settled settled/none',
      'invoice.processing processing/none',
      'invoice.settled settled/none',
    ]);
  });

  it('a rollback that takes the completing payment: processing → new, settled → invalid (critical); the transaction landing again settles', async () => {
    const quick = await createInvoice({ lovelace: 10_000_000n, confirmations: 1 });
    const deep = await createInvoice({ lovelace: 10_000_000n, confirmations: 5 });
    await forward(1);
    const pay = transaction([output(quick.address, 10_000_000n), output(deep.address, 10_000_000n)]);
    await forward(1, [pay]);
    expect((await invoice(quick.id)).status).toBe('settled');
    expect((await invoice(deep.id)).status).toBe('processing');

    await f.engine.apply(chain.backward(1n));
    expect(await invoice(quick.id)).toMatchObject({ status: 'invalid', additional_status: 'none', paid: paid(0n), ever_settled: true });
    expect(await invoice(deep.id)).toMatchObject({ status: 'new', additional_status: 'none', paid: paid(0n), settles_at_height: null });
    expect(f.logger.events(LogEvent.invoiceInvalidated)).toEqual([
      expect.objectContaining({ level: 'critical', fields: expect.objectContaining({ invoice_id: quick.id, previous_status: 'settled' }) }),
    ]);
    expect(f.metrics.snapshot().counters[Metric.invoicesInvalidated]).toBe(1);

    chain = chain.fork('landed-again', 1n);
    await forward(1); // the transaction lands again, one block later
    await forward(1, [pay]);
    expect(await invoice(quick.id)).toMatchObject({ status: 'settled', additional_status: 'none', paid: paid(10_000_000n) });
    expect(await invoice(deep.id)).toMatchObject({ status: 'processing', settles_at_height: 7n });
    expect(await events(quick.id)).toEqual([
      'invoice.created new/none',
      'invoice.processing processing/none',
      'invoice.settled settled/none',
      'invoice.invalid invalid/none',
      'invoice.processing processing/none',
      'invoice.settled settled/none',
    ]);
    expect(await events(deep.id)).toEqual([
      'invoice.created new/none',
      'invoice.processing processing/none',
      'invoice.new new/none',
      'invoice.processing processing/none',
    ]);
  });

  it('a rollback that takes a partial payment saves new/none and paid 0, told as invoice.updated', async () => {
    const { id, address } = await createInvoice({ lovelace: 10_000_000n });
    await forward(1);
    await forward(1, [transaction([output(address, 1n)])]);
    expect(await invoice(id)).toMatchObject({ status: 'new', additional_status: 'paid_partial', paid: paid(1n) });
    const rollback = await f.engine.apply(chain.backward(1n));
    expect(rollback).toMatchObject({
      kind: 'rolled_back',
      invoices: [expect.objectContaining({ transitions: [{ type: 'invoice.updated', status: 'new' }] })],
    });
    expect(await invoice(id)).toMatchObject({ status: 'new', additional_status: 'none', paid: paid(0n) });
    expect(await events(id)).toEqual(['invoice.created new/none', 'invoice.paid_partial new/paid_partial', 'invoice.updated new/none']);
  });

  it('a rollback to before the deadline does not un-expire an invoice', async () => {
    const { id, address } = await createInvoice({ lovelace: 10_000_000n, expiresAtHeight: 2n });
    await forward(3);
    expect((await invoice(id)).status).toBe('expired');
    await f.engine.apply(chain.backward(1n));
    chain = chain.fork('before-deadline', 1n);
    await forward(1, [transaction([output(address, 10_000_000n)])]); // on time, but the invoice expired already
    // Paid in full on time on this chain: the rules say processing/settled win over the sticky expiry.
    expect(await invoice(id)).toMatchObject({ status: 'settled', expired: true });
  });

  it('expiry is judged by block time: a batch after downtime holding the on-time payment and later blocks never expires it', async () => {
    const settling = await createInvoice({ lovelace: 10_000_000n, confirmations: 2, expiresAtHeight: 2n });
    const deep = await createInvoice({ lovelace: 10_000_000n, confirmations: 50, expiresAtHeight: 2n });
    const unpaid = await createInvoice({ lovelace: 10_000_000n, expiresAtHeight: 2n });
    f.clock.advance(30 * 86_400); // the monitor saw nothing for a month
    const blocks = [
      chain.next(),
      chain.next([transaction([output(settling.address, 10_000_000n), output(deep.address, 10_000_000n)])]), // height 2: on time
      ...chain.empty(10),
    ];
    await f.engine.apply(chain.forward(blocks));
    expect(await invoice(settling.id)).toMatchObject({ status: 'settled', expired: false });
    expect(await invoice(deep.id)).toMatchObject({ status: 'processing', expired: false });
    expect(await invoice(unpaid.id)).toMatchObject({ status: 'expired' });
    expect(await events(settling.id)).toEqual([
      'invoice.created new/none',
      'invoice.processing processing/none',
      'invoice.settled settled/none',
    ]);
  });

  it('a step repeated, or a step that touches no invoice, changes nothing', async () => {
    const { id, address } = await createInvoice({ lovelace: 10_000_000n, confirmations: 2 });
    const block = chain.next([transaction([output(address, 4_000_000n)])]);
    await f.engine.apply(chain.forward([block]));
    const before = { row: await f.db.pool.query('SELECT * FROM invoices'), events: await events(id) };
    expect(await f.engine.apply(chain.forward([block]))).toMatchObject({ kind: 'unchanged' });
    const unrelated = await forward(1, [transaction([output(syntheticAddress('mainnet', 'stranger'), 1n)])]);
    expect(unrelated).toMatchObject({ kind: 'applied', invoices: [] });
    expect({ row: await f.db.pool.query('SELECT * FROM invoices'), events: await events(id) }).toMatchObject({
      row: { rows: before.row.rows },
      events: before.events,
    });
  });

  it('a rebuild holds payments aside without the invoices hearing of it: nothing is judged missing or unburied', async () => {
    // Settled by two payments (the completing one at height 6), and settled by one at height 3 with depth 2.
    const split = await createInvoice({ lovelace: 10_000_000n, confirmations: 1 });
    const single = await createInvoice({ lovelace: 10_000_000n, confirmations: 2 });
    await forward(2);
    await forward(1, [transaction([output(split.address, 5_000_000n), output(single.address, 10_000_000n)])]); // height 3
    await forward(2);
    await forward(1, [transaction([output(split.address, 5_000_000n)])]); // height 6
    await forward(6);
    const before = {
      rows: (await f.db.pool.query('SELECT * FROM invoices ORDER BY id')).rows,
      events: (await f.db.pool.query(`SELECT id, type, version FROM business_events WHERE resource_type = 'invoice' ORDER BY seq`)).rows,
    };
    expect(before.rows.map((row) => row.status)).toEqual(['settled', 'settled']);

    await rebuildFrom(2n);
    // The follower resumes from the point, one block a message: the invoices' payments come back one by one.
    for (const block of chain.blocks.filter((candidate) => candidate.height > 2n)) {
      await f.engine.apply(chain.forward([block]));
      expect((await f.db.pool.query('SELECT * FROM invoices ORDER BY id')).rows, `after height ${block.height}`).toEqual(before.rows);
    }
    expect((await f.db.pool.query('SELECT count(*)::int AS n FROM rebuild_held_payments')).rows[0].n).toBe(0);
    expect(
      (await f.db.pool.query(`SELECT id, type, version FROM business_events WHERE resource_type = 'invoice' ORDER BY seq`)).rows,
    ).toEqual(before.events);
  });
});

describe('invoices across a rebuild whose chain lost the payment', () => {
  it('keeps the judgement while the payment is held, and judges it invalid when the settlement finds it gone', async () => {
    const { id, address } = await createInvoice({ lovelace: 10_000_000n, confirmations: 1 });
    await forward(2);
    await forward(1, [transaction([output(address, 10_000_000n)])]); // height 3
    await forward(5);
    expect((await invoice(id)).status).toBe('settled');
    await rebuildFrom(2n);
    // The node's chain no longer holds the payment's block.
    chain = chain.fork('without-payment', 2n);
    const statuses: string[] = [];
    for (let i = 0; i < 6; i++) {
      await forward(1);
      statuses.push(`${chain.tip!.height}:${(await invoice(id)).status}`);
    }
    // Held until the chain is as high as where the payment was confirmed (3 + CONFIRMATIONS 3 − 1 = 5).
    expect(statuses).toEqual(['3:settled', '4:settled', '5:invalid', '6:invalid', '7:invalid', '8:invalid']);
    expect(await events(id)).toEqual([
      'invoice.created new/none',
      'invoice.processing processing/none',
      'invoice.settled settled/none',
      'invoice.invalid invalid/none',
    ]);
  });
});

describe('reconciliation of invoices while a rebuild runs', () => {
  it('finds no mismatch in an invoice whose depth the rebuild took away although nothing of it is held', async () => {
    const { id, address } = await createInvoice({ lovelace: 10_000_000n, confirmations: 6 });
    await forward(1, [transaction([output(address, 10_000_000n)])]); // height 1: settles at 6
    await forward(9);
    expect((await invoice(id)).status).toBe('settled');
    await rebuildFrom(3n);
    await f.engine.apply(chain.forward([chain.at(4n)])); // the re-derived tip (4) is below its settling height
    const verification = await new PostgresReconciliationRecords(f.db.pool).verifyInvoices(10);
    expect(verification).toMatchObject({ mismatchCount: 0, invoicesChecked: 0 });
    expect(verification.invoicesHeld).toBeGreaterThan(0);
  });
});

describe('reconciliation of invoices', () => {
  /** A full run whose chain side holds exactly what the engine recorded: only invoices can differ. */
  async function reconcile() {
    const tip = chain.tipOf();
    const ledger: ChainLedger = {
      acquire: (queries) =>
        queries({
          tip: async () => tip,
          utxoAt: async (addresses) => {
            const { rows } = await f.db.pool.query(
              `SELECT tx_hash, output_index, address, amount_lovelace FROM incoming_payments
                WHERE address = ANY($1::text[]) AND status IN ('pending', 'confirmed') AND spent_by_tx_hash IS NULL`,
              [addresses],
            );
            return rows.map((row) => ({
              txId: row.tx_hash,
              index: row.output_index,
              address: row.address,
              lovelace: row.amount_lovelace,
              assets: [],
            }));
          },
        }),
    };
    const runs = new PostgresReconciliationRuns(f.db.pool);
    const logger = new RecordingLogger();
    const metrics = new InMemoryMetrics();
    const runner = new ReconciliationRunner({
      records: new PostgresReconciliationRecords(f.db.pool),
      chain: ledger,
      runs,
      logger,
      metrics,
      chunkSize: 10,
      sleep: async () => undefined,
    });
    const started = await runs.start('on_demand', 60_000);
    if (!('started' in started)) throw new Error('a run is already going');
    const progress = await runner.advance(started.started, () => true);
    if (progress.outcome !== 'completed' || !progress.run) throw new Error(`run ended ${progress.outcome}`);
    const discrepancies = (
      await f.db.pool.query(`SELECT kind, invoice_id, detail FROM reconciliation_discrepancies WHERE run_id = $1 ORDER BY id`, [
        progress.run.id.toString(),
      ])
    ).rows;
    return { run: progress.run, logger, metrics, discrepancies };
  }

  it('finds nothing on invoices the engine judged, and an invoice_mismatch for a tampered paid amount or status', async () => {
    const settled = await createInvoice({ lovelace: 10_000_000n });
    const partial = await createInvoice({ lovelace: 10_000_000n, expiresAtHeight: 3n });
    await createInvoice({ lovelace: 10_000_000n });
    await forward(1, [transaction([output(settled.address, 10_000_000n), output(partial.address, 3_000_000n)])]);
    await forward(5);
    const clean = await reconcile();
    expect(clean.run.counts).toMatchObject({ invoiceMismatches: 0, missingInDb: 0, extraInDb: 0, amountMismatch: 0 });
    expect(clean.discrepancies).toEqual([]);

    await f.db.pool.query(`UPDATE invoices SET paid = '{"lovelace": "9000000", "assets": {}}'::jsonb WHERE id = $1`, [settled.id]);
    await f.db.pool.query(`UPDATE invoices SET status = 'new' WHERE id = $1`, [partial.id]);
    const tampered = await reconcile();
    expect(tampered.run.counts).toMatchObject({ invoiceMismatches: 2, missingInDb: 0, extraInDb: 0, amountMismatch: 0 });
    expect(tampered.discrepancies).toEqual(
      expect.arrayContaining([
        {
          kind: 'invoice_mismatch',
          invoice_id: settled.id,
          detail: 'paid: stored {"lovelace":"9000000","assets":{}}, on chain {"lovelace":"10000000","assets":{}}',
        },
        { kind: 'invoice_mismatch', invoice_id: partial.id, detail: 'status: stored new, judged expired' },
      ]),
    );
    // The existing alarm path: the run's discrepancies metric and the error summary.
    expect(tampered.metrics.snapshot().counters[Metric.reconciliationDiscrepancies]).toBe(2);
    expect(tampered.logger.events(LogEvent.reconciliationDiscrepancy)).toEqual([
      expect.objectContaining({
        level: 'error',
        fields: expect.objectContaining({ summary: true, invoice_mismatches: 2, discrepancies: 2 }),
      }),
    ]);
    expect(
      tampered.logger
        .events(LogEvent.invoiceMismatch)
        .map((entry) => entry.fields.invoice_id)
        .sort(),
    ).toEqual([settled.id, partial.id].sort());
  });
});
