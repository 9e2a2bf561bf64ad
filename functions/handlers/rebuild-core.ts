/**
 * Rebuild from chain, independent of the Lambda runtime (the CLI runs the same): parse the payload, reset the
 * engine to the retained point (one transaction), report. The follower then re-derives from the point, and the
 * engine settles the rebuild as it goes (domain/rebuild.ts); progress shows in rebuild_progress lines, `status`
 * and health.
 */
import { describePoint } from '../domain/chain.js';
import type { Clock, Logger, Metrics } from '../domain/ports.js';
import { parseRebuildRequest, startRebuild, type RebuildRequestNames, type RebuildStore } from '../domain/rebuild.js';

export interface RebuildCoreOptions {
  store: RebuildStore;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  actor: string;
  /** How the request's fields are named to the operator (the CLI's flags); the payload's keys otherwise. */
  requestNames?: RebuildRequestNames;
}

export interface RebuildSummary {
  run: string;
  point: string;
  point_height: string;
  point_time: string;
  target_height: string;
  blocks_cleared: number;
  payments_held: number;
  generation: string;
  superseded_run: string | null;
}

/** Throws InvalidRebuildRequestError or RebuildPointNotFoundError with a message naming what is wrong. */
export async function runRebuild(payload: unknown, options: RebuildCoreOptions): Promise<RebuildSummary> {
  const request = parseRebuildRequest(payload, options.requestNames);
  const started = await startRebuild(request, options);
  return {
    run: started.runId.toString(),
    point: describePoint(started.point),
    point_height: started.point.height.toString(),
    point_time: started.point.time.toISOString(),
    target_height: started.targetHeight.toString(),
    blocks_cleared: started.blocksCleared,
    payments_held: started.paymentsHeld,
    generation: started.generation.toString(),
    superseded_run: started.superseded?.toString() ?? null,
  };
}
