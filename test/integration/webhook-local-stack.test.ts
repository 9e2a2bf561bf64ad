/**
 * npm start's in-process publisher and deliverer end to end: the engine follows the simulated chain, a real
 * receiver on loopback gets the signed events in seq order; while it fails, the stack is stopped and started again,
 * and once it answers again every event arrives, none lost, none reordered.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookEndpoint } from '../../functions/adapters/postgres/webhook-endpoints.js';
import { verifySignature } from '../../functions/domain/webhooks/signature.js';
import { startLocalStack, type LocalStack } from '../../functions/local/stack.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { RecordingLogger } from '../support/recorders.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

let db: TestDatabase;
let stack: LocalStack;
let receiver: WebhookReceiver;
const journal = path.join(tmpdir(), `webhook-stack-journal-${process.pid}.jsonl`);
const keyFile = path.join(tmpdir(), `webhook-stack-key-${process.pid}`);

const start = () =>
  startLocalStack({
    config: { network: 'preprod', ogmios: 'simulator', confirmations: 3, startPoint: 'origin', healthPort: 0 },
    logger: new RecordingLogger(),
    simulatorJournal: journal,
    webhookKeyFile: keyFile,
    simulator: { blockTimeMs: 0, initialBlocks: 5, paymentsPerBlock: 1, forks: undefined, transactionsPerBlock: { min: 2, max: 5 } },
  });

beforeAll(async () => {
  db = await createTestDatabase();
  process.env.DATABASE_URL = db.url;
  await rm(journal, { force: true });
  await rm(keyFile, { force: true });
  receiver = await startWebhookReceiver();
  stack = await start();
});
afterAll(async () => {
  await stack?.stop();
  await receiver.close();
  await db.drop();
  await rm(keyFile, { force: true });
});

/** Waits on a condition (never on a time): polls until it holds, failing after a generous deadline. */
async function until(condition: () => Promise<boolean>, what: string, deadlineMs = 90_000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > deadlineMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const delivered = () => receiver.requests.filter((_, i) => answeredOk[i]).map((r) => JSON.parse(r.body).id as string);
const answeredOk: boolean[] = [];

describe('webhooks in the local stack', () => {
  it('delivers every event in order, signed, across a failing receiver and a restart of the stack', async () => {
    const simulator = stack.simulator!;
    await until(
      async () => (await db.pool.query('SELECT last_block_height FROM sync_state')).rows[0].last_block_height !== null,
      'the initial history',
    );
    const { endpoint, secret } = await createWebhookEndpoint(stack.pool, stack.webhookSealer, {
      url: receiver.url,
      events: ['payment.*'],
      actor: 'test',
      allowPrivateDestinations: true,
    });
    const cursorAtCreation = (await db.pool.query('SELECT cursor_seq FROM webhook_endpoints WHERE id = $1', [endpoint.id])).rows[0]
      .cursor_seq;
    const expected = async () =>
      (await db.pool.query<{ id: string }>('SELECT id FROM business_events WHERE seq > $1 ORDER BY seq', [cursorAtCreation])).rows.map(
        (r) => r.id,
      );

    // the receiver's answers: 200 while `ok`, 500 otherwise (recorded per request)
    let ok = true;
    const answer = () => {
      answeredOk.push(ok);
      return ok ? { status: 200 } : { status: 500, body: 'down' };
    };
    Object.defineProperty(receiver, 'otherwise', { get: answer, configurable: true });

    simulator.produceBlocks(6);
    await until(async () => (await expected()).length >= 6 && delivered().length === (await expected()).length, 'the first deliveries');

    ok = false;
    simulator.produceBlocks(6);
    await until(async () => answeredOk.some((value) => !value), 'a failed delivery');
    await stack.stop();
    stack = await start();
    ok = true;
    stack.simulator!.produceBlocks(2);
    await until(async () => {
      const all = await expected();
      return all.length > 12 && delivered().length >= all.length;
    }, 'every event after the restart');

    const all = await expected();
    // at least once: every event delivered; in order: the successful deliveries follow seq, each once here
    expect(delivered()).toEqual(all);
    for (const request of receiver.requests) {
      expect(verifySignature(request.headers['payment-monitor-signature'] as string, request.body, secret, new Date())).toBe(true);
    }
    const types = new Set(receiver.requests.map((r) => JSON.parse(r.body).type));
    expect(types.has('payment.detected')).toBe(true);
    expect(types.has('payment.confirmed')).toBe(true);
  });
});
