import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../functions/local/cli/main.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  process.env.DATABASE_URL = db.url;
  process.env.NETWORK = 'preprod';
});
afterAll(async () => db.drop());

async function cli(...args: string[]): Promise<{ code: number; output: string }> {
  const lines: string[] = [];
  const code = await runCli(args, (text) => lines.push(text));
  return { code, output: lines.join('\n') };
}

async function csvFile(name: string, content: string): Promise<string> {
  const file = path.join(tmpdir(), `${name}-${process.pid}.csv`);
  await writeFile(file, content);
  return file;
}

describe('operator CLI', () => {
  it('adds an address with its reference and user, and audits the actor', async () => {
    const address = syntheticAddress('preprod', 'cli-1');
    const { code, output } = await cli(
      'addresses',
      'add',
      address,
      '--reference-type',
      'invoice',
      '--reference-id',
      'INV-1',
      '--user',
      'u-1',
      '--actor',
      'alice',
    );
    expect(code).toBe(0);
    expect(output).toBe(`Registered ${address}.`);
    const { rows } = await db.pool.query(`SELECT actor, entity_id FROM audit_log WHERE action = 'address_registered'`);
    expect(rows).toEqual([{ actor: 'alice', entity_id: address }]);
    expect((await cli('addresses', 'list')).output).toContain('INV-1');
  });

  it('imports a CSV all or nothing, reporting every bad row with its line number', async () => {
    const good = syntheticAddress('preprod', 'csv-good');
    const mainnet = syntheticAddress('mainnet', 'csv-mainnet');
    const file = await csvFile(
      'bad',
      `address,reference_type,reference_id,user_id\n${good},order,O-1,u-2\nnot-an-address,order,O-2,\n"${mainnet}",order,O-3,\n${good},order,O-1,u-2\n`,
    );
    const error = await cli('addresses', 'import', file).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain('line 3:');
    expect(message).toContain('line 4:');
    expect(message).toContain('line 5: address');
    expect(message).not.toContain('line 2:');
    expect((await db.pool.query('SELECT count(*)::int AS n FROM payment_addresses WHERE address = $1', [good])).rows[0].n).toBe(0);

    const ok = await csvFile(
      'good',
      `address,reference_type,reference_id,user_id\r\n${good},order,O-1,u-2\r\n${syntheticAddress('preprod', 'csv-2')},order,"O-2, second",\r\n`,
    );
    expect(await cli('addresses', 'import', ok)).toEqual({ code: 0, output: `Imported ${ok}: 2 registered, 0 already registered.` });
  });

  it('shows status and lists payments, money printed exactly', async () => {
    await db.pool.query(
      `INSERT INTO incoming_payments (tx_hash, output_index, address, amount_lovelace, reference_type, reference_id,
                                      block_height, block_slot, block_hash, block_time)
       VALUES ('aa', 0, 'addr_test1x', 9007199254740993, 'invoice', 'I-9', 7, 70, 'bb', now())`,
    );
    const payments = await cli('payments', 'list', '--status', 'pending', '--json');
    expect(JSON.parse(payments.output)).toMatchObject([{ tx_hash: 'aa', amount_ada: '9007199254.740993', status: 'pending' }]);
    const status = await cli('status');
    expect(status.output).toMatch(/applied height\s+none/);
    expect(status.output).toMatch(/payments\s+pending 1/);
    await expect(cli('payments', 'list', '--status', 'lost')).rejects.toThrow(/--status must be one of/);
  });

  it('shows a halted pipeline in status, and resumes it once (a new generation); a second resume changes nothing', async () => {
    expect((await cli('status')).output).toMatch(/pipeline\s+following \(generation 0, fence 0; 0 recoveries in the last day\)/);
    await db.pool.query(
      `UPDATE sync_state SET halted_at = now(), halted_reason = '3 recoveries in a row without the engine getting past height 9'`,
    );
    expect((await cli('status')).output).toMatch(/pipeline\s+HALTED since .*: 3 recoveries in a row .* "pipeline resume"/);

    expect(await cli('pipeline', 'resume', '--actor', 'bob')).toEqual({
      code: 0,
      output: "Pipeline resumed: the leader follows again from the database's points (generation 1).",
    });
    expect(await cli('pipeline', 'resume')).toEqual({ code: 0, output: 'The pipeline was not halted: nothing to resume.' });
    const { rows } = await db.pool.query(`SELECT kind, actor, generation_to FROM pipeline_recoveries`);
    expect(rows).toEqual([{ kind: 'resumed', actor: 'bob', generation_to: 1n }]);
    expect((await cli('status')).output).toMatch(/pipeline\s+following \(generation 1/);
  });
});
