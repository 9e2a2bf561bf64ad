/**
 * The reconciliation Lambda's work, independent of the Lambda runtime. Three ways in:
 *
 * - `{}` or `{ "trigger": "daily" }`: the EventBridge schedule (03:00) starts the daily run;
 * - `{ "trigger": "on_demand" }` (an operator) or `{ "trigger": "reconnect" }` (the follower after an outage);
 * - `{ "runId": "42" }`: continue that run (the function invokes itself this way when its time runs short).
 *
 * One run at a time: a start while a run is going reports that run and does nothing, except that a daily or
 * on-demand start ends a running reconnect run (an extra look must not cost the day's run), and that a start
 * takes over a running run nobody advanced for `staleAfterMs` (its invocation timed out, crashed, or failed
 * without being able to say so) or whose last attempt failed (one start per failure). A continuation of a run
 * that has ended, or that another invocation is advancing, changes nothing.
 *
 * Failures: an invocation that fails (Ogmios or the database unreachable) counts one failed attempt on the run
 * and rethrows; the run stays running, so Lambda's retry of the same event resumes it from its cursor. After
 * `maxFailedAttempts` attempts in a row without progress the run is failed. When the database is what failed,
 * the attempt cannot be counted: the run looks untouched, and the retry a minute later finds it stale.
 */
import { LogEvent } from '../domain/observability.js';
import type { Logger } from '../domain/ports.js';
import {
  RECONCILIATION_TRIGGERS,
  type ReconciliationRun,
  type ReconciliationRunStore,
  type ReconciliationTrigger,
} from '../domain/reconciliation/ports.js';
import { describeRun, type ReconciliationRunner, type RunProgress } from '../domain/reconciliation/reconciliation-runner.js';

export type ReconciliationRequest = { kind: 'start'; trigger: ReconciliationTrigger } | { kind: 'continue'; runId: bigint };

export class InvalidReconciliationRequestError extends Error {
  override readonly name = 'InvalidReconciliationRequestError';
}

export function parseReconciliationRequest(event: unknown): ReconciliationRequest {
  if (event === null || event === undefined) return { kind: 'start', trigger: 'daily' };
  if (typeof event !== 'object' || Array.isArray(event)) throw new InvalidReconciliationRequestError('the payload must be a JSON object');
  const { runId, trigger, ...rest } = event as Record<string, unknown>;
  // EventBridge Scheduler and aws lambda invoke send nothing else; anything more is a mistake worth naming.
  const unknown = Object.keys(rest);
  if (unknown.length > 0)
    throw new InvalidReconciliationRequestError(`unknown field(s) ${unknown.join(', ')}; expected "trigger" or "runId"`);
  if (runId !== undefined) {
    if (trigger !== undefined) throw new InvalidReconciliationRequestError('give either "trigger" or "runId", not both');
    const text = typeof runId === 'number' && Number.isSafeInteger(runId) ? String(runId) : runId;
    if (typeof text !== 'string' || !/^[1-9]\d{0,18}$/.test(text))
      throw new InvalidReconciliationRequestError('"runId" must be a run id (a positive whole number)');
    return { kind: 'continue', runId: BigInt(text) };
  }
  if (trigger === undefined) return { kind: 'start', trigger: 'daily' };
  if (typeof trigger !== 'string' || !(RECONCILIATION_TRIGGERS as readonly string[]).includes(trigger)) {
    throw new InvalidReconciliationRequestError(`"trigger" must be one of ${RECONCILIATION_TRIGGERS.join(', ')}`);
  }
  return { kind: 'start', trigger: trigger as ReconciliationTrigger };
}

export interface ReconciliationCoreOptions {
  runner: ReconciliationRunner;
  runs: ReconciliationRunStore;
  logger: Logger;
  /** Asks another invocation to continue the run (an asynchronous self-invocation with `{ runId }`). */
  continueLater: (runId: bigint) => Promise<void>;
  /** Milliseconds this invocation has left. */
  remainingTimeMs: () => number;
  timeReserveMs: number;
  staleAfterMs: number;
  maxFailedAttempts: number;
  /** How long before the invocation's timeout a run still in a chunk counts a failed attempt. Default 5 s. */
  timeoutMarginMs?: number;
}

export const DEFAULT_TIMEOUT_MARGIN_MS = 5_000;
/** The timeout watch counts no failure on a run updated this recently: a chunk was just recorded, the run is moving. */
export const MOVING_WITHIN_MS = 1_000;

export interface ReconciliationOutcome {
  status: 'completed' | 'continuing' | 'already_running' | 'already_finished' | 'superseded' | 'not_found';
  run: Record<string, unknown> | null;
}

