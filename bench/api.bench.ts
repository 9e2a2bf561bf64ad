/**
 * npm run bench:api — the front door's figures (issue 14), each against a real PostgreSQL (embedded, default
 * settings, unless DATABASE_URL) and real HTTP on loopback:
 * 1. GET /v1/payments with 1,000,000 payments (BENCH_PAYMENTS): p50/p99 over the filters and pages a business uses,
 *    through the local API server (target p99 ≤ 50 ms).
 * 2. Outbox to webhook: the engine applies a block every BENCH_BLOCK_MS (default 50) paying registered addresses;
 *    the in-process publisher and deliverer (as in npm start) deliver the events to a receiver; latency = arrival −
 *    the event's created_at (the start of the engine's transaction, so it includes the commit) (target p99 ≤ 1 s).
 * 3. Webhooks per second: BENCH_EVENTS (default 20,000) events already in the outbox delivered to one endpoint (in
 *    order, one at a time), then BENCH_EVENTS / 10 to each of 10 endpoints (target ≥ 500/s).
 * BENCH_ONLY=payments|latency|throughput runs one part.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import type pg from 'pg';
import { PostgresAddressRegistry } from '../functions/adapters/postgres/address-registry.js';
import { PostgresPaymentStore } from '../functions/adapters/postgres/payment-store.js';
import { createWebhookEndpoint } from '../functions/adapters/postgres/webhook-endpoints.js';
import { InMemoryMetrics } from '../functions/adapters/observability/in-memory-metrics.js';
import type { Logger } from '../functions/domain/ports.js';
import { PaymentEngine } from '../functions/domain/payment-engine.js';
import { startLocalWebhooks } from '../functions/local/local-webhooks.js';
import { syntheticAddress } from '../functions/local/synthetic/addresses.js';
import { AesGcmSecretSealer } from '../functions/adapters/crypto/aes-gcm-sealer.js';
import { ChainBuilder, output, transaction } from '../test/support/chain-builder.js';
import { openBenchDatabase, percentile } from './support/bench-database.js';
import { generateHistory } from './support/cold-start-data.js';
import { createApiApp } from '../functions/api/app.js';
import { startApiServer } from '../functions/adapters/http/api-server.js';
import { ensureBootstrapApiKey } from '../functions/adapters/postgres/api-keys.js';
import { DEFAULT_RETAINED_BLOCKS } from '../functions/domain/payment-engine.js';
import { startBenchReceiver } from './support/webhook-receiver.js';

const ONLY = process.env.BENCH_ONLY;
const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const BLOCK_MS = Number(process.env.BENCH_BLOCK_MS ?? 50);
const LATENCY_BLOCKS = Number(process.env.BENCH_LATENCY_BLOCKS ?? 300);
const PAYMENTS_PER_BLOCK = 5;
const PAYMENTS = Number(process.env.BENCH_PAYMENTS ?? 1_000_000);
const PAGE_REQUESTS = Number(process.env.BENCH_PAGE_REQUESTS ?? 200);
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, critical() {} };
const sealer = new AesGcmSecretSealer(async () => Buffer.alloc(32, 7).toString('base64'));
const log = (line: string) => process.stdout.write(`${line}\n`);
const ms = (value: number) => `${value.toFixed(1)} ms`;

/** The filters and pages a business reads, each PAGE_REQUESTS times, through the local API server (responses validated as npm start does). */
async function listPayments(pool: pg.Pool): Promise<void> {
  log(`generating ${PAYMENTS.toLocaleString('en')} payments and ${(PAYMENTS / 10).toLocaleString('en')} addresses…`);
  await generateHistory(
    pool,
    {
      payments: PAYMENTS,
      unspentEvery: 10,
      rolledBackEvery: 50,
      addresses: PAYMENTS / 10,
      tipHeight: 12_000_000n,
      tipSlot: 160_000_000n,
      retainedBlocks: DEFAULT_RETAINED_BLOCKS,
    },
    (line) => log(line),
  );
  const key = 'bench-api-admin-key-0123456789abcdef';
  await ensureBootstrapApiKey(pool, key);
  const app = createApiApp({ pool, network: 'mainnet', logger: quiet, validateResponses: true });
  const server = await startApiServer({ port: 0, handle: (request) => app.handle(request) });
  const headers = { authorization: `Bearer ${key}` };
  const get = async (query: string) => {
    const response = await fetch(`${server.url}/v1/payments?${query}`, { headers });
    const body = (await response.json()) as { data: unknown[]; next_cursor: string | null };
    if (response.status !== 200) throw new Error(`GET /v1/payments?${query}: ${response.status} ${JSON.stringify(body)}`);
    return body;
  };
  // A page ten pages deep: the cursor a client holds after reading the first ten.
  let deepCursor = '';
  for (let page = 0; page < 10; page++) deepCursor = (await get(`limit=100${deepCursor ? `&cursor=${deepCursor}` : ''}`)).next_cursor ?? '';
  const addressOf = (n: number) => `addr1v${md5(`address${n}`)}${md5(`address.${n}`)}`.slice(0, 59);
  const kinds: [string, (i: number) => string][] = [
    ['first page (limit 100)', () => 'limit=100'],
    ['tenth page by cursor', () => `limit=100&cursor=${deepCursor}`],
    ['status=pending', () => 'status=pending&limit=100'],
    ['status=reversed', () => 'status=reversed&limit=100'],
    ['address=…', (i) => `address=${addressOf((i * 7919) % 1_000_000)}&limit=100`],
    ['user_id=…', (i) => `user_id=user-${(i * 104_729) % 50_000}&limit=100`],
    ['reference_type+reference_id', (i) => `reference_type=deposit&reference_id=ref-${(i * 3 + 1) % 1_000_000}&limit=100`],
    ['since=… (last month)', () => `since=${new Date(Date.now() - 30 * 86_400_000).toISOString()}&limit=100`],
    ['limit=1000', () => 'limit=1000'],
  ];
  const all: number[] = [];
  for (const [name, query] of kinds) {
    for (let i = 0; i < 20; i++) await get(query(i)); // warm: the plan cache, the pages these touch
    const times: number[] = [];
    for (let i = 0; i < PAGE_REQUESTS; i++) {
      const started = performance.now();
      await get(query(i + 20));
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    all.push(...times);
    log(`  ${name.padEnd(30)} p50 ${ms(percentile(times, 50))}  p99 ${ms(percentile(times, 99))}`);
  }
  all.sort((a, b) => a - b);
  log(`GET /v1/payments over ${all.length} requests: p50 ${ms(percentile(all, 50))}, p99 ${ms(percentile(all, 99))} (target p99 ≤ 50 ms)`);
  await server.close();
}

async function outboxToWebhookLatency(pool: pg.Pool): Promise<void> {
  const addresses = Array.from({ length: 100 }, (_, i) => syntheticAddress('mainnet', `bench-api-${i}`));
  await new PostgresAddressRegistry(pool, 'mainnet').register(
    addresses.map((address, i) => ({ address, referenceType: 'deposit', referenceId: `acct-${i}`, userId: `user-${i}` })),
    'bench',
  );
  const receiver = await startBenchReceiver();
  await createWebhookEndpoint(pool, sealer, { url: receiver.url, events: ['payment.*'], actor: 'bench', allowPrivateDestinations: true });
  const metrics = new InMemoryMetrics();
  const webhooks = startLocalWebhooks({ pool, sealer, logger: quiet, metrics });
  const engine = new PaymentEngine({
    store: new PostgresPaymentStore(pool),
    logger: quiet,
    metrics,
    clock: { now: () => new Date() },
    network: 'mainnet',
    confirmations: 3,
  });
  const chain = new ChainBuilder('bench-api');
  let paid = 0;
  for (let block = 0; block < LATENCY_BLOCKS; block++) {
    const payments = Array.from({ length: PAYMENTS_PER_BLOCK }, () =>
      transaction([output(addresses[paid++ % addresses.length] as string, 1_000_000n + BigInt(paid))]),
    );
    chain.next(payments);
    await engine.apply(chain.forward([chain.tip!]));
    webhooks.wake();
    await new Promise((resolve) => setTimeout(resolve, BLOCK_MS));
  }
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM business_events');
  const events = rows[0]!.n;
  await receiver.until(events);
  await webhooks.stop();
  await receiver.close();
  const latencies = [...receiver.arrivals.values()].map(({ arrivedMs, createdMs }) => arrivedMs - createdMs).sort((a, b) => a - b);
  log(
    `outbox → webhook: ${events} events (${LATENCY_BLOCKS} blocks, ${PAYMENTS_PER_BLOCK} payments each, one every ${BLOCK_MS} ms): ` +
      `p50 ${ms(percentile(latencies, 50))}, p99 ${ms(percentile(latencies, 99))}, max ${ms(latencies.at(-1) ?? 0)} (target p99 ≤ 1000 ms)`,
  );
}

async function deliveriesPerSecond(pool: pg.Pool, endpoints: number, eventsEach: number): Promise<void> {
  await pool.query(
    'TRUNCATE webhook_delivery_attempts, webhook_redeliveries, webhook_endpoint_secrets, webhook_endpoints, business_events',
  );
  const receiver = await startBenchReceiver();
  for (let i = 0; i < endpoints; i++) {
    await createWebhookEndpoint(pool, sealer, { url: receiver.url, events: ['payment.*'], actor: 'bench', allowPrivateDestinations: true });
  }
  // Events as the engine writes them (a payment's full resource each, some 700 bytes), already published.
  await pool.query(
    `INSERT INTO business_events (id, type, resource_type, resource_id, version, data, published_at)
     SELECT business_event_id('payment.detected', 'bench:' || g, 1), 'payment.detected', 'payment', 'bench:' || g, 1,
            jsonb_build_object('tx_hash', encode(sha256(g::text::bytea), 'hex'), 'output_index', 0, 'status', 'pending',
              'address', 'addr1' || repeat('q', 98), 'reference_type', 'deposit', 'reference_id', 'acct-' || g,
              'user_id', 'user-' || g, 'amount_lovelace', (1000000 + g)::text, 'assets', '{}'::jsonb,
              'block', jsonb_build_object('height', g, 'slot', g * 20, 'hash', encode(sha256(('b' || g)::bytea), 'hex'),
                'time', '2026-12-07T00:00:00.000Z'),
              'detected_at', '2026-12-07T00:00:00.000Z', 'confirmed_at', null, 'spent', null),
            now()
       FROM generate_series(1, $1::int) AS g`,
    [eventsEach],
  );
  const started = performance.now();
  const webhooks = startLocalWebhooks({ pool, sealer, logger: quiet, metrics: new InMemoryMetrics() });
  await receiver.until(endpoints * eventsEach);
  const seconds = (performance.now() - started) / 1000;
  await webhooks.stop();
  await receiver.close();
  const total = endpoints * eventsEach;
  log(
    `webhooks: ${total} deliveries to ${endpoints} endpoint${endpoints > 1 ? 's' : ''} (${eventsEach} events each, in order per endpoint) in ` +
      `${seconds.toFixed(2)} s: ${Math.round(total / seconds)}/s (target ≥ 500/s)`,
  );
}

async function main(): Promise<void> {
  log(`bench:api on ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)}, Node ${process.version}`);
  if (!ONLY || ONLY === 'payments') {
    const database = await openBenchDatabase('bench_api_payments');
    log(database.describe);
    try {
      await listPayments(database.pool);
    } finally {
      await database.close();
    }
  }
  if (!ONLY || ONLY === 'latency') {
    const database = await openBenchDatabase('bench_api_latency');
    log(database.describe);
    try {
      await outboxToWebhookLatency(database.pool);
    } finally {
      await database.close();
    }
  }
  if (!ONLY || ONLY === 'throughput') {
    const database = await openBenchDatabase('bench_api_throughput');
    try {
      await deliveriesPerSecond(database.pool, 1, EVENTS);
      await deliveriesPerSecond(database.pool, 10, EVENTS / 10);
    } finally {
      await database.close();
    }
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
