/**
 * npm run bench:reconcile — a full reconciliation of 1,000,000 registered addresses (BENCH_ADDRESSES) against the
 * simulator's ledger, which holds a UTxO for every 10th of them (BENCH_PAID_EVERY), each recorded in the database
 * as a confirmed payment (but three, deleted to show up as missing_in_db). The simulator and the reconciliation
 * run in processes of their own; the figures are the reconciliation's: addresses/s, total time, peak RSS.
 * Targets: ≤ 10 minutes, ≤ 512 MB.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { syntheticAddress } from '../functions/local/synthetic/addresses.js';
import { openBenchDatabase } from './support/bench-database.js';

const ADDRESSES = Number(process.env.BENCH_ADDRESSES ?? 1_000_000);
const PAYMENTS_FILE = '.data/bench-reconcile-payments.ndjson';
const MISSING = 3;

const db = await openBenchDatabase('bench_reconcile');
console.log(`database: ${db.describe}`);
const simulator = spawn(process.execPath, ['--import', 'tsx', 'bench/support/reconcile-simulator.ts'], {
  env: { ...process.env, BENCH_ADDRESSES: String(ADDRESSES), BENCH_PAYMENTS_FILE: PAYMENTS_FILE },
  stdio: ['ignore', 'pipe', 'inherit'],
});
try {
  let phase = performance.now();
  // Registered addresses, in bulk (unnest), bypassing validation: the same synthetic addresses the chain pays.
  for (let from = 0; from < ADDRESSES; from += 50_000) {
    const batch = Array.from({ length: Math.min(50_000, ADDRESSES - from) }, (_, i) => syntheticAddress('mainnet', from + i));
    await db.pool.query(
      `INSERT INTO payment_addresses (address, reference_type, reference_id, user_id)
       SELECT address, 'deposit', 'ref-' || ordinality, NULL FROM unnest($1::text[]) WITH ORDINALITY AS a(address, ordinality)`,
      [batch],
    );
  }
  console.log(`registered ${ADDRESSES.toLocaleString('en')} addresses in ${((performance.now() - phase) / 1000).toFixed(1)} s`);

  phase = performance.now();
  const announced = await firstLine(simulator.stdout!);
  const { url, tip } = JSON.parse(announced) as { url: string; tip: { slot: number; id: string; height: number } };
  console.log(`simulator ready in ${((performance.now() - phase) / 1000).toFixed(1)} s at height ${tip.height}`);

  phase = performance.now();
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
    payments++;
    rows.push(JSON.parse(line) as Record<string, unknown>);
    if (rows.length === 20_000) await insert();
  }
  await insert();
  await db.pool.query(
    `DELETE FROM incoming_payments WHERE id IN (SELECT id FROM incoming_payments ORDER BY id LIMIT ${MISSING})`,
  );
  await db.pool.query('UPDATE sync_state SET last_block_height = $1, last_block_slot = $2, last_block_hash = $3, network_tip_height = $1', [tip.height, tip.slot, tip.id]);
  await db.pool.query('ANALYZE');
  console.log(`recorded ${payments.toLocaleString('en')} confirmed payments in ${((performance.now() - phase) / 1000).toFixed(1)} s (${MISSING} then deleted)`);

  const runner = spawn(process.execPath, ['--import', 'tsx', 'bench/support/reconcile-run.ts'], {
    env: { ...process.env, DATABASE_URL: db.pool.options.connectionString!, OGMIOS_URL: url },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const result = JSON.parse(await firstLine(runner.stdout!)) as { seconds: number; peakRssMiB: number; run: Record<string, unknown> };
  const { run } = result;
  console.log('');
  console.log(`reconciliation: ${ADDRESSES.toLocaleString('en')} addresses in ${result.seconds.toFixed(1)} s = ${Math.round(ADDRESSES / result.seconds).toLocaleString('en')} addresses/s`);
  console.log(`peak RSS of the reconciliation process: ${result.peakRssMiB.toFixed(0)} MiB`);
  console.log(`chunk size ${process.env.RECONCILIATION_CHUNK_SIZE ?? 1000}: ${String(run.chunks)} chunks (${String(run.lagging_chunks)} lagging)`);
  console.log(`matched ${String(run.matched)}, missing_in_db ${String(run.missing_in_db)}, extra_in_db ${String(run.extra_in_db)}, amount ${String(run.amount_mismatch)}, asset ${String(run.asset_mismatch)}, too recent ${String(run.too_recent)}, balance mismatches ${String(run.balance_mismatches)}`);
  console.log(`targets: ≤ 600 s ${result.seconds <= 600 ? 'met' : 'NOT met'}, ≤ 512 MB ${result.peakRssMiB <= 512 ? 'met' : 'NOT met'}`);
} finally {
  simulator.kill('SIGTERM');
  await db.close();
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
