/**
 * A database holds one network's data (migration 0012, adapters/postgres/network-record.ts): the first process that
 * follows or registers records the network, and every process configured for another is refused before it writes,
 * locally (the stack, the CLI: first-try-cli.test.ts runs them as processes) and on AWS (the follower's session,
 * the processor's cold start).
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { SQSEvent } from 'aws-lambda';
import { checkNetwork, claimNetwork } from '../../functions/adapters/postgres/network-record.js';
import { PostgresFollowerDatabase } from '../../functions/adapters/postgres/follower-database.js';
import { NetworkMismatchError } from '../../functions/domain/network-record.js';
import { startLocalStack } from '../../functions/local/stack.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { databasesDroppedAfterAll, type TestDatabase } from '../support/database.js';
import { lambdaContext, captureOutput } from '../support/local-aws.js';
import { RecordingLogger } from '../support/recorders.js';
import { sqsRecord } from '../support/sqs-records.js';

const database = databasesDroppedAfterAll();
afterAll(() => {
  vi.unstubAllEnvs();
});

const recorded = async (db: TestDatabase) => (await db.pool.query('SELECT network FROM sync_state')).rows[0].network as string | null;

describe('the network record', () => {
  it('is written by the first claim only; a check never writes; another network is refused with both names', async () => {
    const db = await database();
    expect(await checkNetwork(db.pool, 'preview')).toBeNull();
    expect(await recorded(db)).toBeNull();
    await claimNetwork(db.pool, 'preview');
    await claimNetwork(db.pool, 'preview');
    expect(await recorded(db)).toBe('preview');
    const refusal = await claimNetwork(db.pool, 'preprod', { advice: 'use the other one' }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(NetworkMismatchError);
    expect((refusal as Error).message).toBe(
      'This database holds preview data (recorded when it was first used), but NETWORK is preprod. Set NETWORK=preview to use it, ' +
        'or use the other one. Nothing was changed.',
    );
    await expect(checkNetwork(db.pool, 'mainnet')).rejects.toThrow(
      /holds preview data .* NETWORK is mainnet\. Set NETWORK=preview to use it, or give mainnet a database of its own/,
    );
    expect(await recorded(db)).toBe('preview');
  });

  it('without a record, the first registered address judges: a test address fits preprod and preview, not mainnet; a placeholder proves nothing', async () => {
    const db = await database();
    await db.pool.query(`INSERT INTO payment_addresses (address, reference_type, reference_id) VALUES ($1, 'order', 'O-1')`, [
      syntheticAddress('preprod', 'network-record'),
    ]);
    await expect(claimNetwork(db.pool, 'mainnet')).rejects.toThrow(
      /^This database holds preprod or preview data \(its first registered address, addr_test1\S+, is a preprod or preview address\), but NETWORK is mainnet\. Set NETWORK to preprod or preview to use it/,
    );
    expect(await recorded(db)).toBeNull();
    await claimNetwork(db.pool, 'preview');
    expect(await recorded(db)).toBe('preview');

    const placeholder = await database();
    await placeholder.pool.query(`INSERT INTO payment_addresses (address, reference_type, reference_id) VALUES ('addr_x', 'order', 'O-1')`);
    await claimNetwork(placeholder.pool, 'mainnet');
    expect(await recorded(placeholder)).toBe('mainnet');
  });

  it("the follower's session on another network's database fails before it fences; on its own it records and fences", async () => {
    const db = await database();
    await db.pool.query(`UPDATE sync_state SET network = 'mainnet'`);
    await expect(new PostgresFollowerDatabase(db.pool, { network: 'preprod' }).beginSession(5n)).rejects.toThrow(NetworkMismatchError);
    expect((await db.pool.query('SELECT fence_token::int AS fence FROM sync_state')).rows[0].fence).toBe(0);
    await new PostgresFollowerDatabase(db.pool, { network: 'mainnet' }).beginSession(5n);
    expect((await db.pool.query('SELECT fence_token::int AS fence FROM sync_state')).rows[0].fence).toBe(5);

    const fresh = await database();
    await new PostgresFollowerDatabase(fresh.pool, { network: 'preprod' }).beginSession(1n);
    expect(await recorded(fresh)).toBe('preprod');
  });

  it("the processor's cold start refuses another network's database: the batch fails, nothing is applied", async () => {
    const db = await database();
    await db.pool.query(`UPDATE sync_state SET network = 'mainnet'`);
    vi.resetModules();
    vi.stubEnv('STAGE', 'test');
    vi.stubEnv('NETWORK', 'preprod');
    vi.stubEnv('DATABASE_URL', db.url);
    const { handler } = await import('../../functions/handlers/processor.js');
    const event: SQSEvent = { Records: [sqsRecord('message-1', '{}')] };
    const invoked = await captureOutput(() => handler(event, lambdaContext('processor')).catch((error: unknown) => error));
    // By name: the handler was imported afresh, with its own copy of the domain's classes.
    expect((invoked.result as Error).name).toBe('NetworkMismatchError');
    expect((invoked.result as Error).message).toMatch(/holds mainnet data .* NETWORK is preprod/);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM pipeline_recoveries')).rows[0].n).toBe(0);
    vi.unstubAllEnvs();
  });

  it('npm start records its network on first start and refuses another one on the next', { timeout: 180_000 }, async () => {
    const db = await database();
    const journal = path.join(tmpdir(), `network-record-journal-${process.pid}.jsonl`);
    await rm(journal, { force: true });
    vi.stubEnv('DATABASE_URL', db.url);
    const start = (network: 'preprod' | 'mainnet') =>
      startLocalStack({
        config: { network, ogmios: 'simulator', confirmations: 3, startPoint: 'origin', healthPort: 0 },
        logger: new RecordingLogger(),
        simulatorJournal: journal,
        simulator: { blockTimeMs: 0, initialBlocks: 3, forks: undefined },
      });
    try {
      const stack = await start('preprod');
      // Stopped once it follows (a stop while the follower is still choosing its start point is not this test's matter).
      while ((await db.pool.query('SELECT last_block_height FROM sync_state')).rows[0].last_block_height === null)
        await new Promise((resolve) => setTimeout(resolve, 25));
      await stack.stop();
      expect(await recorded(db)).toBe('preprod');
      const addresses = (await db.pool.query('SELECT count(*)::int AS n FROM payment_addresses')).rows[0].n as number;
      await expect(start('mainnet')).rejects.toThrow(
        /^This database holds preprod data \(recorded when it was first used\), but NETWORK is mainnet\. Set NETWORK=preprod to use it, or point DATABASE_URL at a database of its own for mainnet\./,
      );
      // Nothing of mainnet was registered (the demo addresses come after the check).
      expect((await db.pool.query('SELECT count(*)::int AS n FROM payment_addresses')).rows[0].n).toBe(addresses);
    } finally {
      vi.unstubAllEnvs();
      await rm(journal, { force: true });
    }
  });
});
