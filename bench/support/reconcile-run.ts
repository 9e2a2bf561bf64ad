/** One reconciliation run in a process of its own, as the Lambda would do it; prints its result and peak RSS. */
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { createPool } from '../../functions/adapters/postgres/pool.js';
import type { Logger } from '../../functions/domain/ports.js';
import { describeRun } from '../../functions/domain/reconciliation/reconciliation-runner.js';
import { reconcileNow } from '../../functions/local/local-reconciliation.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, critical() {} };
const pool = createPool({ connectionString: process.env.DATABASE_URL!, max: 2 });
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
await pool.end();
process.stdout.write(`${JSON.stringify({ seconds, peakRssMiB: process.resourceUsage().maxRSS / 1024, run: describeRun(run) })}\n`);
