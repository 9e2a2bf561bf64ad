/**
 * Issue 16's "Done when" on the local stack (real PostgreSQL, the simulator validating and including signed
 * transactions, the engine, the API on real HTTP, the in-process webhook deliverer), driven through the CLI: a
 * payout above the four-eyes threshold is requested with one key, refused to its requester, approved with a second
 * key, built, signed with the file key, submitted to the simulator, seen in a block and confirmed; a fork that
 * drops its block takes it back to submitted, the same transaction is submitted again, and it is paid once.
 *
 * Blocks come when the test produces them; the test waits on the database and on webhook deliveries, never on time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../functions/local/cli/main.js';
import { simulateCommand } from '../../functions/local/cli/simulate-commands.js';
import type { LocalStack } from '../../functions/local/stack.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { startWalkthroughStack, type WalkthroughStack } from '../support/walkthrough-stack.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const ADMIN_KEY = 'payout-walkthrough-admin-key-do-not-use';
const DESTINATION = syntheticAddress('preprod', 'payout-walkthrough-destination');

let walkthrough: WalkthroughStack;
let stack: LocalStack;
let receiver: WebhookReceiver;
let api: string;

async function cli(key: string, ...argv: string[]): Promise<{ code: number; answer: unknown }> {
  const lines: string[] = [];
  process.env.PAYMENT_MONITOR_API_KEY = key;
  const code = await runCli([...argv, '--api-url', api, '--json'], (text) => lines.push(text));
  const text = lines.join('\n');
  return { code, answer: text === '' ? undefined : JSON.parse(text) };
}

/** Waits until the database says so: polls the condition, never asserts a time. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function payoutStatus(id: string): Promise<string> {
  const { rows } = await stack.pool.query<{ status: string }>('SELECT status FROM payouts WHERE id = $1', [id]);
  return rows[0]!.status;
}

const statusBecomes = (id: string, status: string) =>
  until(
    () => payoutStatus(id),
    (current) => current === status,
  );

beforeAll(async () => {
  receiver = await startWebhookReceiver('/payouts-webhook');
  walkthrough = await startWalkthroughStack({
    name: 'payout-walkthrough',
    adminKey: ADMIN_KEY,
    config: { payouts: { maxLovelace: 1_000_000_000n, dailyLimitLovelace: 10_000_000_000n, approvalThresholdLovelace: 100_000_000n } },
  });
  ({ stack, api } = walkthrough);
}, 120_000);

afterAll(async () => {
  await walkthrough?.stop();
  await receiver?.close();
  delete process.env.PAYMENT_MONITOR_API_KEY;
  delete process.env.NETWORK;
});

describe('a payout, as the README walks through it', () => {
  it('requested, approved by a second key, submitted, in a block, confirmed; a fork that drops its block does not pay twice', async () => {
    // The demo hot wallet's coins arrive in the next block and are spendable once confirmed.
    stack.simulator!.produceBlocks(4);
    await until(
      async () =>
        (
          await stack.pool.query(
            `SELECT 1 FROM incoming_payments WHERE reference_type = 'hot_wallet' AND status = 'confirmed' AND amount_lovelace >= 2000000000`,
          )
        ).rowCount,
      (count) => (count ?? 0) > 0,
    );

    // Webhooks for payout events; a second key for the approval (four eyes).
    expect((await cli(ADMIN_KEY, 'webhooks', 'add', receiver.url, '--events', 'payout.*')).code).toBe(0);
    const second = (await cli(ADMIN_KEY, 'api-keys', 'create', '--name', 'treasurer', '--scope', 'write')).answer as { key: string };

    // 150 ADA: above the 100 ADA threshold, so it waits for another actor.
    const created = await cli(ADMIN_KEY, 'payouts', 'create', DESTINATION, '--reference-id', 'withdrawal-42', '--ada', '150');
    expect(created.code).toBe(0);
    const payout = created.answer as { id: string; status: string };
    expect(payout.status).toBe('requested');
    await expect(cli(ADMIN_KEY, 'payouts', 'approve', payout.id)).rejects.toThrow(/another actor than its requester/);
    expect(((await cli(second.key, 'payouts', 'approve', payout.id)).answer as { status: string }).status).toBe('approved');

    // The processor builds, signs and submits it; the simulator puts it in the next block.
    await stack.payouts.runNow();
    await statusBecomes(payout.id, 'submitted');
    const { rows } = await stack.pool.query<{ transaction_id: string }>('SELECT transaction_id FROM payouts WHERE id = $1', [payout.id]);
    const transactionId = rows[0]!.transaction_id;
    stack.simulator!.produceBlocks(1);
    await statusBecomes(payout.id, 'in_block');

    // A fork drops its block (and the transaction with it): back to submitted, then the same transaction again.
    await simulateCommand(
      ['simulate', 'fork'],
      { before: transactionId, 'drop-transactions': true },
      { write: () => {}, json: true, ogmios: () => ({ urls: [stack.simulator!.url], apiKeys: [] }) },
    );
    await statusBecomes(payout.id, 'submitted');
    await stack.payouts.runNow();
    stack.simulator!.produceBlocks(1);
    await statusBecomes(payout.id, 'in_block');
    stack.simulator!.produceBlocks(3);
    await statusBecomes(payout.id, 'confirmed');

    // One transaction, in the chain once; paid once.
    const attempts = await stack.pool.query<{ transaction_id: string; status: string; submissions: number }>(
      'SELECT transaction_id, status, submissions FROM payout_attempts',
    );
    expect(attempts.rows).toEqual([{ transaction_id: transactionId, status: 'confirmed', submissions: 2 }]);
    const carriers = stack.simulator!.chain().filter((block) => (stack.simulator!.blockJson(block.id) ?? '').includes(transactionId));
    expect(carriers).toHaveLength(1);
    const destinationCoins = stack.simulator!.ledger.balanceOf(DESTINATION);
    expect(destinationCoins.lovelace).toBe(150_000_000n);

    // The events by webhook, in order, and the audit rows.
    const confirmed = await receiver.next((request) => (JSON.parse(request.body) as { type: string }).type === 'payout.confirmed');
    expect(confirmed).toBeDefined();
    const types = receiver.requests
      .map((request) => JSON.parse(request.body) as { type: string; data: { id: string } })
      .filter((event) => event.data.id === payout.id)
      .map((event) => event.type);
    expect(types).toEqual([
      'payout.requested',
      'payout.approved',
      'payout.built',
      'payout.signed',
      'payout.submitted',
      'payout.in_block',
      'payout.submitted',
      'payout.in_block',
      'payout.confirmed',
    ]);
    // The audit rows, as `npm run cli -- audit list --entity <po_…>` shows them next to npm start (newest first).
    const lines: string[] = [];
    delete process.env.PAYMENT_MONITOR_API_KEY;
    process.env.NETWORK = 'preprod';
    expect(await runCli(['audit', 'list', '--entity', payout.id, '--json'], (text) => lines.push(text))).toBe(0);
    const audit = (JSON.parse(lines.join('\n')) as { action: string; actor: string; entity_type: string }[]).reverse();
    expect(audit[0]).toMatchObject({ action: 'create_payment', entity_type: 'outbound_payment' });
    expect(audit.map((row) => row.action)).toContain('payout_confirmed');
    expect(audit.filter((row) => row.action === 'payout_approved').map((row) => row.actor)).not.toContain(audit[0]!.actor);
  });
});
