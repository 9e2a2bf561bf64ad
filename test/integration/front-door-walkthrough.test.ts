/**
 * Issue 14's "Done when", as the README's walkthrough does it against npm start: the local stack (real PostgreSQL,
 * the simulator, the engine, the API on real HTTP, the in-process publisher and deliverer), driven through the API
 * and the CLI only. An admin key from BOOTSTRAP_API_KEY creates a write key; the business registers an address and
 * subscribes a real receiver; a payment is detected, confirmed, and reversed by a fork, and each arrives signed and
 * in order; the API shows the same payment; the event log lists the events and one is replayed.
 * The receiver checks the signature with its own HMAC (node:crypto), not with the product's code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../functions/local/cli/main.js';
import { simulateCommand } from '../../functions/local/cli/simulate-commands.js';
import type { LocalStack } from '../../functions/local/stack.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { startWalkthroughStack, type WalkthroughStack } from '../support/walkthrough-stack.js';
import { type ReceivedRequest, signedBy, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const ADMIN_KEY = 'walkthrough-admin-key-do-not-use-elsewhere';
const customer = syntheticAddress('preprod', 'walkthrough-customer-42');

interface WebhookEvent {
  id: string;
  type: string;
  version: number;
  created_at: string;
  data: Record<string, unknown>;
}

/** A delivery as the business reads it: the event in its body. */
const eventOf = (request: ReceivedRequest): WebhookEvent => JSON.parse(request.body) as WebhookEvent;

let walkthrough: WalkthroughStack;
let stack: LocalStack;
let receiver: WebhookReceiver;
let api: string;

// biome-ignore lint/suspicious/noExplicitAny: the answers are read field by field, as a business's client would
async function call(method: string, route: string, key: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${api}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined
        ? {}
        : { 'content-type': 'application/json', 'idempotency-key': `walkthrough-${method}-${route}-${JSON.stringify(body)}` }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

async function cli(...argv: string[]): Promise<string[]> {
  const lines: string[] = [];
  const code = await runCli([...argv, '--api-url', api, '--json'], (text) => lines.push(text));
  expect(code).toBe(0);
  return lines;
}

beforeAll(async () => {
  receiver = await startWebhookReceiver('/payments-webhook');
  walkthrough = await startWalkthroughStack({ name: 'front-door-walkthrough', adminKey: ADMIN_KEY });
  ({ stack, api } = walkthrough);
}, 120_000);

afterAll(async () => {
  await walkthrough?.stop();
  await receiver?.close();
  delete process.env.PAYMENT_MONITOR_API_KEY;
});

describe('the front door, as the README walks through it', () => {
  it('key, address, webhook; a payment detected, confirmed and reversed arrives signed and in order; the API and the event log agree', async () => {
    // 1. The bootstrap admin key makes a write key for the business's backend (the CLI through the API).
    process.env.PAYMENT_MONITOR_API_KEY = ADMIN_KEY;
    const created = JSON.parse((await cli('api-keys', 'create', '--name', 'backend', '--scope', 'write')).join('\n'));
    expect(created).toMatchObject({ scope: 'write', name: 'backend' });
    const writeKey = created.key as string;
    expect(writeKey).toMatch(/^pm_test_/);

    // 2. The backend registers a deposit address; the admin subscribes the receiver to payment events.
    const registered = await call('POST', '/v1/addresses', writeKey, {
      address: customer,
      reference_type: 'deposit',
      reference_id: 'acct-42',
      user_id: 'user-42',
    });
    expect(registered.status).toBe(201);
    const endpoint = await call('POST', '/v1/webhook-endpoints', ADMIN_KEY, { url: receiver.url, events: ['payment.*'] });
    expect(endpoint.status).toBe(201);
    const secret = endpoint.json.secret as string;
    expect(secret.length).toBeGreaterThanOrEqual(32);

    // 3. The customer pays 25 ADA (the simulated chain, through the CLI).
    const lines: string[] = [];
    await simulateCommand(
      ['simulate', 'pay', customer],
      { ada: '25' },
      {
        write: (text) => lines.push(text),
        json: true,
        ogmios: () => ({ urls: [stack.simulator!.url], apiKeys: [] }),
      },
    );
    const { tx_hash: txHash, output_index: outputIndex } = JSON.parse(lines[0] as string);
    const ours = (type: string) => (request: ReceivedRequest) =>
      eventOf(request).type === type &&
      eventOf(request).data.tx_hash === txHash &&
      request.headers['payment-monitor-redelivery'] === undefined;

    stack.simulator!.produceBlocks(1);
    const detected = await receiver.next(ours('payment.detected'));
    expect(eventOf(detected).data).toMatchObject({
      status: 'pending',
      amount_lovelace: '25000000',
      reference_id: 'acct-42',
      user_id: 'user-42',
    });

    stack.simulator!.produceBlocks(2);
    const confirmed = await receiver.next(ours('payment.confirmed'));
    expect(eventOf(confirmed).data).toMatchObject({ status: 'confirmed' });
    expect((await call('GET', '/v1/balances/user-42', writeKey)).json.balance_lovelace).toBe('25000000');

    // 4. A fork from before the payment's block drops it with its transaction: the confirmed payment is reversed.
    await simulateCommand(
      ['simulate', 'fork'],
      { before: txHash, 'drop-transactions': true },
      {
        write: () => {},
        json: true,
        ogmios: () => ({ urls: [stack.simulator!.url], apiKeys: [] }),
      },
    );
    const reversed = await receiver.next(ours('payment.reversed'));
    expect(eventOf(reversed).data).toMatchObject({ status: 'reversed', amount_lovelace: '25000000' });

    // Signed with the endpoint's secret, fresh, in order, one version after another.
    for (const delivery of [detected, confirmed, reversed]) {
      expect(signedBy(secret, delivery)).toBe(true);
      expect(signedBy(`${secret}x`, delivery)).toBe(false);
    }
    const ourDeliveries = receiver.requests.map(eventOf).filter((event) => event.data.tx_hash === txHash);
    expect(ourDeliveries.map((event) => [event.type, event.version])).toEqual([
      ['payment.detected', 1],
      ['payment.confirmed', 2],
      ['payment.reversed', 3],
    ]);

    // 5. The API shows the same payment: reversed, and the balance back to 0.
    const output = await call('GET', `/v1/payments/${txHash}/${outputIndex}`, writeKey);
    expect(output.json.data).toEqual([eventOf(reversed).data]);
    const listed = await call('GET', `/v1/payments?address=${customer}`, writeKey);
    expect(listed.json.data.map((payment: { status: string }) => payment.status)).toEqual(['reversed']);
    expect((await call('GET', '/v1/balances/user-42', writeKey)).json.balance_lovelace).toBe('0');

    // 6. The event log (pulled through the CLI) holds the three, in order, exactly as delivered.
    const log = JSON.parse((await cli('events', 'list', '--limit', '1000')).join('\n')) as { data: WebhookEvent[] };
    expect(log.data.filter((event) => event.data.tx_hash === txHash)).toEqual(ourDeliveries);

    // 7. A replay: the detection is delivered again, marked as a redelivery, with the same id.
    const replay = await call('POST', `/v1/events/${eventOf(detected).id}/redeliver`, writeKey, {});
    expect(replay.status).toBe(202);
    const again = await receiver.next(
      (request) => eventOf(request).id === eventOf(detected).id && request.headers['payment-monitor-redelivery'] === 'true',
    );
    expect(again.body).toBe(detected.body);
    expect(signedBy(secret, again)).toBe(true);
  }, 180_000);
});
