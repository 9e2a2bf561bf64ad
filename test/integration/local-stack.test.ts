import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../functions/local/stack.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { probeReadiness } from '../../functions/adapters/postgres/readiness-probe.js';
import { createPool } from '../../functions/adapters/postgres/pool.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { RecordingLogger } from '../support/recorders.js';

let db: TestDatabase;
let stack: LocalStack;
const logger = new RecordingLogger();
const journal = path.join(tmpdir(), `local-stack-journal-${process.pid}.jsonl`);

const start = () =>
  startLocalStack({
    config: { network: 'preprod', ogmios: 'simulator', confirmations: 3, startPoint: 'origin', healthPort: 0 },
    logger,
    simulatorJournal: journal,
    simulator: { blockTimeMs: 0, initialBlocks: 20, paymentsPerBlock: 1, forks: undefined, transactionsPerBlock: { min: 2, max: 10 } },
  });

beforeAll(async () => {
  db = await createTestDatabase();
  process.env.DATABASE_URL = db.url;
  await rm(journal, { force: true });
  stack = await start();
});
afterAll(async () => {
  await stack?.stop();
  await db.drop();
});

async function until<T>(read: () => Promise<T>, accept: (value: T) => boolean, what: string): Promise<T> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const value = await read();
    if (accept(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const appliedHeight = async () =>
  (await db.pool.query('SELECT last_block_height FROM sync_state')).rows[0].last_block_height as bigint | null;

describe('local stack', () => {
  it('follows the simulated chain from origin, records and confirms payments to the demo addresses', async () => {
    const simulator = stack.simulator!;
    const tip = () => BigInt((simulator.tip() as { height: number }).height);
    await until(appliedHeight, (height) => height === tip(), 'the initial history');
    const { rows } = await db.pool.query(`SELECT status, count(*)::int AS n FROM incoming_payments GROUP BY status`);
    const byStatus = Object.fromEntries(rows.map((row) => [row.status, row.n]));
    expect(byStatus.confirmed).toBeGreaterThan(5);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM user_balances WHERE balance_lovelace > 0')).rows[0].n).toBeGreaterThan(0);

    const ready = await fetch(`http://127.0.0.1:${stack.healthPort}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', lag: 0 });
  });

  it('undoes a rollback and follows the new branch', async () => {
    const simulator = stack.simulator!;
    simulator.produceBlocks(5);
    simulator.rollBack(3);
    const tip = BigInt((simulator.tip() as { height: number }).height);
    await until(appliedHeight, (height) => height === tip, 'the new branch');
    expect(logger.events('rollback').length).toBeGreaterThan(0);
    const chain = simulator.chain();
    const { rows } = await db.pool.query<{ hash: string }>('SELECT hash FROM blocks ORDER BY height DESC LIMIT 5');
    expect(rows.map((row) => row.hash)).toEqual(
      chain
        .slice(-5)
        .reverse()
        .map((block) => block.id),
    );
  });

  it('picks up an address inserted directly into payment_addresses while it runs', async () => {
    const simulator = stack.simulator!;
    const address = syntheticAddress('preprod', 'inserted-by-sql');
    await db.pool.query(`INSERT INTO payment_addresses (address, reference_type, reference_id) VALUES ($1, 'invoice', 'SQL-1')`, [address]);
    simulator.queuePayment({ address, lovelace: 42_000_000n });
    simulator.produceBlocks(1);
    const found = await until(
      async () => (await db.pool.query('SELECT amount_lovelace FROM incoming_payments WHERE address = $1', [address])).rows,
      (rows) => rows.length === 1,
      'the payment to the SQL-registered address',
    );
    expect(found[0].amount_lovelace).toBe(42_000_000n);
  });

  it('resumes after a restart on the same chain, losing and doubling nothing', async () => {
    const tipHeight = (stack.simulator!.tip() as { height: number }).height;
    await stack.stop();
    stack = await start();
    const simulator = stack.simulator!;
    expect((simulator.tip() as { height: number }).height).toBe(tipHeight);
    const paid = new Set<string>();
    simulator.on('block', (block) => {
      for (const payment of block.payments) paid.add(`${payment.txId}#${payment.index}`);
    });
    simulator.produceBlocks(6);
    const tip = BigInt((simulator.tip() as { height: number }).height);
    await until(appliedHeight, (height) => height === tip, 'the blocks produced after the restart');
    const { rows: duplicates } = await db.pool.query(
      `SELECT tx_hash, output_index FROM incoming_payments WHERE status IN ('pending', 'confirmed')
        GROUP BY tx_hash, output_index HAVING count(*) > 1`,
    );
    expect(duplicates).toEqual([]);
    const { rows } = await db.pool.query<{ key: string }>(`SELECT tx_hash || '#' || output_index AS key FROM incoming_payments`);
    const recorded = new Set(rows.map((row) => row.key));
    expect(paid.size).toBeGreaterThan(0);
    for (const payment of paid) expect(recorded.has(payment), payment).toBe(true);
    const chain = simulator.chain();
    const { rows: blocks } = await db.pool.query<{ hash: string }>('SELECT hash FROM blocks ORDER BY height DESC LIMIT 10');
    expect(blocks.map((row) => row.hash)).toEqual(
      chain
        .slice(-10)
        .reverse()
        .map((block) => block.id),
    );
  });

  it('stops when stopped at once, while its follower is still choosing where to start', async () => {
    await stack.stop();
    // Before: the follower loop made its client after stop() had run, and that client followed on for ever.
    const again = await start();
    stack = again;
    await again.stop();
    stack = undefined as unknown as LocalStack; // stopped: nothing for afterAll to stop
  }, 180_000); // a stop, a start and a stop: beforeAll's start alone is given 120 s on a loaded machine

  it('answers not ready when the database is unreachable', async () => {
    const dead = createPool({ connectionString: 'postgres://nobody:x@127.0.0.1:1/none', max: 1 });
    try {
      expect(await probeReadiness(dead, () => 10n)).toEqual({ ready: false, status: 'not_ready', reason: 'database_unreachable' });
    } finally {
      await dead.end();
    }
  });
});
