/**
 * `npm start`'s HTTP API: the local stack serves the router on its API port, creates BOOTSTRAP_API_KEY's admin key
 * (logging its id, never the key), and seals webhook secrets with the local key file.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paymentResource } from '../../functions/domain/payment-resource.js';
import { startLocalStack, type LocalStack } from '../../functions/local/stack.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { RecordingLogger } from '../support/recorders.js';

const BOOTSTRAP_KEY = 'pm_test_local_stack_bootstrap_key_0123456789';
let db: TestDatabase;
let stack: LocalStack;
const logger = new RecordingLogger();
const journal = path.join(tmpdir(), `api-local-stack-journal-${process.pid}.jsonl`);
const keyFile = path.join(tmpdir(), `api-local-stack-webhook-key-${process.pid}`);

beforeAll(async () => {
  db = await createTestDatabase();
  process.env.DATABASE_URL = db.url;
  await rm(journal, { force: true });
  stack = await startLocalStack({
    config: {
      network: 'preprod',
      ogmios: 'simulator',
      confirmations: 3,
      startPoint: 'origin',
      healthPort: 0,
      apiPort: 0,
      bootstrapApiKey: BOOTSTRAP_KEY,
    },
    logger,
    simulatorJournal: journal,
    webhookKeyFile: keyFile,
    simulator: { blockTimeMs: 0, initialBlocks: 20, paymentsPerBlock: 1, forks: undefined, transactionsPerBlock: { min: 2, max: 10 } },
  });
});
afterAll(async () => {
  await stack?.stop();
  await db.drop();
  await rm(journal, { force: true });
  await rm(keyFile, { force: true });
});

const call = async (method: string, route: string, body?: unknown) => {
  const response = await fetch(`http://127.0.0.1:${stack.apiPort}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${BOOTSTRAP_KEY}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json', 'idempotency-key': `k-${Math.random()}` }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: a test reads the JSON it got
  return { status: response.status, body: (await response.json()) as any };
};

describe('the local stack’s HTTP API', () => {
  it('creates the bootstrap admin key once, logging only its id', async () => {
    const created = logger.events('api_bootstrap_key_created');
    expect(created).toHaveLength(1);
    const { rows } = await db.pool.query('SELECT id, scope FROM api_keys WHERE revoked_at IS NULL');
    expect(rows).toEqual([{ id: created[0]!.fields.key_id, scope: 'admin' }]);
    expect(JSON.stringify(logger.entries)).not.toContain(BOOTSTRAP_KEY);
  });

  it('serves the payments the engine records, and webhook endpoints with their secrets sealed', async () => {
    // the simulated history applied (the simulator's tip reached)
    const tip = BigInt((stack.simulator!.tip() as { height: number }).height);
    for (let attempt = 0; attempt < 400; attempt++) {
      const { rows } = await db.pool.query('SELECT last_block_height FROM sync_state');
      if (rows[0].last_block_height === tip) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const page = await call('GET', '/v1/payments?limit=1000');
    expect(page.status).toBe(200);
    const { rows } = await db.pool.query('SELECT * FROM incoming_payments ORDER BY id LIMIT 1000');
    expect(rows.length).toBeGreaterThan(0);
    expect(page.body.data.slice(0, rows.length)).toEqual(rows.map(paymentResource));

    const status = await call('GET', '/v1/status');
    expect(status.body).toMatchObject({ network: 'preprod', halted: false, outbox_backlog: expect.any(Object) });
    const hook = await call('POST', '/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/hook', events: ['*'] });
    expect(hook.status).toBe(201);
    const sealed = (await db.pool.query('SELECT sealed FROM webhook_endpoint_secrets WHERE endpoint_id = $1', [hook.body.id])).rows[0]
      .sealed;
    expect(sealed).not.toContain(hook.body.secret);
    expect(await stack.webhookSealer.unseal(sealed)).toBe(hook.body.secret);
  });
});