export async function handleReconciliation(event: unknown, options: ReconciliationCoreOptions): Promise<ReconciliationOutcome> {
  const request = parseReconciliationRequest(event);
  const { runs, logger } = options;
  let run: ReconciliationRun;
  if (request.kind === 'start') {
    const started = await runs.start(request.trigger, options.staleAfterMs);
    if ('alreadyRunning' in started) {
      logger.info(LogEvent.reconciliationSkipped, {
        reason: 'a run is in progress',
        trigger: request.trigger,
        running_run_id: started.alreadyRunning.id.toString(),
      });
      return { status: 'already_running', run: describeRun(started.alreadyRunning) };
    }
    if ('resumed' in started) {
      logger.info(LogEvent.reconciliationResumed, { reason: started.reason, trigger: request.trigger, ...describeRun(started.resumed) });
      run = started.resumed;
    } else {
      if (started.supersededRun) {
        logger.info(LogEvent.reconciliationSuperseded, {
          by_trigger: request.trigger,
          by_run_id: started.started.id.toString(),
          ...describeRun(started.supersededRun),
        });
      }
      run = started.started;
    }
  } else {
    const found = await runs.find(request.runId);
    if (found === null) {
      logger.warn(LogEvent.reconciliationSkipped, { reason: 'no such run', run_id: request.runId.toString() });
      return { status: 'not_found', run: null };
    }
    if (found.status !== 'running') return { status: 'already_finished', run: describeRun(found) };
    await runs.noteInvocation(found.id);
    run = found;
  }

  // A chunk stuck past the time reserve (a hung query) would end in a Lambda timeout, silently: the run would
  // look alive until it is stale. Just before the timeout, count the attempt as failed, so that Lambda's retry
  // of this event takes the run over at once.
  // One invocation counts at most one failed attempt: the hung call may still reject after the watch counted.
  let noted = false;
  const noteOnce = async (runId: bigint, reason: string, store: { unlessUpdatedWithinMs?: number } = {}): Promise<void> => {
    if (noted) return;
    noted = true;
    await noteFailedAttempt(runId, reason, options, store);
  };
  const watchFor = options.remainingTimeMs() - (options.timeoutMarginMs ?? DEFAULT_TIMEOUT_MARGIN_MS);
  const timeoutWatch =
    watchFor > 0
      ? setTimeout(
          () => void noteOnce(run.id, 'timed out: the invocation ran out of time in a chunk', { unlessUpdatedWithinMs: MOVING_WITHIN_MS }),
          watchFor,
        )
      : undefined;
  let progress: RunProgress;
  try {
    progress = await options.runner.advance(run, () => options.remainingTimeMs() > options.timeReserveMs);
  } catch (error) {
    await noteOnce(run.id, error instanceof Error ? error.message : String(error));
    throw error; // Lambda retries the event: a start takes the run over, a continuation continues it
  } finally {
    clearTimeout(timeoutWatch);
  }
  switch (progress.outcome) {
    case 'completed':
      return { status: 'completed', run: describeRun(progress.run) };
    case 'paused':
      try {
        await options.continueLater(progress.run.id);
      } catch (error) {
        // Nobody would continue it: Lambda's retry of this event will, or the run fails after the last attempt.
        await noteOnce(progress.run.id, `could not continue: ${error instanceof Error ? error.message : String(error)}`);
        throw error;
      }
      logger.info(LogEvent.reconciliationContinued, describeRun(progress.run));
      return { status: 'continuing', run: describeRun(progress.run) };
    case 'superseded':
      return { status: 'superseded', run: progress.run ? describeRun(progress.run) : null };
  }
}

/** Counts the failed attempt; the run fails only when it was the last one allowed. */
async function noteFailedAttempt(
  runId: bigint,
  reason: string,
  options: ReconciliationCoreOptions,
  store: { unlessUpdatedWithinMs?: number },
): Promise<void> {
  const { runs, logger, maxFailedAttempts } = options;
  let run: ReconciliationRun | null;
  try {
    run = await runs.noteFailure(runId, reason, maxFailedAttempts, store);
  } catch (error) {
    // Most likely the database is what failed. The run stays running as it was; the retry finds it stale.
    logger.error(LogEvent.reconciliationAttemptUnrecorded, {
      run_id: runId.toString(),
      reason,
      unrecorded_because: error instanceof Error ? error.message : String(error),
    });
    return;
  }
  if (run === null) {
    // Already ended by someone else, or moving (the watch saw a chunk just recorded): nothing to count.
    logger.warn(LogEvent.reconciliationAttemptFailed, { run_id: runId.toString(), reason, counted: false });
  } else if (run.status === 'running') {
    logger.warn(LogEvent.reconciliationAttemptFailed, {
      reason,
      attempt: run.failedAttempts,
      max_attempts: maxFailedAttempts,
      ...describeRun(run),
    });
  } else {
    logger.error(LogEvent.reconciliationFailed, { reason, ...describeRun(run) });
  }
}
