/** The webhook deliverer's store on PostgreSQL (the rules: domain/webhooks/delivery.ts). */
import type pg from 'pg';
import type { StoredEvent } from '../../domain/business-events.js';
import {
  type DeliveryAttempt,
  type EndpointWake,
  isSuccess,
  type LeasedEndpoint,
  type Redelivery,
  type WebhookDeliveryStore,
} from '../../domain/webhooks/delivery.js';
import type { SecretSealer } from '../../domain/webhooks/secret-sealer.js';
import { type EventRow, toStored } from './business-events.js';
import { eventTypeMatches } from './event-type-match.js';

type Queryable = Pick<pg.Pool, 'query'>;

const MATCHES = eventTypeMatches('e.type', '$2::text[]');

export class PostgresWebhookDeliveryStore implements WebhookDeliveryStore {
  constructor(
    private readonly db: Queryable,
    private readonly sealer: SecretSealer,
  ) {}

  async lease(endpointId: string, now: Date, until: Date): Promise<LeasedEndpoint | null> {
    const { rows } = await this.db.query<{
      id: string;
      url: string;
      event_types: string[];
      cursor_seq: bigint;
      head_attempts: number;
      failing_since: Date | null;
      next_attempt_at: Date | null;
    }>(
      `UPDATE webhook_endpoints SET leased_until = $3
        WHERE id = $1 AND status = 'enabled' AND deleted_at IS NULL AND (leased_until IS NULL OR leased_until <= $2)
        RETURNING id, url, event_types, cursor_seq, head_attempts, failing_since, next_attempt_at`,
      [endpointId, now, until],
    );
    const row = rows[0];
    return row
      ? {
          id: row.id,
          url: row.url,
          eventTypes: row.event_types,
          cursorSeq: row.cursor_seq,
          headAttempts: row.head_attempts,
          failingSince: row.failing_since,
          nextAttemptAt: row.next_attempt_at,
        }
      : null;
  }

  async release(endpointId: string): Promise<void> {
    await this.db.query('UPDATE webhook_endpoints SET leased_until = NULL WHERE id = $1', [endpointId]);
  }

  async nextEvents(endpoint: LeasedEndpoint, limit: number): Promise<{ events: StoredEvent[]; newest: bigint | null }> {
    // One statement, one snapshot: the matching events after the cursor and the newest seq. The log's seq follows
    // commit order (migration 0015), so when fewer than `limit` match, the newest seq seen can become the cursor:
    // no event at or below it can still appear. (Two statements could see a matching event commit in between and
    // pass over it.)
    const { rows } = await this.db.query<Partial<EventRow> & { newest: bigint | null }>(
      `SELECT m.seq, m.id, m.type, m.version, m.data, m.created_at,
              (SELECT max(seq) FROM business_events) AS newest
         FROM (SELECT 1) one
         LEFT JOIN LATERAL (
           SELECT e.seq, e.id, e.type, e.version, e.data, e.created_at
             FROM business_events e WHERE e.seq > $1 AND ${MATCHES}
            ORDER BY e.seq LIMIT $3) m ON true
        ORDER BY m.seq`,
      [endpoint.cursorSeq.toString(), endpoint.eventTypes, limit],
    );
    const newest = rows[0]?.newest ?? null;
    const events = rows.filter((row) => row.seq !== undefined && row.seq !== null).map((row) => toStored(row as EventRow));
    return { events, newest };
  }

  async passOver(endpointId: string, seq: bigint): Promise<void> {
    await this.db.query('UPDATE webhook_endpoints SET cursor_seq = greatest(cursor_seq, $2) WHERE id = $1', [endpointId, seq.toString()]);
  }

  async recordAttempt(attempt: DeliveryAttempt): Promise<void> {
    await this.db.query(
      `INSERT INTO webhook_delivery_attempts (${ATTEMPT_COLUMNS}) VALUES (${ATTEMPT_PLACEHOLDERS})`,
      attemptValues(attempt),
    );
  }

  async delivered(attempt: DeliveryAttempt, at: Date, leaseUntil: Date): Promise<void> {
    await this.db.query(
      `WITH recorded AS (
         INSERT INTO webhook_delivery_attempts (${ATTEMPT_COLUMNS}) VALUES (${ATTEMPT_PLACEHOLDERS})
       )
       UPDATE webhook_endpoints
          SET cursor_seq = greatest(cursor_seq, $2), head_attempts = 0, failing_since = NULL, next_attempt_at = NULL,
              last_delivered_at = $12, leased_until = $13
        WHERE id = $1`,
      [...attemptValues(attempt), at, leaseUntil],
    );
  }

  async failed(endpointId: string, state: { headAttempts: number; failingSince: Date; nextAttemptAt: Date }): Promise<void> {
    await this.db.query('UPDATE webhook_endpoints SET head_attempts = $2, failing_since = $3, next_attempt_at = $4 WHERE id = $1', [
      endpointId,
      state.headAttempts,
      state.failingSince,
      state.nextAttemptAt,
    ]);
  }

  async disable(endpointId: string, reason: string, at: Date): Promise<void> {
    await this.db.query(
      `WITH disabled AS (
         UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = $2, disabled_at = $3, next_attempt_at = NULL
          WHERE id = $1 AND status = 'enabled' RETURNING id
       )
       INSERT INTO audit_log (action, entity_type, entity_id, actor, details)
       SELECT 'webhook_endpoint_disabled', 'webhook_endpoint', id, 'webhook-deliverer', jsonb_build_object('reason', $2::text)
         FROM disabled`,
      [endpointId, reason, at],
    );
  }

