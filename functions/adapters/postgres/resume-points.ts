import type pg from 'pg';
import type { BlockPoint } from '../../domain/chain.js';

/**
 * Where following can resume, most recent first: the last applied blocks (dense, so a shallow fork still
 * intersects near the tip), then hourly checkpoints for the last day, then one a day for two months. Epoch
 * boundary blocks (the later of two blocks at one height) are never offered.
 */
export async function loadResumePoints(db: Pick<pg.Pool, 'query'>, recentBlocks = 20): Promise<BlockPoint[]> {
  const { rows } = await db.query<{ slot: bigint; hash: string }>(
    `(SELECT b.slot, b.hash FROM blocks b
       WHERE NOT EXISTS (SELECT 1 FROM blocks p WHERE p.height = b.height AND p.slot < b.slot)
       ORDER BY b.slot DESC, b.height DESC LIMIT $1)
     UNION
     (SELECT slot, hash FROM checkpoints ORDER BY slot DESC LIMIT 24)
     UNION
     (SELECT DISTINCT ON (date_trunc('day', block_time)) slot, hash FROM checkpoints
       WHERE block_time > (SELECT max(block_time) FROM checkpoints) - interval '60 days'
       ORDER BY date_trunc('day', block_time) DESC, slot)
     ORDER BY slot DESC`,
    [recentBlocks],
  );
  return rows.map((row) => ({ slot: row.slot, hash: row.hash }));
}
