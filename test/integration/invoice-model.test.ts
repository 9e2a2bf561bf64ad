/**
 * Randomized model test of invoices (issue 15): the real PaymentEngine with the PostgreSQL store, fed chain events,
 * against an independent in-memory oracle (test/support/invoice-oracle.ts, written from the rules' prose).
 *
 * Each run derives everything from one seed (test/support/invoice-chain.ts): 8–14 invoices asking lovelace, tokens
 * or both; a chain with forks (1–25 blocks deep, sometimes to the origin, sometimes back to an abandoned branch)
 * whose transactions pay the invoices in full, in halves, partly, too much, with unexpected tokens or only with the
 * ADA riding along tokens, through failed transactions' collateral returns, and again in a replacement branch;
 * deadlines and monitoring windows placed around the paying blocks' times, so that payments fall on time, late or
 * after the window and rollbacks cross deadlines and completing payments. Forward batches are 1–10 blocks, sometimes
 * a catch-up of up to 30, sometimes starting with blocks already applied. Events are sometimes delivered twice, the
 * engine sometimes restarts, and the store's transactions sometimes fail (before or after a call, or after the
 * commit) and are retried as the queue would.
 *
 * After every step, per invoice, the `invoices` row (status, additional_status, paid per asset, settles_at_height,
 * the sticky ever_settled and expired) must equal the oracle's, and the invoice's business events must equal the
 * oracle's: types in version order, versions 1..n, and each event's data (status; additional_status and paid of the
 * judgement that wrote it, except the invoice.processing written just before invoice.settled, whose status only the
 * rules fix). The same runs are made a second time with the in-memory store (test/support/in-memory-payment-store.ts)
 * in place of PostgreSQL, which unit tests rely on to judge invoices alike.
 *
 * Reading taken where the rules' prose is open: a judgement that moves additional_status to none while paid changes
 * (a rollback took the only payments) writes no event ("changed to something other than none"; invoice.updated only
 * when neither status changed); the row is still updated.
 *
 * Invoices are inserted directly (payment_addresses row with reference_type 'invoice', invoices row, invoice.created
 * event): the API's creation (address choice, validation, idempotency) is tested with the API; here the terms must
 * be exact (deadlines to the second around chosen blocks), which the API's expires_in_seconds does not allow.
 *
 *   INVOICE_MODEL_SEED=<n>       runs only that seed (printed in the test name and every failure)
 *   INVOICE_MODEL_RUNS=<n>       number of random runs (default RUNS below)
 *   INVOICE_MODEL_BASE_SEED=<n>  derives the runs' seeds from this instead of a random base
 */
import { randomInt } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainEvent } from '../../functions/domain/chain.js';
import { type ApplyOutcome, PaymentEngine } from '../../functions/domain/payment-engine.js';
import type { EngineTransaction, PaymentStore } from '../../functions/domain/ports.js';
import { PostgresPaymentStore } from '../../functions/adapters/postgres/payment-store.js';
import { PostgresAddressRegistry } from '../../functions/adapters/postgres/address-registry.js';
import { InMemoryPaymentStore } from '../support/in-memory-payment-store.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { FixedClock, RecordingLogger } from '../support/recorders.js';
import { mixSeed, Random } from '../support/random.js';
import { type InvoiceSpec, InvoiceScenario, oracleBlock } from '../support/invoice-chain.js';
import {
  InvoiceOracle,
  LOVELACE,
  type OracleBlock,
  type OracleChange,
  type OracleEventData,
  type OracleInvoiceTerms,
  type OracleJudgement,
  oracleJudgement,
  type Quantities,
} from '../support/invoice-oracle.js';

// ---------------------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------------------

/** Random runs per test run (the suite runs on 2 cores in CI: keep the file within about a minute). */
const RUNS = 50;

function envInteger(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new Error(`${name} must be an integer between 0 and 4294967295; got "${raw}"`);
  }
  return value;
}

const FIXED_SEED = envInteger('INVOICE_MODEL_SEED');
const RUN_COUNT = envInteger('INVOICE_MODEL_RUNS') ?? RUNS;
const BASE_SEED = envInteger('INVOICE_MODEL_BASE_SEED') ?? randomInt(0, 0xffffffff);
const SEEDS = FIXED_SEED !== undefined ? [FIXED_SEED] : Array.from({ length: RUN_COUNT }, (_, i) => mixSeed(BASE_SEED, i));

// ---------------------------------------------------------------------------------------------------------
// The oracle's own sanity: hand-written scenarios with expected results (no database)
// ---------------------------------------------------------------------------------------------------------

const POLICY = 'a'.repeat(56);
const TOKEN = `${POLICY}.555344`;
const OTHER_TOKEN = `${'b'.repeat(56)}.`;
const ADA = 1_000_000n;
const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

function q(entries: Record<string, bigint>): Quantities {
  return new Map(Object.entries(entries));
}

