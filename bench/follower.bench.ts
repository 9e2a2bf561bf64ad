/**
 * npm run bench:follower — the chain-sync client following the simulator over loopback, pipelined and
 * sequential, on real blocks (the shared fixtures, re-linked; BENCH_SOURCE=synthetic for made-up ones) served by a
 * simulator in its own process (so this process's peak RSS
 * is the follower's). Then detection latency in the local stack: block produced → payment row committed.
 *
 * Options (environment): BENCH_BLOCKS (default 10000), BENCH_SEQUENTIAL_BLOCKS (default 1000),
 * BENCH_LATENCY_SAMPLES (default 200), BENCH_PIPELINE (default 100), BENCH_LATENCY_MS (added each way for the
 * remote run, default 10).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { ChainEvent } from '../functions/domain/chain.js';
import type { Logger } from '../functions/domain/ports.js';
import { PaymentEngine } from '../functions/domain/payment-engine.js';
import { ChainSyncClient } from '../functions/adapters/ogmios/chain-sync-client.js';
import { InMemoryMetrics } from '../functions/adapters/observability/in-memory-metrics.js';
import { PostgresAddressRegistry } from '../functions/adapters/postgres/address-registry.js';
import { PostgresPaymentStore } from '../functions/adapters/postgres/payment-store.js';
import { EnginePipeline } from '../functions/local/engine-pipeline.js';
import { startOgmiosSimulator } from '../functions/local/simulator/index.js';
import { syntheticAddress } from '../functions/local/synthetic/addresses.js';
import { openBenchDatabase, percentile } from './support/bench-database.js';
import { startLatencyProxy } from './support/latency-proxy.js';

const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 10_000);
const SEQUENTIAL_BLOCKS = Number(process.env.BENCH_SEQUENTIAL_BLOCKS ?? 1_000);
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 200);
const PIPELINE = Number(process.env.BENCH_PIPELINE ?? 100);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 10);
const REMOTE_BLOCKS = Math.min(BLOCKS, 3_000);
const REMOTE_SEQUENTIAL_BLOCKS = 100;

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, critical() {} };

async function startSimulatorProcess(blocks: number): Promise<{ url: string; bytes: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'functions/local/simulator-main.ts'], {
    env: {
      ...process.env,
      SIMULATOR_PORT: '0',
      SIMULATOR_BLOCK_TIME_MS: '0',
      SIMULATOR_INITIAL_BLOCKS: String(blocks),
      SIMULATOR_RETAINED_BLOCKS: String(blocks + 10),
      SIMULATOR_SEED: 'bench-follower',
      // the real mainnet/preprod blocks of the shared fixtures, re-linked: the most mainnet-like content there is
      SIMULATOR_SOURCE: process.env.BENCH_SOURCE ?? 'fixtures',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  for await (const line of createInterface({ input: child.stdout! })) {
    const match = /^ready (\S+) blocks=(\d+) bytes=(\d+)/.exec(line);
    if (match) return { url: match[1]!, bytes: Number(match[3]), child };
  }
  throw new Error('the simulator exited before it was ready');
}

/** Follows from origin until `blocks` blocks were delivered; returns the seconds it took. */
async function follow(url: string, blocks: number, pipelineDepth: number): Promise<number> {
  let delivered = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const client = new ChainSyncClient({
    urls: [url],
    knownPoints: ['origin'],
    allowOriginFallback: true,
    pipelineDepth,
    logger: silent,
    metrics: new InMemoryMetrics(),
    onEvent: async (event: ChainEvent) => {
      if (event.type === 'rollForward') delivered += event.blocks.length;
      if (delivered >= blocks) done();
    },
  });
  const started = performance.now();
  const running = client.run();
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await client.stop();
  await running;
  return seconds;
}

