import type pg from 'pg';
import { assessReadiness, type Readiness } from '../../domain/readiness.js';
import { readRunningRebuild } from './rebuild-store.js';

/**
 * Readiness from the database's own record (sync_state), with the freshest network tip the caller knows
 * (the follower's) preferred over the stored one. A database that does not answer means not ready.
 */
export async function probeReadiness(db: Pick<pg.Pool, 'query'>, freshTipHeight?: () => bigint | undefined): Promise<Readiness> {
  try {
    const { rows } = await db.query<{ last_block_height: bigint | null; network_tip_height: bigint | null }>(
      'SELECT last_block_height, network_tip_height FROM sync_state WHERE id = 1',
    );
    const tip = freshTipHeight?.() ?? rows[0]?.network_tip_height ?? null;
    const rebuild = await readRunningRebuild(db);
    return assessReadiness({ databaseReachable: true, appliedHeight: rows[0]?.last_block_height ?? null, networkTipHeight: tip, rebuild });
  } catch {
    return assessReadiness({ databaseReachable: false, appliedHeight: null, networkTipHeight: null });
  }
}
