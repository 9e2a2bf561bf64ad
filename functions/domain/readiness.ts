/** The tutorial's readiness rule: ready when the database answers and the engine is within reach of the tip. */
export const MAX_READY_LAG_BLOCKS = 100;

export interface ReadinessInputs {
  databaseReachable: boolean;
  /** Height of the last applied block; null before the first one. */
  appliedHeight: bigint | null;
  /** The network tip as last seen (from the follower or sync_state); null when unknown. */
  networkTipHeight: bigint | null;
  maxLagBlocks?: number;
}

export type Readiness =
  | { ready: true; status: 'ready'; synced_height: bigint; tip_height: bigint; lag: number }
  | { ready: false; status: 'not_ready'; reason: 'database_unreachable' | 'not_synced' | 'sync_lag'; synced_height?: bigint | null; tip_height?: bigint | null; lag?: number };

export function assessReadiness({ databaseReachable, appliedHeight, networkTipHeight, maxLagBlocks = MAX_READY_LAG_BLOCKS }: ReadinessInputs): Readiness {
  if (!databaseReachable) return { ready: false, status: 'not_ready', reason: 'database_unreachable' };
  if (appliedHeight === null || networkTipHeight === null) {
    return { ready: false, status: 'not_ready', reason: 'not_synced', synced_height: appliedHeight, tip_height: networkTipHeight };
  }
  const lag = Number(networkTipHeight > appliedHeight ? networkTipHeight - appliedHeight : 0n);
  if (lag > maxLagBlocks) {
    return { ready: false, status: 'not_ready', reason: 'sync_lag', synced_height: appliedHeight, tip_height: networkTipHeight, lag };
  }
  return { ready: true, status: 'ready', synced_height: appliedHeight, tip_height: networkTipHeight, lag };
}
