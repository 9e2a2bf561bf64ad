/**
 * The demo as a newcomer runs it (issue 13, item 2): `npm start`, then `npm run cli -- reconcile`, as child
 * processes. The stack starts following at the tip, after the simulator has paid the demo addresses for 300 blocks;
 * the first reconciliation must report no discrepancy (those older outputs predate watching) and exit 0.
 *
 * The stack runs in a folder of its own (its .data: the simulator's journal and the file through which the CLI
 * finds the simulator), on the test's PostgreSQL, so a developer's own `npm start` is not disturbed.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEMO_INVOICES } from '../../functions/local/demo-invoices.js';
import { createTestDatabase } from '../support/database.js';
import { freePort } from '../support/free-port.js';

const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));

describe('the demo, first try', () => {
  it('npm start, then npm run cli -- reconcile: 0 discrepancies, exit 0; what the demo addresses held before is predates_watch', async () => {
    const db = await createTestDatabase();
    const cwd = await mkdtemp(path.join(tmpdir(), 'first-try-demo-'));
    await symlink(path.join(REPOSITORY, 'node_modules'), path.join(cwd, 'node_modules'), 'dir');
    const healthPort = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: db.url, HEALTH_PORT: String(healthPort), LOG_LEVEL: 'warn' };
    delete env.OGMIOS_URL;
    delete env.START_POINT;
    const stack = spawn(process.execPath, ['--import', 'tsx', path.join(REPOSITORY, 'functions/local/start.ts')], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    stack.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    stack.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => stack.once('exit', (code) => resolve(code)));
    try {
      // Following: a block applied since the start (the health endpoint answers ready once one is).
      await until(
        async () => (await fetch(`http://127.0.0.1:${healthPort}/health/ready`).catch(() => undefined))?.status === 200,
        exited,
        () => output,
      );
      const result = await run([path.join(REPOSITORY, 'functions/local/cli/main.ts'), 'reconcile', '--json'], { cwd, env });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const summary = JSON.parse(result.stdout) as Record<string, unknown>;
      expect(summary).toMatchObject({
        status: 'completed',
        already_running: false,
        discrepancies: 0,
        missing_in_db: 0,
        extra_in_db: 0,
        balance_mismatches: 0,
      });
      // The 300 blocks of history paid the demo addresses before the stack started following.
      expect(summary.predates_watch).toBeGreaterThan(0);
      // the four demo addresses, the addresses of npm start's demo invoices (derived from the demo account key) and
      // the hot wallet's (the payout signer's), whose coins npm start paid it after it started following
      expect(summary.addresses).toBe(4 + DEMO_INVOICES.length + 1);

      // And as text, as the README shows it.
      const text = await run([path.join(REPOSITORY, 'functions/local/cli/main.ts'), 'reconcile'], { cwd, env });
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^discrepancies\s+0$/m);
      expect(text.stdout).toMatch(/^predates_watch\s+[1-9]\d*$/m);
    } finally {
      stack.kill('SIGINT');
      await exited;
      await db.drop();
      await rm(cwd, { recursive: true, force: true });
    }
    // A ceiling for a loaded machine (three processes start through tsx), not a measure: nothing here is timed.
  }, 600_000);
});

/** Waits for `condition`; fails at once, with the process's output, when the process ends first. */
async function until(condition: () => Promise<boolean>, exited: Promise<number | null>, output: () => string): Promise<void> {
  let ended: number | null | undefined;
  void exited.then((code) => {
    ended = code;
  });
  for (let attempt = 0; attempt < 1200; attempt++) {
    if (ended !== undefined) throw new Error(`npm start exited (${ended}) before it was following:\n${output()}`);
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`npm start was not following after 1200 looks:\n${output()}`);
}

function run(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', ...args], { ...options, timeout: 300_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}
