/**
 * /health/ready of a follower task.
 *
 * - The leader is ready by the tutorial's rule (domain/readiness.ts): the database answers and the engine's
 *   applied height is within 100 blocks of the network tip (the freshest tip: the leader's own chain sync).
 * - A standby is ready when the database answers: it could take over now; how far the engine lags is the
 *   leader's matter and is reported, not judged. (Before the engine has applied its first block, no task is
 *   ready: there is no position to report.)
 *
 * Both report the role and whether Ogmios answers (the leader: its chain-sync connection; a standby: a ledger
 * query made for the request).
 */
import { assessReadiness, type Readiness } from '../domain/readiness.js';

export type FollowerRole = 'leader' | 'standby';

export type FollowerReadiness = Readiness & {
  role: FollowerRole;
  ogmios_reachable: boolean;
  fence_token: bigint | null;
};

export interface FollowerReadinessInputs {
  role: FollowerRole;
  /** The engine's readiness by the tutorial's rule, as the database reports it. */
  engine: Readiness;
  ogmiosReachable: boolean;
  fenceToken: bigint | null;
}

export function assessFollowerReadiness({ role, engine, ogmiosReachable, fenceToken }: FollowerReadinessInputs): FollowerReadiness {
  const fields = { role, ogmios_reachable: ogmiosReachable, fence_token: fenceToken };
  if (role === 'leader' || engine.ready || engine.reason !== 'sync_lag') return { ...engine, ...fields };
  // A standby is not held to the lag rule: the same facts, judged without a lag limit.
  const relaxed = assessReadiness({
    databaseReachable: true,
    appliedHeight: engine.synced_height ?? null,
    networkTipHeight: engine.tip_height ?? null,
    maxLagBlocks: Number.POSITIVE_INFINITY,
  });
  return { ...relaxed, ...fields };
}
