/**
 * The business-event log on PostgreSQL (`business_events`, migration 0015): the engine's set-based inserts (SQL
 * text placed in its own statements, so an event is written in the same transaction, and the same statement, as
 * the change it describes), the reads of the pull API, and the publisher's outbox.
 */
import type pg from 'pg';
import { inTransaction } from './pool.js';
import type { EventEnvelope, Outbox, PaymentEventType, PublisherTurn, StoredEvent } from '../../domain/business-events.js';
import { HOT_WALLET_REFERENCE_TYPE } from '../../domain/hot-wallet.js';

/** An object with pg's `query`: a pool, a client, or a transaction's client. */
export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/** One kind of payment event for a statement's events CTE: see paymentEventsCte. */
export interface PaymentEventSource {
  type: PaymentEventType;
  /** A relation with a column `payment` holding the whole `incoming_payments` row the event describes. */
  source: string;
  /**
   * An `incoming_payments` row expression over `s` (the source's row) that places the event in chain order; default
   * `s.payment`. Events are ordered by its (block_height, id), then by the sources' order in the list.
   */
  orderBy?: string;
}

/**
 * A data-modifying CTE (without its name) that writes one `type` event per payment of `source`, a relation with a
 * column `payment` holding the whole `incoming_payments` row after the change (e.g. `RETURNING p AS payment`).
 * Several sources make one INSERT: each output's versions continue its count in the events' order (row_number over
 * the output, so two events of one output in one statement get consecutive versions). Events are written in chain
 * order within the statement.
 *
 * What consumers were already told is not told again: a payment.detected, payment.confirmed or payment.spent is
 * skipped when the output already has that event for the same block (and, for spent, the same spending
 * transaction) with no payment.rolled_back or payment.reversed of that block after it; a payment.rolled_back is
 * skipped when the newest event about that block already says it left (rolled_back or reversed). That keeps a
 * rebuild (which re-derives payments that did not change) and a replay silent, and a payment whose block left and
 * came back is told again. reversed is always written: the debit it describes happens once.
 *
 * The hot wallet's own change (listed in hot_wallet_change, migration 0023; hotWalletChange in
 * functions/domain/hot-wallet.ts) is told to nobody: no event of any type is written for it. Only hot-wallet rows are
 * looked up there.
 */
export function paymentEventsCte(type: PaymentEventType, source: string): string {
  return paymentEventsCteOf([{ type, source }]);
}

export function paymentEventsCteOf(sources: readonly PaymentEventSource[]): string {
  const selects = sources.map(({ type, source, orderBy = 's.payment' }, index) => {
    const alreadyTold =
      type === 'payment.reversed'
        ? 'false'
        : type === 'payment.rolled_back'
          ? `payment_block_left_told(c.resource_id, (c.payment).block_hash)`
          : `payment_event_already_told(c.resource_id, '${type}', (c.payment).block_hash, ${
              type === 'payment.spent' ? '(c.payment).spent_by_tx_hash' : 'NULL'
            })`;
    return `SELECT c.type, c.resource_id, c.payment, c.sort_height, c.sort_id, c.kind
              FROM (SELECT '${type}'::text AS type, (s.payment).tx_hash || '#' || (s.payment).output_index AS resource_id,
                           s.payment, (${orderBy}).block_height AS sort_height, (${orderBy}).id AS sort_id, ${index} AS kind
                      FROM ${source} s) c
             WHERE NOT ${alreadyTold}
               AND ((c.payment).reference_type <> '${HOT_WALLET_REFERENCE_TYPE}'
                    OR NOT EXISTS (SELECT 1 FROM hot_wallet_change h
                                    WHERE h.tx_hash = (c.payment).tx_hash AND h.output_index = (c.payment).output_index))`;
  });
  return `INSERT INTO business_events (id, type, resource_type, resource_id, version, data)
       SELECT business_event_id(v.type, v.resource_id, v.version), v.type, 'payment', v.resource_id, v.version,
              payment_resource(v.payment)
         FROM (SELECT n.*,
                      coalesce((SELECT max(e.version) FROM business_events e
                                 WHERE e.resource_type = 'payment' AND e.resource_id = n.resource_id), 0)
                      + row_number() OVER (PARTITION BY n.resource_id ORDER BY n.sort_height, n.sort_id, n.kind)::int AS version
                 FROM (${selects.join(' UNION ALL ')}) n) v
        ORDER BY v.sort_height, v.sort_id, v.kind
       ON CONFLICT (id) DO NOTHING`;
}

