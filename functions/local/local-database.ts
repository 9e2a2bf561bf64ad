import pg from 'pg';
import { readLocalDatabaseSettings } from '../config/local-settings.js';
import { lstat, realpath } from 'node:fs/promises';
import { runningLocalPostgres, startLocalPostgres, type LocalPostgres, type OrphanedPostgres } from './embedded-postgres.js';

export interface LocalDatabase {
  url: string;
  /** Where the data lives, for log lines: never prints a password. */
  description: string;
  /** The embedded database this machine owns (DATABASE_URL unset), which local tools may migrate themselves. */
  embedded: boolean;
  stop(): Promise<void>;
}

const LOCAL_DATA_DIR = '.data/postgres';
const LOCAL_DATABASE = 'payment_monitor';

export interface OpenLocalDatabaseOptions {
  /**
   * Use the embedded server the local stack already runs on .data/postgres instead of refusing (the CLI next to
   * `npm start`). The stack itself never shares: two stacks would follow two different chains into one database.
   * Either way, a server left running by a process that ended without stopping it (an orphan: `kill -9` of npm
   * start) is stopped first, and a server these tools did not start is refused with the command that stops it.
   */
  attachToRunning?: boolean;
  /** Told when an orphaned server was stopped; by default one sentence on stderr. */
  onOrphanStopped?: (orphan: OrphanedPostgres) => void;
}

/**
 * The database of local runs: DATABASE_URL when set; otherwise an embedded PostgreSQL whose data persists
 * in .data/postgres between runs, with a `payment_monitor` database created on first use.
 */
export async function openLocalDatabase(options: OpenLocalDatabaseOptions = {}): Promise<LocalDatabase> {
  const settings = readLocalDatabaseSettings();
  const configured = settings.url;
  if (configured) {
    return { url: configured, description: redactUrl(configured), embedded: false, stop: async () => undefined };
  }
  const { onOrphanStopped } = options;
  const running = options.attachToRunning ? await runningLocalPostgres(LOCAL_DATA_DIR, { onOrphanStopped }) : undefined;
  const server: LocalPostgres =
    running ?? (await startLocalPostgres({ dataDir: LOCAL_DATA_DIR, persistent: true, port: settings.embeddedPort, onOrphanStopped }));
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [LOCAL_DATABASE]);
    if (rowCount === 0) await admin.query(`CREATE DATABASE ${LOCAL_DATABASE}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server.url);
  url.pathname = `/${LOCAL_DATABASE}`;
  return {
    url: url.toString(),
    description:
      server.dataDir === (await realpath(LOCAL_DATA_DIR).catch(() => LOCAL_DATA_DIR)) && !(await isLink(LOCAL_DATA_DIR))
        ? `embedded PostgreSQL in ${LOCAL_DATA_DIR} on port ${server.port}`
        : `embedded PostgreSQL in ${LOCAL_DATA_DIR} (kept in ${server.dataDir}, where the postgres user can reach it) on port ${server.port}`,
    embedded: true,
    stop: () => server.stop(),
  };
}

async function isLink(file: string): Promise<boolean> {
  return (await lstat(file).catch(() => undefined))?.isSymbolicLink() ?? false;
}

/** postgres://user:secret@host/db → postgres://user:***@host/db */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}
