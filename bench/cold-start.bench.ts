/**
 * npm run bench:cold-start — a processor's cold start against years of history: 10,000,000 payment rows
 * (BENCH_PAYMENTS) over every month since mainnet began, of which 1,000,000 unspent (a tenth), 200,000 rolled back or
 * reversed, the rest confirmed and spent (the latest within the rollback window), and 1,000,000 registered
 * addresses (BENCH_ADDRESSES). Each cold start runs in a fresh process (a pool, store and engine as a new Lambda
 * instance has them) and applies one roll-forward of a few blocks (COLD_START_BLOCKS, default 3) that pays
 * registered addresses and spends recorded payments. Measured: time from the store's creation to the applied batch
 * (and the filters stored after it, when due), how long the engine transaction held the sync position lock, memory
 * added (peak RSS and heap over the process's baseline). Three ways, in turn, in the same session, with one
 * connection (the processor's DB_POOL_MAX default), BENCH_REPEAT (default 5) repetitions each, medians:
 * - before issue 10: the loading code of then (bench/support/old-candidate-filters.ts), every row under the lock;
 * - from the tables: no stored filter (the first cold start after a migration, a restore, or a new sync generation
 *   for the spend filter): the paged, indexed loads, then the filters are stored;
 * - stored: the usual cold start, reading the filters stored by the instances before; each stored filter is set
 *   STORE_EVERY_ROWS behind its table first (the most the storing cadence leaves), so the catch-up is the worst one.
 *
 * Also reported: the CPU the cold start's process used, and the database backend's when the server runs on this
 * machine (the embedded one): on a machine shared with other work, wall times grow with the load, CPU times less.
 *
 * Targets: ≤ 3 s to the first applied batch, ≤ 256 MiB added. DATABASE_URL: a server to use instead of the
 * embedded PostgreSQL (default settings) that is started for the run. BENCH_SKIP_OLD=1 runs only the new path.
 * BENCH_HISTORY_URL: a database this benchmark generated before (its runs only extend the chain), used as it is.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { STORE_EVERY_ROWS } from '../functions/adapters/postgres/candidate-filters.js';
import { createPool } from '../functions/adapters/postgres/pool.js';
import { DEFAULT_RETAINED_BLOCKS } from '../functions/domain/payment-engine.js';
import { openBenchDatabase } from './support/bench-database.js';
import { generateHistory } from './support/cold-start-data.js';

const PAYMENTS = Number(process.env.BENCH_PAYMENTS ?? 10_000_000);
const ADDRESSES = Number(process.env.BENCH_ADDRESSES ?? 1_000_000);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 5);
const BLOCKS = Number(process.env.COLD_START_BLOCKS ?? 3);
const SKIP_OLD = process.env.BENCH_SKIP_OLD === '1';
const SPENDS_PER_RUN = 10; // cold-start-run.ts spends as many recorded unspent payments
const TARGET_SECONDS = 3;
const TARGET_MIB = 256;

/** What is measured: the loading before issue 10, or now from the tables or from the stored filters. */
interface Variant {
  label: string;
  path: 'old' | 'new';
  stored: 'none' | 'behind';
  connections: number;
}

/** How far behind its table each stored filter is set before a `stored` cold start: the most the storing cadence leaves. */
const STORED_ROWS_BEHIND = STORE_EVERY_ROWS;

const VARIANTS: Variant[] = [
  ...(SKIP_OLD ? [] : [{ label: 'before: loaded in the engine transaction', path: 'old', stored: 'none', connections: 1 } as const]),
  { label: 'from the tables (no stored filter): indexed, paged, own snapshot', path: 'new', stored: 'none', connections: 1 },
  { label: `stored filters, ${STORED_ROWS_BEHIND.toLocaleString('en')} rows behind each`, path: 'new', stored: 'behind', connections: 1 },
];

interface RunResult {
  path: 'old' | 'new';
  connections: number;
  millis: number;
  appliedMillis: number;
  lockMillis: number;
  cpuMillis: number;
  databaseCpuMillis: number | null;
  rssAddedMiB: number;
  heapAddedMiB: number;
  peakRssMiB: number;
  detected: number;
  spent: number;
}

const load = () =>
  os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(', ');

