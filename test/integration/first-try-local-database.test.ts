/**
 * The embedded database on a newcomer's first tries (issue 13, items 3 and 4), with the real `npm start`, CLI and
 * `npm run migrate` as child processes in a folder of their own (their .data is theirs):
 * - as root in a folder only root may enter, PostgreSQL (run as the `postgres` user) starts from a place that user
 *   can reach, and no password file is left in the temporary folder or anywhere else;
 * - `kill -9` of the node process leaves PostgreSQL running: the next start (npm start or the CLI) stops that orphan,
 *   says so and goes on; a second start beside a running one, or a server these tools did not start, is refused
 *   with exit code 1 and what to do.
 * Nothing here waits for time to pass: every wait is for a line, an exit or a process to be gone.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, realpath, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalPostgres } from '../../functions/local/embedded-postgres.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const START = path.join(ROOT, 'functions/local/start.ts');
const CLI = path.join(ROOT, 'functions/local/cli/main.ts');
const MIGRATE = path.join(ROOT, 'functions/local/migrate-cli.ts');
const SLOW = 300_000; // child processes on a loaded machine: generous bounds, never a condition of the result
const asRoot = process.getuid?.() === 0;

let workdir: string;
let temporary: string;
const children = new Set<ChildProcess>();

/** The children's environment: the embedded database (no DATABASE_URL), any health port, their own TMPDIR. */
function environment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NETWORK: 'preprod', HEALTH_PORT: '0', LOG_LEVEL: 'warn', TMPDIR: temporary };
  for (const name of ['DATABASE_URL', 'LOCAL_POSTGRES_PORT', 'OGMIOS_URL', 'OGMIOS_API_KEY', 'OGMIOS_API_KEY_SECONDARY', 'START_POINT'])
    delete env[name];
  return env;
}

