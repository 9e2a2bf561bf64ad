/**
 * What the follower reads from PostgreSQL, and its one write: the fence. A new leader session writes its fencing
 * token into sync_state and reads where to resume (what the processor has applied) in one transaction, so that
 * nothing an earlier leader emitted can be applied after that (domain/event-admission.ts). Also the sync generation
 * to watch (a rebuild or a recovery bumps it) and the engine's position for readiness.
 */
import type pg from 'pg';
import type { BlockPoint } from '../../domain/chain.js';
import type { Readiness } from '../../domain/readiness.js';
import type { Network } from '../../domain/network.js';
import { claimNetwork } from './network-record.js';
import { inTransaction } from './pool.js';
import { probeReadiness } from './readiness-probe.js';
import { loadResumePoints } from './resume-points.js';

export interface SessionStart {
  /** The sync generation the session stamps on its events. */
  generation: bigint;
  /** Points of applied blocks, most recent first (empty before the first block). */
  resumePoints: BlockPoint[];
}

/** A newer leader fenced the database already: this one is deposed, whatever its lease says. */
export class FencedOutError extends Error {
  override readonly name = 'FencedOutError';
  constructor(
    readonly fencingToken: bigint,
    readonly databaseFence: bigint,
  ) {
    super(
      `the database is fenced by token ${databaseFence}, newer than this leader's ${fencingToken}: a newer leader took over ` +
        '(if no other follower runs, the lease table was reset: see the runbook "Fenced out")',
    );
  }
}

export interface FollowerDatabase {
  /** Fences the database for a session with this token and reads where it resumes; throws FencedOutError. */
  beginSession(fencingToken: bigint): Promise<SessionStart>;
  /** sync_state.sync_generation: bumped by a rebuild or a recovery, so the leader follows again from the database. */
  syncGeneration(): Promise<bigint>;
  /** The tutorial's readiness rule on sync_state, with the freshest network tip the caller knows. */
  readiness(freshTipHeight: () => bigint | undefined): Promise<Readiness>;
}

export class PostgresFollowerDatabase implements FollowerDatabase {
  constructor(
    private readonly db: pg.Pool,
    /** The network the follower follows: a session on a database of another network's data is refused. */
    private readonly options: { network?: Network } = {},
  ) {}

  beginSession(fencingToken: bigint): Promise<SessionStart> {
    return inTransaction(this.db, async (client) => {
      // Before the fence: a follower pointed at another network's database neither fences nor follows it (the
      // session fails with NetworkMismatchError, logged as session_failed, and the lease passes on).
      if (this.options.network) await claimNetwork(client, this.options.network);
      // The row lock waits for an event being applied; once committed, no event of an earlier session applies.
      // A session is (generation, token): should this token have applied steps in this generation already (its
      // earlier session), the generation moves on so the new session's steps cannot pass for the old ones.
      const { rows } = await client.query<{ generation: string }>(
        `UPDATE sync_state
            SET sync_generation = CASE WHEN fence_token = $1 AND applied_step > 0 THEN sync_generation + 1 ELSE sync_generation END,
                fence_token = $1, applied_step = 0, fenced_at = now()
          WHERE id = 1 AND fence_token <= $1
          RETURNING sync_generation::text AS generation`,
        [fencingToken.toString()],
      );
      if (!rows[0]) {
        const { rows: fences } = await client.query<{ fence: string }>('SELECT fence_token::text AS fence FROM sync_state WHERE id = 1');
        if (!fences[0]) throw new Error('sync_state has no row: run the migrations first');
        throw new FencedOutError(fencingToken, BigInt(fences[0].fence));
      }
      return { generation: BigInt(rows[0].generation), resumePoints: await loadResumePoints(client) };
    });
  }

  async syncGeneration(): Promise<bigint> {
    // As text: exact whatever type parsers the pool has.
    const { rows } = await this.db.query<{ generation: string }>('SELECT sync_generation::text AS generation FROM sync_state WHERE id = 1');
    const generation = rows[0]?.generation;
    if (generation === undefined) throw new Error('sync_state has no row: run the migrations first');
    return BigInt(generation);
  }

  readiness(freshTipHeight: () => bigint | undefined): Promise<Readiness> {
    return probeReadiness(this.db, freshTipHeight);
  }
}
