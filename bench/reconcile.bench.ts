/**
 * npm run bench:reconcile — a full reconciliation of 1,000,000 registered addresses (BENCH_ADDRESSES) against the
 * simulator's ledger, in two distributions, each with a database and a simulator of its own:
 *
 * - uniform: a UTxO for every 10th address (BENCH_PAID_EVERY), each recorded in the database as a confirmed
 *   payment (but three, deleted to show up as missing_in_db);
 * - skewed: the same, plus three heavy addresses registered first: 120,000 UTxOs recorded (over the 50,000 a chunk
 *   holds: unjudged from the database's count), 120,000 UTxOs the database does not hold (registered after they
 *   were paid: unjudged once the node's answer for it alone exceeds 16 MiB, after halving its chunk), and 40,000
 *   recorded (judged, in a chunk of its own size).
 *
 * The simulator and the reconciliation run in processes of their own; the figures are the reconciliation's:
 * addresses/s, total time, peak RSS and heap. Targets: ≤ 10 minutes, ≤ 512 MB. BENCH_DISTRIBUTIONS picks them
 * (default "uniform,skewed").
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { syntheticAddress } from '../functions/local/synthetic/addresses.js';
import { openBenchDatabase } from './support/bench-database.js';

const ADDRESSES = Number(process.env.BENCH_ADDRESSES ?? 1_000_000);
const PAYMENTS_FILE = '.data/bench-reconcile-payments.ndjson';
const MISSING = 3;

interface HeavyAddress {
  seed: string;
  outputs: number;
  /** Whether the database holds its payments. */
  recorded: boolean;
}

const DISTRIBUTIONS: Record<string, HeavyAddress[]> = {
  uniform: [],
  skewed: [
    { seed: 'bench-heavy-recorded', outputs: 120_000, recorded: true },
    { seed: 'bench-heavy-unrecorded', outputs: 120_000, recorded: false },
    { seed: 'bench-heavy-judged', outputs: 40_000, recorded: true },
  ],
};

const results: string[] = [];
for (const name of (process.env.BENCH_DISTRIBUTIONS ?? 'uniform,skewed').split(',')) {
  const heavy = DISTRIBUTIONS[name];
  if (heavy === undefined) throw new Error(`unknown distribution ${name}; known: ${Object.keys(DISTRIBUTIONS).join(', ')}`);
  console.log(`\n== ${name} ==`);
  results.push(`${name}: ${await runDistribution(name, heavy)}`);
}
console.log('');
for (const line of results) console.log(line);

