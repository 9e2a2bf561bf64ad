/**
 * Webhook endpoints as the HTTP API manages them (create, list, get, delete, rotate the secret, redeliver, backlog).
 * Each function takes a Queryable, so it runs inside the API's idempotent write transaction; each write adds its
 * audit_log row (actor: the API key id). Secrets are returned once, at creation or rotation, and stored sealed.
 */
import { randomBytes } from 'node:crypto';
import { validateEndpointUrl } from '../../domain/webhooks/endpoint-url.js';
import { validateEventTypes } from '../../domain/webhooks/event-types.js';
import type { SecretSealer } from '../../domain/webhooks/secret-sealer.js';
import { newWebhookSecret } from '../../domain/webhooks/signature.js';
import { WebhookNotFoundError, WebhookValidationError } from '../../domain/webhooks/validation-error.js';
import type { Queryable } from './business-events.js';
import { eventTypeMatches } from './event-type-match.js';

export interface WebhookEndpoint {
  id: string;
  url: string;
  events: string[];
  status: 'enabled' | 'disabled';
  disabled_reason: string | null;
  disabled_at: string | null;
  failing_since: string | null;
  next_attempt_at: string | null;
  last_delivered_at: string | null;
  created_at: string;
  created_by: string;
}

interface EndpointRow {
  id: string;
  url: string;
  event_types: string[];
  status: 'enabled' | 'disabled';
  disabled_reason: string | null;
  disabled_at: Date | null;
  failing_since: Date | null;
  next_attempt_at: Date | null;
  last_delivered_at: Date | null;
  created_at: Date;
  created_by: string;
}

const ENDPOINT_COLUMNS = `id, url, event_types, status, disabled_reason, disabled_at, failing_since, next_attempt_at,
                          last_delivered_at, created_at, created_by`;

const iso = (date: Date | null) => (date ? date.toISOString() : null);

function toEndpoint(row: EndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    events: row.event_types,
    status: row.status,
    disabled_reason: row.disabled_reason,
    disabled_at: iso(row.disabled_at),
    failing_since: iso(row.failing_since),
    next_attempt_at: iso(row.next_attempt_at),
    last_delivered_at: iso(row.last_delivered_at),
    created_at: row.created_at.toISOString(),
    created_by: row.created_by,
  };
}

export const DEFAULT_KEEP_OLD_SECRET_SECONDS = 24 * 3600;

export interface CreateWebhookEndpointRequest {
  url: unknown;
  events: unknown;
  actor: string;
  /** The local stack: plain http to loopback allowed (WEBHOOK_ALLOW_PRIVATE_DESTINATIONS). Default false. */
  allowPrivateDestinations?: boolean;
}

/**
 * Registers an endpoint; it receives the events written after it (its cursor starts at the newest event). The
 * secret is in the answer only: stored sealed.
 */
export async function createWebhookEndpoint(
  db: Queryable,
  sealer: SecretSealer,
  request: CreateWebhookEndpointRequest,
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  const url = validateEndpointUrl(request.url, { allowPrivateDestinations: request.allowPrivateDestinations ?? false });
  const events = validateEventTypes(request.events);
  const id = `we_${randomBytes(12).toString('hex')}`;
  const secret = newWebhookSecret();
  const sealed = await sealer.seal(secret);
  const { rows } = await db.query<EndpointRow>(
    `WITH endpoint AS (
       INSERT INTO webhook_endpoints (id, url, event_types, created_by, cursor_seq)
       VALUES ($1, $2, $3, $4, (SELECT coalesce(max(seq), 0) FROM business_events))
       RETURNING ${ENDPOINT_COLUMNS}
     ), secret AS (
       INSERT INTO webhook_endpoint_secrets (endpoint_id, sealed) SELECT id, $5 FROM endpoint
     ), audited AS (
       INSERT INTO audit_log (action, entity_type, entity_id, actor, details)
       SELECT 'webhook_endpoint_created', 'webhook_endpoint', id, $4, jsonb_build_object('url', url, 'events', event_types)
         FROM endpoint
     )
     SELECT * FROM endpoint`,
    [id, url.toString(), events, request.actor, sealed],
  );
  return { endpoint: toEndpoint(rows[0]!), secret };
}

