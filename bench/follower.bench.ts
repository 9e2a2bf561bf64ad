/**
 * npm run bench:follower — the chain-sync client following the simulator over loopback, pipelined and
 * sequential, on real blocks (the shared fixtures, re-linked; BENCH_SOURCE=synthetic for made-up ones). Three
 * processes: the simulator serves from its own process; the follower (bench/support/follower-run.ts) runs in its
 * own process, by default from an esbuild bundle as it is deployed (BENCH_FOLLOWER_RUNTIME=tsx runs it through
 * tsx, whose loader adds a second isolate), so that its CPU time and peak RSS are its own; this process
 * orchestrates and runs the latency proxy. Then detection latency in the local stack: block produced → payment
 * row committed.
 *
 * The machine is shared: every figure is printed with the load average, and the follower's CPU time per block
 * (user + system, its process only) is printed next to its wall-clock rate, since it is far less sensitive to
 * other work on the cores.
 *
 * Options (environment): BENCH_BLOCKS (default 10000), BENCH_SEQUENTIAL_BLOCKS (default 1000),
 * BENCH_REPEATS (pipelined loopback runs, default 3), BENCH_LATENCY_SAMPLES (default 200), BENCH_PIPELINE
 * (default 100), BENCH_LATENCY_MS (added each way for the remote run, default 10), BENCH_FOLLOWER_RUNTIME
 * (bundle | tsx), BENCH_FOLLOWER_NODE_FLAGS (extra node flags for the follower process, e.g.
 * `--max-semi-space-size=4`, to see what a runtime setting would change). The follower process always gets the
 * NODE_OPTIONS of the deployed image (docker/follower/Dockerfile), so the figures are the deployment's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
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
import type { FollowerReport, FollowerRun, FollowerRunResult } from './support/follower-run.js';
import { startLatencyProxy } from './support/latency-proxy.js';

const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 10_000);
const SEQUENTIAL_BLOCKS = Number(process.env.BENCH_SEQUENTIAL_BLOCKS ?? 1_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 200);
const PIPELINE = Number(process.env.BENCH_PIPELINE ?? 100);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 10);
const FOLLOWER_RUNTIME = process.env.BENCH_FOLLOWER_RUNTIME ?? 'bundle';
const FOLLOWER_NODE_FLAGS = (process.env.BENCH_FOLLOWER_NODE_FLAGS ?? '').split(' ').filter((flag) => flag.length > 0);
const DEPLOYED_NODE_OPTIONS = readDeployedNodeOptions();
const REMOTE_BLOCKS = Math.min(BLOCKS, 3_000);
const REMOTE_SEQUENTIAL_BLOCKS = 100;
const FOLLOWER_ENTRY = fileURLToPath(new URL('./support/follower-run.ts', import.meta.url));

function readDeployedNodeOptions(): string {
  const dockerfile = readFileSync(new URL('../docker/follower/Dockerfile', import.meta.url), 'utf8');
  const match = /NODE_OPTIONS="([^"]*)"/.exec(dockerfile);
  if (!match) throw new Error('docker/follower/Dockerfile sets no NODE_OPTIONS="…" for the follower');
  return match[1]!;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, critical() {} };

const load = (): string =>
  `load ${loadavg()
    .map((average) => average.toFixed(2))
    .join(' ')}`;

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

/** Runs the follower process (bundled like the deployed follower, or through tsx) over `runs`; returns its report. */
async function runFollowerProcess(runs: readonly FollowerRun[]): Promise<FollowerReport> {
  let command: string[];
  let cleanup = (): void => {};
  if (FOLLOWER_RUNTIME === 'tsx') {
    command = ['--import', 'tsx', FOLLOWER_ENTRY];
  } else {
    const directory = mkdtempSync(join(tmpdir(), 'bench-follower-'));
    cleanup = () => rmSync(directory, { recursive: true, force: true });
    const outfile = join(directory, 'follower-run.mjs');
    // The same bundling as docker/follower/Dockerfile (ESM, with a require for ws's CommonJS).
    await build({
      entryPoints: [FOLLOWER_ENTRY],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile,
      logLevel: 'error',
      banner: {
        js: "import { createRequire as __houseCreateRequire } from 'module'; const require = __houseCreateRequire(import.meta.url);",
      },
    });
    command = [outfile];
  }
  try {
    const child = spawn(process.execPath, [...FOLLOWER_NODE_FLAGS, ...command], {
      env: { ...process.env, NODE_OPTIONS: DEPLOYED_NODE_OPTIONS, BENCH_RUNS: JSON.stringify(runs) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let report: FollowerReport | undefined;
    for await (const line of createInterface({ input: child.stdout! })) {
      if (line.startsWith('{')) report = JSON.parse(line) as FollowerReport;
    }
    const [code] = (child.exitCode === null ? await once(child, 'exit') : [child.exitCode]) as [number | null];
    if (report === undefined || code !== 0) throw new Error(`the follower process failed (exit code ${code})`);
    return report;
  } finally {
    cleanup();
  }
}

function rateOf(result: FollowerRunResult): number {
  return result.blocks / result.seconds;
}

/** Wall-clock rate, then the follower's CPU time per block and the rate that CPU time alone would allow. */
function describeRun(result: FollowerRunResult, averageBlockBytes: number): string {
  const cpuPerBlock = result.cpuMicros / result.blocks;
  return (
    `${result.blocks} blocks in ${result.seconds.toFixed(2)} s: ${rateOf(result).toFixed(0)} blocks/s, ` +
    `${((rateOf(result) * averageBlockBytes) / 1e6).toFixed(1)} MB/s of block JSON decoded; ` +
    `follower CPU ${cpuPerBlock.toFixed(0)} µs/block (${(1e6 / cpuPerBlock).toFixed(0)} blocks per CPU-second)`
  );
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1] as number;

async function detectionLatency(samples: number): Promise<number[]> {
  const db = await openBenchDatabase('payment_monitor_bench_latency');
  const address = syntheticAddress('mainnet', 'latency');
  await new PostgresAddressRegistry(db.pool, 'mainnet').register(
    [{ address, referenceType: 'invoice', referenceId: 'L-1', userId: 'u' }],
    'bench',
  );
  const simulator = await startOgmiosSimulator({
    network: 'mainnet',
    blockTimeMs: 0,
    transactionsPerBlock: { min: 10, max: 60 },
    seed: 'latency',
  });
  const producedAt = new Map<bigint, number>(); // block height → when the simulator produced it
  simulator.on('block', (block) => producedAt.set(BigInt(block.height), block.producedAt));
  const latencies: number[] = [];
  const engine = new PaymentEngine({
    store: new PostgresPaymentStore(db.pool),
    logger: silent,
    metrics: new InMemoryMetrics(),
    clock: { now: () => new Date() },
    network: 'mainnet',
    confirmations: 15,
  });
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
  // A hosted Ogmios is a network away: with 10 ms each way, a sequential follower waits 20 ms per block.
  const target = new URL(url);
  const proxy = await startLatencyProxy({ host: target.hostname, port: Number(target.port) }, LATENCY_MS);
  const remoteUrl = `ws://127.0.0.1:${proxy.port}`;
  try {
    const averageBlockBytes = bytes / BLOCKS;
    console.log(
      `average block ${(averageBlockBytes / 1024).toFixed(1)} KiB; follower process: ${FOLLOWER_RUNTIME === 'tsx' ? 'through tsx' : 'esbuild bundle'}, NODE_OPTIONS ${DEPLOYED_NODE_OPTIONS}${FOLLOWER_NODE_FLAGS.length > 0 ? ` and ${FOLLOWER_NODE_FLAGS.join(' ')}` : ''}, Node ${process.version}; ${load()}`,
    );
    const pipelinedRuns: FollowerRun[] = Array.from({ length: REPEATS }, (_, run) => ({
      name: `pipelined ${run + 1}`,
      url,
      blocks: BLOCKS,
      pipelineDepth: PIPELINE,
    }));
    const report = await runFollowerProcess([
      ...pipelinedRuns,
      { name: 'sequential', url, blocks: SEQUENTIAL_BLOCKS, pipelineDepth: 1 },
      { name: 'remote pipelined', url: remoteUrl, blocks: REMOTE_BLOCKS, pipelineDepth: PIPELINE },
      { name: 'remote sequential', url: remoteUrl, blocks: REMOTE_SEQUENTIAL_BLOCKS, pipelineDepth: 1 },
    ]);
    const result = (name: string): FollowerRunResult => report.runs.find((run) => run.name === name) as FollowerRunResult;
    const pipelined = report.runs.filter((run) => run.name.startsWith('pipelined'));
    for (const run of pipelined) console.log(`${run.name} (depth ${PIPELINE}): ${describeRun(run, averageBlockBytes)}`);
    const pipelinedRate = median(pipelined.map(rateOf));
    console.log(
      `pipelined, median of ${pipelined.length}: ${pipelinedRate.toFixed(0)} blocks/s, ` +
        `follower CPU ${median(pipelined.map((run) => run.cpuMicros / run.blocks)).toFixed(0)} µs/block`,
    );
    const sequential = result('sequential');
    console.log(`sequential (one request at a time): ${describeRun(sequential, averageBlockBytes)}`);
    console.log(`pipelined / sequential over loopback: ${(pipelinedRate / rateOf(sequential)).toFixed(1)}×`);
    const remotePipelined = rateOf(result('remote pipelined'));
    const remoteSequential = rateOf(result('remote sequential'));
    console.log(
      `with ${LATENCY_MS} ms added each way: pipelined ${remotePipelined.toFixed(0)} blocks/s, sequential ${remoteSequential.toFixed(0)} blocks/s: ` +
        `${(remotePipelined / remoteSequential).toFixed(0)}×`,
    );
    const mebibytes = (value: number): string => `${(value / 2 ** 20).toFixed(0)} MiB`;
    console.log(
      `peak RSS of the follower process: ${mebibytes(report.peakRssBytes)} (heap at most ${mebibytes(report.peakHeapTotalBytes)}, ` +
        `ArrayBuffers at most ${mebibytes(report.peakArrayBuffersBytes)}); ${load()}`,
    );
  } finally {
    await proxy.close();
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  const latencies = await detectionLatency(LATENCY_SAMPLES);
  console.log(
    `detection latency (block produced → payment committed), ${latencies.length} payments: ` +
      `p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms, max ${latencies.at(-1)} ms; ${load()}`,
  );
}

await main();