async function runDistribution(name: string, heavy: readonly HeavyAddress[]): Promise<string> {
  const db = await openBenchDatabase(`bench_reconcile_${name}`);
  console.log(`database: ${db.describe}`);
  const simulator = spawn(process.execPath, ['--import', 'tsx', 'bench/support/reconcile-simulator.ts'], {
    env: { ...process.env, BENCH_ADDRESSES: String(ADDRESSES), BENCH_PAYMENTS_FILE: PAYMENTS_FILE, BENCH_HEAVY: JSON.stringify(heavy) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let phase = performance.now();
    // Registered addresses, in bulk (unnest), bypassing validation: the same synthetic addresses the chain pays,
    // the heavy ones first (the run must still judge everything after them).
    const heavyAddresses = heavy.map((entry) => syntheticAddress('mainnet', entry.seed));
    for (let from = 0; from < ADDRESSES; from += 50_000) {
      const batch = Array.from({ length: Math.min(50_000, ADDRESSES - from) }, (_, i) => syntheticAddress('mainnet', from + i));
      await db.pool.query(
        `INSERT INTO payment_addresses (address, reference_type, reference_id, user_id)
         SELECT address, 'deposit', 'ref-' || ordinality, NULL FROM unnest($1::text[]) WITH ORDINALITY AS a(address, ordinality)`,
        [from === 0 ? [...heavyAddresses, ...batch] : batch],
      );
    }
    console.log(
      `registered ${(ADDRESSES + heavy.length).toLocaleString('en')} addresses in ${((performance.now() - phase) / 1000).toFixed(1)} s`,
    );

    phase = performance.now();
    const announced = await firstLine(simulator.stdout!);
    const { url, tip } = JSON.parse(announced) as { url: string; tip: { slot: number; id: string; height: number } };
    console.log(`simulator ready in ${((performance.now() - phase) / 1000).toFixed(1)} s at height ${tip.height}`);

    phase = performance.now();
    const unrecorded = new Set(heavy.filter((entry) => !entry.recorded).map((entry) => syntheticAddress('mainnet', entry.seed)));
    let payments = 0;
    let rows: Record<string, unknown>[] = [];
    const insert = async () => {
      if (rows.length === 0) return;
      await db.pool.query(
        `INSERT INTO incoming_payments (tx_hash, output_index, address, amount_lovelace, reference_type, reference_id,
                                        block_height, block_slot, block_hash, block_time, status, confirmed_at)
         SELECT p.tx, p.index, p.address, p.lovelace, 'deposit', 'ref', p.height, p.slot, p.hash, now(), 'confirmed', now()
           FROM jsonb_to_recordset($1::jsonb) AS p(tx text, index integer, address text, lovelace bigint, height bigint, slot bigint, hash text)`,
        [JSON.stringify(rows)],
      );
      rows = [];
    };
    for await (const line of createInterface({ input: createReadStream(PAYMENTS_FILE) })) {
      if (line === '') continue;
      const row = JSON.parse(line) as Record<string, unknown>;
      if (unrecorded.has(row.address as string)) continue;
      payments++;
      rows.push(row);
      if (rows.length === 20_000) await insert();
    }
    await insert();
    await db.pool.query(`DELETE FROM incoming_payments WHERE id IN (SELECT id FROM incoming_payments ORDER BY id LIMIT ${MISSING})`);
    await db.pool.query(
      'UPDATE sync_state SET last_block_height = $1, last_block_slot = $2, last_block_hash = $3, network_tip_height = $1',
      [tip.height, tip.slot, tip.id],
    );
    // As a database that followed the chain from its start (every payment recorded): nothing predates watching, so
    // the run measures the comparison, not the one-time reading of openings (migration 0014).
    await db.pool.query('UPDATE address_watch SET opening_height = -1, opening_exact = true, opening_outputs = 0, opening_read_at = now()');
    await db.pool.query('ANALYZE');
    console.log(
      `recorded ${payments.toLocaleString('en')} confirmed payments in ${((performance.now() - phase) / 1000).toFixed(1)} s (${MISSING} then deleted)`,
    );

    const runner = spawn(process.execPath, ['--import', 'tsx', 'bench/support/reconcile-run.ts'], {
      env: { ...process.env, DATABASE_URL: db.pool.options.connectionString!, OGMIOS_URL: url },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const result = JSON.parse(await firstLine(runner.stdout!)) as {
      seconds: number;
      peakRssMiB: number;
      peakHeapMiB: number;
      run: Record<string, unknown>;
    };
    const { run } = result;
    const addresses = ADDRESSES + heavy.length;
    console.log(
      `reconciliation: ${addresses.toLocaleString('en')} addresses in ${result.seconds.toFixed(1)} s = ${Math.round(addresses / result.seconds).toLocaleString('en')} addresses/s`,
    );
    console.log(
      `peak RSS of the reconciliation process: ${result.peakRssMiB.toFixed(0)} MiB, peak heap used (sampled): ${result.peakHeapMiB.toFixed(0)} MiB`,
    );
    console.log(
      `chunk size ${process.env.RECONCILIATION_CHUNK_SIZE ?? 1000}: ${String(run.chunks)} chunks (${String(run.lagging_chunks)} lagging), ${String(run.unjudged_addresses)} addresses unjudged`,
    );
    console.log(
      `matched ${String(run.matched)}, missing_in_db ${String(run.missing_in_db)}, extra_in_db ${String(run.extra_in_db)}, amount ${String(run.amount_mismatch)}, asset ${String(run.asset_mismatch)}, too recent ${String(run.too_recent)}, balance mismatches ${String(run.balance_mismatches)}`,
    );
    const targets = `targets: ≤ 600 s ${result.seconds <= 600 ? 'met' : 'NOT met'}, ≤ 512 MB ${result.peakRssMiB * 1024 * 1024 <= 512 * 1e6 ? 'met' : 'NOT met'}`;
    console.log(targets);
    return `${result.seconds.toFixed(1)} s, peak RSS ${result.peakRssMiB.toFixed(0)} MiB, peak heap ${result.peakHeapMiB.toFixed(0)} MiB, ${String(run.chunks)} chunks, matched ${String(run.matched)}, missing_in_db ${String(run.missing_in_db)}, unjudged ${String(run.unjudged_addresses)}; ${targets}`;
  } finally {
    simulator.kill('SIGTERM');
    await db.close();
  }
}

function firstLine(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    stream.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const end = buffered.indexOf('\n');
      if (end >= 0) resolve(buffered.slice(0, end));
    });
    stream.on('end', () => reject(new Error('the child process ended without an answer')));
  });
}
