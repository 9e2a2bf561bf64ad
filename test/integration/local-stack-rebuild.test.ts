/**
 * Rebuild in the local stack: the simulator's chain followed into PostgreSQL, a rebuild from the CLI, the stack
 * started again on the same chain (its journal): it re-derives from the rebuild point, and payments, ledger and
 * balances end exactly as they were.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startLocalStack, type LocalStack } from '../../functions/local/stack.js';
import { runCli } from '../../functions/local/cli/main.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { RecordingLogger } from '../support/recorders.js';

let db: TestDatabase;
let stack: LocalStack | undefined;
const journal = path.join(tmpdir(), `local-stack-rebuild-journal-${process.pid}.jsonl`);
let previousUrl: string | undefined;

const start = (logger: RecordingLogger) =>
  startLocalStack({
    config: { network: 'preprod', ogmios: 'simulator', confirmations: 3, startPoint: 'origin', healthPort: 0 },
    logger,
    simulatorJournal: journal,
    simulator: { blockTimeMs: 0, initialBlocks: 400, paymentsPerBlock: 1, forks: undefined, transactionsPerBlock: { min: 2, max: 6 } },
  });

beforeAll(async () => {
  db = await createTestDatabase();
  previousUrl = process.env.DATABASE_URL;
  process.env.DATABASE_URL = db.url;
  vi.stubEnv('NETWORK', 'preprod'); // the CLI's, like the stack's: the database holds preprod data
  await rm(journal, { force: true });
});
afterAll(async () => {
  await stack?.stop();
  process.env.DATABASE_URL = previousUrl;
  vi.unstubAllEnvs();
  await db.drop();
  await rm(journal, { force: true });
});

async function until<T>(read: () => Promise<T>, accept: (value: T) => boolean, what: string): Promise<T> {
  for (let attempt = 0; attempt < 800; attempt++) {
    const value = await read();
    if (accept(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const appliedHeight = async () =>
  (await db.pool.query('SELECT last_block_height FROM sync_state')).rows[0].last_block_height as bigint | null;

async function tables() {
  const rows = async (sql: string) => (await db.pool.query(sql)).rows;
  return {
    payments: await rows('SELECT * FROM incoming_payments ORDER BY id'),
    ledger: await rows('SELECT * FROM balance_transactions ORDER BY id'),
    balances: await rows('SELECT * FROM user_balances ORDER BY user_id'),
    tokenBalances: await rows('SELECT * FROM user_asset_balances ORDER BY user_id, asset'),
    addresses: await rows('SELECT * FROM payment_addresses ORDER BY id'),
  };
}

describe('rebuild in the local stack', () => {
  it('re-derives from the rebuild point when the stack follows again: payments, ledger and balances identical', async () => {
    const logger = new RecordingLogger();
    stack = await start(logger);
    const simulator = stack.simulator!;
    simulator.produceBlocks(6);
    simulator.rollBack(4); // a fork in the history: rolled back rows stay as they are
    simulator.produceBlocks(6);
    const tip = BigInt((simulator.tip() as { height: number }).height);
    await until(appliedHeight, (height) => height === tip, 'the simulated history');
    const chain = simulator.chain();
    await stack.stop();
    stack = undefined;
    const before = await tables();
    expect(before.payments.filter((row) => row.status === 'confirmed').length).toBeGreaterThan(100);

    const point = chain[120]!;
    const output: string[] = [];
    expect(await runCli(['rebuild', '--slot', String(point.slot), '--actor', 'test:operator'], (text) => output.push(text))).toBe(0);
    expect(output[0]).toMatch(/^Rebuild 1 started from \d+\.[0-9a-f]{64} \(height \d+/);
    expect(await appliedHeight()).toBeLessThanOrEqual(BigInt(point.height));
    const status: string[] = [];
    await runCli(['status'], (text) => status.push(text));
    expect(status.find((line) => line.startsWith('rebuild'))).toMatch(
      /run 1 running: height \d+ of \d+ \(from \d+\), 0%, \d+ payments held/,
    );
    expect((await tables()).payments.length).toBeLessThan(before.payments.length);

    const again = new RecordingLogger();
    stack = await start(again);
    await until(appliedHeight, (height) => height === tip, 'the re-derived chain');
    await until(
      async () => (await db.pool.query(`SELECT status FROM rebuild_runs WHERE id = 1`)).rows[0].status,
      (s) => s === 'completed',
      'the rebuild to complete',
    );
    const after = await tables();
    expect(after.payments).toEqual(before.payments);
    expect(after.ledger).toEqual(before.ledger);
    expect(after.balances).toEqual(before.balances);
    expect(after.addresses).toEqual(before.addresses);
    expect(again.events('rebuild_completed')).toHaveLength(1);
    const ready = await fetch(`http://127.0.0.1:${stack.healthPort}/health/ready`);
    expect(await ready.json()).toMatchObject({ status: 'ready' });
  });
});