  async dueRedeliveries(endpointId: string, now: Date, limit: number): Promise<Redelivery[]> {
    const { rows } = await this.db.query<EventRow & { redelivery_id: bigint; attempts: number; requested_at: Date }>(
      `SELECT r.id AS redelivery_id, r.attempts, r.requested_at, e.seq, e.id, e.type, e.version, e.data, e.created_at
         FROM webhook_redeliveries r JOIN business_events e ON e.seq = r.event_seq
        WHERE r.endpoint_id = $1 AND r.status = 'pending' AND r.next_attempt_at <= $2
        ORDER BY r.id LIMIT $3`,
      [endpointId, now, limit],
    );
    return rows.map((row) => ({ id: row.redelivery_id, attempts: row.attempts, requestedAt: row.requested_at, event: toStored(row) }));
  }

  async redeliveryFinished(
    id: bigint,
    outcome: { status: 'delivered' | 'failed'; at: Date } | { status: 'pending'; attempts: number; nextAttemptAt: Date },
  ): Promise<void> {
    if (outcome.status === 'pending') {
      await this.db.query('UPDATE webhook_redeliveries SET attempts = $2, next_attempt_at = $3 WHERE id = $1', [
        id.toString(),
        outcome.attempts,
        outcome.nextAttemptAt,
      ]);
    } else {
      await this.db.query('UPDATE webhook_redeliveries SET attempts = attempts + 1, status = $2, finished_at = $3 WHERE id = $1', [
        id.toString(),
        outcome.status,
        outcome.at,
      ]);
    }
  }

  async activeSecrets(endpointId: string, now: Date): Promise<string[]> {
    const { rows } = await this.db.query<{ sealed: string }>(
      `SELECT sealed FROM webhook_endpoint_secrets
        WHERE endpoint_id = $1 AND (expires_at IS NULL OR expires_at > $2) ORDER BY created_at DESC, id DESC`,
      [endpointId, now],
    );
    return Promise.all(rows.map((row) => this.sealer.unseal(row.sealed)));
  }
}

/**
 * Endpoints with something to do now (events after their cursor or a due redelivery, unless a retry of the stream is
 * pending), with the state that makes the wake (EndpointWake), optionally of some endpoints only. A leased endpoint is
 * included: an event written while a deliverer serves it needs a wake of its own (the FIFO group serialises the
 * wakes, the lease keeps a duplicate from serving it twice).
 */
export async function dueEndpointWakes(db: Queryable, now: Date, only?: readonly string[]): Promise<EndpointWake[]> {
  const { rows } = await db.query<{ id: string; wake: string }>(
    `SELECT w.id, concat_ws('.', n.newest, w.cursor_seq, w.head_attempts, r.last_id, r.attempts) AS wake
       FROM webhook_endpoints w
      CROSS JOIN (SELECT coalesce(max(seq), 0) AS newest FROM business_events) n
      CROSS JOIN LATERAL (SELECT max(r.id) AS last_id, sum(r.attempts) AS attempts FROM webhook_redeliveries r
                           WHERE r.endpoint_id = w.id AND r.status = 'pending') r
      WHERE w.status = 'enabled' AND w.deleted_at IS NULL AND ($2::text[] IS NULL OR w.id = ANY($2::text[]))
        AND coalesce(w.next_attempt_at, '-infinity') <= $1
        AND (w.cursor_seq < n.newest
             OR EXISTS (SELECT 1 FROM webhook_redeliveries r
                         WHERE r.endpoint_id = w.id AND r.status = 'pending' AND r.next_attempt_at <= $1))
      ORDER BY w.id`,
    [now, only ? [...only] : null],
  );
  return rows.map((row) => ({ endpointId: row.id, wake: row.wake }));
}

/** The ids of dueEndpointWakes. */
export async function dueEndpoints(db: Queryable, now: Date): Promise<string[]> {
  return (await dueEndpointWakes(db, now)).map((wake) => wake.endpointId);
}

/** The scheduler's gauges: the longest-failing enabled endpoint's age and how many were disabled for failing. */
export async function webhookGauges(db: Queryable, now: Date): Promise<{ longestFailingSeconds: number; endpointsDisabled: number }> {
  const { rows } = await db.query<{ failing_since: Date | null; disabled: number }>(
    `SELECT min(failing_since) FILTER (WHERE status = 'enabled') AS failing_since,
            count(*) FILTER (WHERE status = 'disabled')::int AS disabled
       FROM webhook_endpoints WHERE deleted_at IS NULL`,
  );
  const row = rows[0]!;
  return {
    longestFailingSeconds: row.failing_since ? Math.max(0, Math.floor((now.getTime() - row.failing_since.getTime()) / 1000)) : 0,
    endpointsDisabled: row.disabled,
  };
}

const ATTEMPT_COLUMNS = `endpoint_id, event_seq, event_id, attempt, redelivery_id, started_at, duration_ms, status_code, error,
                         response_excerpt, succeeded`;
const ATTEMPT_PLACEHOLDERS = '$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11';

function attemptValues({ endpointId, event, attempt, redeliveryId, startedAt, result }: DeliveryAttempt): unknown[] {
  return [
    endpointId,
    event.seq.toString(),
    event.envelope.id,
    attempt,
    redeliveryId?.toString() ?? null,
    startedAt,
    Math.round(result.durationMs),
    result.statusCode,
    result.error?.slice(0, 1000) ?? null,
    result.excerpt === null ? null : truncateUtf8(result.excerpt, 1024),
    isSuccess(result),
  ];
}

function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  // Cut at a character boundary: drop a partial trailing character.
  return bytes
    .subarray(0, maxBytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}
