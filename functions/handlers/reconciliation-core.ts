/**
 * The reconciliation Lambda's work, independent of the Lambda runtime. Three ways in:
 *
 * - `{}` or `{ "trigger": "daily" }`: the EventBridge schedule (03:00) starts the daily run;
 * - `{ "trigger": "on_demand" }` (an operator) or `{ "trigger": "reconnect" }` (the follower after an outage);
 * - `{ "runId": "42" }`: continue that run (the function invokes itself this way when its time runs short).
 *
 * One run at a time: a start while a run is going reports that run and does nothing. A continuation of a run
 * that has ended, or that another invocation is advancing, changes nothing.
 */
import { LogEvent } from '../domain/observability.js';
import type { Logger } from '../domain/ports.js';
import { RECONCILIATION_TRIGGERS, type ReconciliationRun, type ReconciliationRunStore, type ReconciliationTrigger } from '../domain/reconciliation/ports.js';
import { describeRun, type ReconciliationRunner } from '../domain/reconciliation/reconciliation-runner.js';
import { readPositiveInteger, type Environment } from './runtime-config.js';

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
  if (unknown.length > 0) throw new InvalidReconciliationRequestError(`unknown field(s) ${unknown.join(', ')}; expected "trigger" or "runId"`);
  if (runId !== undefined) {
    if (trigger !== undefined) throw new InvalidReconciliationRequestError('give either "trigger" or "runId", not both');
    const text = typeof runId === 'number' && Number.isSafeInteger(runId) ? String(runId) : runId;
    if (typeof text !== 'string' || !/^[1-9]\d{0,18}$/.test(text)) throw new InvalidReconciliationRequestError('"runId" must be a run id (a positive whole number)');
    return { kind: 'continue', runId: BigInt(text) };
  }
  if (trigger === undefined) return { kind: 'start', trigger: 'daily' };
  if (typeof trigger !== 'string' || !(RECONCILIATION_TRIGGERS as readonly string[]).includes(trigger)) {
    throw new InvalidReconciliationRequestError(`"trigger" must be one of ${RECONCILIATION_TRIGGERS.join(', ')}`);
  }
  return { kind: 'start', trigger: trigger as ReconciliationTrigger };
}

export interface ReconciliationSettings {
  /** RECONCILIATION_CHUNK_SIZE: addresses per UTxO query. Default 1,000. */
  chunkSize: number;
  /** RECONCILIATION_TIME_RESERVE_MS: stop and continue in a new invocation when less than this is left. Default 90 s. */
  timeReserveMs: number;
  /** A running run not updated for this long is taken as abandoned by the next start. Default 20 minutes. */
  staleAfterMs: number;
}

export function readReconciliationSettings(env: Environment): ReconciliationSettings {
  return {
    chunkSize: readPositiveInteger(env, 'RECONCILIATION_CHUNK_SIZE', 1_000),
    timeReserveMs: readPositiveInteger(env, 'RECONCILIATION_TIME_RESERVE_MS', 90_000),
    staleAfterMs: 20 * 60_000,
  };
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
}

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
      logger.info(LogEvent.reconciliationSkipped, { reason: 'a run is in progress', trigger: request.trigger, running_run_id: started.alreadyRunning.id.toString() });
      return { status: 'already_running', run: describeRun(started.alreadyRunning) };
    }
    run = started.started;
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

  let progress;
  try {
    progress = await options.runner.advance(run, () => options.remainingTimeMs() > options.timeReserveMs);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const failed = await runs.finish(run.id, { status: 'failed', error: reason }).catch(() => null);
    logger.error(LogEvent.reconciliationFailed, { run_id: run.id.toString(), reason, ...(failed ? describeRun(failed) : {}) });
    throw error;
  }
  switch (progress.outcome) {
    case 'completed':
      return { status: 'completed', run: describeRun(progress.run) };
    case 'paused':
      try {
        await options.continueLater(progress.run.id);
      } catch (error) {
        // Nobody would continue it: better a failed run (the "did not run" alarm) than one stuck as running.
        const reason = `could not continue: ${error instanceof Error ? error.message : String(error)}`;
        await runs.finish(progress.run.id, { status: 'failed', error: reason }).catch(() => null);
        logger.error(LogEvent.reconciliationFailed, { run_id: progress.run.id.toString(), reason });
        throw error;
      }
      logger.info(LogEvent.reconciliationContinued, describeRun(progress.run));
      return { status: 'continuing', run: describeRun(progress.run) };
    case 'superseded':
      return { status: 'superseded', run: progress.run ? describeRun(progress.run) : null };
  }
}
