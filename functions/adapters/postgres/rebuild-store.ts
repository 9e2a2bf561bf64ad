/**
 * The rebuild's reset on PostgreSQL, in one transaction under the engine's sync_state lock, so that no chain
 * event is applied halfway through it. The rules: domain/rebuild.ts.
 */
import type pg from 'pg';
import { trackPayoutsBack } from '../../domain/payouts/payout-tracking.js';
import { payoutTrackingOn } from './payout-attempts.js';
import { takeOutboxLock } from './payout-requests.js';
import type { AppliedBlock } from '../../domain/ports.js';
import {
  RebuildPointNotFoundError,
  describeRebuildRequest,
  progressPercent,
  type RebuildProgressView,
  type RebuildRequest,
  type RebuildStarted,
  type RebuildStore,
  type RetainedPointQuery,
} from '../../domain/rebuild.js';
import { describePoint } from '../../domain/chain.js';
import type { RebuildUnderWay } from '../../domain/readiness.js';
import { inTransaction } from './pool.js';

/** The checkpoints table keeps no ancestor; nothing reads the ancestor of the engine's tip. */
const ANCESTOR_NOT_RETAINED = 'unknown';

interface PointRow {
  hash: string;
  height: bigint;
  slot: bigint;
  block_time: Date;
}

export class PostgresRebuildStore implements RebuildStore {
  constructor(private readonly pool: pg.Pool) {}