/**
 * Sets the stored filters as the variant wants them: none, or present and STORED_ROWS_BEHIND rows behind (stored by
 * an unmeasured cold start first when there are none). Lowering a watermark only makes the catch-up read rows the
 * filter holds already.
 */
async function prepareStoredFilters(url: string, variant: Variant): Promise<void> {
  const pool = createPool({ connectionString: url, max: 1 });
  try {
    const count = async () => (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM candidate_filter_snapshots')).rows[0]!.n;
    if (variant.stored === 'none') {
      await pool.query('DELETE FROM candidate_filter_snapshots');
      return;
    }
    if ((await count()) < 2) await runColdStart(url, { ...variant, stored: 'none' });
    if ((await count()) < 2) throw new Error('a cold start stored no filters');
    await pool.query('UPDATE candidate_filter_snapshots SET last_seen_id = last_seen_id - $1', [STORED_ROWS_BEHIND]);
  } finally {
    await pool.end();
  }
}

async function coldStart(url: string, variant: Variant): Promise<RunResult> {
  await prepareStoredFilters(url, variant);
  return runColdStart(url, variant);
}

function runColdStart(url: string, { path, connections }: Variant): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/support/cold-start-run.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: url,
        COLD_START_PATH: path,
        DB_POOL_MAX: String(connections),
        COLD_START_BLOCKS: String(BLOCKS),
        BENCH_PAYMENTS: String(PAYMENTS),
        BENCH_ADDRESSES: String(ADDRESSES),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`the ${path} cold start exited with ${code}`));
      resolve(JSON.parse(output.trim().split('\n').pop()!) as RunResult);
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function main(): Promise<void> {
  const reused = process.env.BENCH_HISTORY_URL;
  if (reused) {
    console.log(
      `the history in ${new URL(reused).pathname.slice(1)}; ${os.cpus().length} cores; Node ${process.version}; load average ${load()}`,
    );
    return measure(reused);
  }
  const db = await openBenchDatabase('bench_cold_start');
  try {
    console.log(`${db.describe}; ${os.cpus().length} cores; Node ${process.version}; load average ${load()}`);
    console.log(`generating ${PAYMENTS.toLocaleString('en')} payment rows and ${ADDRESSES.toLocaleString('en')} addresses…`);
    const started = performance.now();
    const history = await generateHistory(
      db.pool,
      {
        payments: PAYMENTS,
        unspentEvery: 10,
        rolledBackEvery: 50,
        addresses: ADDRESSES,
        tipHeight: 12_000_000n,
        tipSlot: 160_000_000n,
        retainedBlocks: DEFAULT_RETAINED_BLOCKS,
      },
      (line) => console.log(line),
    );
    console.log(
      `history ready in ${((performance.now() - started) / 1000).toFixed(0)} s: ${history.payments.toLocaleString('en')} payments ` +
        `in ${history.partitions} partitions (${history.tableMiB.toFixed(0)} MiB, indexes ${history.indexMiB.toFixed(0)} MiB), ` +
        `${history.unspent.toLocaleString('en')} unspent, ${history.spentWithinWindow.toLocaleString('en')} spent within the ` +
        `rollback window, ${history.rolledBack.toLocaleString('en')} rolled back or reversed; ${history.addresses.toLocaleString('en')} addresses`,
    );

    await measure(db.pool.options.connectionString!);
  } finally {
    await db.close();
  }
}