interface Ended {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end in the work folder (null: it had to be killed, which fails the test whatever the load). */
function run(script: string, ...args: string[]): Promise<Ended> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', script, ...args],
      { cwd: workdir, env: environment(), timeout: 240_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

interface Stack {
  child: ChildProcess;
  pid: number;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when stderr says `text`; rejects when the process ends first. */
  says(text: string): Promise<void>;
}

/** `npm start` (its node process: the one a `kill -9` hits). */
function startStack(): Stack {
  const child = spawn(process.execPath, ['--import', 'tsx', START], {
    cwd: workdir,
    env: environment(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stdout?.resume();
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return {
    child,
    pid: child.pid!,
    stderr: () => stderr,
    exited,
    says: (text) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!stderr.includes(text)) return;
          child.stderr?.off('data', check);
          resolve();
        };
        child.stderr?.on('data', check);
        check();
        void exited.then(({ code, signal }) =>
          reject(new Error(`npm start ended (${code ?? signal}) before it said "${text}":\n${stderr}`)),
        );
      }),
  };
}

const RUNNING = 'payment monitor running';
const dataDir = () => path.join(workdir, '.data', 'postgres');

/** The postmaster's pid from its lock file; undefined when there is none. */
function postmasterPid(): number | undefined {
  const lockFile = path.join(dataDir(), 'postmaster.pid');
  return existsSync(lockFile) ? Number(readFileSync(lockFile, 'utf8').split('\n')[0]) : undefined;
}

/** Alive and not a zombie (a stopped orphan whose new parent has not reaped it yet has ended). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

/** Waits until the condition holds; the test's own timeout bounds it. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 50));
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.map((entry) => path.basename(entry));
}

beforeAll(async () => {
  await mkdir(path.join(ROOT, '.data'), { recursive: true });
  // 0700 and root's when the suite runs as root: the `postgres` user cannot enter it (issue 13, item 3).
  workdir = await mkdtemp(path.join(ROOT, '.data', 'first-try-db-'));
  temporary = path.join(workdir, 'tmp');
  await mkdir(temporary);
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  const pid = postmasterPid();
  if (pid !== undefined && isRunning(pid)) {
    process.kill(pid, 'SIGINT');
    await until(() => !isRunning(pid));
  }
  const kept = await realpath(dataDir()).catch(() => undefined);
  if (kept && kept !== dataDir()) await rm(kept, { recursive: true, force: true });
  await rm(workdir, { recursive: true, force: true });
});

describe('the embedded database on a first try', () => {
  it(`npm start in a 0700 folder${asRoot ? ' as root' : ''} starts, leaves no password file behind, and Ctrl-C stops PostgreSQL`, {
    timeout: SLOW,
  }, async () => {
    expect((await stat(workdir)).mode & 0o777).toBe(0o700);
    const stack = startStack();
    await stack.says(RUNNING);
    expect(stack.stderr()).not.toMatch(/EACCES|Unhandled|node:internal/);
    if (asRoot) {
      // PostgreSQL runs as `postgres`, who cannot enter the work folder: its data is kept where it can reach it.
      expect(stack.stderr()).toMatch(
        /embedded PostgreSQL in \.data\/postgres \(kept in \/\S+\/payment-monitor-postgres\/data\/postgres-\S+, where the postgres user can reach it\)/,
      );
      expect((await lstat(dataDir())).isSymbolicLink()).toBe(true);
      const postgresUid = Number(execFileSync('id', ['-u', 'postgres']).toString());
      expect((await stat(await realpath(dataDir()))).uid).toBe(postgresUid);
    }
    // initdb's password went through a private file that is gone: nothing in the temporary folder, nothing beside the data.
    expect((await filesUnder(temporary)).filter((name) => name.startsWith('pg-password'))).toEqual([]);
    const besideData = await readdir(path.dirname(await realpath(dataDir())));
    expect(besideData.filter((name) => name.startsWith('.initdb-'))).toEqual([]);
    expect((await readdir(path.join(workdir, '.data'))).filter((name) => name.startsWith('.initdb-'))).toEqual([]);

    const postmaster = postmasterPid()!;
    stack.child.kill('SIGINT');
    expect((await stack.exited).code).toBe(0);
    expect(stack.stderr()).toContain('stopped.');
    expect(isRunning(postmaster)).toBe(false);
    expect(postmasterPid()).toBeUndefined();
  });

  it('after kill -9 of npm start, the next npm start stops the orphaned PostgreSQL, says so and runs; a second start is refused; the CLI attaches, and after another kill -9 stops the orphan itself', {
    timeout: SLOW,
  }, async () => {
    const killed = startStack();
    await killed.says(RUNNING);
    const orphan = postmasterPid()!;
    killed.child.kill('SIGKILL');
    expect((await killed.exited).signal).toBe('SIGKILL');
    expect(isRunning(orphan)).toBe(true); // what kill -9 leaves behind

    const stack = startStack();
    await stack.says(RUNNING);
    expect(stack.stderr()).toContain(
      `Stopped an orphaned PostgreSQL (pid ${orphan}) on .data/postgres: ` +
        `the process that started it (pid ${killed.pid}) had ended without stopping it.`,
    );
    expect(isRunning(orphan)).toBe(false);

    // Beside a running stack: a second npm start is refused with exit code 1 and what to do …
    const second = await run(START);
    expect(second.code).toBe(1);
    const failed = second.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { event?: string; msg?: string; error?: string })
      .find((line) => (line.event ?? line.msg) === 'startup_failed');
    expect(failed?.error).toMatch(
      new RegExp(
        `^PostgreSQL \\(pid ${postmasterPid()}\\) is already running on \\.data/postgres for another process \\(pid ${stack.pid}\\), which is still running: ` +
          `stop that one first \\(Ctrl-C where it runs, or kill ${stack.pid}\\), or set DATABASE_URL$`,
      ),
    );
    // … while the CLI and npm run migrate use its server.
    const status = await run(CLI, 'status');
    expect(status).toMatchObject({ code: 0 });
    expect(status.stderr).not.toContain('orphaned');
    const migrate = await run(MIGRATE);
    expect(migrate.code).toBe(0);
    expect(migrate.stdout).toMatch(/^Schema is up to date \(embedded PostgreSQL in \.data\/postgres/);

    // The CLI after a kill -9 of npm start: it stops the orphan, says so, works on its own server and stops it.
    const nextOrphan = postmasterPid()!;
    stack.child.kill('SIGKILL');
    await stack.exited;
    expect(isRunning(nextOrphan)).toBe(true);
    const after = await run(CLI, 'status');
    expect(after.code).toBe(0);
    expect(after.stderr).toContain(`Stopped an orphaned PostgreSQL (pid ${nextOrphan}) on .data/postgres: `);
    expect(after.stdout).toMatch(/^applied height/m);
    expect(isRunning(nextOrphan)).toBe(false);
    expect(postmasterPid()).toBeUndefined(); // the CLI's own server is stopped too
  });

  it('a PostgreSQL on the data folder that these tools did not start is refused by npm start, the CLI and npm run migrate, with the command that stops it', {
    timeout: SLOW,
  }, async () => {
    const foreign = await startLocalPostgres({ dataDir: dataDir(), persistent: true });
    try {
      // Without the record of who started it, it is nobody's orphan to stop.
      await rm(path.join(foreign.dataDir, 'payment-monitor.owner'));
      const pid = postmasterPid()!;
      const advice = new RegExp(
        `PostgreSQL \\(pid ${pid}\\) is already running on \\.data/postgres, not started by these tools: ` +
          `stop it with kill -INT ${pid} \\(a fast shutdown\\), or set DATABASE_URL`,
      );
      const start = await run(START);
      expect(start.code).toBe(1);
      expect(start.stdout).toMatch(advice);
      const cli = await run(CLI, 'status');
      expect(cli.code).toBe(1);
      expect(cli.stderr).toMatch(advice);
      const migrate = await run(MIGRATE);
      expect(migrate.code).toBe(1);
      expect(migrate.stderr).toMatch(advice);
      for (const output of [start.stdout + start.stderr, cli.stderr, migrate.stderr]) expect(output).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
      expect(isRunning(pid)).toBe(true); // left alone
    } finally {
      await foreign.stop();
    }
    expect(postmasterPid()).toBeUndefined();
  });
});