async function detectionLatency(samples: number): Promise<number[]> {
  const db = await openBenchDatabase('payment_monitor_bench_latency');
  const address = syntheticAddress('mainnet', 'latency');
  await new PostgresAddressRegistry(db.pool, 'mainnet').register([{ address, referenceType: 'invoice', referenceId: 'L-1', userId: 'u' }], 'bench');
  const simulator = await startOgmiosSimulator({ network: 'mainnet', blockTimeMs: 0, transactionsPerBlock: { min: 10, max: 60 }, seed: 'latency' });
  const producedAt = new Map<bigint, number>(); // block height → when the simulator produced it
  simulator.on('block', (block) => producedAt.set(BigInt(block.height), block.producedAt));
  const latencies: number[] = [];
  const engine = new PaymentEngine({ store: new PostgresPaymentStore(db.pool), logger: silent, metrics: new InMemoryMetrics(), clock: { now: () => new Date() }, network: 'mainnet', confirmations: 15 });
  const pipeline = new EnginePipeline({
    engine,
    logger: silent,
    // called once the event's transaction committed
    onApplied: (outcome) => {
      if (outcome.kind !== 'applied') return;
      const committedAt = Date.now();
      for (const payment of outcome.detected) {
        const produced = producedAt.get(payment.blockHeight);
        if (produced !== undefined) latencies.push(committedAt - produced);
      }
    },
  });
  pipeline.start();
  const tip = simulator.tip();
  const client = new ChainSyncClient({
    urls: [simulator.url],
    knownPoints: [tip === 'origin' ? 'origin' : { slot: BigInt(tip.slot), hash: tip.id }],
    allowOriginFallback: true,
    logger: silent,
    metrics: new InMemoryMetrics(),
    onEvent: (event) => pipeline.push(event),
  });
  const running = client.run();
  for (let i = 0; i < samples; i++) {
    simulator.queuePayment({ address, lovelace: 1_000_000n + BigInt(i) });
    simulator.produceBlocks(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  await client.stop();
  await running;
  await pipeline.drained();
  await pipeline.stop();
  await simulator.stop();
  await db.close();
  return latencies.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  console.log(`generating ${BLOCKS.toLocaleString('en')} mainnet-like blocks in a simulator process…`);
  const { url, bytes, child } = await startSimulatorProcess(BLOCKS);
  try {
    const averageBlockBytes = bytes / BLOCKS;
    const pipelined = await follow(url, BLOCKS, PIPELINE);
    const pipelinedRate = BLOCKS / pipelined;
    console.log(
      `pipelined (depth ${PIPELINE}): ${BLOCKS} blocks in ${pipelined.toFixed(2)} s: ${pipelinedRate.toFixed(0)} blocks/s, ` +
        `${((pipelinedRate * averageBlockBytes) / 1e6).toFixed(1)} MB/s of block JSON decoded (average block ${(averageBlockBytes / 1024).toFixed(1)} KiB)`,
    );
    const sequential = await follow(url, SEQUENTIAL_BLOCKS, 1);
    const sequentialRate = SEQUENTIAL_BLOCKS / sequential;
    console.log(`sequential (one request at a time): ${SEQUENTIAL_BLOCKS} blocks in ${sequential.toFixed(2)} s: ${sequentialRate.toFixed(0)} blocks/s`);
    console.log(`pipelined / sequential over loopback: ${(pipelinedRate / sequentialRate).toFixed(1)}×`);
    // A hosted Ogmios is a network away: with 10 ms each way, a sequential follower waits 20 ms per block.
    const target = new URL(url);
    const proxy = await startLatencyProxy({ host: target.hostname, port: Number(target.port) }, LATENCY_MS);
    try {
      const remoteUrl = `ws://127.0.0.1:${proxy.port}`;
      const remotePipelined = REMOTE_BLOCKS / (await follow(remoteUrl, REMOTE_BLOCKS, PIPELINE));
      const remoteSequential = REMOTE_SEQUENTIAL_BLOCKS / (await follow(remoteUrl, REMOTE_SEQUENTIAL_BLOCKS, 1));
      console.log(
        `with ${LATENCY_MS} ms added each way: pipelined ${remotePipelined.toFixed(0)} blocks/s, sequential ${remoteSequential.toFixed(0)} blocks/s: ` +
          `${(remotePipelined / remoteSequential).toFixed(0)}×`,
      );
    } finally {
      await proxy.close();
    }
    console.log(`peak RSS of the follower process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  const latencies = await detectionLatency(LATENCY_SAMPLES);
  console.log(
    `detection latency (block produced → payment committed), ${latencies.length} payments: ` +
      `p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms, max ${latencies.at(-1)} ms`,
  );
}

await main();