  start(query: RetainedPointQuery, request: RebuildRequest, actor: string): Promise<RebuildStarted> {
    return inTransaction(this.pool, async (client) => {
      const { rows: states } = await client.query<{
        last_block_height: bigint | null;
        last_block_slot: bigint | null;
        sync_generation: bigint;
      }>('SELECT last_block_height, last_block_slot, sync_generation FROM sync_state WHERE id = 1 FOR UPDATE');
      const state = states[0];
      if (!state) throw new Error('sync_state has no row: the database is not migrated');
      if (state.last_block_height === null || state.last_block_slot === null) {
        throw new RebuildPointNotFoundError('the engine has applied no block yet: there is nothing to rebuild');
      }
      const point = await findRetainedPoint(client, query, state.last_block_slot, state.last_block_height);
      if (!point) {
        const oldest = await findRetainedPoint(client, { oldest: true }, state.last_block_slot, state.last_block_height);
        throw new RebuildPointNotFoundError(
          `no retained point matches ${describeRebuildRequest(request)}: it must be an hourly checkpoint or a retained block on the engine's chain, at or below its tip` +
            (oldest
              ? `; the oldest it could use is ${describePoint(oldest)} (height ${oldest.height}, ${oldest.block_time.toISOString()})`
              : ''),
        );
      }
      const after = [point.slot.toString(), point.height.toString()];
      // Payout transactions in a block above the point are in no block the engine holds any more: submitted again,
      // and their conflicts forgotten, as a rollback does (never confirmed by height on a chain that lost them).
      // The outbox's lock after sync_state's, the engine's order.
      await takeOutboxLock(client);
      await trackPayoutsBack(payoutTrackingOn(client), point.height);

      const superseded = await client.query<{ id: bigint; target_height: bigint }>(
        `UPDATE rebuild_runs SET status = 'superseded', completed_at = now() WHERE status = 'running' RETURNING id, target_height`,
      );
      const previous = superseded.rows[0];
      // A rebuild that replaces an unfinished one still has to bring the chain back to where that one started.
      const targetHeight = previous && previous.target_height > state.last_block_height ? previous.target_height : state.last_block_height;

      // Only payments on the current chain are derived from it; rolled back and reversed rows are history.
      const held = await client.query(
        `WITH cleared AS (
           DELETE FROM incoming_payments
            WHERE status IN ('pending', 'confirmed') AND block_time >= $3
              AND (block_slot, block_height) > ($1::bigint, $2::bigint)
            RETURNING *
         )
         -- SELECT *: rebuild_held_payments mirrors incoming_payments column for column (0006, schema test)
         INSERT INTO rebuild_held_payments SELECT * FROM cleared
         ON CONFLICT (tx_hash, output_index, block_hash) DO NOTHING`,
        [...after, point.block_time],
      );
      // Fresh statistics, so that settlement reads the held rows through their block_height index.
      await client.query('ANALYZE rebuild_held_payments');
      await client.query(
        `UPDATE incoming_payments SET spent_by_tx_hash = NULL, spent_at_slot = NULL, spent_at_height = NULL
          WHERE spent_at_slot IS NOT NULL AND (spent_at_slot, spent_at_height) > ($1::bigint, $2::bigint)`,
        after,
      );
      const blocks = await client.query('DELETE FROM blocks WHERE (slot, height) > ($1::bigint, $2::bigint)', after);
      await client.query('DELETE FROM checkpoints WHERE (slot, height) > ($1::bigint, $2::bigint)', after);
      await client.query(
        `INSERT INTO blocks (hash, height, slot, ancestor, block_time) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (hash) DO NOTHING`,
        [point.hash, point.height.toString(), point.slot.toString(), ANCESTOR_NOT_RETAINED, point.block_time],
      );
      // A new generation: messages emitted before the reset are stale; the follower re-intersects at the point.
      // The fence token stays: the leader follows again in the same lease term with the same token, and a
      // deposed leader's lower token must stay refused within the new generation too (event-admission.ts).
      // The new session counts its steps from 1, and recoveries count progress from the rebuild's point anew.
      const { rows: generations } = await client.query<{ sync_generation: bigint }>(
        `UPDATE sync_state
            SET last_block_height = $1, last_block_slot = $2, last_block_hash = $3,
                sync_generation = sync_generation + 1, applied_step = 0,
                recovery_streak = 0, recovery_streak_height = NULL, updated_at = now()
          WHERE id = 1 RETURNING sync_generation`,
        [point.height.toString(), point.slot.toString(), point.hash],
      );
      const { rows: held_count } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM rebuild_held_payments');
      const paymentsHeld = held_count[0]!.n;
      const requested = JSON.stringify(request, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
      const { rows: runs } = await client.query<{ id: bigint }>(
        `INSERT INTO rebuild_runs (point_slot, point_hash, point_height, target_height, requested, actor, payments_cleared,
                                   progress_height, progress_logged_height)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $3, $3) RETURNING id`,
        [point.slot.toString(), point.hash, point.height.toString(), targetHeight.toString(), requested, actor, held.rowCount ?? 0],
      );
      const runId = runs[0]!.id;
      const generation = generations[0]!.sync_generation;
      await client.query(
        `INSERT INTO audit_log (action, entity_type, entity_id, actor, details) VALUES ('rebuild_started', 'rebuild_run', $1, $2, $3)`,
        [
          runId.toString(),
          actor,
          JSON.stringify({
            requested: JSON.parse(requested) as unknown,
            point: describePoint(point),
            point_height: point.height.toString(),
            target_height: targetHeight.toString(),
            blocks_cleared: blocks.rowCount ?? 0,
            payments_cleared: held.rowCount ?? 0,
            payments_held: paymentsHeld,
            generation: generation.toString(),
            superseded_run: previous?.id.toString() ?? null,
          }),
        ],
      );
      const appliedPoint: AppliedBlock = {
        hash: point.hash,
        height: point.height,
        slot: point.slot,
        ancestor: ANCESTOR_NOT_RETAINED,
        time: point.block_time,
      };
      return {
        runId,
        point: appliedPoint,
        targetHeight,
        blocksCleared: blocks.rowCount ?? 0,
        paymentsHeld,
        generation,
        superseded: previous?.id ?? null,
      };
    });
  }
}

/**
 * The newest hourly checkpoint or retained block matching the query, at or below the engine's tip (or, `oldest`,
 * the oldest of them all: what a refusal names). Epoch boundary blocks (the later of two blocks at one height) are
 * never a point: chain sync cannot intersect at them.
 */
async function findRetainedPoint(
  client: pg.PoolClient,
  query: RetainedPointQuery | { oldest: true },
  tipSlot: bigint,
  tipHeight: bigint,
): Promise<PointRow | null> {
  const [condition, values]: [string, unknown[]] =
    'oldest' in query
      ? ['true', []]
      : 'atOrBeforeTime' in query
        ? ['block_time <= $3', [query.atOrBeforeTime]]
        : 'atOrBeforeSlot' in query
          ? ['slot <= $3::bigint', [query.atOrBeforeSlot.toString()]]
          : ['slot = $3::bigint AND hash = $4', [query.exactly.slot.toString(), query.exactly.hash]];
  const order = 'oldest' in query ? 'ASC' : 'DESC';
  const { rows } = await client.query<PointRow>(
    `SELECT hash, height, slot, block_time FROM (
       SELECT hash, height, slot, block_time FROM checkpoints
       UNION
       SELECT b.hash, b.height, b.slot, b.block_time FROM blocks b
        WHERE NOT EXISTS (SELECT 1 FROM blocks p WHERE p.height = b.height AND p.slot < b.slot)
     ) points
     WHERE (slot, height) <= ($1::bigint, $2::bigint) AND ${condition}
     ORDER BY slot ${order}, height ${order} LIMIT 1`,
    [tipSlot.toString(), tipHeight.toString(), ...values],
  );
  return rows[0] ?? null;
}

/** The newest rebuild run, for `status` and health; null when there never was one. */
export async function readRebuildProgress(db: Pick<pg.Pool, 'query'>): Promise<RebuildProgressView | null> {
  const { rows } = await db.query<{
    id: bigint;
    status: RebuildProgressView['status'];
    point_height: bigint;
    target_height: bigint;
    progress_height: bigint;
    held: number;
    payments_refound: number;
    payments_reversed: number;
    started_at: Date;
    completed_at: Date | null;
  }>(
    `SELECT r.id, r.status, r.point_height, r.target_height, r.progress_height, r.payments_refound, r.payments_reversed,
            r.started_at, r.completed_at,
            CASE WHEN r.status = 'running' THEN (SELECT count(*)::int FROM rebuild_held_payments) ELSE 0 END AS held
       FROM rebuild_runs r ORDER BY r.id DESC LIMIT 1`,
  );
  const row = rows[0];
  if (!row) return null;
  return {
    run: row.id,
    status: row.status,
    point_height: row.point_height,
    target_height: row.target_height,
    progress_height: row.progress_height,
    percent: progressPercent(row.point_height, row.target_height, row.progress_height),
    payments_held: row.held,
    payments_refound: row.payments_refound,
    payments_reversed: row.payments_reversed,
    started_at: row.started_at,
    completed_at: row.completed_at,
  };
}

/** The running rebuild as readiness reports it; null when none runs. */
export async function readRunningRebuild(db: Pick<pg.Pool, 'query'>): Promise<RebuildUnderWay | null> {
  const progress = await readRebuildProgress(db);
  if (progress?.status !== 'running') return null;
  const { run, point_height, target_height, progress_height, percent, payments_held } = progress;
  return { run, point_height, target_height, progress_height, percent, payments_held };
}
