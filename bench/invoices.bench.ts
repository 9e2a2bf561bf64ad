/**
 * npm run bench:invoices — the payment engine in catch-up with 100,000 open invoices and token payments in the mix,
 * next to the same engine on the same blocks with no invoices, in one run (issue 15: at most 15% slower).
 *
 * Two databases on one PostgreSQL server hold the same registered addresses; in one of them, BENCH_INVOICES of the
 * addresses belong to open invoices (a third ask ADA, a third a token, a third both; expiry a week away). The same
 * mainnet-like blocks (a fifth of the outputs carry tokens) are applied to both, in alternating chunks so that the
 * machine's load falls on both alike. Invoices paid in the run move to processing, then settled 15 blocks later, or
 * stay new and paid_partial: each with its events.
 *
 * Options (environment): BENCH_BLOCKS (default 10000), BENCH_BATCH (blocks per event, default 50), BENCH_ADDRESSES
 * (default 300000), BENCH_INVOICES (default 100000), BENCH_CHUNK (blocks per alternation, default 1000), DATABASE_URL.
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { PaymentEngine } from '../functions/domain/payment-engine.js';
import type { ChainEvent } from '../functions/domain/chain.js';
import type { Logger } from '../functions/domain/ports.js';
import { PostgresPaymentStore } from '../functions/adapters/postgres/payment-store.js';
import { PostgresAddressRegistry } from '../functions/adapters/postgres/address-registry.js';
import { InMemoryMetrics } from '../functions/adapters/observability/in-memory-metrics.js';
import { syntheticAddress } from '../functions/local/synthetic/addresses.js';
import { MainnetLikeChain, mainnetBlockShapes, BENCH_TOKEN } from './support/mainnet-like-chain.js';
import { type BenchDatabase, openBenchDatabase, percentile } from './support/bench-database.js';
import { registerBenchAddresses } from './support/registered-addresses.js';
import { startLocalPostgres } from '../functions/local/embedded-postgres.js';

const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 10_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 50);
const ADDRESSES = Number(process.env.BENCH_ADDRESSES ?? 300_000);
const INVOICES = Number(process.env.BENCH_INVOICES ?? 100_000);
const CHUNK = Number(process.env.BENCH_CHUNK ?? 1_000);
const FIXTURE_INDEX = fileURLToPath(new URL('../../shared/chain-fixtures/index.json', import.meta.url));
const CONFIRMATIONS = 15;

const collectGarbage = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, critical() {} };

interface Side {
  label: string;
  db: BenchDatabase;
  engine: PaymentEngine;
  seconds: number;
  blocks: number;
  batchMillis: number[];
}

async function openSide(label: string, name: string, withInvoices: boolean): Promise<Side> {
  const db = await openBenchDatabase(name);
  const registeredAddress = (i: number) => syntheticAddress('mainnet', i);
  // Every third address has the reference type 'invoice'; with invoices, the first INVOICES of those name one.
  const referenceIdOf = (i: number) => (withInvoices && i % 3 === 0 && i / 3 < INVOICES ? invoiceId(i / 3) : `ref-${i}`);
  await registerBenchAddresses(new PostgresAddressRegistry(db.pool, 'mainnet'), ADDRESSES, registeredAddress, referenceIdOf);
  if (withInvoices) await openInvoices(db.pool);
  // Only the tables that hold data: analysed empty, the event log and the ledger would be planned as empty for the
  // whole run (sequential scans), as autovacuum has no time to analyse them again in a run this short.
  await db.pool.query('VACUUM ANALYZE payment_addresses, address_watch, invoices');
  const engine = new PaymentEngine({
    store: new PostgresPaymentStore(db.pool),
    logger: silent,
    metrics: new InMemoryMetrics(),
    clock: { now: () => new Date() },
    network: 'mainnet',
    confirmations: CONFIRMATIONS,
  });
  return { label, db, engine, seconds: 0, blocks: 0, batchMillis: [] };
}

const invoiceId = (n: number) => `inv_${n.toString(16).padStart(24, '0')}`;

/** The invoices their addresses were registered for, as the API's creation makes them (a third ADA, a third a token, a third both). */
async function openInvoices(pool: pg.Pool): Promise<void> {
  if (INVOICES * 3 > ADDRESSES) throw new Error(`BENCH_INVOICES × 3 must not exceed BENCH_ADDRESSES (${ADDRESSES})`);
  await pool.query(
    `INSERT INTO invoices (id, reference_id, user_id, address, amount_lovelace, amount_assets, confirmations,
                          created_at, expires_at, monitoring_until, created_by, updated_at)
     SELECT a.reference_id, 'order-' || n, a.user_id, a.address,
            CASE WHEN n % 3 = 1 THEN 0 ELSE 5000000 END,
            CASE WHEN n % 3 = 0 THEN '{}'::jsonb ELSE jsonb_build_object($1::text, '1') END,
            $2, now() - interval '1 hour', now() + interval '7 days', now() + interval '8 days', 'bench', now()
       FROM payment_addresses a, LATERAL (SELECT ('x' || right(a.reference_id, 16))::bit(64)::bigint AS n) k
      WHERE a.reference_type = 'invoice' AND a.reference_id LIKE 'inv\\_%'`,
    [BENCH_TOKEN, CONFIRMATIONS],
  );
}

