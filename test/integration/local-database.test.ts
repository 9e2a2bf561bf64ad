import { existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { runningLocalPostgres, startLocalPostgres, type LocalPostgres } from '../../functions/local/embedded-postgres.js';

describe('the embedded server of a running local stack', () => {
  // Under .data like the test cluster: as root, PostgreSQL runs as `postgres`, which a 0700 temp folder would shut out.
  const dataDir = `.data/test-local-db-${process.pid}`;
  let server: LocalPostgres | undefined;

  afterAll(async () => {
    await server?.stop();
    // As root in a folder the postgres user cannot reach, the data folder is kept elsewhere and dataDir links to it.
    const kept = existsSync(dataDir) ? realpathSync(dataDir) : undefined;
    if (kept) rmSync(kept, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is found from its data directory and used as it is, and stopping the attachment leaves it running', async () => {
    expect(await runningLocalPostgres(dataDir)).toBeUndefined();
    server = await startLocalPostgres({ dataDir, persistent: true, fast: true });

    const attached = await runningLocalPostgres(dataDir);
    expect(attached?.port).toBe(server.port);
    await attached!.stop();
    const client = new pg.Client({ connectionString: attached!.url });
    await client.connect();
    try {
      expect((await client.query<{ answer: number }>('SELECT 42 AS answer')).rows[0]?.answer).toBe(42);
    } finally {
      await client.end();
    }
    // A lock file elsewhere whose pid is alive and whose port is this server's (a reused pid) is not taken for ours:
    // on Linux the pid's command line shows it is no PostgreSQL of that folder (a stale lock); elsewhere the server on
    // that port is asked which folder it serves.
    const impostor = `${dataDir}-impostor`;
    mkdirSync(impostor, { recursive: true });
    try {
      writeFileSync(`${impostor}/postmaster.pid`, `${process.pid}\n${impostor}\n0\n${server.port}\n`);
      if (existsSync(`/proc/${process.pid}/cmdline`)) expect(await runningLocalPostgres(impostor)).toBeUndefined();
      else await expect(runningLocalPostgres(impostor)).rejects.toThrow(/serves .*, not /);
    } finally {
      rmSync(impostor, { recursive: true, force: true });
    }
    // A second server on the same data directory is still refused, naming the process that runs it: only tools
    // attach, stacks do not share.
    await expect(startLocalPostgres({ dataDir, persistent: true })).rejects.toThrow(
      new RegExp(`is already running on .* for another process \\(pid ${process.pid}\\), which is still running: .*or set DATABASE_URL`),
    );

    await server.stop();
    server = undefined;
    expect(await runningLocalPostgres(dataDir)).toBeUndefined();
  });
});
