/**
 * PostgreSQL connection URLs from the pieces the platform hands out: an RDS-managed secret's fields (Lambda reads
 * it), or the libpq variables ECS injects from that same secret into the follower's container.
 */
export type Environment = Readonly<Record<string, string | undefined>>;

export interface PostgresParts {
  host: string;
  port: string;
  database: string;
  user: string | undefined;
  password: string | undefined;
  sslMode: string | undefined;
}

/** Each part is URL-encoded: a generated password may hold any character. */
export function composePostgresUrl(parts: PostgresParts): string {
  const composed = new URL('postgres://placeholder');
  composed.hostname = parts.host;
  composed.port = parts.port;
  composed.pathname = `/${encodeURIComponent(parts.database)}`;
  if (parts.user) composed.username = encodeURIComponent(parts.user);
  if (parts.password) composed.password = encodeURIComponent(parts.password);
  if (parts.sslMode) composed.searchParams.set('sslmode', parts.sslMode);
  return composed.toString();
}

/**
 * The URL from the libpq variables PGHOST, PGPORT (5432), PGDATABASE (postgres), PGUSER, PGPASSWORD and
 * PGSSLMODE; undefined when PGHOST is unset.
 */
export function postgresUrlFromLibpqVariables(env: Environment): string | undefined {
  const host = env.PGHOST?.trim();
  if (!host) return undefined;
  return composePostgresUrl({
    host,
    port: env.PGPORT?.trim() || '5432',
    database: env.PGDATABASE?.trim() || 'postgres',
    user: env.PGUSER,
    password: env.PGPASSWORD,
    sslMode: env.PGSSLMODE?.trim(),
  });
}

/** Refuses anything but a postgres:// URL, without repeating the value (it holds a password). */
export function assertPostgresUrl(value: string, name: string): void {
  let protocol: string;
  try {
    protocol = new URL(value).protocol;
  } catch {
    throw new Error(`${name} is not a URL`);
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') throw new Error(`${name} must be a postgres:// URL; got a ${protocol} URL`);
}