/** Live endpoints, oldest first; `after` is the id of the last one of the previous page. */
export async function listWebhookEndpoints(
  db: Queryable,
  { after, limit }: { after?: string; limit: number },
): Promise<{ endpoints: WebhookEndpoint[]; next_cursor: string | null }> {
  const { rows } = await db.query<EndpointRow>(
    `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints w
      WHERE deleted_at IS NULL
        AND ($1::text IS NULL OR (created_at, id) > (SELECT created_at, id FROM webhook_endpoints WHERE id = $1))
      ORDER BY created_at, id LIMIT $2`,
    [after ?? null, limit + 1],
  );
  const page = rows.slice(0, limit);
  return { endpoints: page.map(toEndpoint), next_cursor: rows.length > limit ? page.at(-1)!.id : null };
}

export async function getWebhookEndpoint(db: Queryable, id: string): Promise<WebhookEndpoint | null> {
  const { rows } = await db.query<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND deleted_at IS NULL`, [
    id,
  ]);
  return rows[0] ? toEndpoint(rows[0]) : null;
}

/** Deletes (keeps the row and its attempts as history; nothing is delivered to it any more). */
export async function deleteWebhookEndpoint(db: Queryable, id: string, actor: string): Promise<WebhookEndpoint> {
  const { rows } = await db.query<EndpointRow>(
    `WITH deleted AS (
       UPDATE webhook_endpoints SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING ${ENDPOINT_COLUMNS}
     ), cancelled AS (
       UPDATE webhook_redeliveries SET status = 'failed', finished_at = now()
        WHERE endpoint_id IN (SELECT id FROM deleted) AND status = 'pending'
     ), audited AS (
       INSERT INTO audit_log (action, entity_type, entity_id, actor, details)
       SELECT 'webhook_endpoint_deleted', 'webhook_endpoint', id, $2, jsonb_build_object('url', url) FROM deleted
     )
     SELECT * FROM deleted`,
    [id, actor],
  );
  if (!rows[0]) throw new WebhookNotFoundError(`no webhook endpoint ${id}`);
  return toEndpoint(rows[0]);
}

/**
 * A new secret; the current one stays valid for keepOldForSeconds (default 24 h), so deliveries carry both
 * signatures meanwhile. A rotation during a rotation ends the oldest at once: never more than two active.
 */
export async function rotateWebhookSecret(
  db: Queryable,
  sealer: SecretSealer,
  id: string,
  { actor, keepOldForSeconds = DEFAULT_KEEP_OLD_SECRET_SECONDS }: { actor: string; keepOldForSeconds?: number },
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  if (!Number.isInteger(keepOldForSeconds) || keepOldForSeconds < 0 || keepOldForSeconds > 7 * 24 * 3600) {
    throw new WebhookValidationError(
      'keep_old_for_seconds',
      'keep_old_for_seconds must be a whole number of seconds from 0 to 604800 (7 days)',
    );
  }
  const endpoint = await getWebhookEndpoint(db, id);
  if (!endpoint) throw new WebhookNotFoundError(`no webhook endpoint ${id}`);
  const secret = newWebhookSecret();
  const sealed = await sealer.seal(secret);
  await db.query(
    `WITH locked AS (
       SELECT id FROM webhook_endpoints WHERE id = $1 FOR UPDATE
     ), ended AS (
       UPDATE webhook_endpoint_secrets SET expires_at = date_trunc('milliseconds', now())
        WHERE endpoint_id = $1 AND expires_at > now() AND EXISTS (SELECT 1 FROM locked)
     ), expiring AS (
       UPDATE webhook_endpoint_secrets SET expires_at = now() + make_interval(secs => $3)
        WHERE endpoint_id = $1 AND expires_at IS NULL AND EXISTS (SELECT 1 FROM locked)
     ), added AS (
       INSERT INTO webhook_endpoint_secrets (endpoint_id, sealed) SELECT id, $2 FROM locked
     )
     INSERT INTO audit_log (action, entity_type, entity_id, actor, details)
     SELECT 'webhook_secret_rotated', 'webhook_endpoint', id, $4, jsonb_build_object('keep_old_for_seconds', $3::int) FROM locked`,
    [id, sealed, keepOldForSeconds, actor],
  );
  return { endpoint, secret };
}

export interface RedeliveryRequested {
  id: string;
  endpoint_id: string;
  event_id: string;
}

/**
 * Asks for an event to be delivered again, outside the ordered stream, marked as a redelivery: to one endpoint,
 * or to every enabled endpoint subscribed to its type.
 */
export async function redeliverEvent(
  db: Queryable,
  eventId: string,
  { endpointId, actor }: { endpointId?: string; actor: string },
): Promise<{ redeliveries: RedeliveryRequested[] }> {
  const { rows: events } = await db.query<{ seq: bigint; type: string }>('SELECT seq, type FROM business_events WHERE id = $1', [eventId]);
  const event = events[0];
  if (!event) throw new WebhookNotFoundError(`no event ${eventId}`);
  if (endpointId !== undefined) {
    const endpoint = await getWebhookEndpoint(db, endpointId);
    if (!endpoint) throw new WebhookNotFoundError(`no webhook endpoint ${endpointId}`);
    if (endpoint.status !== 'enabled') throw new WebhookValidationError('endpoint_id', `webhook endpoint ${endpointId} is disabled`);
  }
  // One endpoint named: it must subscribe to the event's type (refused, 422, rather than sent an event it did not ask for).
  const subscribed = eventTypeMatches('$3', 'w.event_types');
  const { rows } = await db.query<{ id: bigint; endpoint_id: string }>(
    `WITH targets AS (
       SELECT id FROM webhook_endpoints w
        WHERE deleted_at IS NULL AND status = 'enabled'
          AND ($2::text IS NULL OR w.id = $2) AND ${subscribed}
     ), requested AS (
       INSERT INTO webhook_redeliveries (endpoint_id, event_seq, requested_by)
       SELECT id, $1, $4 FROM targets RETURNING id, endpoint_id
     ), audited AS (
       INSERT INTO audit_log (action, entity_type, entity_id, actor, details)
       SELECT 'webhook_redelivery_requested', 'business_event', $5, $4, jsonb_build_object('endpoint_id', endpoint_id)
         FROM requested
     )
     SELECT id, endpoint_id FROM requested ORDER BY endpoint_id`,
    [event.seq.toString(), endpointId ?? null, event.type, actor, eventId],
  );
  if (endpointId !== undefined && rows.length === 0) {
    throw new WebhookValidationError('endpoint_id', `webhook endpoint ${endpointId} does not subscribe to ${event.type}`);
  }
  return { redeliveries: rows.map((row) => ({ id: row.id.toString(), endpoint_id: row.endpoint_id, event_id: eventId })) };
}

export interface WebhookBacklog {
  endpoints_enabled: number;
  endpoints_disabled: number;
  /** Events waiting over all enabled endpoints (those matching each endpoint's types after its cursor). */
  events_waiting: number;
  /** The longest-failing enabled endpoint's failure age, 0 when none fails. */
  longest_failing_seconds: number;
  redeliveries_pending: number;
}

export async function webhookBacklog(db: Queryable, now: Date): Promise<WebhookBacklog> {
  const { rows } = await db.query<{
    enabled: number;
    disabled: number;
    waiting: number;
    failing_since: Date | null;
    redeliveries: number;
  }>(
    `SELECT count(*) FILTER (WHERE status = 'enabled')::int AS enabled,
            count(*) FILTER (WHERE status = 'disabled')::int AS disabled,
            coalesce(sum((SELECT count(*) FROM business_events e
                           WHERE e.seq > w.cursor_seq AND ${eventTypeMatches('e.type', 'w.event_types')}))
                     FILTER (WHERE status = 'enabled'), 0)::int AS waiting,
            min(failing_since) FILTER (WHERE status = 'enabled') AS failing_since,
            (SELECT count(*)::int FROM webhook_redeliveries WHERE status = 'pending') AS redeliveries
       FROM webhook_endpoints w WHERE deleted_at IS NULL`,
  );
  const row = rows[0]!;
  return {
    endpoints_enabled: row.enabled,
    endpoints_disabled: row.disabled,
    events_waiting: row.waiting,
    longest_failing_seconds: row.failing_since ? Math.max(0, Math.floor((now.getTime() - row.failing_since.getTime()) / 1000)) : 0,
    redeliveries_pending: row.redeliveries,
  };
}