async function applyChunk(side: Side, events: readonly ChainEvent[]): Promise<void> {
  collectGarbage();
  for (const event of events) {
    const started = performance.now();
    await side.engine.apply(event);
    const millis = performance.now() - started;
    side.seconds += millis / 1000;
    side.batchMillis.push(millis);
    if (event.type === 'rollForward') side.blocks += event.blocks.length;
  }
}

function nextEvents(chain: MainnetLikeChain, blocks: number): ChainEvent[] {
  const events: ChainEvent[] = [];
  for (let generated = 0; generated < blocks; generated += BATCH) {
    const batch = chain.nextBlocks(Math.min(BATCH, blocks - generated));
    const last = batch[batch.length - 1]!;
    events.push({ type: 'rollForward', blocks: batch, tip: { slot: last.slot!, hash: last.hash, height: last.height } });
  }
  return events;
}

function describe(side: Side): string {
  const sorted = [...side.batchMillis].sort((a, b) => a - b);
  return `${side.label}: ${side.blocks} blocks in ${side.seconds.toFixed(1)} s, ${(side.blocks / side.seconds).toFixed(0)} blocks/s; per batch p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms`;
}

async function main(): Promise<void> {
  // Both databases on one server: without DATABASE_URL, one embedded PostgreSQL for the run.
  const server = process.env.DATABASE_URL
    ? undefined
    : await startLocalPostgres({ dataDir: `.data/bench-pg-${process.pid}`, persistent: false, fast: process.env.BENCH_FAST === '1' });
  if (server) process.env.DATABASE_URL = server.url;
  try {
    await compare();
  } finally {
    await server?.stop();
  }
}

async function compare(): Promise<void> {
  console.log(
    `${os.cpus().length} cores; Node ${process.version}; load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    `preparing two databases of ${ADDRESSES.toLocaleString('en')} addresses, one with ${INVOICES.toLocaleString('en')} open invoices…`,
  );
  const without = await openSide('engine, no invoices', 'payment_monitor_bench_plain', false);
  const withInvoices = await openSide(`engine, ${INVOICES.toLocaleString('en')} open invoices`, 'payment_monitor_bench_invoices', true);
  try {
    console.log(withInvoices.db.describe);
    const chain = new MainnetLikeChain({
      shapes: mainnetBlockShapes(FIXTURE_INDEX),
      registeredAddress: (i) => syntheticAddress('mainnet', i),
      registeredCount: ADDRESSES,
      paymentShare: 0.01,
    });
    // Warm both (address filters, caches, prepared statements), untimed.
    const warmUp = nextEvents(chain, BATCH * 4);
    for (const side of [without, withInvoices]) {
      await applyChunk(side, warmUp);
      Object.assign(side, { seconds: 0, blocks: 0, batchMillis: [] });
    }
    // Alternate which side goes first, so neither always runs on a warmer cache.
    for (let done = 0, round = 0; done < BLOCKS; done += CHUNK, round++) {
      const events = nextEvents(chain, Math.min(CHUNK, BLOCKS - done));
      const order = round % 2 === 0 ? [without, withInvoices] : [withInvoices, without];
      for (const side of order) await applyChunk(side, events);
    }
    console.log(describe(without));
    console.log(describe(withInvoices));
    const { rows } = await withInvoices.db.pool.query<{ status: string; additional_status: string; invoices: number }>(
      `SELECT status, additional_status, count(*)::int AS invoices FROM invoices GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    console.log(`  invoices: ${rows.map((row) => `${row.status}/${row.additional_status} ${row.invoices}`).join(', ')}`);
    const events = await withInvoices.db.pool.query<{ events: number }>(
      `SELECT count(*)::int AS events FROM business_events WHERE resource_type = 'invoice'`,
    );
    console.log(`  invoice events written: ${events.rows[0]!.events}`);
    const slower = without.blocks / without.seconds / (withInvoices.blocks / withInvoices.seconds) - 1;
    console.log(`with invoices / without: ${(100 * slower).toFixed(1)}% slower (target: at most 15%)`);
  } finally {
    await withInvoices.db.close();
    await without.db.close();
  }
}

await main();
