/**
 * Issue 15's "Done when", as the README's "Invoices" walkthrough does it against npm start: the local stack (real
 * PostgreSQL, the simulator, the engine judging invoices, the API on real HTTP, the in-process deliverer), driven
 * through the CLI and the API only. An account key is registered; an ADA invoice and a token invoice settle, one
 * goes paid_partial, one expires (the chain's block time passes its deadline); every invoice event arrives signed
 * by webhook, in order; the user's token balance shows. npm start's own demo invoices (registered with the demo
 * account key at start) settle too.
 *
 * The simulator's clock is the test's: blocks come when the test produces them, and their time moves on when the
 * test moves it (to pass a deadline without waiting for it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../functions/local/cli/main.js';
import { simulateCommand } from '../../functions/local/cli/simulate-commands.js';
import { DEMO_INVOICES } from '../../functions/local/demo-invoices.js';
import type { LocalStack } from '../../functions/local/stack.js';
import { startWalkthroughStack, type WalkthroughStack } from '../support/walkthrough-stack.js';
import { type ReceivedRequest, signedBy, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const ADMIN_KEY = 'invoice-walkthrough-admin-key-do-not-use';
/** The README's key: account 1 (m/1852'/1815'/1') of the published test mnemonic (npm start registers account 0). */
const WALKTHROUGH_ACCOUNT_PUBLIC_KEY =
  'acct_xvk1fa2tn5fq2ag2vlks60ksx8nq9ryj0tl5qxt6s4wkuthx83j5cr65d7yzj5a4rsa697z2545z8th4prfl6adkxqcwsjwf37lj88yn52chnrtmh';
const WALKTHROUGH_FIRST_ADDRESS =
  'addr_test1qrlrh0vm8n4khts3fe46m20552lpjvvpcpnyedzv5zzlmlfn0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgse770g4';
const POLICY = 'd0'.repeat(28);
const TOKEN = `${POLICY}.44454d4f`;

interface InvoiceEvent {
  id: string;
  type: string;
  version: number;
  data: {
    id: string;
    status: string;
    additional_status: string;
    reference_id: string;
    paid: { lovelace: string; assets: Record<string, string> };
  };
}

let walkthrough: WalkthroughStack;
let stack: LocalStack;
let receiver: WebhookReceiver;
let api: string;
let clockOffsetMs = 0;

async function cli(...argv: string[]): Promise<unknown> {
  const lines: string[] = [];
  const code = await runCli([...argv, '--api-url', api, '--json'], (text) => lines.push(text));
  expect(code).toBe(0);
  return JSON.parse(lines.join('\n'));
}

async function pay(address: string, ada: string, assets: string[] = []): Promise<void> {
  await simulateCommand(
    ['simulate', 'pay', address],
    { ada, asset: assets },
    { write: () => {}, json: true, ogmios: () => ({ urls: [stack.simulator!.url], apiKeys: [] }) },
  );
}

const events = (): InvoiceEvent[] => receiver.requests.map((request) => JSON.parse(request.body) as InvoiceEvent);

/** Waits (for deliveries, not for time) until an event of this invoice and type has arrived. */
async function delivered(invoiceId: string, type: string): Promise<InvoiceEvent> {
  const eventOf = (request: ReceivedRequest) => JSON.parse(request.body) as InvoiceEvent;
  return eventOf(await receiver.next((request) => eventOf(request).data.id === invoiceId && eventOf(request).type === type));
}

beforeAll(async () => {
  receiver = await startWebhookReceiver('/invoices-webhook');
  walkthrough = await startWalkthroughStack({
    name: 'invoice-walkthrough',
    adminKey: ADMIN_KEY,
    demoInvoices: true,
    simulator: { clock: () => Date.now() + clockOffsetMs },
  });
  ({ stack, api } = walkthrough);
  process.env.PAYMENT_MONITOR_API_KEY = ADMIN_KEY;
}, 120_000);

afterAll(async () => {
  await walkthrough?.stop();
  await receiver?.close();
  delete process.env.PAYMENT_MONITOR_API_KEY;
});

