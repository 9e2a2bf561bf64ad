/**
 * What the follower reads from PostgreSQL: where to resume (what the processor has applied), the sync
 * generation to stamp on messages, and the engine's position for readiness. The follower never writes.
 */
import type pg from 'pg';
import type { BlockPoint } from '../domain/chain.js';
import type { Readiness } from '../domain/readiness.js';
import { probeReadiness } from '../adapters/postgres/readiness-probe.js';
import { loadResumePoints } from '../adapters/postgres/resume-points.js';

export interface FollowerDatabase {
  /** Points of applied blocks, most recent first (empty before the first block). */
  resumePoints(): Promise<BlockPoint[]>;
  /** sync_state.sync_generation: bumped by a rebuild, so messages of the former generation are dropped. */
  syncGeneration(): Promise<bigint>;
  /** The tutorial's readiness rule on sync_state, with the freshest network tip the caller knows. */
  readiness(freshTipHeight: () => bigint | undefined): Promise<Readiness>;
}

export class PostgresFollowerDatabase implements FollowerDatabase {
  constructor(private readonly db: Pick<pg.Pool, 'query'>) {}

  resumePoints(): Promise<BlockPoint[]> {
    return loadResumePoints(this.db);
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
