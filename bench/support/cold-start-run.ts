/**
 * One cold start, in a process of its own (bench/cold-start.bench.ts starts it): a fresh pool, store and engine,
 * as a processor Lambda has after its init, apply one roll-forward of a few blocks that extend the database's tip.
 * Prints one JSON line: the time from the store's creation to the applied batch (its commit) and to the engine's
 * return (after the filters are stored, when due), how long the engine's transaction
 * (which holds the sync position lock) lasted, the CPU this process and its database backends used (the backends'
 * only when the server runs on this machine), and the memory added (peak RSS and heap above the baseline).
 *
 * The first block spends 10 recorded unspent payments, different in every run (chosen by the tip's height).
 *
 * Environment: DATABASE_URL, COLD_START_PATH (`new` or `old`), DB_POOL_MAX (the pool's connections, 1 as the
 * processor's default), COLD_START_BLOCKS, BENCH_PAYMENTS, BENCH_ADDRESSES.
 */
import { createHash } from 'node:crypto';
import v8 from 'node:v8';
import pg from 'pg';
import type { ChainBlock, ChainTransaction, OutputReference, TransactionOutput } from '../../functions/domain/chain.js';
import { PaymentEngine } from '../../functions/domain/payment-engine.js';
import type { Logger } from '../../functions/domain/ports.js';
import { createPool } from '../../functions/adapters/postgres/pool.js';
import { PostgresPaymentStore } from '../../functions/adapters/postgres/payment-store.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { OldFilterLoadingStore } from './old-candidate-filters.js';

const url = process.env.DATABASE_URL!;
const path = process.env.COLD_START_PATH === 'old' ? 'old' : 'new';
const blockCount = Number(process.env.COLD_START_BLOCKS ?? 3);
const payments = Number(process.env.BENCH_PAYMENTS ?? 10_000_000);
const addresses = Number(process.env.BENCH_ADDRESSES ?? 1_000_000);
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, critical() {} };
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const MiB = 2 ** 20;

const hash = (label: string) => createHash('sha256').update(label).digest('hex');
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** Ten recorded unspent payments: generated row i is one when i % 10 = 3 (cold-start-data.ts, its tx hash and index). */
function unspentPayments(tipHeight: bigint): OutputReference[] {
  return Array.from({ length: 10 }, (_, k) => {
    const i = 3 + 10 * Number(((tipHeight * 10n + BigInt(k)) * 7919n) % BigInt(payments / 10 - 1));
    return { txId: md5(`tx${i}`) + md5(`tx.${i}`), index: i % 3 };
  });
}
let counter = 0;

/** Mainnet-like blocks: 20 transactions of 4 outputs, 1% paying a registered address, 2 inputs each. */
function blocksAfter(tip: { hash: string; height: bigint; slot: bigint }): ChainBlock[] {
  const spends = unspentPayments(tip.height);
  const blocks: ChainBlock[] = [];
  let previous = tip;
  for (let b = 0; b < blockCount; b++) {
    const transactions: ChainTransaction[] = [];
    for (let t = 0; t < 20; t++) {
      const outputs: TransactionOutput[] = Array.from({ length: 4 }, () => ({
        address:
          Math.random() < 0.01
            ? syntheticAddress('mainnet', Math.floor(Math.random() * addresses))
            : syntheticAddress('mainnet', `stranger:${counter++}`),
        lovelace: 1_000_000n + BigInt(Math.floor(Math.random() * 1e9)),
        assets: [],
      }));
      const inputs = [0, 1].map((i) => ({ txId: hash(`elsewhere:${process.pid}:${counter}:${i}`), index: i }));
      transactions.push({ id: hash(`cold-start-tx:${process.pid}:${counter++}`), spends: 'inputs', inputs, collaterals: [], outputs });
    }
    if (b === 0) {
      transactions.push({ id: hash(`cold-start-spend:${process.pid}`), spends: 'inputs', inputs: spends, collaterals: [], outputs: [] });
    }
    const block: ChainBlock = {
      hash: hash(`cold-start-block:${process.pid}:${b}`),
      height: previous.height + 1n,
      slot: previous.slot + 20n,
      ancestor: previous.hash,
      transactions,
    };
    blocks.push(block);
    previous = { hash: block.hash, height: block.height, slot: block.slot! };
  }
  return blocks;
}

// Where the batch starts (read before the measurement, by a client of its own).
const reader = new pg.Client({ connectionString: url });
await reader.connect();
const { rows } = await reader.query<{ hash: string; height: string; slot: string }>(
  'SELECT last_block_hash AS hash, last_block_height::text AS height, last_block_slot::text AS slot FROM sync_state',
);
await reader.end();
const tip = { hash: rows[0]!.hash, height: BigInt(rows[0]!.height), slot: BigInt(rows[0]!.slot) };
const blocks = blocksAfter(tip);
const last = blocks[blocks.length - 1]!;

