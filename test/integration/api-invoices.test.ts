/**
 * Account keys and invoices through the front door: real HTTP, real PostgreSQL, payments recorded by the real engine
 * (the gap limit counts an address as used once any payment reached it). Every response is checked against
 * openapi.json by the router (a response that does not conform is a 500), so each status asserted here is also a
 * conforming body.
 */
import { randomBytes } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveAddress, parseAccountPublicKey } from '../../functions/domain/address/account-key.js';
import { encodeBech32 } from '../../functions/domain/address/bech32.js';
import { DEMO_ACCOUNT_FIRST_MAINNET_ADDRESS, DEMO_ACCOUNT_PUBLIC_KEY } from '../../functions/local/demo-account.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { createEngineFixture, type EngineFixture } from '../support/engine-fixture.js';
import { startTestApi, type TestApi } from '../support/api.js';

const POLICY = 'c0'.repeat(28);
const TOKEN = `${POLICY}.546f6b656e`;
const MAX_U64 = (2n ** 64n - 1n).toString();
const START = new Date('2026-03-01T12:00:00.000Z');

let f: EngineFixture;
let api: TestApi;
let adminId: string;
let now = START;
const chain = new ChainBuilder('api-invoices');

/** Another CIP-1852-shaped account public key: a point of the prime-order subgroup (k·8·G) and a chain code. */
function randomAccountKey(): string {
  const scalar = (BigInt(`0x${randomBytes(31).toString('hex')}`) * 8n) % ed25519.Point.CURVE().n;
  return encodeBech32('acct_xvk', Buffer.concat([ed25519.Point.BASE.multiply(scalar).toBytes(), randomBytes(32)]));
}

const adaInvoice = (reference: string, extra: Record<string, unknown> = {}) => ({
  reference_id: reference,
  amount: { lovelace: '12500000' },
  expires_in_seconds: 3600,
  ...extra,
});

beforeAll(async () => {
  f = await createEngineFixture({ confirmations: 3 });
  api = await startTestApi(f.db, {
    network: 'mainnet',
    clock: { now: () => now },
    invoices: { defaultConfirmations: 7, monitoringMinutes: 90 },
  });
  adminId = (await f.db.pool.query("SELECT id FROM api_keys WHERE scope = 'admin'")).rows[0].id;
  await f.engine.apply(chain.forward([chain.next()]));
}, 60_000);

afterAll(async () => {
  await api?.close();
  await f?.db.drop();
});

async function pay(address: string, lovelace = 1_000_000n) {
  await f.engine.apply(chain.forward([chain.next([transaction([output(address, lovelace)])])]));
}

describe('invoices before any account key', () => {
  it('refuses an invoice without an address while no account key is registered (422 telling what to do)', async () => {
    const answer = await api.call('POST', '/v1/invoices', { body: adaInvoice('ORDER-none') });
    expect(answer.status, answer.text).toBe(422);
    expect(answer.body.detail).toContain('POST /v1/accounts');
    expect(answer.body.errors).toEqual([{ field: 'address', message: expect.stringContaining('no account key') }]);
    expect((await f.db.pool.query('SELECT count(*)::int AS n FROM invoices')).rows[0].n).toBe(0);
  });
});

