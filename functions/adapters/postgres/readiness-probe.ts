import type pg from 'pg';
import { assessReadiness, type PipelineHalt, type Readiness } from '../../domain/readiness.js';
import { readRunningRebuild } from './rebuild-store.js';

/**
 * Readiness from the database's own record (sync_state), with the freshest network tip the caller knows
 * (the follower's) preferred over the stored one. A database that does not answer means not ready; a halted
 * pipeline (sync_state.halted_at set) means not ready, with its reason.
 */
export async function probeReadiness(db: Pick<pg.Pool, 'query'>, freshTipHeight?: () => bigint | undefined): Promise<Readiness> {
  try {
    const { rows } = await db.query<{ last_block_height: bigint | null; network_tip_height: bigint | null } & HaltColumns>(
      'SELECT last_block_height, network_tip_height, halted_at, halted_reason FROM sync_state WHERE id = 1',
    );
    const tip = freshTipHeight?.() ?? rows[0]?.network_tip_height ?? null;
    const rebuild = await readRunningRebuild(db);
    return assessReadiness({
      databaseReachable: true,
      appliedHeight: rows[0]?.last_block_height ?? null,
      networkTipHeight: tip,
      rebuild,
      halt: pipelineHaltOf(rows[0]),
    });
  } catch {
    return assessReadiness({ databaseReachable: false, appliedHeight: null, networkTipHeight: null });
  }
}

/** sync_state's halt columns (migration 0008): both set while the pipeline is halted, both null otherwise. */
export interface HaltColumns {
  halted_at: Date | null;
  halted_reason: string | null;
}

export function pipelineHaltOf(row: HaltColumns | undefined): PipelineHalt | null {
  if (!row || row.halted_at === null) return null;
  return { halted_at: row.halted_at, halted_reason: row.halted_reason ?? '' };
}
