/**
 * API keys in PostgreSQL (`api_keys`, migration 0016): created, listed, revoked and looked up by the SHA-256 of the
 * key. At most two active keys per scope is the database's rule (a unique index on the scope's two slots), not
 * this code's.
 */
import type pg from 'pg';
import { type NewApiKey, type Principal, type Scope, describeApiKey, hashApiKey, impliedScopes, isScope } from '../../domain/api-keys.js';

type Queryable = Pick<pg.ClientBase, 'query'>;

export interface ApiKeyRecord {
  id: string;
  name: string;
  scope: Scope;
  prefix: string;
  created_at: string;
  created_by: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

interface ApiKeyRow {
  id: string;
  name: string;
  scope: string;
  display_prefix: string;
  created_at: Date;
  created_by: string;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

const COLUMNS = 'id, name, scope, display_prefix, created_at, created_by, revoked_at, last_used_at';

function record(row: ApiKeyRow): ApiKeyRecord {
  if (!isScope(row.scope)) throw new Error(`api_keys ${row.id} has an unknown scope`);
  return {
    id: row.id,
    name: row.name,
    scope: row.scope,
    prefix: row.display_prefix,
    created_at: row.created_at.toISOString(),
    created_by: row.created_by,
    revoked_at: row.revoked_at?.toISOString() ?? null,
    last_used_at: row.last_used_at?.toISOString() ?? null,
  };
}

/** A third active key of a scope: refused by the database. */
export class TooManyActiveKeysError extends Error {
  override readonly name = 'TooManyActiveKeysError';
  constructor(readonly scope: Scope) {
    super(`Two ${scope} keys are already active: revoke one before creating another`);
  }
}

/** Revoking the last active admin key would leave nobody able to manage keys. */
export class LastAdminKeyError extends Error {
  override readonly name = 'LastAdminKeyError';
  constructor() {
    super('This is the last active admin key: create another admin key before revoking it');
  }
}

const UNIQUE_VIOLATION = '23505';

/** Inserts a key in a free slot of its scope, with its audit row; TooManyActiveKeysError when both are taken. */
export async function insertApiKey(
  db: Queryable,
  key: NewApiKey,
  options: { name: string; scope: Scope; actor: string; action?: string },
): Promise<ApiKeyRecord> {
  try {
    const { rows } = await db.query<ApiKeyRow>(
      `WITH slot AS (
         SELECT s FROM (VALUES (1::smallint), (2::smallint)) AS slots (s)
          WHERE NOT EXISTS (SELECT 1 FROM api_keys WHERE scope = $3 AND active_slot = s)
          ORDER BY s LIMIT 1
       ), created AS (
         INSERT INTO api_keys (id, name, scope, key_hash, display_prefix, created_by, active_slot)
         SELECT $1, $2, $3, $4, $5, $6, s FROM slot
         RETURNING ${COLUMNS}
       ), audited AS (
         INSERT INTO audit_log (action, entity_type, entity_id, actor, details)
         SELECT $7, 'api_key', id, $6, jsonb_build_object('name', name, 'scope', scope, 'prefix', display_prefix) FROM created
       )
       SELECT ${COLUMNS} FROM created`,
      [key.id, options.name, options.scope, key.hash, key.displayPrefix, options.actor, options.action ?? 'api_key_created'],
    );
    const row = rows[0];
    if (!row) throw new TooManyActiveKeysError(options.scope);
    return record(row);
  } catch (error) {
    // Two creations at once took the same free slot: the unique index refused the second.
    if (
      (error as { code?: string }).code === UNIQUE_VIOLATION &&
      (error as { constraint?: string }).constraint === 'api_keys_two_active_per_scope'
    ) {
      throw new TooManyActiveKeysError(options.scope);
    }
    throw error;
  }
}

/** Newest first, keyed by (created_at in microseconds, id): `position` is that key, for the next page. */
export async function listApiKeys(
  db: Queryable,
  options: { limit: number; after?: { createdAtMicros: bigint; id: string } },
): Promise<{ key: ApiKeyRecord; position: { created_us: string; id: string } }[]> {
  const { rows } = await db.query<ApiKeyRow & { created_us: bigint }>(
    `SELECT ${COLUMNS}, (extract(epoch FROM created_at) * 1000000)::bigint AS created_us FROM api_keys
      WHERE $1::bigint IS NULL OR (created_at, id) < (timestamptz 'epoch' + $1::bigint * interval '1 microsecond', $2::text)
      ORDER BY created_at DESC, id DESC LIMIT $3`,
    [options.after?.createdAtMicros ?? null, options.after?.id ?? null, options.limit],
  );
  return rows.map((row) => ({ key: record(row), position: { created_us: row.created_us.toString(), id: row.id } }));
}

/** Revokes a key (with its audit row); a key already revoked is returned as it is; undefined when unknown. */
export async function revokeApiKey(db: Queryable, id: string, actor: string): Promise<ApiKeyRecord | undefined> {
  // The active admin keys are locked first: two revocations at once cannot both leave none.
  const { rows: admins } = await db.query<{ id: string }>(
    "SELECT id FROM api_keys WHERE scope = 'admin' AND active_slot IS NOT NULL ORDER BY id FOR UPDATE",
  );
  const { rows: found } = await db.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE id = $1 FOR UPDATE`, [id]);
  const current = found[0];
  if (!current) return undefined;
  if (current.revoked_at !== null) return record(current);
  if (current.scope === 'admin' && admins.length <= 1) throw new LastAdminKeyError();
  const { rows } = await db.query<ApiKeyRow>(
    `WITH revoked AS (
       UPDATE api_keys SET revoked_at = now(), revoked_by = $2, active_slot = NULL WHERE id = $1 RETURNING ${COLUMNS}
     ), audited AS (
       INSERT INTO audit_log (action, entity_type, entity_id, actor, details)
       SELECT 'api_key_revoked', 'api_key', id, $2, jsonb_build_object('name', name, 'scope', scope, 'prefix', display_prefix) FROM revoked
     )
     SELECT ${COLUMNS} FROM revoked`,
    [id, actor],
  );
  return record(rows[0]!);
}

/**
 * The caller of a key: undefined when the key is unknown or revoked. Notes the key's use at most once a minute
 * (the UPDATE's condition: a key used a thousand times a second writes once a minute).
 */
export async function authenticateApiKey(db: Queryable, key: string): Promise<Principal | undefined> {
  const { rows } = await db.query<{ id: string; scope: string; last_used_recent: boolean }>(
    `SELECT id, scope, coalesce(last_used_at > now() - interval '1 minute', false) AS last_used_recent
       FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
    [hashApiKey(key)],
  );
  const row = rows[0];
  if (!row || !isScope(row.scope)) return undefined;
  if (!row.last_used_recent) {
    await db.query(
      `UPDATE api_keys SET last_used_at = now()
        WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= now() - interval '1 minute')`,
      [row.id],
    );
  }
  return { keyId: row.id, scopes: impliedScopes(row.scope) };
}

/** Whether the key `id` exists and is not revoked: one primary-key lookup. */
export async function isApiKeyActive(db: Queryable, id: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM api_keys WHERE id = $1 AND revoked_at IS NULL', [id]);
  return rows.length > 0;
}

/**
 * Locally, BOOTSTRAP_API_KEY: an admin key with that value when no admin key is active. Returns the new key's id,
 * or undefined when an admin key exists already (or this very key was created and revoked before).
 */
export async function ensureBootstrapApiKey(db: Queryable, key: string, actor = 'bootstrap'): Promise<string | undefined> {
  const { rows: active } = await db.query("SELECT 1 FROM api_keys WHERE scope = 'admin' AND active_slot IS NOT NULL LIMIT 1");
  if (active.length > 0) return undefined;
  const { rows: same } = await db.query('SELECT 1 FROM api_keys WHERE key_hash = $1', [hashApiKey(key)]);
  if (same.length > 0) return undefined;
  try {
    const created = await insertApiKey(db, describeApiKey(key), {
      name: 'bootstrap',
      scope: 'admin',
      actor,
      action: 'api_bootstrap_key_created',
    });
    return created.id;
  } catch (error) {
    // Another process created an admin key (or this one) at the same moment: there is one.
    if (error instanceof TooManyActiveKeysError || (error as { code?: string }).code === UNIQUE_VIOLATION) return undefined;
    throw error;
  }
}
