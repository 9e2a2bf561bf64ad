/**
 * npm run bench:engine — the payment engine in catch-up on mainnet-like blocks against 1,000,000 registered
 * addresses (about 1% of outputs pay one), then the same work through a naive engine (one query per
 * output and per input) for the ratio. Prints throughput, batch latency and peak memory.
 *
 * Options (environment): BENCH_BLOCKS (default 20000), BENCH_BATCH (blocks per event, default 50),
 * BENCH_ADDRESSES (default 1000000), BENCH_NAIVE_BLOCKS (default 300), DATABASE_URL.
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { PaymentEngine } from '../functions/domain/payment-engine.js';
import type { ChainBlock, ChainEvent } from '../functions/domain/chain.js';
import type { Logger, PaymentStore } from '../functions/domain/ports.js';
import { PostgresPaymentStore } from '../functions/adapters/postgres/payment-store.js';
import { PostgresAddressRegistry } from '../functions/adapters/postgres/address-registry.js';
import { InMemoryMetrics } from '../functions/adapters/observability/in-memory-metrics.js';
import { syntheticAddress } from '../functions/local/synthetic/addresses.js';
import { MainnetLikeChain, mainnetBlockShapes } from './support/mainnet-like-chain.js';
import { NaivePaymentStore } from './support/naive-store.js';
import { openBenchDatabase, percentile } from './support/bench-database.js';
import { registerBenchAddresses } from './support/registered-addresses.js';

const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 20_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 50);
const ADDRESSES = Number(process.env.BENCH_ADDRESSES ?? 1_000_000);
const NAIVE_BLOCKS = Number(process.env.BENCH_NAIVE_BLOCKS ?? 300);
const FIXTURE_INDEX = fileURLToPath(new URL('../../shared/chain-fixtures/index.json', import.meta.url));

const GENERATED_CHUNK = 1000;
const collectGarbage = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, critical() {} };

interface RunResult {
  blocks: number;
  outputs: number;
  seconds: number;
  batchMillis: number[];
}

async function run(store: PaymentStore, chain: MainnetLikeChain, blocks: number, batch: number): Promise<RunResult> {
  const engine = new PaymentEngine({
    store,
    logger: silent,
    metrics: new InMemoryMetrics(),
    clock: { now: () => new Date() },
    network: 'mainnet',
    confirmations: 15,
  });
  const batchMillis: number[] = [];
  const outputsBefore = chain.totalOutputs;
  let applied = 0;
  let seconds = 0;
  while (applied < blocks) {
    // Generate a chunk of events first and collect the generator's garbage, so that only the engine is timed.
    const events: ChainEvent[] = [];
    for (let chunk = 0; chunk < GENERATED_CHUNK && applied < blocks; chunk += batch) {
      const blocksOfBatch: ChainBlock[] = chain.nextBlocks(Math.min(batch, blocks - applied));
      const last = blocksOfBatch[blocksOfBatch.length - 1]!;
      events.push({ type: 'rollForward', blocks: blocksOfBatch, tip: { slot: last.slot!, hash: last.hash, height: last.height } });
      applied += blocksOfBatch.length;
    }
    collectGarbage();
    for (const event of events) {
      const started = performance.now();
      await engine.apply(event);
      const millis = performance.now() - started;
      seconds += millis / 1000;
      batchMillis.push(millis);
    }
  }
  return { blocks: applied, outputs: chain.totalOutputs - outputsBefore, seconds, batchMillis: batchMillis.sort((a, b) => a - b) };
}

function describe(label: string, result: RunResult): string {
  return [
    `${label}: ${result.blocks} blocks, ${result.outputs} outputs in ${result.seconds.toFixed(1)} s`,
    `  ${(result.blocks / result.seconds).toFixed(0)} blocks/s, ${(result.outputs / result.seconds).toFixed(0)} outputs/s`,
    `  per batch: p50 ${percentile(result.batchMillis, 50).toFixed(1)} ms, p99 ${percentile(result.batchMillis, 99).toFixed(1)} ms`,
  ].join('\n');
}

async function main(): Promise<void> {
  const db = await openBenchDatabase('payment_monitor_bench');
  try {
    console.log(`${db.describe}; ${os.cpus().length} cores; Node ${process.version}`);
    console.log(`registering ${ADDRESSES.toLocaleString('en')} addresses…`);
    const registeredAddress = (i: number) => syntheticAddress('mainnet', i);
    const registry = new PostgresAddressRegistry(db.pool, 'mainnet');
    const registrationStarted = performance.now();
    await registerBenchAddresses(registry, ADDRESSES, registeredAddress);
    console.log(`  ${((performance.now() - registrationStarted) / 1000).toFixed(1)} s`);
    await db.pool.query('VACUUM ANALYZE payment_addresses');

    const chain = new MainnetLikeChain({
      shapes: mainnetBlockShapes(FIXTURE_INDEX),
      registeredAddress,
      registeredCount: ADDRESSES,
      paymentShare: 0.01,
    });
    const store = new PostgresPaymentStore(db.pool);
    const coldStart = await run(store, chain, BATCH, BATCH); // loads the address filter, warms caches
    console.log(
      `cold start (first batch, loading the filter of ${ADDRESSES.toLocaleString('en')} addresses): ${(coldStart.seconds * 1000).toFixed(0)} ms`,
    );
    await run(store, chain, BATCH * 4, BATCH);

    const engineResult = await run(store, chain, BLOCKS, BATCH);
    const { rows } = await db.pool.query<{ payments: bigint; spent: bigint; confirmed: bigint }>(
      `SELECT count(*) AS payments, count(spent_by_tx_hash) AS spent, count(*) FILTER (WHERE status = 'confirmed') AS confirmed
         FROM incoming_payments`,
    );
    console.log(describe(`engine (batches of ${BATCH})`, engineResult));
    console.log(
      `  ${(engineResult.outputs / engineResult.blocks).toFixed(1)} outputs and ${(chain.totalTransactions / chain.generatedBlocks).toFixed(1)} transactions per block; ` +
        `payments recorded ${rows[0]!.payments}, spent ${rows[0]!.spent}, confirmed ${rows[0]!.confirmed}`,
    );

    const naiveResult = await run(new NaivePaymentStore(db.pool), chain, NAIVE_BLOCKS, BATCH);
    console.log(describe('naive engine (one query per output and input)', naiveResult));
    const ratio = engineResult.blocks / engineResult.seconds / (naiveResult.blocks / naiveResult.seconds);
    console.log(`engine / naive: ${ratio.toFixed(1)}×`);
    console.log(`peak RSS of this process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  } finally {
    await db.close();
  }
}

await main();
