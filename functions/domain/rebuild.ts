/**
 * Rebuild from chain: the rules.
 *
 * A rebuild resets the engine to a retained point on its chain (an hourly checkpoint, or a block still held)
 * and lets the chain be followed again from there. What the business owns stays as it is: registered
 * addresses, the ledger, the balances, the audit log. What is derived from the chain after the point is
 * cleared: blocks, checkpoints and the payments recorded on the current chain (history rows, rolled back or
 * reversed, stay: no chain can derive them again). The cleared payments are held aside until the re-derived
 * chain settles each of them:
 *
 * - found again in the same block: its row gets back its id, detection time and (once confirmed again) its
 *   confirmation time; its credit is already in the ledger, and the ledger's unique key keeps it single;
 * - found again in another block: the new row stands; a credit it meets is the existing one;
 * - not found once the re-derived chain is as high as the height at which it was confirmed (its block height +
 *   confirmations − 1): it ends rolled back, or, if it had been confirmed, reversed with one debit.
 *
 * The reset bumps the sync generation, so messages emitted before it are dropped as stale and the follower,
 * seeing the new generation, re-intersects at the database's points, which now end at the rebuild point.
 */
import { describePoint, parsePoint, type BlockPoint } from './chain.js';
import type {
  AppliedBlock,
  Clock,
  HeldPaymentsSettlement,
  Logger,
  Metrics,
  Payment,
  RebuildSettlementTransaction,
  RunningRebuild,
} from './ports.js';
import { LogEvent, Metric, MetricDimension } from './observability.js';

/** Where a rebuild starts, as the operator names it. */
export type RebuildRequest = { daysAgo: number } | { slot: bigint } | { point: BlockPoint };

/** What the store looks for: the newest retained point matching it, on the engine's current chain. */
export type RetainedPointQuery = { atOrBeforeTime: Date } | { atOrBeforeSlot: bigint } | { exactly: BlockPoint };

export const REBUILD_PROGRESS_INTERVAL_BLOCKS = 1000n;
const MAX_DAYS_AGO = 3650;

export class InvalidRebuildRequestError extends Error {
  override readonly name = 'InvalidRebuildRequestError';
}

export class RebuildPointNotFoundError extends Error {
  override readonly name = 'RebuildPointNotFoundError';
}

/** How the caller names a rebuild's fields, for the messages: the Lambda's payload keys, or the CLI's flags. */
export type RebuildRequestNames = Record<'daysAgo' | 'slot' | 'point', string>;

const PAYLOAD_NAMES: RebuildRequestNames = { daysAgo: 'daysAgo', slot: 'slot', point: 'point' };