describe('invoices, as the README walks through them', () => {
  it('an account key; an ADA and a token invoice settle, one goes paid_partial, one expires; signed events in order; the token balance', async () => {
    // 1. The webhook for invoice events, and the business's account key (watch-only).
    const endpoint = (await cli('webhooks', 'add', receiver.url, '--events', 'invoice.*')) as { secret: string };
    const account = (await cli('accounts', 'add', WALKTHROUGH_ACCOUNT_PUBLIC_KEY, '--name', 'shop')) as {
      id: string;
      first_address: string;
    };
    expect(account.first_address).toBe(WALKTHROUGH_FIRST_ADDRESS);

    // 2. Four invoices on its derived addresses: ADA, tokens, one to be paid in part, one left to expire.
    const create = async (...flags: string[]) =>
      (await cli('invoices', 'create', '--account', account.id, '--expires-in', '3600', ...flags)) as { id: string; address: string };
    const ada = await create('--reference-id', 'ORDER-1001', '--ada', '12.5', '--user', 'user-42');
    const token = await create('--reference-id', 'ORDER-1002', '--asset', `${TOKEN}=100`, '--user', 'user-42');
    const partial = await create('--reference-id', 'ORDER-1003', '--ada', '20', '--user', 'user-43');
    const expiring = (await cli(
      ...['invoices', 'create', '--account', account.id, '--expires-in', '60', '--reference-id', 'ORDER-1004', '--ada', '3'],
    )) as { id: string; address: string };
    expect(ada.address).toBe(WALKTHROUGH_FIRST_ADDRESS);
    expect(new Set([ada, token, partial, expiring].map((invoice) => invoice.address)).size).toBe(4);
    for (const invoice of [ada, token, partial, expiring]) await delivered(invoice.id, 'invoice.created');

    // 3. The customers pay: 12.5 ADA; 100 tokens with 1.5 ADA riding along; 5 of 20 ADA.
    await pay(ada.address, '12.5');
    await pay(token.address, '1.5', [`${TOKEN}=100`]);
    await pay(partial.address, '5');
    stack.simulator!.produceBlocks(1);
    expect((await delivered(ada.id, 'invoice.processing')).data.status).toBe('processing');
    expect((await delivered(token.id, 'invoice.processing')).data.additional_status).toBe('none');
    expect((await delivered(partial.id, 'invoice.paid_partial')).data).toMatchObject({ status: 'new', paid: { lovelace: '5000000' } });

    // 4. Three blocks deep (CONFIRMATIONS 3): settled.
    stack.simulator!.produceBlocks(2);
    expect((await delivered(ada.id, 'invoice.settled')).data.paid).toEqual({ lovelace: '12500000', assets: {} });
    expect((await delivered(token.id, 'invoice.settled')).data.paid).toEqual({ lovelace: '1500000', assets: { [TOKEN]: '100' } });

    // 5. The chain's time passes the fourth invoice's deadline (a block 3 minutes later): expired, never paid.
    clockOffsetMs += 180_000;
    stack.simulator!.produceBlocks(1);
    expect((await delivered(expiring.id, 'invoice.expired')).data).toMatchObject({ status: 'expired', additional_status: 'none' });

    // Signed with the endpoint's secret; each invoice's events in version order.
    for (const request of receiver.requests) expect(signedBy(endpoint.secret, request)).toBe(true);
    const typesOf = (id: string) =>
      events()
        .filter((event) => event.data.id === id)
        .map((event) => [event.type, event.version]);
    expect(typesOf(ada.id)).toEqual([
      ['invoice.created', 1],
      ['invoice.processing', 2],
      ['invoice.settled', 3],
    ]);
    expect(typesOf(partial.id)).toEqual([
      ['invoice.created', 1],
      ['invoice.paid_partial', 2],
    ]);
    expect(typesOf(expiring.id)).toEqual([
      ['invoice.created', 1],
      ['invoice.expired', 2],
    ]);

    // 6. The invoices through the API, and user-42's balances: the ADA and the token credited once confirmed.
    const shown = (await cli('invoices', 'get', token.id)) as { status: string; payments: { timing: string }[] };
    expect(shown).toMatchObject({ status: 'settled', payments: [{ timing: 'on_time' }] });
    const listed = (await cli('invoices', 'list', '--status', 'settled')) as { data: { id: string }[] };
    expect(listed.data.map((invoice) => invoice.id)).toEqual(expect.arrayContaining([ada.id, token.id]));
    expect(await cli('balances', 'user-42')).toMatchObject({ balance_lovelace: '14000000', assets: { [TOKEN]: '100' } });
  }, 180_000);

  it("npm start's demo invoices: the demo account key registered, its ADA and token invoices settled, one paid in part", async () => {
    const accounts = (await cli('accounts', 'list')) as { data: { name: string | null }[] };
    expect(accounts.data.map((row) => row.name)).toEqual(['demo', 'shop']);
    const byReference = new Map<string, { status: string; additional_status: string }>();
    for (const demo of DEMO_INVOICES) {
      const page = (await cli('invoices', 'list', '--reference-id', demo.referenceId)) as {
        data: { status: string; additional_status: string }[];
      };
      expect(page.data).toHaveLength(1);
      byReference.set(demo.referenceId, page.data[0]!);
    }
    expect(Object.fromEntries(byReference)).toEqual({
      'DEMO-ADA': expect.objectContaining({ status: 'settled', additional_status: 'none' }),
      'DEMO-TOKEN': expect.objectContaining({ status: 'settled', additional_status: 'none' }),
      'DEMO-PARTIAL': expect.objectContaining({ status: 'new', additional_status: 'paid_partial' }),
      'DEMO-EXPIRE': expect.objectContaining({ status: 'expired', additional_status: 'none' }),
    });
  });
});
