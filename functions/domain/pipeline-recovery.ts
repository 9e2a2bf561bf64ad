/**
 * What the processor does with a chain event it cannot apply, on the AWS path: the rules.
 *
 * Nothing in the queue is precious: every event can be derived again from Ogmios, starting at the database's
 * points. So an event that cannot apply is acknowledged (never left to drag the events behind it into the DLQ),
 * and the leader is made to follow again from the database: the sync generation is bumped, which makes every
 * event still queued stale and makes the leader start a new session from the database's points (its generation
 * watch sees the change within seconds). Two causes:
 *
 * - a divergence: the event does not fit the database (out of step with its session, a block that does not extend
 *   the chain, a rollback to a point the engine does not hold);
 * - a poison message: it cannot be read (not the format, a value out of range, a claim check that is missing or
 *   fails its checksum). It is set aside in the database with its body and the reason.
 *
 * A recovery caused by an event of an earlier session changes nothing (that session is over already). Recoveries
 * that keep coming without the engine getting past the height where they started mean the cause is not in the
 * queue but in what Ogmios sends or in this code: after HALT_AFTER_RECOVERIES_WITHOUT_PROGRESS of them the
 * pipeline halts, loudly (critical log, PipelineHalted alarm), and applies nothing until an operator resumes it,
 * which bumps the generation once more so the leader re-derives everything from the database's points.
 */
import { isFromEarlierSession } from './event-admission.js';
import type { LeaderSessionState } from './ports.js';

export const HALT_AFTER_RECOVERIES_WITHOUT_PROGRESS = 3;

export type RecoveryKind = 'divergence' | 'poison';

export interface RecoveryCause {
  kind: RecoveryKind;
  reason: string;
  /** The queue message, when there is one; its stamp when it could be read. */
  message?: { id: string; body?: string; generation?: bigint; fence?: bigint };
}

/** What the database holds about the pipeline when a recovery is decided (read under the sync position lock). */
export interface RecoveryState {
  session: LeaderSessionState;
  appliedHeight: bigint | null;
  streak: number;
  streakHeight: bigint | null;
}

export type RecoveryDecision =
  /** The cause belongs to an earlier session (or the pipeline is halted already): acknowledge, change nothing. */
  | { action: 'none'; why: string }
  /** Bump the generation: the leader follows again from the database's points. */
  | { action: 'follow_again'; generation: bigint; streak: number; streakHeight: bigint | null }
  /** Too many recoveries without progress: halt. */
  | { action: 'halt'; streak: number; streakHeight: bigint | null; reason: string };

export function decideRecovery(state: RecoveryState, cause: RecoveryCause): RecoveryDecision {
  const { session } = state;
  const stamp = cause.message;
  if (session.haltedReason !== null) return { action: 'none', why: `the pipeline is halted already: ${session.haltedReason}` };
  if (
    stamp?.generation !== undefined &&
    stamp.fence !== undefined &&
    isFromEarlierSession(session, { generation: stamp.generation, token: stamp.fence })
  ) {
    return { action: 'none', why: 'the event belongs to an earlier leader session, which is over already' };
  }
  const height = state.appliedHeight;
  const noProgress = state.streak > 0 && (height ?? -1n) <= (state.streakHeight ?? -1n);
  const streak = noProgress ? state.streak + 1 : 1;
  const streakHeight = noProgress ? state.streakHeight : height;
  if (streak >= HALT_AFTER_RECOVERIES_WITHOUT_PROGRESS) {
    return {
      action: 'halt',
      streak,
      streakHeight,
      reason:
        `${streak} recoveries in a row without the engine getting past height ${streakHeight ?? 'origin'}; ` +
        `the last: ${cause.kind}: ${cause.reason}`,
    };
  }
  // A session the database was never fenced for may carry a higher generation: go past it.
  const from = stamp?.generation !== undefined && stamp.generation > session.generation ? stamp.generation : session.generation;
  return { action: 'follow_again', generation: from + 1n, streak, streakHeight };
}

export type RecoveryOutcome =
  | { action: 'none'; why: string }
  | { action: 'follow_again'; generation: bigint; streak: number }
  | { action: 'halt'; reason: string };

export interface PipelineRecoveryStore {
  /** Decides (decideRecovery) and records the recovery in one transaction under the sync position lock. */
  recover(cause: RecoveryCause, actor: string): Promise<RecoveryOutcome>;
  /** Clears a halt and bumps the generation; 'not_halted' when there was nothing to resume. */
  resume(actor: string): Promise<{ resumed: true; generation: bigint } | { resumed: false }>;
}
