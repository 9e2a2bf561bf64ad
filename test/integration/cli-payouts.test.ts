/**
 * The CLI's payout commands through the HTTP API (--api-url): `payouts create|get|list|approve|cancel|reject`, amounts
 * as exact ADA (`--ada 150`) and `--asset`, the actor being the API key (four eyes: a second key approves); the API's
 * problems come back as errors naming their type (a second live payout of a reference: exit 1, naming the first);
 * `balances` says what open payouts hold; an API-only command.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startApiServer, type ApiServer } from '../../functions/adapters/http/api-server.js';
import { ensureBootstrapApiKey } from '../../functions/adapters/postgres/api-keys.js';
import { createApiApp } from '../../functions/api/app.js';
import { ApiProblemError } from '../../functions/local/cli/api-client.js';
import { CliUsageError } from '../../functions/local/cli/cli-usage-error.js';
import { runCli, runCliProcess } from '../../functions/local/cli/main.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { RecordingLogger } from '../support/recorders.js';

const ADMIN_KEY = 'cli-payouts-test-admin-key-0123456789';
const DESTINATION = syntheticAddress('preprod', 'cli-payout');
let db: TestDatabase;
let server: ApiServer;
let treasurerKey: string;
const saved = { ...process.env };

async function cli(...argv: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await runCli([...argv, '--api-url', server.url], (text) => lines.push(text));
  return { code, lines };
}

async function as<T>(key: string, work: () => Promise<T>): Promise<T> {
  const before = process.env.PAYMENT_MONITOR_API_KEY;
  process.env.PAYMENT_MONITOR_API_KEY = key;
  try {
    return await work();
  } finally {
    process.env.PAYMENT_MONITOR_API_KEY = before;
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  await ensureBootstrapApiKey(db.pool, ADMIN_KEY);
  const app = createApiApp({ pool: db.pool, network: 'preprod', logger: new RecordingLogger(), validateResponses: true });
  server = await startApiServer({ port: 0, handle: (request) => app.handle(request) });
  Object.assign(process.env, { NETWORK: 'preprod', PAYMENT_MONITOR_API_KEY: ADMIN_KEY });
  const created = JSON.parse((await cli('api-keys', 'create', '--name', 'treasurer', '--scope', 'write', '--json')).lines.join('\n'));
  treasurerKey = created.key;
});
afterAll(async () => {
  process.env = saved;
  await server?.close();
  await db?.drop();
});

describe('CLI payouts (--api-url)', () => {
  let waiting: string;

  it('creates a payout approved by the policy (at or below 100 ADA) and one waiting for a second key', async () => {
    const small = await cli('payouts', 'create', DESTINATION, '--reference-id', 'WD-1', '--ada', '12.5');
    expect(small.code).toBe(0);
    expect(small.lines).toEqual([
      expect.stringMatching(new RegExp(`^Payout po_[0-9a-f]{24} approved: 12\\.500000 ADA to ${DESTINATION} \\(by system:policy\\)\\.$`)),
    ]);
    const large = JSON.parse(
      (await cli('payouts', 'create', DESTINATION, '--reference-id', 'WD-2', '--ada', '150', '--json')).lines.join('\n'),
    );
    expect(large).toMatchObject({ status: 'requested', amount: { lovelace: '150000000', assets: {} }, approved_by: null });
    waiting = large.id;
  });

  it('keeps four eyes: the requesting key is refused, another key approves', async () => {
    await expect(cli('payouts', 'approve', waiting)).rejects.toThrow(/409 Conflict: .*another actor than its requester/);
    const approved = await as(treasurerKey, () => cli('payouts', 'approve', waiting));
    expect(approved.lines).toEqual([`Payout ${waiting} approved (version 2).`]);
    const shown = (await cli('payouts', 'get', waiting)).lines.join('\n');
    expect(shown).toContain(`${waiting} (WD-2): approved, version 2`);
    expect(shown).toContain(`150.000000 ADA to ${DESTINATION}`);
    expect(shown).toMatch(/requested by api_key:key_\S+ at .*, approved by api_key:key_\S+ at /);
  });

  it('cancels and rejects with a reason, and lists with filters', async () => {
    const cancelled = await cli('payouts', 'cancel', waiting, '--reason', 'customer asked');
    expect(cancelled.lines).toEqual([`Payout ${waiting} cancelled (version 3).`]);
    expect((await cli('payouts', 'get', waiting)).lines.join('\n')).toContain('reason: customer asked');
    const other = JSON.parse(
      (await cli('payouts', 'create', DESTINATION, '--reference-id', 'WD-3', '--ada', '101', '--json')).lines.join('\n'),
    );
    expect((await as(treasurerKey, () => cli('payouts', 'reject', other.id, '--reason', 'no'))).lines).toEqual([
      `Payout ${other.id} rejected (version 2).`,
    ]);
    const listed = JSON.parse((await cli('payouts', 'list', '--status', 'cancelled', '--json')).lines.join('\n'));
    expect(listed.data.map((row: { id: string }) => row.id)).toEqual([waiting]);
    const table = (await cli('payouts', 'list', '--reference-id', 'WD-1')).lines.join('\n');
    expect(table).toMatch(/WD-1 +approved +12\.500000 ADA /);
    expect(table).not.toContain('WD-2');
  });

  it("prints the API's problems and refuses bad flags as usage errors", async () => {
    await expect(cli('payouts', 'cancel', waiting)).rejects.toThrow(ApiProblemError);
    await expect(cli('payouts', 'create', syntheticAddress('mainnet', 'x'), '--reference-id', 'X', '--ada', '1')).rejects.toThrow(
      /destination: invalid_destination/,
    );
    await expect(cli('payouts', 'create', DESTINATION, '--reference-id', 'X', '--ada', '1001')).rejects.toThrow(/per-payout limit/);
    await expect(cli('payouts', 'create', DESTINATION, '--reference-id', 'X')).rejects.toThrow(CliUsageError);
    await expect(cli('payouts', 'create', '--reference-id', 'X', '--ada', '1')).rejects.toThrow(CliUsageError);
    await expect(cli('payouts', 'approve')).rejects.toThrow(CliUsageError);
    const lines: string[] = [];
    await expect(runCli(['payouts', 'list'], (text) => lines.push(text))).rejects.toThrow(/goes through the HTTP API/);
  });

  it('refuses a second live payout of a reference: exit 1 naming the payout that carries it; free again once cancelled', async () => {
    const first = JSON.parse(
      (await cli('payouts', 'create', DESTINATION, '--reference-id', 'WD-cli-once', '--ada', '5', '--json')).lines.join('\n'),
    );
    const printed: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((text) => {
      printed.push(String(text));
      return true;
    });
    let code: number;
    try {
      code = await runCliProcess([
        'payouts',
        'create',
        DESTINATION,
        '--reference-id',
        'WD-cli-once',
        '--ada',
        '5',
        '--api-url',
        server.url,
        '--json',
      ]);
    } finally {
      spy.mockRestore();
    }
    expect(code).toBe(1);
    const answer = JSON.parse(printed.join(''));
    expect(answer.exit_code).toBe(1);
    expect(answer.error).toMatch(
      new RegExp(`^409 Conflict: The reference_id WD-cli-once is already carried by payout ${first.id} \\(approved\\)`),
    );
    expect(answer.error).toContain('(reference_id: reference_in_use)');
    await cli('payouts', 'cancel', first.id);
    expect((await cli('payouts', 'create', DESTINATION, '--reference-id', 'WD-cli-once', '--ada', '5')).code).toBe(0);
  });

  it('prints what open payouts hold of a balance and what is available', async () => {
    await db.pool.query("INSERT INTO user_balances (user_id, balance_lovelace) VALUES ('u-held', 20000000)");
    expect((await cli('balances', 'u-held')).lines).toEqual(['u-held: 20.000000 ADA']);
    const held = JSON.parse(
      (
        await cli('payouts', 'create', DESTINATION, '--reference-id', 'WD-cli-held', '--ada', '7.5', '--user', 'u-held', '--json')
      ).lines.join('\n'),
    );
    expect((await cli('balances', 'u-held')).lines).toEqual([
      'u-held: 20.000000 ADA\nu-held: held by payouts 7.500000 ADA; available 12.500000 ADA',
    ]);
    expect(JSON.parse((await cli('balances', 'u-held', '--json')).lines.join('\n'))).toMatchObject({
      held: { lovelace: '7500000', assets: {} },
      available: { lovelace: '12500000', assets: {} },
    });
    await cli('payouts', 'cancel', held.id);
    expect((await cli('balances', 'u-held')).lines).toEqual(['u-held: 20.000000 ADA']);
  });
});
