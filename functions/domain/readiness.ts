/** The tutorial's readiness rule: ready when the database answers and the engine is within reach of the tip. */
export const MAX_READY_LAG_BLOCKS = 100;

export interface ReadinessInputs {
  databaseReachable: boolean;
  /** Height of the last applied block; null before the first one. */
  appliedHeight: bigint | null;
  /** The network tip as last seen (from the follower or sync_state); null when unknown. */
  networkTipHeight: bigint | null;
  maxLagBlocks?: number;
  /** A running rebuild, if any: the engine is re-deriving the chain and not ready until it is done. */
  rebuild?: RebuildUnderWay | null;
}

/** How far a running rebuild is (see rebuild.ts). */
export interface RebuildUnderWay {
  run: bigint;
  point_height: bigint;
  target_height: bigint;
  progress_height: bigint;
  percent: number;
  payments_held: number;
}

export type Readiness =
  | { ready: true; status: 'ready'; synced_height: bigint; tip_height: bigint; lag: number }
  | {
      ready: false;
      status: 'not_ready';
      reason: 'database_unreachable' | 'not_synced' | 'sync_lag' | 'rebuilding';
      synced_height?: bigint | null;
      tip_height?: bigint | null;
      lag?: number;
      rebuild?: RebuildUnderWay;
    };

export function assessReadiness({ databaseReachable, appliedHeight, networkTipHeight, maxLagBlocks = MAX_READY_LAG_BLOCKS, rebuild }: ReadinessInputs): Readiness {
  if (!databaseReachable) return { ready: false, status: 'not_ready', reason: 'database_unreachable' };
  if (rebuild) {
    const lag = appliedHeight !== null && networkTipHeight !== null && networkTipHeight > appliedHeight ? Number(networkTipHeight - appliedHeight) : 0;
    return { ready: false, status: 'not_ready', reason: 'rebuilding', synced_height: appliedHeight, tip_height: networkTipHeight, lag, rebuild };
  }
  if (appliedHeight === null || networkTipHeight === null) {
    return { ready: false, status: 'not_ready', reason: 'not_synced', synced_height: appliedHeight, tip_height: networkTipHeight };
  }
  const lag = Number(networkTipHeight > appliedHeight ? networkTipHeight - appliedHeight : 0n);
  if (lag > maxLagBlocks) {
    return { ready: false, status: 'not_ready', reason: 'sync_lag', synced_height: appliedHeight, tip_height: networkTipHeight, lag };
  }
  return { ready: true, status: 'ready', synced_height: appliedHeight, tip_height: networkTipHeight, lag };
}
