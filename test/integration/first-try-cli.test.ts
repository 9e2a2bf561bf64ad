/**
 * The operator's first tries, as child processes: the real CLI, `npm start` and `npm run migrate`, their exit codes
 * and what they say (issue 13, items 6 and 8). A database holds one network's data and refuses another; a damaged
 * backup, a closed pipe, a bad flag or `--json` each end with a sentence (or a JSON object) and an honest exit code,
 * never a stack trace. Each case runs on a database of its own; nothing here waits for time to pass.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { syntheticAddress, syntheticHash } from '../../functions/local/synthetic/addresses.js';
import { databasesDroppedAfterAll, type TestDatabase } from '../support/database.js';
import { withAdmin, withDatabase } from '../support/global-setup.js';
import { freePort } from '../support/free-port.js';

const CLI = ['--import', 'tsx', 'functions/local/cli/main.ts'];
const SLOW = 240_000; // child processes on a loaded machine: generous bounds, never a condition of the result

interface Ended {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (null: it had to be killed, which fails the test whatever the load). */
function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Ended> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: 200_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

const cli = (db: TestDatabase, network: string, ...args: string[]) =>
  run(process.execPath, [...CLI, ...args], { DATABASE_URL: db.url, NETWORK: network });

/** No stack trace: no "    at fn (file:line)" frames, no "node:internal". */
function expectNoStackTrace(output: string): void {
  expect(output).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  expect(output).not.toContain('node:internal');
}

const database = databasesDroppedAfterAll();

const preprodAddress = syntheticAddress('preprod', 'first-try-1');
const mainnetAddress = syntheticAddress('mainnet', 'first-try-2');

describe('a database holds one network', () => {
  it('the first address registration records the network; another NETWORK is refused by every command, naming both networks and what to do', {
    timeout: SLOW,
  }, async () => {
    const db = await database();
    const added = await cli(db, 'preprod', 'addresses', 'add', preprodAddress, '--reference-type', 'invoice', '--reference-id', 'I-1');
    expect(added).toMatchObject({ code: 0, stdout: `Registered ${preprodAddress}.\n` });
    const status = await cli(db, 'preprod', 'status');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^network\s+preprod$/m);

    const refused = await cli(db, 'mainnet', 'addresses', 'add', mainnetAddress, '--reference-type', 'invoice', '--reference-id', 'I-2');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(
      'This database holds preprod data (recorded when it was first used), but NETWORK is mainnet. Set NETWORK=preprod to use it, ' +
        'or point DATABASE_URL at a database of its own for mainnet. Nothing was changed.\n',
    );
    const reading = await cli(db, 'mainnet', 'status', '--json');
    expect(reading.code).toBe(1);
    expect(JSON.parse(reading.stdout)).toEqual({ error: expect.stringMatching(/holds preprod data .* NETWORK is mainnet/), exit_code: 1 });
    const { rows } = await db.pool.query('SELECT address FROM payment_addresses');
    expect(rows).toEqual([{ address: preprodAddress }]);
    expect((await db.pool.query('SELECT network FROM sync_state')).rows).toEqual([{ network: 'preprod' }]);
  });

  it('npm start on a database of another network exits 1 with the reason, before it starts the simulator or follows anything', {
    timeout: SLOW,
  }, async () => {
    const db = await database();
    await db.pool.query(`UPDATE sync_state SET network = 'preprod'`);
    const started = await run('npm', ['start'], { DATABASE_URL: db.url, NETWORK: 'mainnet', HEALTH_PORT: String(await freePort()) });
    expect(started.code).toBe(1);
    expect(started.stderr).toContain(
      'npm start failed: This database holds preprod data (recorded when it was first used), but NETWORK is mainnet. Set NETWORK=preprod to use it',
    );
    const events = jsonLines(started.stdout).map((line) => line.event);
    expect(events).toContain('startup_failed');
    expect(events).not.toContain('simulator_started');
    expect((await db.pool.query('SELECT count(*)::int AS n FROM payment_addresses')).rows[0].n).toBe(0);
  });

  it('a database from before the record is judged by its first registered address: npm start on preprod refuses mainnet data', {
    timeout: SLOW,
  }, async () => {
    const db = await database();
    await db.pool.query(`INSERT INTO payment_addresses (address, reference_type, reference_id) VALUES ($1, 'invoice', 'old')`, [
      mainnetAddress,
    ]);
    const started = await run('npm', ['start'], { DATABASE_URL: db.url, NETWORK: 'preprod', HEALTH_PORT: String(await freePort()) });
    expect(started.code).toBe(1);
    expect(started.stderr).toMatch(
      /npm start failed: This database holds mainnet data \(its first registered address, addr1\S+, is a mainnet address\), but NETWORK is preprod\. Set NETWORK=mainnet/,
    );
    expect((await db.pool.query('SELECT network FROM sync_state')).rows).toEqual([{ network: null }]);
  });

  it('npm run migrate applies 0012 (the network record) to an empty database, then finds nothing to do', { timeout: SLOW }, async () => {
    const admin = inject('adminDatabaseUrl');
    const name = `pm_test_migrate_${process.pid}`;
    await withAdmin(admin, (client) => client.query(`CREATE DATABASE ${name}`));
    try {
      const url = withDatabase(admin, name);
      const first = await run('npm', ['run', '-s', 'migrate'], { DATABASE_URL: url });
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(/^Applied 0001_payment_engine, .*0012_network_record.* to postgres:\/\/[^:]+:\*\*\*@/);
      const again = await run('npm', ['run', '-s', 'migrate'], { DATABASE_URL: url });
      expect(again).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Schema is up to date/) });
    } finally {
      await withAdmin(admin, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    }
  });
});

