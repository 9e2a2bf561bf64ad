/**
 * The CLI's account and invoice commands through the HTTP API (--api-url): `accounts add|list`, `invoices
 * create|get|list`, amounts as exact ADA (`--ada 12.5`) and repeated `--asset <policy>.<name hex>=<qty>` as
 * `simulate pay` takes them; the API's problems come back naming the field; both are API-only commands.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../../functions/adapters/http/api-server.js';
import { ensureBootstrapApiKey } from '../../functions/adapters/postgres/api-keys.js';
import { createApiApp } from '../../functions/api/app.js';
import { ApiProblemError } from '../../functions/local/cli/api-client.js';
import { CliUsageError } from '../../functions/local/cli/cli-usage-error.js';
import { runCli } from '../../functions/local/cli/main.js';
import { DEMO_ACCOUNT_FIRST_TESTNET_ADDRESS, DEMO_ACCOUNT_PUBLIC_KEY } from '../../functions/local/demo-account.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { RecordingLogger } from '../support/recorders.js';

const ADMIN_KEY = 'cli-invoices-test-admin-key-0123456789';
const TOKEN = `${'ab'.repeat(28)}.55534443`;
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
  const app = createApiApp({ pool: db.pool, network: 'preprod', logger: new RecordingLogger(), validateResponses: true });
  server = await startApiServer({ port: 0, handle: (request) => app.handle(request) });
  Object.assign(process.env, { NETWORK: 'preprod', PAYMENT_MONITOR_API_KEY: ADMIN_KEY });
});
afterAll(async () => {
  process.env = saved;
  await server?.close();
  await db?.drop();
});

describe('CLI accounts and invoices (--api-url)', () => {
  it('registers the account key and lists it', async () => {
    const added = await cli('accounts', 'add', DEMO_ACCOUNT_PUBLIC_KEY, '--name', 'shop', '--gap-limit', '5');
    expect(added.code).toBe(0);
    expect(added.lines).toEqual([
      expect.stringMatching(
        new RegExp(`^Account acct_[0-9a-f]{24} registered \\(gap limit 5\\); its first address: ${DEMO_ACCOUNT_FIRST_TESTNET_ADDRESS} `),
      ),
    ]);
    const listed = JSON.parse((await cli('accounts', 'list', '--json')).lines.join('\n'));
    expect(listed.data).toEqual([
      expect.objectContaining({ name: 'shop', gap_limit: 5, first_address: DEMO_ACCOUNT_FIRST_TESTNET_ADDRESS }),
    ]);
    await expect(cli('accounts', 'add', DEMO_ACCOUNT_PUBLIC_KEY)).rejects.toThrow(ApiProblemError);
  });

  it('creates an ADA invoice on a derived address and a token invoice on a given one, exact amounts', async () => {
    const ada = await cli('invoices', 'create', '--reference-id', 'ORDER-1', '--ada', '12.5', '--expires-in', '600', '--user', 'u-1');
    expect(ada.code).toBe(0);
    expect(ada.lines[0]).toMatch(
      new RegExp(`^Invoice inv_[0-9a-f]{24} created: pay 12\\.500000 ADA to ${DEMO_ACCOUNT_FIRST_TESTNET_ADDRESS} by `),
    );
    const address = syntheticAddress('preprod', 'cli-token-invoice');
    const token = await cli(
      ...[
        'invoices',
        'create',
        '--reference-id',
        'ORDER-2',
        '--asset',
        `${TOKEN}=18446744073709551615`,
        '--asset',
        `${'ab'.repeat(28)}.=7`,
      ],
      ...['--expires-in', '3600', '--address', address, '--confirmations', '3', '--json'],
    );
    const invoice = JSON.parse(token.lines.join('\n'));
    expect(invoice).toMatchObject({
      reference_id: 'ORDER-2',
      address,
      confirmations: 3,
      amount: { lovelace: '0', assets: { [TOKEN]: '18446744073709551615', [`${'ab'.repeat(28)}.`]: '7' } },
    });
    const shown = await cli('invoices', 'get', invoice.id);
    expect(shown.lines.join('\n')).toContain(`${invoice.id} (ORDER-2): new`);
    expect(shown.lines.join('\n')).toContain(`asked 7 ${'ab'.repeat(28)}. + 18446744073709551615 ${TOKEN} at ${address}`);
    expect(shown.lines.join('\n')).toContain('paid  nothing');
    const listed = JSON.parse((await cli('invoices', 'list', '--reference-id', 'ORDER-1', '--status', 'new', '--json')).lines.join('\n'));
    expect(listed.data.map((row: { reference_id: string }) => row.reference_id)).toEqual(['ORDER-1']);
    const table = (await cli('invoices', 'list')).lines.join('\n');
    expect(table).toMatch(/ORDER-1 +new +none +12\.500000 ADA +nothing /);
    expect(table).toContain(`ORDER-2`);
  });

  it("prints the API's problem naming the field, and refuses bad flags as usage errors", async () => {
    await expect(cli('invoices', 'create', '--reference-id', 'X', '--ada', '1', '--expires-in', '5')).rejects.toThrow(/expires_in_seconds/);
    await expect(
      cli(
        'invoices',
        'create',
        '--reference-id',
        'X',
        '--ada',
        '1',
        '--expires-in',
        '600',
        '--address',
        syntheticAddress('preprod', 'cli-token-invoice'),
      ),
    ).rejects.toThrow(/409 Conflict: Address .* already registered/);
    await expect(cli('invoices', 'create', '--reference-id', 'X', '--ada', '1.1234567', '--expires-in', '600')).rejects.toThrow(
      CliUsageError,
    );
    await expect(cli('invoices', 'create', '--reference-id', 'X', '--asset', 'cafe=1', '--expires-in', '600')).rejects.toThrow(
      /--asset must be/,
    );
    await expect(cli('invoices', 'create', '--reference-id', 'X', '--expires-in', '600')).rejects.toThrow(CliUsageError);
    const lines: string[] = [];
    await expect(runCli(['invoices', 'list'], (text) => lines.push(text))).rejects.toThrow(/goes through the HTTP API/);
  });
});