/** A hand-made chain: block i (1-based) at T0 + i minutes unless given a time; outputs to the invoice's address. */
function handChain(blocks: { pays?: Record<string, bigint>[]; at?: number; tx?: string }[], address = 'addr_invoice'): OracleBlock[] {
  return blocks.map((block, i) => ({
    height: BigInt(i + 1),
    time: block.at ?? T0 + (i + 1) * MINUTE,
    outputs: (block.pays ?? []).map((pays, index) => ({ txId: block.tx ?? `tx${i}`, index, address, quantities: q(pays) })),
  }));
}

function terms(amount: Record<string, bigint>, over: Partial<OracleInvoiceTerms> = {}): OracleInvoiceTerms {
  return {
    id: 'inv_test',
    address: 'addr_invoice',
    amount: q(amount),
    expiresAt: T0 + 10 * MINUTE,
    monitoringUntil: T0 + 20 * MINUTE,
    confirmations: 2,
    ...over,
  };
}

/** Runs the oracle through successive engine chains; returns each step's (status, additional) and the events. */
function walk(invoice: OracleInvoiceTerms, chains: OracleBlock[][]): { states: string[]; events: string[]; last: OracleJudgement } {
  const oracle = new InvoiceOracle([invoice]);
  const states = chains.map((chain) => {
    oracle.step(chain);
    const { status, additionalStatus } = oracle.get(invoice.id).judgement;
    return `${status}/${additionalStatus}`;
  });
  const state = oracle.get(invoice.id);
  return { states, events: state.events, last: state.judgement };
}

