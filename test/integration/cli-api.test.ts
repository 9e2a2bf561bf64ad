/**
 * The CLI through the HTTP API (--api-url): the commands the API covers answer as their database twins do, an
 * Idempotency-Key makes a repeated command safe, and the API's problems come back as one clear message naming the
 * field; commands the API does not cover, or that only it covers, say so (usage errors), as does a missing key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../../functions/adapters/http/api-server.js';
import { ensureBootstrapApiKey } from '../../functions/adapters/postgres/api-keys.js';
import { createApiApp } from '../../functions/api/app.js';
import { AesGcmSecretSealer } from '../../functions/adapters/crypto/aes-gcm-sealer.js';
import { readCliApi } from '../../functions/config/local-settings.js';
import { ApiProblemError } from '../../functions/local/cli/api-client.js';
import { CliUsageError } from '../../functions/local/cli/cli-usage-error.js';
import { runCli } from '../../functions/local/cli/main.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { RecordingLogger } from '../support/recorders.js';

const ADMIN_KEY = 'cli-api-test-admin-key-0123456789';
let db: TestDatabase;
let server: ApiServer;
const saved = { ...process.env };

async function cli(...argv: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await runCli([...argv, '--api-url', server.url], (text) => lines.push(text));
  return { code, lines };
}

beforeAll(async () => {
  db = await createTestDatabase();
  await ensureBootstrapApiKey(db.pool, ADMIN_KEY);
  const app = createApiApp({
    pool: db.pool,
    network: 'preprod',
    logger: new RecordingLogger(),
    validateResponses: true,
    webhooks: { sealer: new AesGcmSecretSealer(async () => 'k'.repeat(32)), allowPrivateDestinations: false },
  });
  server = await startApiServer({ port: 0, handle: (request) => app.handle(request) });
  Object.assign(process.env, { NETWORK: 'preprod', PAYMENT_MONITOR_API_KEY: ADMIN_KEY });
});
afterAll(async () => {
  process.env = saved;
  await server?.close();
  await db?.drop();
});

describe('CLI --api-url', () => {
  const address = syntheticAddress('preprod', 'cli-api-customer');

  it('registers, lists and shows through the API, with the same sentences as on the database', async () => {
    const add = ['addresses', 'add', address, '--reference-type', 'deposit', '--reference-id', 'acct-7', '--user', 'u-7'];
    expect(await cli(...add, '--idempotency-key', 'add-once')).toEqual({ code: 0, lines: [`Registered ${address}.`] });
    // The same command with the same key is a replay; with a new key it is a registration already there.
    expect((await cli(...add, '--idempotency-key', 'add-once')).lines).toEqual([`Registered ${address}.`]);
    expect((await cli(...add)).lines).toEqual([`${address} was already registered with this reference.`]);
    const { rows } = await db.pool.query(`SELECT actor FROM audit_log WHERE entity_id = $1`, [address]);
    expect(rows.map((row) => row.actor)).toEqual([expect.stringMatching(/^key_/)]);

    const listed = await cli('addresses', 'list', '--json');
    expect(JSON.parse(listed.lines.join('\n')).data).toEqual([
      expect.objectContaining({ address, reference_id: 'acct-7', user_id: 'u-7' }),
    ]);
    await db.pool.query(`INSERT INTO user_balances (user_id, balance_lovelace) VALUES ('u-7', 12345678901234567)`);
    expect(await cli('balances', 'u-7')).toEqual({ code: 0, lines: ['u-7: 12345678901.234567 ADA'] });
    const token = `${'d1'.repeat(28)}.cafe`;
    await db.pool.query(`INSERT INTO user_asset_balances (user_id, asset, quantity) VALUES ('u-7', $1, 18446744073709551615)`, [token]);
    expect(await cli('balances', 'u-7')).toEqual({
      code: 0,
      lines: [`u-7: 12345678901.234567 ADA\nu-7: 18446744073709551615 ${token}`],
    });
  });

  it("prints the API's problem naming the field, and exits 1 through the process wrapper", async () => {
    const bad = ['addresses', 'add', syntheticAddress('mainnet', 'wrong-network'), '--reference-type', 'deposit', '--reference-id', 'x'];
    const failure = await cli(...bad).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiProblemError);
    expect((failure as ApiProblemError).problem.status).toBe(422);
    expect((failure as Error).message).toMatch(/422 .*address/);

    process.env.PAYMENT_MONITOR_API_KEY = 'not-a-key-of-this-monitor-000000';
    try {
      const refused = await cli('status').catch((error: unknown) => error);
      expect((refused as ApiProblemError).problem.status).toBe(401);
    } finally {
      process.env.PAYMENT_MONITOR_API_KEY = ADMIN_KEY;
    }
  });

  it('says which commands need the database, which need the API, and that the API needs a key', async () => {
    await expect(cli('reconcile')).rejects.toThrow(CliUsageError);
    await expect(runCli(['webhooks', 'list'], () => {})).rejects.toThrow(/--api-url/);
    delete process.env.PAYMENT_MONITOR_API_KEY;
    try {
      await expect(cli('status')).rejects.toThrow(/PAYMENT_MONITOR_API_KEY is not set/);
    } finally {
      process.env.PAYMENT_MONITOR_API_KEY = ADMIN_KEY;
    }
  });

  it('sends the key over https, or plain http only to a loopback host', async () => {
    const seen: string[] = [];
    const status = (url: string) => runCli(['status', '--api-url', url], (text) => seen.push(text));
    for (const url of [
      'http://api.example.com/prod/v1/',
      'http://10.0.0.5:8081',
      'http://localhost.example.com:8081',
      'http://[::2]:8081',
    ]) {
      await expect(status(url), url).rejects.toThrow(/The API URL must be https \(plain http only to localhost, 127\.0\.0\.1 or \[::1\]\)/);
    }
    await expect(status('ftp://api.example.com/')).rejects.toThrow(/must be an http\(s\) URL/);
    expect(seen).toEqual([]);
    const env = { PAYMENT_MONITOR_API_KEY: ADMIN_KEY };
    for (const url of [
      'https://abc.execute-api.eu-west-1.amazonaws.com/prod/v1/',
      'http://localhost:8081',
      'http://[::1]:8081',
      'http://127.0.0.1:8081',
    ]) {
      expect(readCliApi(url, env), url).toEqual({ url, key: ADMIN_KEY });
    }
    // The control: the test server is on a loopback address over plain http, and answers.
    expect(server.url).toMatch(/^http:\/\/(127\.0\.0\.1|\[::1\]|localhost):/);
    expect((await cli('status')).code).toBe(0);
  });

  it('manages webhooks and keys through the API, the secret and the key shown once', async () => {
    const webhook = JSON.parse(
      (await cli('webhooks', 'add', 'https://hooks.example.com/cardano', '--events', 'payment.*,payment.reversed', '--json')).lines.join(
        '\n',
      ),
    );
    expect(webhook).toMatchObject({
      id: expect.stringMatching(/^we_/),
      events: ['payment.*', 'payment.reversed'],
      secret: expect.any(String),
    });
    expect((await cli('webhooks', 'list')).lines.join('\n')).toContain(webhook.id);
    expect((await cli('webhooks', 'list')).lines.join('\n')).not.toContain(webhook.secret);
    expect((await cli('webhooks', 'delete', webhook.id)).lines).toEqual([`Endpoint ${webhook.id} deleted.`]);

    const key = (await cli('api-keys', 'create', '--name', 'reporting', '--scope', 'read')).lines[0] as string;
    const [, id, value] = /^Key (key_\S+) created, shown this once: (\S+)$/.exec(key) ?? [];
    expect(value).toMatch(/^pm_test_/);
    process.env.PAYMENT_MONITOR_API_KEY = value;
    try {
      expect((await cli('status', '--json')).code).toBe(0);
      const refused = await cli('addresses', 'add', address, '--reference-type', 'deposit', '--reference-id', 'acct-7').catch(
        (error: unknown) => error,
      );
      expect((refused as ApiProblemError).problem.status).toBe(403);
    } finally {
      process.env.PAYMENT_MONITOR_API_KEY = ADMIN_KEY;
    }
    expect((await cli('api-keys', 'revoke', id as string)).lines).toEqual([`Key ${id} revoked.`]);
    expect((await cli('api-keys', 'list')).lines.join('\n')).not.toContain(value);
  });
});
