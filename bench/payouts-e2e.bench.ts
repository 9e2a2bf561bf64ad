/**
 * npm run bench:payouts-e2e — payouts per second end to end through the local stack: requested over HTTP
 * (`POST /v1/payouts`, approved by the policy), built, signed with the file key, submitted to the simulator (which
 * validates the signed transaction against its ledger), seen in a block by the follower and the engine, confirmed.
 * Blocks are produced as soon as the stack is ready for them (no block time), so the figure is the monitor's own
 * work, not the chain's pace. CONFIRMATIONS 3.
 *
 * Two ways in one run, compared as a ratio: **batched** (BENCH_BATCH payouts requested at once, one transaction
 * carries them all) and **one by one** (each payout requested after the previous one is confirmed, one transaction
 * each). BENCH_BATCHES (default 3) batches of BENCH_BATCH (default 100); BENCH_SINGLES (default 20) one by one.
 * DATABASE_URL: a server to use instead of an embedded PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalStack, type LocalStack } from '../functions/local/stack.js';
import { syntheticAddress } from '../functions/local/synthetic/addresses.js';
import { openBenchDatabase } from './support/bench-database.js';

const BATCH = Number(process.env.BENCH_BATCH ?? 100);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 3);
const SINGLES = Number(process.env.BENCH_SINGLES ?? 20);
const CONFIRMATIONS = 3;
const ADMIN_KEY = `bench-payouts-admin-${randomUUID()}`;
const silent = { debug() {}, info() {}, warn() {}, error() {}, critical() {} };

const database = await openBenchDatabase('bench_payouts_e2e');
process.env.DATABASE_URL = database.pool.options.connectionString;
const scratch = path.join(tmpdir(), `bench-payouts-e2e-${process.pid}`);
let stack: LocalStack | undefined;
try {
  stack = await startLocalStack({
    config: {
      network: 'preprod',
      ogmios: 'simulator',
      confirmations: CONFIRMATIONS,
      startPoint: 'origin',
      healthPort: 0,
      apiPort: 0,
      bootstrapApiKey: ADMIN_KEY,
      // Every payout approved by the policy: the benchmark is the way to the chain, not the approval.
      payouts: { maxLovelace: 10n ** 12n, dailyLimitLovelace: 10n ** 15n, approvalThresholdLovelace: 10n ** 12n },
      payoutExecution: { keyFile: path.join(scratch, 'hot.key'), validitySeconds: 3600, resubmitAfterSeconds: 3600 },
    },
    logger: silent,
    simulatorJournal: path.join(scratch, 'journal.jsonl'),
    webhookKeyFile: path.join(scratch, 'webhook.key'),
    // The processor runs when the benchmark says (runNow), not on its own 2-s timer: a batch is one run.
    payoutIntervalMs: 3_600_000,
    simulator: { blockTimeMs: 0, initialBlocks: 20, paymentsPerBlock: 0, forks: undefined, transactionsPerBlock: { min: 1, max: 3 } },
  });
  const running = stack;
  const api = `http://127.0.0.1:${running.apiPort}`;
  const chain = running.simulator!;

  const count = async (sql: string): Promise<number> => Number((await running.pool.query<{ n: string }>(sql)).rows[0]!.n);
  /** Polls the database until the condition holds (what the stack has done, never a time). */
  const until = async (sql: string, done: (n: number) => boolean): Promise<void> => {
    while (!done(await count(sql))) await new Promise((resolve) => setTimeout(resolve, 2));
  };
  const confirmedCount = () => count(`SELECT count(*) AS n FROM payouts WHERE status = 'confirmed'`);
  /** Blocks until every submitted payout is confirmed: one to carry them, then the confirmations. */
  const confirmSubmitted = async (expectedConfirmed: number): Promise<void> => {
    chain.produceBlocks(1);
    await until(`SELECT count(*) AS n FROM payouts WHERE status = 'submitted'`, (n) => n === 0);
    for (let i = 1; i < CONFIRMATIONS; i++) {
      chain.produceBlocks(1);
      await running.settled();
    }
    await until(`SELECT count(*) AS n FROM payouts WHERE status = 'confirmed'`, (n) => n >= expectedConfirmed);
  };

  // The demo hot wallet's coins: ten outputs of 2,000 ADA, spendable once confirmed.
  chain.produceBlocks(1);
  await until(`SELECT count(*) AS n FROM incoming_payments WHERE reference_type = 'hot_wallet'`, (n) => n >= 10);
  chain.produceBlocks(CONFIRMATIONS);
  await until(`SELECT count(*) AS n FROM incoming_payments WHERE reference_type = 'hot_wallet' AND status = 'confirmed'`, (n) => n >= 10);

  let requested = 0;
  const request = async (): Promise<void> => {
    requested++;
    const response = await fetch(`${api}/v1/payouts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({
        reference_id: `bench-${requested}`,
        destination: syntheticAddress('preprod', `bench-destination-${requested % 50}`),
        amount: { lovelace: String(1_000_000 + requested) },
      }),
    });
    if (response.status !== 201) throw new Error(`POST /v1/payouts answered ${response.status}: ${await response.text()}`);
  };

  const batched: number[] = [];
  for (let batch = 0; batch < BATCHES; batch++) {
    const before = await confirmedCount();
    const started = performance.now();
    for (let i = 0; i < BATCH; i++) await request();
    await running.payouts.runNow();
    await confirmSubmitted(before + BATCH);
    batched.push(BATCH / ((performance.now() - started) / 1000));
  }

  const singlesStarted = performance.now();
  for (let i = 0; i < SINGLES; i++) {
    const before = await confirmedCount();
    await request();
    await running.payouts.runNow();
    await confirmSubmitted(before + 1);
  }
  const single = SINGLES / ((performance.now() - singlesStarted) / 1000);

  const transactions = await count(`SELECT count(*) AS n FROM payout_attempts WHERE status = 'confirmed'`);
  const median = [...batched].sort((a, b) => a - b)[Math.floor(batched.length / 2)]!;
  console.log(`payouts end to end through the local stack (${database.describe}; CONFIRMATIONS ${CONFIRMATIONS}, blocks on demand)`);
  console.log(
    `  batched, ${BATCH} per transaction: ${batched.map((rate) => rate.toFixed(1)).join(', ')} payouts/s (median ${median.toFixed(1)})`,
  );
  console.log(`  one by one, a transaction each:   ${single.toFixed(1)} payouts/s (${SINGLES} payouts)`);
  console.log(
    `  batched / one by one: ${(median / single).toFixed(1)}×; ${transactions} transactions confirmed for ${await confirmedCount()} payouts`,
  );
} finally {
  await stack?.stop();
  await database.close();
  await rm(scratch, { recursive: true, force: true });
}