describe('invoice oracle (hand-written scenarios)', () => {
  it('two halves on time add up: paid_partial, processing, then settled at the depth', () => {
    const invoice = terms({ lovelace: 10n * ADA });
    const blocks = handChain([{ pays: [{ lovelace: 5n * ADA }] }, { pays: [{ lovelace: 5n * ADA }] }, {}]);
    const { states, events, last } = walk(invoice, [blocks.slice(0, 1), blocks.slice(0, 2), blocks.slice(0, 3)]);
    expect(states).toEqual(['new/paid_partial', 'processing/none', 'settled/none']);
    expect(events).toEqual(['invoice.created', 'invoice.paid_partial', 'invoice.processing', 'invoice.settled']);
    expect(last.settlesAtHeight).toBe(3n);
    expect(last.paid).toEqual(q({ lovelace: 10n * ADA }));
  });

  it('one step from new to settled writes processing then settled; confirmations 1 settles in the paying block', () => {
    const invoice = terms({ lovelace: 10n * ADA }, { confirmations: 1 });
    const blocks = handChain([{}, { pays: [{ lovelace: 10n * ADA }] }]);
    const oracle = new InvoiceOracle([invoice]);
    oracle.step(blocks.slice(0, 1));
    oracle.step(blocks);
    const state = oracle.get(invoice.id);
    expect(`${state.judgement.status}/${state.judgement.additionalStatus}`).toBe('settled/none');
    expect(state.events).toEqual(['invoice.created', 'invoice.processing', 'invoice.settled']);
    // the events' data: processing, then the settled judgement
    expect(state.eventData).toEqual([
      { status: 'new' },
      { status: 'processing' },
      { status: 'settled', additionalStatus: 'none', paid: q({ lovelace: 10n * ADA }) },
    ]);
  });

  it('a token invoice: the ADA riding along is no overpayment, a later ADA-only payment is an update, more tokens are paid_over', () => {
    const invoice = terms({ [TOKEN]: 100n }, { confirmations: 1 });
    const blocks = handChain([
      { pays: [{ lovelace: 2n * ADA, [TOKEN]: 100n }] },
      { pays: [{ lovelace: 1n * ADA }] },
      { pays: [{ lovelace: 1n * ADA, [TOKEN]: 1n }] },
    ]);
    const { states, events, last } = walk(invoice, [blocks.slice(0, 1), blocks.slice(0, 2), blocks]);
    expect(states).toEqual(['settled/none', 'settled/none', 'settled/paid_over']);
    expect(events).toEqual(['invoice.created', 'invoice.processing', 'invoice.settled', 'invoice.updated', 'invoice.paid_over']);
    expect(last.paid).toEqual(q({ lovelace: 4n * ADA, [TOKEN]: 101n }));
  });

  it('lovelace above the asked amount of a mixed invoice is paid_over; an unexpected token is paid_over when paid, paid_partial when not', () => {
    const mixed = terms({ lovelace: 5n * ADA, [TOKEN]: 10n }, { confirmations: 1 });
    expect(walk(mixed, [handChain([{ pays: [{ lovelace: 6n * ADA, [TOKEN]: 10n }] }])]).states).toEqual(['settled/paid_over']);
    expect(walk(mixed, [handChain([{ pays: [{ lovelace: 5n * ADA, [TOKEN]: 10n, [OTHER_TOKEN]: 1n }] }])]).states).toEqual([
      'settled/paid_over',
    ]);
    expect(walk(mixed, [handChain([{ pays: [{ lovelace: 5n * ADA, [OTHER_TOKEN]: 1n }] }])]).states).toEqual(['new/paid_partial']);
    // every asked asset must be paid: lovelace in full without the token is not enough
    expect(walk(mixed, [handChain([{ pays: [{ lovelace: 50n * ADA }] }])]).states).toEqual(['new/paid_partial']);
  });

  it('by block time: a payment at exactly the deadline is on time, one a second later is late, after the window only recorded', () => {
    const invoice = terms({ lovelace: 10n * ADA }, { confirmations: 1 });
    const E = invoice.expiresAt;
    const M = invoice.monitoringUntil;
    expect(walk(invoice, [handChain([{ pays: [{ lovelace: 10n * ADA }], at: E }])]).states).toEqual(['settled/none']);
    expect(walk(invoice, [handChain([{ pays: [{ lovelace: 10n * ADA }], at: E + 1000 }])]).states).toEqual(['expired/paid_late']);
    expect(walk(invoice, [handChain([{ pays: [{ lovelace: 10n * ADA }], at: M }])]).states).toEqual(['expired/paid_late']);
    const after = walk(invoice, [handChain([{ pays: [{ lovelace: 10n * ADA }], at: M + 1000 }])]);
    expect(after.states).toEqual(['expired/paid_partial']);
    expect(after.last.paid).toEqual(q({ lovelace: 10n * ADA }));
    // half on time, half late: late completes it (paid_late), never processing
    const split = handChain([
      { pays: [{ lovelace: 5n * ADA }], at: E - MINUTE },
      { pays: [{ lovelace: 5n * ADA }], at: E + MINUTE },
    ]);
    expect(walk(invoice, [split.slice(0, 1), split]).states).toEqual(['new/paid_partial', 'expired/paid_late']);
  });

  it('expires when the tip passes the deadline, and stays expired when a rollback moves the tip back (sticky)', () => {
    const invoice = terms({ lovelace: 10n * ADA }, { confirmations: 2 });
    const E = invoice.expiresAt;
    const past = handChain([{ at: E - MINUTE }, { at: E }, { at: E + 1000 }]);
    const { states, events } = walk(invoice, [past.slice(0, 2), past, past.slice(0, 1)]);
    expect(states).toEqual(['new/none', 'expired/none', 'expired/none']);
    expect(events).toEqual(['invoice.created', 'invoice.expired']);
    // ... but an on-time payment in a replacement block before the deadline still counts
    const replacement = handChain([{ at: E - MINUTE }, { pays: [{ lovelace: 10n * ADA }], at: E - 1000 }, { at: E + 5 * MINUTE }]);
    const revived = walk(invoice, [past, replacement.slice(0, 1), replacement.slice(0, 2), replacement]);
    expect(revived.states).toEqual(['expired/none', 'expired/none', 'processing/none', 'settled/none']);
    expect(revived.events).toEqual(['invoice.created', 'invoice.expired', 'invoice.processing', 'invoice.settled']);
  });

  it('rollbacks: lowering the tip unsettles, losing the completing block invalidates, the same transaction again settles again', () => {
    const invoice = terms({ lovelace: 10n * ADA }, { confirmations: 2 });
    const a = handChain([{ pays: [{ lovelace: 10n * ADA }], tx: 'txA' }, {}, {}]);
    const b = handChain([{}, { pays: [{ lovelace: 10n * ADA }], tx: 'txA' }, {}]);
    const { states, events } = walk(invoice, [a.slice(0, 2), a.slice(0, 1), a.slice(0, 2), [], b.slice(0, 2), b]);
    expect(states).toEqual(['settled/none', 'processing/none', 'settled/none', 'invalid/none', 'processing/none', 'settled/none']);
    expect(events).toEqual([
      'invoice.created',
      'invoice.processing',
      'invoice.settled',
      'invoice.processing',
      'invoice.settled',
      'invoice.invalid',
      'invoice.processing',
      'invoice.settled',
    ]);
  });

  it('a rollback of the completing block returns processing to new, or to expired once the tip is past the deadline', () => {
    const invoice = terms({ lovelace: 10n * ADA }, { confirmations: 5 });
    const E = invoice.expiresAt;
    const chain = handChain([
      { at: E - 2 * MINUTE },
      { pays: [{ lovelace: 4n * ADA }, { lovelace: 6n * ADA }], at: E - MINUTE },
      { at: E + MINUTE },
    ]);
    const toNew = walk(invoice, [chain.slice(0, 2), chain.slice(0, 1)]);
    expect(toNew.states).toEqual(['processing/none', 'new/none']);
    expect(toNew.events).toEqual(['invoice.created', 'invoice.processing', 'invoice.new']);
    const replaced = [chain[0]!, { height: 2n, time: E + MINUTE, outputs: [] }];
    const toExpired = walk(invoice, [chain.slice(0, 2), replaced]);
    expect(toExpired.states).toEqual(['processing/none', 'expired/none']);
    expect(toExpired.events).toEqual(['invoice.created', 'invoice.processing', 'invoice.expired']);
  });

  it('a settled invoice whose payment leaves is invalid (paid_partial if something stays), and judged at the origin', () => {
    const invoice = terms({ lovelace: 10n * ADA }, { confirmations: 1 });
    const chain = handChain([{ pays: [{ lovelace: 3n * ADA }] }, { pays: [{ lovelace: 7n * ADA }] }]);
    const { states, events } = walk(invoice, [chain, chain.slice(0, 1), []]);
    expect(states).toEqual(['settled/none', 'invalid/paid_partial', 'invalid/none']);
    // the last step takes the rest of the payments: additional_status back to none and paid 0, told as invoice.updated
    expect(events).toEqual([
      'invoice.created',
      'invoice.processing',
      'invoice.settled',
      'invoice.invalid',
      'invoice.paid_partial',
      'invoice.updated',
    ]);
  });

  it('judgement is a function of the chain and the sticky facts only', () => {
    const invoice = terms({ lovelace: 10n * ADA });
    expect(oracleJudgement(invoice, [], { everSettled: true, expired: true }).status).toBe('invalid');
    expect(oracleJudgement(invoice, [], { everSettled: false, expired: true }).status).toBe('expired');
    expect(oracleJudgement(invoice, [], { everSettled: false, expired: false })).toEqual({
      status: 'new',
      additionalStatus: 'none',
      paid: new Map(),
      settlesAtHeight: null,
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Fault injection: the store's transactions fail at random points and are retried, as a queue would
// ---------------------------------------------------------------------------------------------------------

class InjectedFault extends Error {
  override readonly name = 'InjectedFault';
  constructor(
    readonly where: string,
    readonly afterCommit = false,
  ) {
    super(`injected fault ${where}`);
  }
}

type FaultPlan = { kind: 'afterCommit' } | { kind: 'inside'; call: number; before: boolean };

/** Wraps every method of the engine's transaction (whatever methods it has), failing one call when planned. */
class FaultInjector {
  aborted = 0;
  lostCommits = 0;

  constructor(
    private readonly rng: Random,
    private readonly probability: number,
  ) {}

  wrap(store: PaymentStore): PaymentStore {
    return {
      inTransaction: async <T>(work: (tx: EngineTransaction) => Promise<T>): Promise<T> => {
        const plan = this.plan();
        let calls = 0;
        const result = await store.inTransaction((tx) =>
          work(
            new Proxy(tx, {
              get: (target, property, receiver) => {
                const value = Reflect.get(target, property, receiver);
                if (typeof value !== 'function') return value;
                return (...args: unknown[]) => {
                  calls++;
                  const hit = plan?.kind === 'inside' && plan.call === calls;
                  if (hit && plan.before) {
                    this.aborted++;
                    return Promise.reject(new InjectedFault(`before ${String(property)}`));
                  }
                  const out = value.apply(target, args);
                  if (!hit) return out;
                  this.aborted++;
                  return Promise.resolve(out).then(() => {
                    throw new InjectedFault(`after ${String(property)}`);
                  });
                };
              },
            }),
          ),
        );
        if (plan?.kind === 'afterCommit') {
          this.lostCommits++;
          throw new InjectedFault('after the commit', true);
        }
        return result;
      },
    };
  }

  private plan(): FaultPlan | null {
    if (!this.rng.chance(this.probability)) return null;
    if (this.rng.chance(0.15)) return { kind: 'afterCommit' };
    return { kind: 'inside', call: this.rng.int(1, 12), before: this.rng.chance(0.5) };
  }
}

async function deliver(engine: PaymentEngine, event: ChainEvent): Promise<{ outcome: ApplyOutcome; lostCommit: boolean }> {
  let lostCommit = false;
  for (let attempt = 1; ; attempt++) {
    try {
      return { outcome: await engine.apply(event), lostCommit };
    } catch (error) {
      if (!(error instanceof InjectedFault)) throw error;
      if (error.afterCommit) lostCommit = true;
      if (attempt >= 100) throw new Error('the event was not applied in 100 attempts');
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// The database side
// ---------------------------------------------------------------------------------------------------------

const RESET = `
  TRUNCATE incoming_payments, blocks, checkpoints, balance_transactions, user_balances, user_asset_balances,
           payment_addresses, invoices, business_events CASCADE;
  UPDATE sync_state SET last_block_height = NULL, last_block_slot = NULL, last_block_hash = NULL, network_tip_height = NULL;`;

/** Registers each invoice's address for it and inserts the invoice (status new) with its invoice.created event. */
async function createInvoices(pool: pg.Pool, invoices: readonly InvoiceSpec[]): Promise<void> {
  await new PostgresAddressRegistry(pool, 'mainnet').register(
    invoices.map((invoice) => ({ address: invoice.address, referenceType: 'invoice', referenceId: invoice.id, userId: invoice.userId })),
    'invoice-model-test',
  );
  for (const invoice of invoices) {
    const assets = Object.fromEntries(
      [...invoice.amount].filter(([asset]) => asset !== LOVELACE).map(([asset, quantity]) => [asset, quantity.toString()]),
    );
    await pool.query(
      `INSERT INTO invoices (id, reference_id, user_id, address, amount_lovelace, amount_assets, confirmations, created_at,
                             expires_at, monitoring_until, created_by, updated_at)
       VALUES ($1, $2, $3, $4, $5::numeric, $6::jsonb, $7, $8, $9, $10, 'invoice-model-test', $8)`,
      [
        invoice.id,
        `order-${invoice.id}`,
        invoice.userId,
        invoice.address,
        (invoice.amount.get(LOVELACE) ?? 0n).toString(),
        JSON.stringify(assets),
        invoice.confirmations,
        new Date(invoice.createdAt),
        new Date(invoice.expiresAt),
        new Date(invoice.monitoringUntil),
      ],
    );
  }
  await pool.query(
    `INSERT INTO business_events (id, type, resource_type, resource_id, version, data)
     SELECT business_event_id('invoice.created', id, 1), 'invoice.created', 'invoice', id, 1, jsonb_build_object('id', id, 'status', 'new')
       FROM unnest($1::text[]) AS id`,
    [invoices.map((invoice) => invoice.id)],
  );
}

interface InvoiceView {
  status: string;
  additional_status: string;
  paid: Record<string, string>;
  settles_at_height: string | null;
  ever_settled: boolean;
  expired: boolean;
}

/** paid per asset without zeros, keys sorted: {"lovelace": "…", "<policy>.<name>": "…"}. */
function paidRecord(paid: Quantities): Record<string, string> {
  return Object.fromEntries(
    [...paid]
      .filter(([, quantity]) => quantity !== 0n)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([asset, quantity]) => [asset, quantity.toString()]),
  );
}

async function readInvoices(pool: pg.Pool): Promise<Map<string, InvoiceView>> {
  const { rows } = await pool.query<{
    id: string;
    status: string;
    additional_status: string;
    paid: { lovelace?: string; assets?: Record<string, string> };
    settles_at_height: string | null;
    ever_settled: boolean;
    expired: boolean;
  }>('SELECT id, status, additional_status, paid, settles_at_height::text, ever_settled, expired FROM invoices');
  return new Map(
    rows.map((row) => {
      const paid = new Map<string, bigint>();
      if (row.paid.lovelace !== undefined) paid.set(LOVELACE, BigInt(row.paid.lovelace));
      for (const [asset, quantity] of Object.entries(row.paid.assets ?? {})) paid.set(asset, BigInt(quantity));
      return [
        row.id,
        {
          status: row.status,
          additional_status: row.additional_status,
          paid: paidRecord(paid),
          settles_at_height: row.settles_at_height,
          ever_settled: row.ever_settled,
          expired: row.expired,
        },
      ];
    }),
  );
}

interface StoredEvents {
  types: string[];
  versions: number[];
  /** Of each event's data: the status, and (when the oracle names them) additional_status and paid. */
  data: { status: string; additional_status?: string; paid?: Record<string, string> }[];
}

function paidFromJson(json: { lovelace?: string; assets?: Record<string, string> } | null): Record<string, string> {
  const paid = new Map<string, bigint>();
  if (json?.lovelace !== undefined) paid.set(LOVELACE, BigInt(json.lovelace));
  for (const [asset, quantity] of Object.entries(json?.assets ?? {})) paid.set(asset, BigInt(quantity));
  return paidRecord(paid);
}

async function readEvents(pool: pg.Pool): Promise<Map<string, StoredEvents>> {
  const { rows } = await pool.query<{
    resource_id: string;
    type: string;
    version: number;
    status: string;
    additional_status: string | null;
    paid: { lovelace?: string; assets?: Record<string, string> } | null;
  }>(
    `SELECT resource_id, type, version, data->>'status' AS status, data->>'additional_status' AS additional_status, data->'paid' AS paid
       FROM business_events WHERE resource_type = 'invoice' ORDER BY resource_id, version`,
  );
  const events = new Map<string, StoredEvents>();
  for (const row of rows) {
    const item = events.get(row.resource_id) ?? { types: [], versions: [], data: [] };
    item.types.push(row.type);
    item.versions.push(row.version);
    item.data.push({ status: row.status, additional_status: row.additional_status ?? undefined, paid: paidFromJson(row.paid) });
    events.set(row.resource_id, item);
  }
  return events;
}

/** The stored events' data reduced to what the oracle says of each. */
function comparableData(stored: StoredEvents, expected: readonly OracleEventData[]): StoredEvents['data'] {
  return stored.data.map((data, i) => {
    const wanted = expected[i];
    return wanted?.additionalStatus === undefined ? { status: data.status } : data;
  });
}

function expectedData(expected: readonly OracleEventData[]): StoredEvents['data'] {
  return expected.map((data) =>
    data.additionalStatus === undefined
      ? { status: data.status }
      : { status: data.status, additional_status: data.additionalStatus, paid: paidRecord(data.paid ?? new Map()) },
  );
}

/** The engine's rows for the invoice's payments (any status), for failure messages. */
async function recordedPayments(pool: pg.Pool, invoiceId: string): Promise<string> {
  const { rows } = await pool.query<{ line: string }>(
    `SELECT '  height ' || block_height || ' ' || left(tx_hash, 8) || '#' || output_index || ' ' || status || ' lovelace ' || amount_lovelace
            || ' ' || assets::text AS line
       FROM incoming_payments WHERE reference_type = 'invoice' AND reference_id = $1 ORDER BY block_height, tx_hash, output_index`,
    [invoiceId],
  );
  return rows.map((row) => row.line).join('\n') || '  none';
}

function expectedView(oracle: InvoiceOracle, id: string): InvoiceView {
  const state = oracle.get(id);
  return {
    status: state.judgement.status,
    additional_status: state.judgement.additionalStatus,
    paid: paidRecord(state.judgement.paid),
    settles_at_height: state.judgement.settlesAtHeight?.toString() ?? null,
    ever_settled: state.everSettled,
    expired: state.expired,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The systems under test: the engine on PostgreSQL, and the same engine on the in-memory store
// ---------------------------------------------------------------------------------------------------------

interface SystemUnderTest {
  name: string;
  /** Starts a run: an empty chain, the run's invoices created (status new, invoice.created written). */
  setUp(invoices: readonly InvoiceSpec[]): Promise<void>;
  /** A new engine on the system's store (a cold start). */
  engine(confirmations: number, wrap: (store: PaymentStore) => PaymentStore): PaymentEngine;
  invoices(): Promise<Map<string, InvoiceView>>;
  events(): Promise<Map<string, StoredEvents>>;
  /** The engine's payment rows of an invoice, for failure messages. */
  recorded(invoiceId: string): Promise<string>;
}

function postgresSystem(db: TestDatabase): SystemUnderTest {
  return {
    name: 'PostgreSQL',
    async setUp(invoices) {
      await db.pool.query(RESET);
      await createInvoices(db.pool, invoices);
    },
    engine: (confirmations, wrap) => engineOn(new PostgresPaymentStore(db.pool), confirmations, wrap),
    invoices: () => readInvoices(db.pool),
    events: () => readEvents(db.pool),
    recorded: (invoiceId) => recordedPayments(db.pool, invoiceId),
  };
}

/**
 * The in-memory store (test/support/in-memory-payment-store.ts), which unit tests use in place of PostgreSQL: it must
 * judge invoices the same way. It holds no invoice.created event (its creator is not modelled): the view adds it.
 */
function inMemorySystem(): SystemUnderTest {
  let store = new InMemoryPaymentStore();
  let ids: string[] = [];
  return {
    name: 'in-memory store',
    async setUp(invoices) {
      store = new InMemoryPaymentStore();
      ids = invoices.map((invoice) => invoice.id);
      store.register(
        invoices.map((invoice) => ({
          address: invoice.address,
          referenceType: 'invoice',
          referenceId: invoice.id,
          userId: invoice.userId,
        })),
      );
      for (const invoice of invoices) {
        store.addInvoice({
          id: invoice.id,
          referenceId: `order-${invoice.id}`,
          userId: invoice.userId,
          address: invoice.address,
          derivedFrom: null,
          amount: new Map(invoice.amount),
          confirmations: invoice.confirmations,
          createdAt: new Date(invoice.createdAt),
          expiresAt: new Date(invoice.expiresAt),
          monitoringUntil: new Date(invoice.monitoringUntil),
          status: 'new',
          additionalStatus: 'none',
          paid: new Map(),
          settlesAtHeight: null,
          everSettled: false,
          expired: false,
          settledAt: null,
        });
      }
    },
    engine: (confirmations, wrap) => engineOn(store, confirmations, wrap),
    async invoices() {
      const views = new Map<string, InvoiceView>();
      for (const id of ids) {
        const invoice = store.invoice(id)!;
        views.set(id, {
          status: invoice.status,
          additional_status: invoice.additionalStatus,
          paid: paidRecord(invoice.paid),
          settles_at_height: invoice.settlesAtHeight?.toString() ?? null,
          ever_settled: invoice.everSettled,
          expired: invoice.expired,
        });
      }
      return views;
    },
    async events() {
      const events = new Map<string, StoredEvents>(
        ids.map((id) => [id, { types: ['invoice.created'], versions: [1], data: [{ status: 'new' }] }]),
      );
      for (const event of store.invoiceEvents()) {
        const item = events.get(event.invoiceId)!;
        item.types.push(event.type);
        item.versions.push(event.version + 1);
        item.data.push({ status: event.data.status, additional_status: event.data.additional_status, paid: paidFromJson(event.data.paid) });
      }
      return events;
    },
    async recorded(invoiceId) {
      return (
        store
          .payments()
          .filter((payment) => payment.referenceType === 'invoice' && payment.referenceId === invoiceId)
          .map((payment) => `  height ${payment.blockHeight} ${payment.txId.slice(0, 8)}#${payment.index} ${payment.status}`)
          .join('\n') || '  none'
      );
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// One run
// ---------------------------------------------------------------------------------------------------------

function newTotals() {
  return {
    runs: 0,
    invoices: 0,
    steps: 0,
    deliveries: 0,
    multiBlockBatches: 0,
    changesInMultiBlockBatches: 0,
    rollbacks: 0,
    rollbacksToOrigin: 0,
    revivals: 0,
    reincluded: 0,
    restarts: 0,
    abortedTransactions: 0,
    lostCommits: 0,
    invoiceOutputs: 0,
    /** Rollbacks that moved the tip from after an invoice's deadline to at or before it. */
    expiryCrossings: 0,
    /** Rollbacks that took the block of an invoice's completing payment. */
    completingLost: 0,
    events: 0,
    /** Payments on each run's final chain by timing (on_time, late, after_window) and invoice kind. */
    payments: {} as Record<string, number>,
    transitions: {} as Record<string, number>,
    eventTypes: {} as Record<string, number>,
  };
}

type Totals = ReturnType<typeof newTotals>;
const totals = newTotals();
const inMemoryTotals = newTotals();

function count(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

function engineOn(store: PaymentStore, confirmations: number, wrap: (store: PaymentStore) => PaymentStore): PaymentEngine {
  return new PaymentEngine({
    store: wrap(store),
    logger: new RecordingLogger(),
    metrics: new InMemoryMetrics(),
    clock: new FixedClock(),
    network: 'mainnet',
    confirmations,
  });
}

async function runModel(seed: number, system: SystemUnderTest, totals: Totals): Promise<void> {
  const rng = new Random(seed);
  const scenario = new InvoiceScenario(rng.fork('chain'), seed, { invoices: rng.int(8, 14), maxForkDepth: 25 });
  const actions = rng.fork('actions');
  scenario.extend(actions.int(3, 30));
  for (let i = actions.int(2, 6); i > 0; i--) {
    const r = actions.next();
    if (r < 0.15 && scenario.revive()) continue;
    if (r < 0.7) scenario.fork();
    else scenario.extend(actions.int(1, 12));
  }
  scenario.chooseDeadlines();
  const confirmations = rng.int(2, 6);
  const faults = new FaultInjector(rng.fork('faults'), rng.pick([0, 0, 0.1, 0.25]));
  const delivery = rng.fork('delivery');
  const oracle = new InvoiceOracle(
    scenario.invoices.map((invoice) => ({
      id: invoice.id,
      address: invoice.address,
      amount: invoice.amount,
      expiresAt: invoice.expiresAt,
      monitoringUntil: invoice.monitoringUntil,
      confirmations: invoice.confirmations,
    })),
  );
  const trace: string[] = [];
  const describeInvoice = (id: string, chain: readonly OracleBlock[]): string => {
    const invoice = scenario.invoices.find((candidate) => candidate.id === id)!;
    const payments = chain.flatMap((block) =>
      block.outputs
        .filter((output) => output.address === invoice.address)
        .map(
          (output) =>
            `  height ${block.height} at ${new Date(block.time).toISOString()}: ${output.txId.slice(0, 8)}#${output.index} ` +
            JSON.stringify(paidRecord(output.quantities)),
        ),
    );
    const tip = chain[chain.length - 1];
    return (
      `${id} (${invoice.kind}, amount ${JSON.stringify(paidRecord(invoice.amount))}, confirmations ${invoice.confirmations}, ` +
      `expires ${new Date(invoice.expiresAt).toISOString()}, monitoring until ${new Date(invoice.monitoringUntil).toISOString()}); ` +
      `engine tip ${tip ? `height ${tip.height} at ${new Date(tip.time).toISOString()}` : 'origin'}; its payments on the engine's chain:\n` +
      (payments.join('\n') || '  none')
    );
  };

  try {
    await system.setUp(scenario.invoices);
    const start = () => system.engine(confirmations, (store) => faults.wrap(store));
    let engine = start();
    let previousTip: { height: bigint; time: number } | null = null;

    for (const step of scenario.script) {
      const { event } = step;
      trace.push(step.label);
      if (delivery.chance(0.05)) {
        engine = start();
        totals.restarts++;
      }
      const first = await deliver(engine, event);
      const changed = event.type === 'rollForward' ? 'applied' : 'rolled_back';
      expect(first.outcome.kind, `delivery of: ${step.label}`).toBe(first.lostCommit ? 'unchanged' : changed);
      totals.deliveries++;
      if (delivery.chance(0.2)) {
        const again = await deliver(engine, event);
        expect(again.outcome.kind, `second delivery of: ${step.label}`).toBe('unchanged');
        totals.deliveries++;
      }

      // The oracle's judgement of the engine's chain now.
      const engineChain = step.after.chain.slice(0, step.after.length).map(oracleBlock);
      const changes: OracleChange[] = oracle.step(engineChain);
      const tip = engineChain[engineChain.length - 1] ?? null;
      totals.steps++;
      if (event.type === 'rollForward' && event.blocks.length > 1) {
        totals.multiBlockBatches++;
        totals.changesInMultiBlockBatches += changes.length;
      }
      if (event.type === 'rollBackward') {
        totals.rollbacks++;
        if (event.point === 'origin') totals.rollbacksToOrigin++;
        for (const invoice of scenario.invoices) {
          if (previousTip && previousTip.time > invoice.expiresAt && (tip === null || tip.time <= invoice.expiresAt))
            totals.expiryCrossings++;
        }
        for (const change of changes) {
          const completedBefore = change.before.settlesAtHeight;
          if (completedBefore !== null && change.after.settlesAtHeight !== completedBefore) totals.completingLost++;
        }
      }
      for (const change of changes) {
        if (change.before.status !== change.after.status) count(totals.transitions, `${change.before.status}→${change.after.status}`);
        for (const type of change.events) count(totals.eventTypes, type);
      }
      previousTip = tip;

      // Compared cheaply first; the failure message (terms, payments on the engine's chain) only on a difference.
      const actual = await system.invoices();
      const events = await system.events();
      for (const invoice of scenario.invoices) {
        const expected = expectedView(oracle, invoice.id);
        const expectedEvents = oracle.get(invoice.id).events;
        const got = events.get(invoice.id) ?? { types: [], versions: [], data: [] };
        const context = async () =>
          `invoice ${describeInvoice(invoice.id, engineChain)}\nits payment rows:\n${await system.recorded(invoice.id)}\nafter: ${step.label}`;
        if (!isDeepStrictEqual(actual.get(invoice.id), expected)) expect(actual.get(invoice.id), await context()).toEqual(expected);
        if (!isDeepStrictEqual(got.types, expectedEvents)) expect(got.types, `events of ${await context()}`).toEqual(expectedEvents);
        expect(got.versions, `event versions of ${invoice.id}`).toEqual(got.types.map((_, i) => i + 1));
        const data = oracle.get(invoice.id).eventData;
        if (!isDeepStrictEqual(comparableData(got, data), expectedData(data))) {
          expect(comparableData(got, data), `event data of ${await context()}`).toEqual(expectedData(data));
        }
      }
    }

    totals.runs++;
    totals.invoices += scenario.invoices.length;
    totals.revivals += scenario.stats.revivals;
    totals.reincluded += scenario.stats.reincluded;
    totals.invoiceOutputs += scenario.stats.invoiceOutputs;
    for (const invoice of scenario.invoices) totals.events += oracle.get(invoice.id).events.length;
    const finalChain = scenario.chain.map(oracleBlock);
    for (const invoice of scenario.invoices) {
      for (const block of finalChain) {
        for (const output of block.outputs) {
          if (output.address !== invoice.address) continue;
          const timing = block.time <= invoice.expiresAt ? 'on_time' : block.time <= invoice.monitoringUntil ? 'late' : 'after_window';
          count(totals.payments, timing);
          count(totals.payments, invoice.kind);
        }
      }
    }
  } catch (error) {
    const context = `\n[INVOICE_MODEL_SEED=${seed}] ${system.name}, engine confirmations ${confirmations}\nsteps: ${trace.slice(-30).join(' | ')}`;
    if (error instanceof Error) {
      error.message = `invoice model run failed, reproduce with INVOICE_MODEL_SEED=${seed}: ${error.message}${context}`;
      throw error;
    }
    throw new Error(`invoice model run failed, reproduce with INVOICE_MODEL_SEED=${seed}: ${String(error)}${context}`);
  } finally {
    totals.abortedTransactions += faults.aborted;
    totals.lostCommits += faults.lostCommits;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------------------

describe(`invoice model (${SEEDS.length} runs${FIXED_SEED === undefined ? `, base seed ${BASE_SEED}` : ''})`, () => {
  let db: TestDatabase;
  const started = performance.now();

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db?.drop();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`invoice model: ${JSON.stringify(totals)} in ${seconds} s`);
  });

  it.each(SEEDS)('run with INVOICE_MODEL_SEED=%i', async (seed) => {
    await runModel(seed, postgresSystem(db), totals);
  });

  it.runIf(FIXED_SEED === undefined && RUN_COUNT >= RUNS)('exercised the transitions that matter', () => {
    const t = totals.transitions;
    expect(totals.expiryCrossings, 'rollbacks across a deadline').toBeGreaterThan(0);
    expect(totals.completingLost, 'rollbacks taking a completing payment').toBeGreaterThan(0);
    expect(totals.changesInMultiBlockBatches, 'judgements changed by multi-block batches').toBeGreaterThan(0);
    expect(
      (t['settled→invalid'] ?? 0) + (t['processing→new'] ?? 0) + (t['processing→expired'] ?? 0),
      'invoices moved back',
    ).toBeGreaterThan(0);
    expect(t['settled→processing'] ?? 0, 'settled → processing (tip lowered)').toBeGreaterThan(0);
    for (const kind of ['on_time', 'late', 'after_window', 'lovelace', 'token', 'mixed']) {
      expect(totals.payments[kind] ?? 0, `payments: ${kind}`).toBeGreaterThan(0);
    }
    for (const type of ['invoice.paid_partial', 'invoice.paid_over', 'invoice.paid_late', 'invoice.expired', 'invoice.settled']) {
      expect(totals.eventTypes[type] ?? 0, type).toBeGreaterThan(0);
    }
  });
});

describe(`invoice model on the in-memory store (${SEEDS.length} runs${FIXED_SEED === undefined ? `, base seed ${BASE_SEED}` : ''})`, () => {
  const system = inMemorySystem();
  afterAll(() => {
    console.log(`invoice model, in-memory store: ${inMemoryTotals.runs} runs, ${inMemoryTotals.steps} steps`);
  });

  it.each(SEEDS)('run with INVOICE_MODEL_SEED=%i', async (seed) => {
    await runModel(seed, system, inMemoryTotals);
  });
});
