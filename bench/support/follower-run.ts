/**
 * The follower side of `npm run bench:follower`, run as a process of its own (an esbuild bundle, as the follower
 * is deployed, or through tsx) so that its CPU time and peak RSS are the follower's alone: the simulator, the
 * latency proxy and the benchmark's bookkeeping live in other processes.
 *
 * Follows each run described in BENCH_RUNS (JSON: [{ name, url, blocks, pipelineDepth }]) from origin with the
 * chain-sync client (every block decoded into chain events, handed to a consumer that counts them), and prints one
 * JSON line: per run the blocks, wall seconds and CPU microseconds of this process, then the peak RSS.
 */
import type { ChainEvent } from '../../functions/domain/chain.js';
import type { Logger } from '../../functions/domain/ports.js';
import { ChainSyncClient } from '../../functions/adapters/ogmios/chain-sync-client.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';

export interface FollowerRun {
  name: string;
  url: string;
  blocks: number;
  pipelineDepth: number;
}

export interface FollowerRunResult {
  name: string;
  blocks: number;
  seconds: number;
  /** User plus system CPU time of the follower process during the run. */
  cpuMicros: number;
}

export interface FollowerReport {
  runs: FollowerRunResult[];
  peakRssBytes: number;
  /** The largest heap and ArrayBuffer figures sampled during the runs (where the RSS goes). */
  peakHeapTotalBytes: number;
  peakArrayBuffersBytes: number;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, critical() {} };

/** Follows from origin until `blocks` blocks were delivered. */
async function follow(run: FollowerRun): Promise<FollowerRunResult> {
  let delivered = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const client = new ChainSyncClient({
    urls: [run.url],
    knownPoints: ['origin'],
    allowOriginFallback: true,
    pipelineDepth: run.pipelineDepth,
    logger: silent,
    metrics: new InMemoryMetrics(),
    onEvent: async (event: ChainEvent) => {
      if (event.type === 'rollForward') delivered += event.blocks.length;
      if (delivered >= run.blocks) done();
    },
  });
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const running = client.run();
  await finished;
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await client.stop();
  await running;
  return { name: run.name, blocks: run.blocks, seconds, cpuMicros: cpu.user + cpu.system };
}

const runs = JSON.parse(process.env.BENCH_RUNS ?? '[]') as FollowerRun[];
let peakHeapTotalBytes = 0;
let peakArrayBuffersBytes = 0;
const sampler = setInterval(() => {
  const memory = process.memoryUsage();
  peakHeapTotalBytes = Math.max(peakHeapTotalBytes, memory.heapTotal);
  peakArrayBuffersBytes = Math.max(peakArrayBuffersBytes, memory.arrayBuffers);
}, 25);
const results: FollowerRunResult[] = [];
for (const run of runs) results.push(await follow(run));
clearInterval(sampler);
const report: FollowerReport = {
  runs: results,
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
  peakHeapTotalBytes,
  peakArrayBuffersBytes,
};
process.stdout.write(`${JSON.stringify(report)}\n`);
