/**
 * One reconciliation run in a process of its own, as the Lambda would do it; prints its result, peak RSS and the
 * peak heap (sampled every 10 ms, and after each chunk's database read through the pool's release).
 */
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { createPool } from '../../functions/adapters/postgres/pool.js';
import type { Logger } from '../../functions/domain/ports.js';
import { describeRun } from '../../functions/domain/reconciliation/reconciliation-runner.js';
import { reconcileNow } from '../../functions/local/local-reconciliation.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, critical() {} };
let peakHeap = 0;
const sampleHeap = () => {
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
};
const sampler = setInterval(sampleHeap, 10);
const pool = createPool({ connectionString: process.env.DATABASE_URL!, max: 2 });
pool.on('release', sampleHeap);
const started = performance.now();
const { run } = await reconcileNow({
  pool,
  ogmios: { urls: [process.env.OGMIOS_URL!], apiKeys: [] },
  logger: quiet,
  metrics: new InMemoryMetrics(),
  trigger: 'on_demand',
  chunkSize: Number(process.env.RECONCILIATION_CHUNK_SIZE ?? 1_000),
});
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
await pool.end();
process.stdout.write(
  `${JSON.stringify({ seconds, peakRssMiB: process.resourceUsage().maxRSS / 1024, peakHeapMiB: peakHeap / 1024 / 1024, run: describeRun(run) })}\n`,
);