/** `{ "daysAgo": 30 }`, `{ "slot": n }` or `{ "point": "<slot>.<blockId>" }`; anything else is refused by name. */
export function parseRebuildRequest(payload: unknown, names: RebuildRequestNames = PAYLOAD_NAMES): RebuildRequest {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new InvalidRebuildRequestError('a rebuild needs { "daysAgo": n }, { "slot": n } or { "point": "<slot>.<blockId>" }');
  }
  const given = Object.keys(payload).filter((key) => ['daysAgo', 'slot', 'point'].includes(key));
  if (given.length !== 1) {
    throw new InvalidRebuildRequestError(
      `name exactly one of ${names.daysAgo}, ${names.slot}, ${names.point}; got ${
        given.length === 0 ? 'none' : given.map((key) => names[key as keyof RebuildRequestNames]).join(', ')
      }`,
    );
  }
  const { daysAgo, slot, point } = payload as Record<string, unknown>;
  if (daysAgo !== undefined) {
    const days = typeof daysAgo === 'string' && /^\d+$/.test(daysAgo) ? Number(daysAgo) : daysAgo;
    if (typeof days !== 'number' || !Number.isInteger(days) || days < 0 || days > MAX_DAYS_AGO) {
      throw new InvalidRebuildRequestError(
        `${names.daysAgo} must be a whole number from 0 to ${MAX_DAYS_AGO}; got ${JSON.stringify(daysAgo)}`,
      );
    }
    return { daysAgo: days };
  }
  if (slot !== undefined) {
    const text = typeof slot === 'number' && Number.isSafeInteger(slot) ? String(slot) : slot;
    if (typeof text !== 'string' || !/^\d+$/.test(text)) {
      throw new InvalidRebuildRequestError(
        `${names.slot} must be a whole number (a decimal string beyond 2^53); got ${JSON.stringify(slot)}`,
      );
    }
    return { slot: BigInt(text) };
  }
  if (typeof point !== 'string') throw new InvalidRebuildRequestError(`${names.point} must be a string "<slot>.<blockId>"`);
  let parsed: ReturnType<typeof parsePoint>;
  try {
    parsed = parsePoint(point);
  } catch (error) {
    throw new InvalidRebuildRequestError(`${names.point}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (parsed === 'origin') throw new InvalidRebuildRequestError('a rebuild starts from a retained block, not from origin');
  return { point: parsed };
}

export function describeRebuildRequest(request: RebuildRequest): string {
  if ('daysAgo' in request) return `${request.daysAgo} days ago`;
  if ('slot' in request) return `slot ${request.slot}`;
  return `point ${describePoint(request.point)}`;
}

/** daysAgo counts back from now; the point found is the newest retained one at or before that time. */
export function retainedPointQuery(request: RebuildRequest, now: Date): RetainedPointQuery {
  if ('daysAgo' in request) return { atOrBeforeTime: new Date(now.getTime() - request.daysAgo * 86_400_000) };
  if ('slot' in request) return { atOrBeforeSlot: request.slot };
  return { exactly: request.point };
}

export interface RebuildStarted {
  runId: bigint;
  point: AppliedBlock;
  /** The engine's applied height before the reset: the rebuild is complete once the chain is back there. */
  targetHeight: bigint;
  /** Blocks above the point that were cleared. */
  blocksCleared: number;
  /** Payments cleared and held until the re-derived chain settles them. */
  paymentsHeld: number;
  /** The sync generation now in force. */
  generation: bigint;
  /** The rebuild this one replaced, if one was still running. */
  superseded: bigint | null;
}

export interface RebuildStore {
  /**
   * In one transaction: finds the point, supersedes a running rebuild, holds and clears what follows the point,
   * moves the engine's position to the point, bumps the sync generation and writes the audit row.
   * Throws RebuildPointNotFoundError when no retained point matches.
   */
  start(query: RetainedPointQuery, request: RebuildRequest, actor: string): Promise<RebuildStarted>;
}

/** Resets the engine to the requested point; the follower re-derives from there (see the README's runbook). */
export async function startRebuild(
  request: RebuildRequest,
  { store, clock, logger, actor }: { store: RebuildStore; clock: Clock; logger: Logger; actor: string },
): Promise<RebuildStarted> {
  const started = await store.start(retainedPointQuery(request, clock.now()), request, actor);
  logger.warn(LogEvent.rebuildStarted, {
    run: started.runId,
    requested: describeRebuildRequest(request),
    point: describePoint(started.point),
    point_height: started.point.height,
    point_time: started.point.time.toISOString(),
    target_height: started.targetHeight,
    blocks_cleared: started.blocksCleared,
    payments_held: started.paymentsHeld,
    generation: started.generation,
    superseded_run: started.superseded,
    actor,
  });
  return started;
}

// ---- settling, step by step as the re-derived chain is applied ------------------------------------------------

export interface RebuildStep {
  run: RunningRebuild;
  appliedHeight: bigint;
  settlement: HeldPaymentsSettlement;
  /** Payments still held; counted only when it decides completion or goes into a progress line, else null. */
  stillHeld: number | null;
  /** A multiple of 1,000 blocks past the point was crossed: time for a rebuild_progress line. */
  progressMark: boolean;
  completed: boolean;
}

/** Runs inside every roll-forward: settles what the re-derived chain has decided, records progress. */
export async function settleRebuildStep(
  tx: RebuildSettlementTransaction,
  appliedHeight: bigint,
  confirmations: bigint,
  actor: string,
): Promise<RebuildStep | null> {
  const run = await tx.runningRebuild();
  if (run === null) return null;
  const settlement = await tx.settleHeldPayments(appliedHeight, confirmations, actor);
  const progressMark = crossesProgressMark(run.pointHeight, run.progressLoggedHeight, appliedHeight);
  // Complete once the chain is back where it was and every held payment is settled one way or the other.
  const backAtTarget = appliedHeight >= run.targetHeight;
  const stillHeld = backAtTarget || progressMark ? await tx.heldPaymentCount() : null;
  const completed = backAtTarget && stillHeld === 0;
  await tx.saveRebuildProgress(run.runId, {
    progressHeight: appliedHeight,
    progressLoggedHeight: progressMark ? appliedHeight : run.progressLoggedHeight,
    refound: settlement.refoundPayments.length,
    reversed: settlement.reversed.length,
    rolledBack: settlement.rolledBack.length,
    completed,
  });
  return { run, appliedHeight, settlement, stillHeld, progressMark, completed };
}

export function crossesProgressMark(pointHeight: bigint, loggedHeight: bigint, appliedHeight: bigint): boolean {
  const mark = (height: bigint) => (height > pointHeight ? (height - pointHeight) / REBUILD_PROGRESS_INTERVAL_BLOCKS : 0n);
  return mark(appliedHeight) > mark(loggedHeight);
}

export interface RebuildProgressView {
  run: bigint;
  status: 'running' | 'completed' | 'superseded';
  point_height: bigint;
  target_height: bigint;
  progress_height: bigint;
  /** 0–100, for people: how far from the point towards the target the re-derived chain is. */
  percent: number;
  payments_held: number;
  payments_refound: number;
  payments_reversed: number;
  started_at: Date;
  completed_at: Date | null;
}

export function progressPercent(pointHeight: bigint, targetHeight: bigint, progressHeight: bigint): number {
  if (targetHeight <= pointHeight) return 100;
  const done = progressHeight <= pointHeight ? 0n : progressHeight - pointHeight;
  return Math.min(100, Math.floor((Number(done) * 1000) / Number(targetHeight - pointHeight)) / 10);
}

/** The log lines and metrics of one settled step. */
export function reportRebuildStep(
  step: RebuildStep,
  blocksApplied: number,
  { logger, metrics }: { logger: Logger; metrics: Metrics },
): void {
  const { run, appliedHeight, settlement } = step;
  metrics.count(Metric.rebuildBlocksApplied, blocksApplied);
  const fields = {
    run: run.runId,
    point_height: run.pointHeight,
    target_height: run.targetHeight,
    applied_height: appliedHeight,
    blocks_rederived: appliedHeight > run.pointHeight ? appliedHeight - run.pointHeight : 0n,
    percent: progressPercent(run.pointHeight, run.targetHeight, appliedHeight),
    payments_held: step.stillHeld,
  };
  if (step.progressMark) logger.info(LogEvent.rebuildProgress, fields);
  if (step.completed) logger.info(LogEvent.rebuildCompleted, fields);
  for (const payment of settlement.rolledBack) {
    logger.warn(LogEvent.rebuildPaymentNotFound, { ...paymentFields(payment), run: run.runId, outcome: 'rolled_back' });
  }
  for (const payment of settlement.reversed) {
    metrics.count(Metric.paymentsReversed, 1, { [MetricDimension.referenceType]: payment.referenceType });
    logger.critical(LogEvent.paymentReversed, { ...paymentFields(payment), run: run.runId, reason: 'not on chain after rebuild' });
  }
}

function paymentFields(payment: Payment) {
  return {
    tx_hash: payment.txId,
    output_index: payment.index,
    amount_lovelace: payment.lovelace.toString(),
    reference_type: payment.referenceType,
    reference_id: payment.referenceId,
    user_id: payment.userId,
    block_height: payment.blockHeight,
  };
}
