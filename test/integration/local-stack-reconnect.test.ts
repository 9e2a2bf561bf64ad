/**
 * The local stack reconciles the monitored addresses by itself after the Ogmios connection comes back from an
 * outage (here: the simulator drops every connection), one run at a time, without holding up the following.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startLocalStack, type LocalStack } from '../../functions/local/stack.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { RecordingLogger } from '../support/recorders.js';

let db: TestDatabase;
let stack: LocalStack;
const logger = new RecordingLogger();
const journal = path.join(tmpdir(), `local-stack-reconnect-journal-${process.pid}.jsonl`);

beforeAll(async () => {
  db = await createTestDatabase();
  vi.stubEnv('DATABASE_URL', db.url);
  await rm(journal, { force: true });
  stack = await startLocalStack({
    config: { network: 'preprod', ogmios: 'simulator', confirmations: 3, startPoint: 'origin', healthPort: 0 },
    logger,
    simulatorJournal: journal,
    simulator: { blockTimeMs: 0, initialBlocks: 20, paymentsPerBlock: 1, forks: undefined, transactionsPerBlock: { min: 2, max: 10 } },
  });
});
afterAll(async () => {
  await stack?.stop();
  vi.unstubAllEnvs();
  await db.drop();
  await rm(journal, { force: true });
});

const runs = async () =>
  (
    await db.pool.query<{ trigger: string; status: string; addresses: bigint; missing_in_db: bigint; extra_in_db: bigint }>(
      'SELECT trigger, status, addresses, missing_in_db, extra_in_db FROM reconciliation_runs ORDER BY id',
    )
  ).rows;

describe('local stack after an Ogmios outage', () => {
  it('runs a reconciliation of the monitored addresses once the connection is back', async () => {
    const simulator = stack.simulator!;
    const tip = () => BigInt((simulator.tip() as { height: number }).height);
    await vi.waitFor(
      async () => expect((await db.pool.query('SELECT last_block_height FROM sync_state')).rows[0].last_block_height).toBe(tip()),
      { timeout: 20_000, interval: 25 },
    );
    expect(await runs()).toEqual([]); // the first connection is no reconnect

    expect(simulator.dropConnections()).toBeGreaterThan(0);
    simulator.produceBlocks(2); // payments made while the follower was away

    await vi.waitFor(async () => expect(await runs()).toEqual([expect.objectContaining({ trigger: 'reconnect', status: 'completed' })]), {
      timeout: 30_000,
      interval: 100,
    });
    const [run] = await runs();
    // the four demo addresses and the hot wallet's (the payout signer's)
    expect(run).toMatchObject({ addresses: 5n, missing_in_db: 0n, extra_in_db: 0n });
    expect(logger.events('reconnect_reconciliation_triggered')).toHaveLength(1);
  });
});
