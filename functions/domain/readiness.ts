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
  /** The pipeline's halt (sync_state.halted_at / halted_reason), if halted: nothing is applied until an operator resumes it. */
  halt?: PipelineHalt | null;
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

/** Why and since when the processor applies nothing (recoveries kept failing); cleared by an operator's resume. */
export interface PipelineHalt {
  halted_at: Date;
  halted_reason: string;
}

export type Readiness =
  | { ready: true; status: 'ready'; synced_height: bigint; tip_height: bigint; lag: number }
  | {
      ready: false;
      status: 'not_ready';
      reason: 'database_unreachable' | 'pipeline_halted' | 'not_synced' | 'sync_lag' | 'rebuilding';
      synced_height?: bigint | null;
      tip_height?: bigint | null;
      lag?: number;
      rebuild?: RebuildUnderWay;
      halted_at?: Date;
      halted_reason?: string;
    };

/**
 * The first reason that applies, in this order: the database does not answer; the pipeline is halted (it will not
 * catch up by itself, whatever the lag, so it comes before a rebuild); a rebuild runs; nothing is synced; the lag.
 */
export function assessReadiness({
  databaseReachable,
  appliedHeight,
  networkTipHeight,
  maxLagBlocks = MAX_READY_LAG_BLOCKS,
  rebuild,
  halt,
}: ReadinessInputs): Readiness {
  if (!databaseReachable) return { ready: false, status: 'not_ready', reason: 'database_unreachable' };
  const lagIfKnown =
    appliedHeight !== null && networkTipHeight !== null && networkTipHeight > appliedHeight ? Number(networkTipHeight - appliedHeight) : 0;
  if (halt) {
    return {
      ready: false,
      status: 'not_ready',
      reason: 'pipeline_halted',
      synced_height: appliedHeight,
      tip_height: networkTipHeight,
      lag: lagIfKnown,
      halted_at: halt.halted_at,
      halted_reason: halt.halted_reason,
    };
  }
  if (rebuild) {
    return {
      ready: false,
      status: 'not_ready',
      reason: 'rebuilding',
      synced_height: appliedHeight,
      tip_height: networkTipHeight,
      lag: lagIfKnown,
      rebuild,
    };
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