gc();
const baseline = process.memoryUsage();
const baselineMaxRss = process.resourceUsage().maxRSS * 1024;
let peakRss = baseline.rss;
let peakHeap = baseline.heapUsed;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  peakHeap = Math.max(peakHeap, v8.getHeapStatistics().used_heap_size);
}, 10);

const started = performance.now();
const pool = createPool({ connectionString: url, max: Number(process.env.DB_POOL_MAX ?? 1) });
// The engine's own transaction (plain BEGIN; a filter load outside it begins REPEATABLE READ): how long it holds
// the sync position lock.
let transactionStarted = 0;
let lockMillis = 0;
/** When the engine's transaction committed: the batch is applied then (the filters may be stored after it). */
let committedAt = 0;
const connect = pool.connect.bind(pool) as () => Promise<pg.PoolClient>;
const timed = new Set<pg.PoolClient>();
type ConnectCallback = (error: Error | undefined, client?: pg.PoolClient, done?: (error?: Error) => void) => void;
// Both of pg's forms: a promise, or a callback (pool.query's own, used to store the filters after the batch).
(pool as { connect: (callback?: ConnectCallback) => Promise<pg.PoolClient> | undefined }).connect = (callback?: ConnectCallback) => {
  const connected = timedConnect();
  if (!callback) return connected;
  connected.then(
    (client) => callback(undefined, client, (error) => client.release(error)),
    (error: Error) => callback(error),
  );
  return undefined;
};
async function timedConnect(): Promise<pg.PoolClient> {
  const client = await connect();
  if (timed.has(client)) return client;
  timed.add(client);
  const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
  (client as { query: (...args: unknown[]) => Promise<unknown> }).query = async (...args: unknown[]) => {
    const text = typeof args[0] === 'string' ? args[0] : undefined;
    if (text === 'BEGIN') transactionStarted = performance.now();
    const result = await query(...args);
    if (text === 'COMMIT' && transactionStarted > 0) committedAt = performance.now();
    if ((text === 'COMMIT' || text === 'ROLLBACK') && transactionStarted > 0) {
      lockMillis += performance.now() - transactionStarted;
      transactionStarted = 0;
    }
    return result;
  };
  return client;
}
const store = path === 'old' ? new OldFilterLoadingStore(pool) : new PostgresPaymentStore(pool);
const engine = new PaymentEngine({
  store,
  logger: silent,
  metrics: new InMemoryMetrics(),
  clock: { now: () => new Date() },
  network: 'mainnet',
  confirmations: 15,
});
const cpuBefore = process.cpuUsage();
const outcome = await engine.apply({ type: 'rollForward', blocks, tip: { slot: last.slot!, hash: last.hash, height: last.height } });
const millis = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
clearInterval(sampler);
const end = process.memoryUsage();
// The process's own peak, when it was reached during the run (between two samples).
const maxRss = process.resourceUsage().maxRSS * 1024;
peakRss = Math.max(peakRss, end.rss, maxRss > baselineMaxRss ? maxRss : 0);
peakHeap = Math.max(peakHeap, end.heapUsed);
// The database's CPU for this cold start: its backends', when the server runs on this machine (an embedded one).
const backendCpu = await Promise.all([...timed].map((client) => backendCpuMillis((client as unknown as { processID: number }).processID)));
const databaseCpuMillis = backendCpu.includes(null) ? null : (backendCpu as number[]).reduce((sum, millis) => sum + millis, 0);
await pool.end();

if (outcome.kind !== 'applied') throw new Error(`the batch was not applied: ${JSON.stringify(outcome)}`);
console.log(
  JSON.stringify({
    path,
    connections: timed.size,
    millis,
    appliedMillis: committedAt - started,
    lockMillis,
    cpuMillis: (cpu.user + cpu.system) / 1000,
    databaseCpuMillis,
    rssAddedMiB: (peakRss - baseline.rss) / MiB,
    heapAddedMiB: (peakHeap - baseline.heapUsed) / MiB,
    peakRssMiB: peakRss / MiB,
    blocks: outcome.blocks,
    detected: outcome.detected.length,
    spent: outcome.spent,
  }),
);

/** utime + stime of a local process (Linux), or null when it cannot be read (a remote server). */
async function backendCpuMillis(pid: number): Promise<number | null> {
  try {
    const { readFile } = await import('node:fs/promises');
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime and stime: fields 14 and 15 of the line
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}