async function measure(url: string): Promise<void> {
  const results = new Map<Variant, RunResult[]>(VARIANTS.map((variant) => [variant, []]));
  console.log('');
  console.log('run  path  stored  applied  returned  lock held  node CPU  db CPU  RSS added  heap added  detected  spent');
  for (let run = 0; run < REPEAT; run++) {
    // A different order each repetition, so that no variant always follows the same one.
    const order = VARIANTS.map((_, i) => VARIANTS[(i + run) % VARIANTS.length]!);
    for (const variant of order) {
      const result = await coldStart(url, variant);
      results.get(variant)!.push(result);
      if (result.spent !== SPENDS_PER_RUN)
        throw new Error(`the ${variant.path} path marked ${result.spent} of ${SPENDS_PER_RUN} payments spent`);
      console.log(
        `${String(run + 1).padStart(3)}  ${variant.path.padEnd(4)}  ${variant.stored.padStart(6)}  ${ms(result.appliedMillis).padStart(7)}  ` +
          `${ms(result.millis).padStart(8)}  ` +
          `${ms(result.lockMillis).padStart(9)}  ${ms(result.cpuMillis).padStart(8)}  ` +
          `${(result.databaseCpuMillis === null ? '–' : ms(result.databaseCpuMillis)).padStart(6)}  ` +
          `${mib(result.rssAddedMiB).padStart(9)}  ${mib(result.heapAddedMiB).padStart(10)}  ${String(result.detected).padStart(8)}  ${String(result.spent).padStart(5)}`,
      );
    }
  }

  const summary = (variant: Variant) => {
    const runs = results.get(variant)!;
    return {
      millis: median(runs.map((r) => r.millis)),
      appliedMillis: median(runs.map((r) => r.appliedMillis)),
      lockMillis: median(runs.map((r) => r.lockMillis)),
      cpu: median(runs.map((r) => r.cpuMillis)),
      databaseCpu: runs.some((r) => r.databaseCpuMillis === null) ? null : median(runs.map((r) => r.databaseCpuMillis!)),
      rss: median(runs.map((r) => r.rssAddedMiB)),
      heap: median(runs.map((r) => r.heapAddedMiB)),
    };
  };
  console.log('');
  console.log(`medians of ${REPEAT} cold starts each (load average ${load()}):`);
  console.log('');
  console.log(
    '| | first batch applied (committed) | returned (filters stored) | sync lock held | CPU (process) | CPU (database) | RSS added | heap added |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  const row = (label: string, m: ReturnType<typeof summary>) =>
    `| ${label} | ${ms(m.appliedMillis)} | ${ms(m.millis)} | ${ms(m.lockMillis)} | ${ms(m.cpu)} | ${m.databaseCpu === null ? '–' : ms(m.databaseCpu)} | ${mib(m.rss)} | ${mib(m.heap)} |`;
  for (const variant of VARIANTS) console.log(row(variant.label, summary(variant)));
  const fromTables = summary(VARIANTS.find((variant) => variant.path === 'new' && variant.stored === 'none')!);
  const stored = summary(VARIANTS.find((variant) => variant.stored === 'behind')!);
  const ratio = (a: number | null, b: number | null) => (a === null || b === null ? '–' : `${(a / b).toFixed(1)}×`);
  const ratioRow = (label: string, a: ReturnType<typeof summary>, b: ReturnType<typeof summary>) =>
    `| ${label} | ${ratio(a.appliedMillis, b.appliedMillis)} | ${ratio(a.millis, b.millis)} | ${ratio(a.lockMillis, b.lockMillis)} | ${ratio(a.cpu, b.cpu)} | ` +
    `${ratio(a.databaseCpu, b.databaseCpu)} | ${ratio(a.rss, b.rss)} | ${ratio(a.heap, b.heap)} |`;
  if (!SKIP_OLD) console.log(ratioRow('before / stored', summary(VARIANTS[0]!), stored));
  console.log(ratioRow('from the tables / stored', fromTables, stored));
  console.log('');
  const verdict = (m: ReturnType<typeof summary>) =>
    `≤ ${TARGET_SECONDS} s to the first applied batch ${m.appliedMillis <= TARGET_SECONDS * 1000 ? 'met' : 'NOT met'} ` +
    `(${m.millis <= TARGET_SECONDS * 1000 ? 'met' : 'NOT met'} counting the filters stored after it), ` +
    `≤ ${TARGET_MIB} MiB added ${Math.max(m.rss, m.heap) <= TARGET_MIB ? 'met' : 'NOT met'}`;
  console.log(`targets (one connection, the processor's default): a cold start with stored filters: ${verdict(stored)}`);
  console.log(`                                                   the first one from the tables: ${verdict(fromTables)}`);
}

function ms(millis: number): string {
  return millis >= 10_000 ? `${(millis / 1000).toFixed(1)} s` : `${millis.toFixed(0)} ms`;
}

function mib(value: number): string {
  return `${value.toFixed(0)} MiB`;
}

await main();