describe('the CLI on the first try', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await database();
  });

  it('status --json is snake_case, like every other JSON the CLI prints', { timeout: SLOW }, async () => {
    const status = await cli(db, 'preprod', 'status', '--json');
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as Record<string, unknown>;
    expect(parsed).toMatchObject({
      network: null,
      applied_height: null,
      network_tip_height: null,
      credited_lovelace: '0',
      credited_ada: '0.000000',
    });
    expect(keysOf(parsed).filter((key) => !/^[a-z0-9_]+$/.test(key))).toEqual([]);
    expect(parsed.pipeline).toEqual({ generation: '0', fence: '0', halted_at: null, halted_reason: null, recoveries_today: '0' });
  });

  it('a reader that closes early (status | head) ends the output quietly: exit 0, no EPIPE stack trace', { timeout: SLOW }, async () => {
    const child = spawn(process.execPath, [...CLI, 'status'], {
      env: { ...process.env, DATABASE_URL: db.url, NETWORK: 'preprod' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Our end of its stdout is closed before it can have written anything: every line it writes meets EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('errors name the flags, not the fields behind them; a usage error exits 2 with the usage', { timeout: SLOW }, async () => {
    const empty = await cli(db, 'preprod', 'addresses', 'add', preprodAddress, '--reference-type', ' ', '--reference-id', 'I-1');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toBe(
      `Cannot register address "${preprodAddress}": --reference-type must be a non-empty string of at most 200 characters\n`,
    );
    const missing = await cli(db, 'preprod', 'addresses', 'add', preprodAddress, '--reference-type', 'invoice');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /^addresses add needs an address, --reference-type <type> and --reference-id <id>\nusage: npm run cli -- <command>\n/,
    );
    const days = await cli(db, 'preprod', 'rebuild', '--days-ago', 'yesterday');
    expect(days).toMatchObject({ code: 1, stderr: '--days-ago must be a whole number from 0 to 3650; got "yesterday"\n' });
    const unknown = await cli(db, 'preprod', 'adresses', 'list');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^unknown command "adresses list"\nusage:/);
    const option = await cli(db, 'preprod', 'status', '--jsn');
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/^Unknown option '--jsn'/);
    for (const result of [empty, missing, days, unknown, option]) {
      expect(result.stdout).toBe('');
      expectNoStackTrace(result.stderr);
    }
    expect((await db.pool.query('SELECT count(*)::int AS n FROM payment_addresses')).rows[0].n).toBe(0);
  });

  it('under --json a failure is one JSON object on stdout with the exit code (problems listed for an import)', {
    timeout: SLOW,
  }, async () => {
    const bad = await cli(db, 'preprod', 'addresses', 'add', 'addr_test1bogus', '--reference-type', 'x', '--reference-id', 'y', '--json');
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toEqual({
      error: 'Cannot register address "addr_test1bogus": is too short to hold a bech32 checksum',
      exit_code: 1,
    });
    expect(bad.stderr).toBe('');
    const usage = await cli(db, 'preprod', 'frobnicate', '--json');
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout)).toEqual({ error: 'unknown command "frobnicate"', exit_code: 2 });
    const folder = await mkdtemp(path.join(tmpdir(), 'first-try-csv-'));
    try {
      const file = path.join(folder, 'addresses.csv');
      await writeFile(file, `address,reference_type,reference_id,user_id\nnot-an-address,order,O-1,\n${preprodAddress},order,,\n`);
      const imported = await cli(db, 'preprod', 'addresses', 'import', file, '--json');
      expect(imported.code).toBe(1);
      expect(JSON.parse(imported.stdout)).toMatchObject({
        error: expect.stringContaining('The file was not imported; 2 problem(s)'),
        problems: [expect.stringMatching(/^line 2: /), expect.stringMatching(/^line 3: .*reference_id must be a non-empty string/)],
        exit_code: 1,
      });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('rebuild --days-ago past what is retained names the oldest point it could use, which then works', { timeout: SLOW }, async () => {
    const rebuildDb = await database();
    const [first, second] = [syntheticHash('first-try-block-1'), syntheticHash('first-try-block-2')];
    await rebuildDb.pool.query(
      `INSERT INTO blocks (hash, height, slot, ancestor, block_time) VALUES
         ($1, 1, 100, 'origin', now() - interval '2 hours'), ($2, 2, 120, $1, now() - interval '1 hour')`,
      [first, second],
    );
    await rebuildDb.pool.query(`UPDATE sync_state SET last_block_height = 2, last_block_slot = 120, last_block_hash = $1`, [second]);
    const refused = await cli(rebuildDb, 'preprod', 'rebuild', '--days-ago', '1');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(
        `^no retained point matches 1 days ago: .*; the oldest it could use is 100\\.${first} \\(height 1, \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\)\\n$`,
      ),
    );
    const started = await cli(rebuildDb, 'preprod', 'rebuild', '--point', `100.${first}`);
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(new RegExp(`^Rebuild 1 started from 100\\.${first} \\(height 1, `));
  });

  it('restore of a truncated export refuses with the file and the reason, writes nothing, and exits 1; the whole file restores', {
    timeout: SLOW,
  }, async () => {
    const source = await database();
    const target = await database();
    const folder = await mkdtemp(path.join(tmpdir(), 'first-try-backup-'));
    try {
      expect(
        (await cli(source, 'preprod', 'addresses', 'add', preprodAddress, '--reference-type', 'order', '--reference-id', 'O-9')).code,
      ).toBe(0);
      const exported = await cli(source, 'preprod', 'backup', 'payment_addresses', '--out', folder, '--json');
      expect(exported.code).toBe(0);
      const dataFile = (JSON.parse(exported.stdout) as { data: string }).data;
      const whole = await readFile(dataFile);
      await writeFile(dataFile, whole.subarray(0, Math.floor(whole.length / 2)));

      const truncated = await cli(target, 'preprod', 'restore', dataFile);
      expect(truncated.code).toBe(1);
      expect(truncated.stderr).toBe(
        `${dataFile}: not a complete gzip stream (unexpected end of file): the export is truncated or damaged; nothing was restored\n`,
      );
      expectNoStackTrace(truncated.stderr);
      expect((await target.pool.query('SELECT count(*)::int AS n FROM payment_addresses')).rows[0].n).toBe(0);

      await writeFile(dataFile, whole);
      const restored = await cli(target, 'preprod', 'restore', dataFile);
      expect(restored.code).toBe(0);
      expect(restored.stdout).toBe(`Restored 1 rows into payment_addresses from ${dataFile}.\n`);
      expect((await readdir(path.dirname(dataFile))).length).toBe(2); // the data and its manifest
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('reconcile prints every name apart from its value (compared_from_height too)', { timeout: SLOW }, async () => {
    // No address registered: the run asks Ogmios nothing, so any URL will do.
    const reconciled = await run(process.execPath, [...CLI, 'reconcile'], {
      DATABASE_URL: db.url,
      NETWORK: 'preprod',
      OGMIOS_URL: 'ws://127.0.0.1:1',
    });
    expect(reconciled.code).toBe(0);
    expect(reconciled.stdout).toMatch(/^compared_from_height +null$/m);
    for (const line of reconciled.stdout.trim().split('\n')) expect(line).toMatch(/^[a-z_]+ {2,}\S/);
  });
});

function keysOf(value: unknown): string[] {
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, inner]) => [key, ...keysOf(inner)]);
}

function jsonLines(text: string): { event?: string; msg?: string }[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { event?: string; msg?: string })
    .map((line) => ({ ...line, event: line.event ?? line.msg }));
}