/** A business_events row as EVENT_COLUMNS reads it. */
export interface EventRow {
  seq: bigint;
  id: string;
  type: string;
  version: number;
  data: Record<string, unknown>;
  created_at: Date;
}

export const EVENT_COLUMNS = 'seq, id, type, version, data, created_at';

/** The one mapping of an event row to the stored event (its envelope as every channel sends it). */
export function toStored(row: EventRow): StoredEvent {
  return {
    seq: row.seq,
    envelope: {
      id: row.id,
      type: row.type,
      created_at: row.created_at.toISOString(),
      version: row.version,
      data: row.data as EventEnvelope['data'],
    },
  };
}

/** The log after a cursor (a seq), oldest first, optionally of some types only; lastSeq is the next cursor. */
export async function listEvents(
  db: Queryable,
  { afterSeq = 0n, limit, types }: { afterSeq?: bigint; limit: number; types?: readonly string[] },
): Promise<{ events: EventEnvelope[]; lastSeq: bigint }> {
  const { rows } = await db.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM business_events
      WHERE seq > $1 AND ($3::text[] IS NULL OR type = ANY($3::text[]))
      ORDER BY seq LIMIT $2`,
    [afterSeq.toString(), limit, types && types.length > 0 ? types : null],
  );
  return { events: rows.map((row) => toStored(row).envelope), lastSeq: rows.at(-1)?.seq ?? afterSeq };
}

export async function findEvent(db: Queryable, id: string): Promise<EventEnvelope | null> {
  const { rows } = await db.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM business_events WHERE id = $1`, [id]);
  return rows[0] ? toStored(rows[0]).envelope : null;
}

/** The events of one resource (e.g. 'payment', '<tx hash>#<index>'), in order. */
export async function resourceEvents(db: Queryable, resourceType: string, resourceId: string): Promise<EventEnvelope[]> {
  const { rows } = await db.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM business_events WHERE resource_type = $1 AND resource_id = $2 ORDER BY version`,
    [resourceType, resourceId],
  );
  return rows.map((row) => toStored(row).envelope);
}

export async function outboxBacklog(db: Queryable, now: Date): Promise<{ unpublished: number; oldest_unpublished_age_seconds: number }> {
  const { rows } = await db.query<{ unpublished: number; oldest: Date | null }>(
    `SELECT count(*)::int AS unpublished, min(created_at) AS oldest FROM business_events WHERE published_at IS NULL`,
  );
  const { unpublished, oldest } = rows[0]!;
  return { unpublished, oldest_unpublished_age_seconds: oldest ? Math.max(0, (now.getTime() - oldest.getTime()) / 1000) : 0 };
}

/** 0x7075626c69736865 = 'publishe': the publisher's turn, one at a time. */
const PUBLISHER_LOCK = '8103664086262540389';

/** The outbox as the publisher sees it: each turn is one transaction holding the publisher's advisory lock. */
export class PostgresOutbox implements Outbox {
  constructor(private readonly pool: pg.Pool) {}

  async asOnlyPublisher<T>(work: (turn: PublisherTurn) => Promise<T>): Promise<T | null> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1::bigint) AS locked', [PUBLISHER_LOCK]);
      // Another publisher holds the turn: this one has nothing to do (its empty transaction just ends).
      if (!rows[0]!.locked) return null;
      return work(publisherTurn(client));
    });
  }
}

function publisherTurn(client: pg.PoolClient): PublisherTurn {
  return {
    async unpublished(limit) {
      const { rows } = await client.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM business_events WHERE published_at IS NULL ORDER BY seq LIMIT $1`,
        [limit],
      );
      return rows.map(toStored);
    },
    async markPublished(seqs, at) {
      if (seqs.length === 0) return;
      await client.query('UPDATE business_events SET published_at = $2 WHERE seq = ANY($1::bigint[])', [seqs.map(String), at]);
    },
    async backlog(now) {
      const backlog = await outboxBacklog(client, now);
      return { unpublished: backlog.unpublished, oldestAgeSeconds: backlog.oldest_unpublished_age_seconds };
    },
  };
}