describe('POST /v1/accounts', () => {
  let demoId: string;

  it('registers an account public key (admin), canonical, with its first address, and audits it', async () => {
    const answer = await api.call('POST', '/v1/accounts', { body: { public_key: DEMO_ACCOUNT_PUBLIC_KEY, name: 'shop' } });
    expect(answer.status, answer.text).toBe(201);
    expect(answer.body).toEqual({
      id: expect.stringMatching(/^acct_[0-9a-f]{24}$/),
      public_key: DEMO_ACCOUNT_PUBLIC_KEY,
      name: 'shop',
      gap_limit: 20,
      next_index: 0,
      first_address: DEMO_ACCOUNT_FIRST_MAINNET_ADDRESS,
      created_at: expect.any(String),
    });
    demoId = answer.body.id;
    const audit = await f.db.pool.query("SELECT actor FROM audit_log WHERE action = 'account_key_registered' AND entity_id = $1", [demoId]);
    expect(audit.rows).toEqual([{ actor: adminId }]);
  });

  it('refuses the same key again, in another form (409 naming the account it is)', async () => {
    const xpub = encodeBech32('xpub', parseAccountPublicKey(DEMO_ACCOUNT_PUBLIC_KEY).bytes);
    const answer = await api.call('POST', '/v1/accounts', { body: { public_key: xpub } });
    expect(answer.status, answer.text).toBe(409);
    expect(answer.body.errors).toEqual([{ field: 'public_key', message: `is already registered as ${demoId}` }]);
  });

  it('refuses a private key and anything that is not an account public key (422 naming public_key, never repeating it)', async () => {
    const secretHex = randomBytes(96).toString('hex');
    for (const publicKey of [secretHex, 'acct_xsk1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqq', 'hello', 'addr_xvk1qqqqqq']) {
      const answer = await api.call('POST', '/v1/accounts', { body: { public_key: publicKey } });
      expect(answer.status, answer.text).toBe(422);
      expect(answer.body.errors).toEqual([{ field: 'public_key', message: expect.any(String) }]);
      expect(answer.text).not.toContain(secretHex);
    }
    const privateAnswer = await api.call('POST', '/v1/accounts', { body: { public_key: secretHex } });
    expect(privateAnswer.body.errors[0].message).toContain('never takes private keys');
    // 64 bytes of hex may be a private key that happens to pass as a point: hex is never taken, even a public key's
    const publicHex = Buffer.from(parseAccountPublicKey(randomAccountKey()).bytes).toString('hex');
    const hexAnswer = await api.call('POST', '/v1/accounts', { body: { public_key: publicHex } });
    expect(hexAnswer.status).toBe(422);
    expect(hexAnswer.body.errors[0].message).toMatch(/in hex is not accepted/);
    expect((await f.db.pool.query('SELECT count(*)::int AS n FROM account_keys')).rows[0].n).toBe(1);
  });

  it("needs the admin scope to register, list and get (an account key reveals the whole wallet's receiving history)", async () => {
    const write = await api.createKey('write');
    const read = await api.createKey('read');
    const refused = await api.call('POST', '/v1/accounts', { key: write.key, body: { public_key: randomAccountKey() } });
    expect(refused.status).toBe(403);
    for (const key of [read.key, write.key]) {
      expect((await api.call('GET', '/v1/accounts', { key })).status).toBe(403);
      expect((await api.call('GET', `/v1/accounts/${demoId}`, { key })).status).toBe(403);
    }
    const listed = await api.call('GET', '/v1/accounts');
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((account: { id: string }) => account.id)).toEqual([demoId]);
    expect((await api.call('GET', `/v1/accounts/${demoId}`)).body.first_address).toBe(DEMO_ACCOUNT_FIRST_MAINNET_ADDRESS);
    expect((await api.call('GET', '/v1/accounts/acct_000000000000000000000000')).status).toBe(404);
  });

  it('pages accounts oldest first, neither skipping nor repeating', async () => {
    for (let i = 0; i < 3; i++) {
      now = new Date(now.getTime() + 1000);
      expect((await api.call('POST', '/v1/accounts', { body: { public_key: randomAccountKey(), gap_limit: 5 } })).status).toBe(201);
    }
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { data: { id: string }[]; next_cursor: string | null } } = await api.call(
        'GET',
        `/v1/accounts?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.status).toBe(200);
      ids.push(...page.body.data.map((account) => account.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(ids).toHaveLength(4);
    expect(ids[0]).toBe(demoId);
    expect(new Set(ids).size).toBe(4);
  });
});

describe('POST /v1/invoices with an address given', () => {
  it('creates the invoice: its address registered for it, invoice.created v1 with the resource, audit rows', async () => {
    const address = syntheticAddress('mainnet', 'invoice-given');
    now = new Date(START.getTime() + 60_000);
    const answer = await api.call('POST', '/v1/invoices', {
      body: { ...adaInvoice('ORDER-1'), address, user_id: 'user-1', amount: { lovelace: '12500000', assets: { [TOKEN]: MAX_U64 } } },
    });
    expect(answer.status, answer.text).toBe(201);
    const invoice = answer.body;
    expect(invoice).toMatchObject({
      id: expect.stringMatching(/^inv_[0-9a-f]{24}$/),
      reference_id: 'ORDER-1',
      user_id: 'user-1',
      address,
      account: null,
      amount: { lovelace: '12500000', assets: { [TOKEN]: MAX_U64 } },
      paid: { lovelace: '0', assets: {} },
      due: { lovelace: '12500000', assets: { [TOKEN]: MAX_U64 } },
      unexpected_assets: [],
      confirmations: 7, // the monitor's default
      status: 'new',
      additional_status: 'none',
      created_at: now.toISOString(),
      expires_at: new Date(now.getTime() + 3_600_000).toISOString(),
      monitoring_until: new Date(now.getTime() + 3_600_000 + 90 * 60_000).toISOString(),
      settled_at: null,
      payments: [],
    });
    const registered = await f.db.pool.query('SELECT reference_type, reference_id, user_id FROM payment_addresses WHERE address = $1', [
      address,
    ]);
    expect(registered.rows).toEqual([{ reference_type: 'invoice', reference_id: invoice.id, user_id: 'user-1' }]);
    const events = await f.db.pool.query(
      "SELECT type, version, data FROM business_events WHERE resource_type = 'invoice' AND resource_id = $1",
      [invoice.id],
    );
    expect(events.rows).toEqual([{ type: 'invoice.created', version: 1, data: invoice }]);
    const audit = await f.db.pool.query(
      "SELECT action, actor FROM audit_log WHERE entity_id IN ($1, $2) AND action IN ('invoice_created', 'address_registered') ORDER BY id",
      [invoice.id, address],
    );
    expect(audit.rows).toEqual([
      { action: 'address_registered', actor: adminId },
      { action: 'invoice_created', actor: adminId },
    ]);
    expect((await api.call('GET', `/v1/invoices/${invoice.id}`)).body).toEqual(invoice);
  });

  it('refuses an address already in use (409 address_in_use): another invoice, or any registration', async () => {
    const address = syntheticAddress('mainnet', 'invoice-shared');
    expect((await api.call('POST', '/v1/invoices', { body: { ...adaInvoice('ORDER-2'), address } })).status).toBe(201);
    const again = await api.call('POST', '/v1/invoices', { body: { ...adaInvoice('ORDER-3'), address } });
    expect(again.status, again.text).toBe(409);
    expect(again.body.type).toBe('urn:payment-monitor:problem:address_in_use');
    expect(again.body.detail).toContain('never shares its address');
    const deposit = syntheticAddress('mainnet', 'a-deposit');
    await api.call('POST', '/v1/addresses', { body: { address: deposit, reference_type: 'deposit', reference_id: 'acct-9' } });
    const onDeposit = await api.call('POST', '/v1/invoices', { body: { ...adaInvoice('ORDER-4'), address: deposit } });
    expect(onDeposit.status).toBe(409);
    expect(onDeposit.body.type).toBe('urn:payment-monitor:problem:address_in_use');
    const count = await f.db.pool.query("SELECT count(*)::int AS n FROM invoices WHERE reference_id IN ('ORDER-3', 'ORDER-4')");
    expect(count.rows[0].n).toBe(0);
  });

  it('refuses an address of another network or a malformed one (422 naming address)', async () => {
    for (const address of [syntheticAddress('preprod', 'test-net'), 'addr1nonsense']) {
      const answer = await api.call('POST', '/v1/invoices', { body: { ...adaInvoice('ORDER-5'), address } });
      expect(answer.status, answer.text).toBe(422);
      expect(answer.body.errors).toEqual([{ field: 'address', message: expect.any(String) }]);
    }
  });
});

describe('validation', () => {
  const cases: [string, Record<string, unknown>, number, string][] = [
    ['nothing asked', { amount: {} }, 422, 'amount.lovelace'],
    ['zero lovelace and no token', { amount: { lovelace: '0' } }, 422, 'amount.lovelace'],
    ['lovelace above 2^64 − 1', { amount: { lovelace: '18446744073709551616' } }, 422, 'amount.lovelace'],
    ['lovelace not a decimal string', { amount: { lovelace: '1e6' } }, 422, 'amount.lovelace'],
    ['a token of quantity 0', { amount: { lovelace: '2000000', assets: { [TOKEN]: '0' } } }, 422, `amount.assets.${TOKEN}`],
    ['an asset key in upper case', { amount: { assets: { [TOKEN.toUpperCase()]: '1' } } }, 422, `amount.assets.${TOKEN.toUpperCase()}`],
    ['an asset name of odd length', { amount: { assets: { [`${POLICY}.abc`]: '1' } } }, 422, `amount.assets.${POLICY}.abc`],
    ['expiry under a minute', { expires_in_seconds: 59 }, 400, 'expires_in_seconds'],
    ['expiry over 30 days', { expires_in_seconds: 30 * 86400 + 1 }, 400, 'expires_in_seconds'],
    ['confirmations 0', { confirmations: 0 }, 400, 'confirmations'],
    ['confirmations over 2160', { confirmations: 2161 }, 400, 'confirmations'],
    ['an unknown field', { amount_lovelace: '5' }, 400, 'amount_lovelace'],
    ['an unknown account', { account_id: 'acct_ffffffffffffffffffffffff', address: undefined }, 422, 'account_id'],
  ];
  for (const [name, change, status, field] of cases) {
    it(`refuses ${name} (${status} naming ${field})`, async () => {
      const answer = await api.call('POST', '/v1/invoices', {
        body: { ...adaInvoice(`BAD-${name}`), address: syntheticAddress('mainnet', 'validation'), ...change },
      });
      expect(answer.status, answer.text).toBe(status);
      expect(answer.body.errors.map((error: { field: string }) => error.field)).toContain(field);
    });
  }
  it('accepts tokens only (lovelace "0" or absent), and 2^64 − 1', async () => {
    for (const amount of [{ lovelace: '0', assets: { [TOKEN]: MAX_U64 } }, { assets: { [`${POLICY}.`]: '1' } }]) {
      const address = syntheticAddress('mainnet', `tokens-${JSON.stringify(amount)}`);
      const answer = await api.call('POST', '/v1/invoices', { body: { ...adaInvoice('TOKENS'), amount, address } });
      expect(answer.status, answer.text).toBe(201);
      expect(answer.body.amount.lovelace).toBe('0');
    }
    expect((await f.db.pool.query("SELECT count(*)::int AS n FROM invoices WHERE reference_id LIKE 'BAD-%'")).rows[0].n).toBe(0);
  });
});

describe('idempotency', () => {
  it('answers the same invoice to the same Idempotency-Key and body, 422 to another body, and creates one', async () => {
    const body = adaInvoice('ORDER-idem', { confirmations: 2, address: syntheticAddress('mainnet', 'idem') });
    const first = await api.call('POST', '/v1/invoices', { body, idempotencyKey: 'invoice-idem' });
    expect(first.status, first.text).toBe(201);
    const again = await api.call('POST', '/v1/invoices', { body, idempotencyKey: 'invoice-idem' });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    const other = await api.call('POST', '/v1/invoices', {
      body: { ...body, reference_id: 'ORDER-other' },
      idempotencyKey: 'invoice-idem',
    });
    expect(other.status).toBe(422);
    expect(other.body.errors).toEqual([{ field: 'Idempotency-Key', message: 'was used with another request' }]);
    const rows = await f.db.pool.query("SELECT id FROM invoices WHERE reference_id IN ('ORDER-idem', 'ORDER-other')");
    expect(rows.rows).toEqual([{ id: first.body.id }]);
  });
});

describe('derived addresses: next index, gap limit, never twice', () => {
  let accountId: string;
  let key: ReturnType<typeof parseAccountPublicKey>;
  const create = (reference: string, extra: Record<string, unknown> = {}) =>
    api.call('POST', '/v1/invoices', { body: adaInvoice(reference, { account_id: accountId, ...extra }) });

  beforeAll(async () => {
    const hex = randomAccountKey();
    key = parseAccountPublicKey(hex);
    const answer = await api.call('POST', '/v1/accounts', { body: { public_key: hex, gap_limit: 3 } });
    expect(answer.status).toBe(201);
    accountId = answer.body.id;
  });

  it('takes the oldest account by default, index after index', async () => {
    const first = await api.call('POST', '/v1/invoices', { body: adaInvoice('DERIVED-default', { user_id: 'user-d' }) });
    expect(first.status, first.text).toBe(201);
    expect(first.body.address).toBe(DEMO_ACCOUNT_FIRST_MAINNET_ADDRESS);
    expect(first.body.account).toEqual({ id: expect.stringMatching(/^acct_/), index: 0 });
    const registered = await f.db.pool.query('SELECT reference_id, user_id FROM payment_addresses WHERE address = $1', [
      first.body.address,
    ]);
    expect(registered.rows).toEqual([{ reference_id: first.body.id, user_id: 'user-d' }]);
    const second = await api.call('POST', '/v1/invoices', { body: adaInvoice('DERIVED-default-2') });
    expect(second.body.account.index).toBe(1);
  });

  it('hands out indexes 0 … gap_limit − 1, then refuses (409 gap_limit_reached, saying why and what to do)', async () => {
    for (let index = 0; index < 3; index++) {
      const answer = await create(`GAP-${index}`);
      expect(answer.status, answer.text).toBe(201);
      expect(answer.body.account).toEqual({ id: accountId, index });
      expect(answer.body.address).toBe(deriveAddress(key, index, 'mainnet'));
    }
    const refused = await create('GAP-3');
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.type).toBe('urn:payment-monitor:problem:gap_limit_reached');
    expect(refused.body.detail).toMatch(/restored from the seed/);
    expect(refused.body.detail).toMatch(/gap_limit/);
    const account = await api.call('GET', `/v1/accounts/${accountId}`);
    expect(account.body.next_index).toBe(3);
  });

  it('goes on past a paid address: gap counted from the highest index that received a payment', async () => {
    await pay(deriveAddress(key, 1, 'mainnet'));
    for (const index of [3, 4]) {
      const answer = await create(`GAP-after-${index}`);
      expect(answer.status, answer.text).toBe(201);
      expect(answer.body.account.index).toBe(index);
    }
    expect((await create('GAP-after-5')).status).toBe(409);
  });

  it('never hands an address out twice, even once its invoice expired unpaid and its monitoring window passed', async () => {
    // The engine's judgement (the chain passed their deadlines): every invoice of the account expired, most unpaid.
    await f.db.pool.query("UPDATE invoices SET status = 'expired', expired = true WHERE account_id = $1", [accountId]);
    now = new Date(now.getTime() + 3 * 3_600_000); // past every monitoring window (expiry 1 h + 90 min)
    const refused = await create('NO-REUSE');
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.type).toBe('urn:payment-monitor:problem:gap_limit_reached');
    expect(refused.body.detail).toMatch(/never handed out twice/);
    const { rows } = await f.db.pool.query<{ invoices: number; addresses: number }>(
      'SELECT count(*)::int AS invoices, count(DISTINCT address)::int AS addresses FROM invoices WHERE account_id = $1',
      [accountId],
    );
    expect(rows[0]!.addresses).toBe(rows[0]!.invoices);
  });

  it('counts as used only an address whose payment is on the chain (one rolled back for good is not what a wallet finds)', async () => {
    const account = await api.call('POST', '/v1/accounts', { body: { public_key: randomAccountKey(), gap_limit: 1 } });
    const first = await create('USED-0', { account_id: account.body.id });
    expect(first.body.account.index).toBe(0);
    await pay(first.body.address);
    // The engine's rollback leaves the row as rolled_back; the transaction never came back.
    await f.db.pool.query("UPDATE incoming_payments SET status = 'rolled_back' WHERE address = $1", [first.body.address]);
    const refused = await create('USED-1', { account_id: account.body.id });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.type).toBe('urn:payment-monitor:problem:gap_limit_reached');
    await f.db.pool.query("UPDATE incoming_payments SET status = 'pending' WHERE address = $1", [first.body.address]);
    expect((await create('USED-1', { account_id: account.body.id })).body.account.index).toBe(1);
  });

  it('refuses both an address and an account', async () => {
    const answer = await create('BOTH', { address: syntheticAddress('mainnet', 'both') });
    expect(answer.status).toBe(422);
    expect(answer.body.errors.map((error: { field: string }) => error.field)).toEqual(['account_id']);
  });
});

describe('concurrent creations', () => {
  it('give concurrent invoices of one account distinct indexes, in order (the account is locked while one is chosen)', async () => {
    const hex = randomAccountKey();
    const account = await api.call('POST', '/v1/accounts', { body: { public_key: hex, gap_limit: 10 } });
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        api.call('POST', '/v1/invoices', { body: adaInvoice(`PARALLEL-${i}`, { account_id: account.body.id }) }),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual([201, 201, 201, 201, 201, 201]);
    expect(answers.map((answer) => answer.body.account.index).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const key = parseAccountPublicKey(hex);
    for (const answer of answers) expect(answer.body.address).toBe(deriveAddress(key, answer.body.account.index, 'mainnet'));
    expect((await api.call('GET', `/v1/accounts/${account.body.id}`)).body.next_index).toBe(6);
  });

  it("passes over the account's addresses registered already (given to an invoice, or a deposit), never sharing one", async () => {
    const hex = randomAccountKey();
    const key = parseAccountPublicKey(hex);
    const account = await api.call('POST', '/v1/accounts', { body: { public_key: hex, gap_limit: 5 } });
    const given = await api.call('POST', '/v1/invoices', {
      body: { ...adaInvoice('GIVEN-OWN'), address: deriveAddress(key, 0, 'mainnet') },
    });
    expect(given.body.account).toBeNull();
    await api.call('POST', '/v1/addresses', {
      body: { address: deriveAddress(key, 1, 'mainnet'), reference_type: 'deposit', reference_id: 'wallet-own' },
    });
    const derived = await api.call('POST', '/v1/invoices', { body: adaInvoice('AFTER-OWN', { account_id: account.body.id }) });
    expect(derived.status, derived.text).toBe(201);
    expect(derived.body.account).toEqual({ id: account.body.id, index: 2 });
    expect((await api.call('GET', `/v1/accounts/${account.body.id}`)).body.next_index).toBe(3);
    const held = await f.db.pool.query('SELECT address_index, invoice_id FROM account_addresses WHERE account_id = $1 ORDER BY 1', [
      account.body.id,
    ]);
    expect(held.rows).toEqual([
      { address_index: 0, invoice_id: given.body.id },
      { address_index: 2, invoice_id: derived.body.id },
    ]);
  });

  it('let one of two concurrent invoices on the same address have it, the other 409 address_in_use', async () => {
    const address = syntheticAddress('mainnet', 'raced-address');
    const answers = await Promise.all(
      ['RACE-A', 'RACE-B'].map((reference) => api.call('POST', '/v1/invoices', { body: { ...adaInvoice(reference), address } })),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409]);
    expect(answers.find((answer) => answer.status === 409)!.body.type).toBe('urn:payment-monitor:problem:address_in_use');
    const rows = await f.db.pool.query('SELECT count(*)::int AS n FROM invoices WHERE address = $1', [address]);
    expect(rows.rows[0].n).toBe(1);
  });
});

describe('GET /v1/invoices', () => {
  it('pages newest first under filters, neither skipping nor repeating, read scope', async () => {
    const read = await api.createKey('read');
    for (let i = 0; i < 5; i++) {
      now = new Date(now.getTime() + 1000);
      const answer = await api.call('POST', '/v1/invoices', {
        body: { ...adaInvoice('PAGED'), address: syntheticAddress('mainnet', `paged-${i}`) },
      });
      expect(answer.status).toBe(201);
    }
    const seen: { id: string; created_at: string; reference_id: string }[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { data: typeof seen; next_cursor: string | null } } = await api.call(
        'GET',
        `/v1/invoices?reference_id=PAGED&status=new&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { key: read.key },
      );
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data);
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect(new Set(seen.map((invoice) => invoice.id)).size).toBe(5);
    expect(seen.every((invoice) => invoice.reference_id === 'PAGED')).toBe(true);
    expect(seen.map((invoice) => invoice.created_at)).toEqual([...seen.map((invoice) => invoice.created_at)].sort().reverse());
    expect((await api.call('GET', '/v1/invoices?status=expired')).body.data.length).toBeGreaterThan(0);
    expect((await api.call('GET', '/v1/invoices?status=paid')).status).toBe(400);
    expect((await api.call('GET', '/v1/invoices/inv_000000000000000000000000')).status).toBe(404);
    const write = await api.createKey('write');
    expect((await api.call('POST', '/v1/invoices', { key: read.key, body: adaInvoice('READ-ONLY') })).status).toBe(403);
    expect(
      (
        await api.call('POST', '/v1/invoices', {
          key: write.key,
          body: { ...adaInvoice('WRITE'), address: syntheticAddress('mainnet', 'w') },
        })
      ).status,
    ).toBe(201);
  });
});
