/**
 * Resuming a halted pipeline (domain/pipeline-recovery.ts), independent of the Lambda runtime: the CLI's
 * `pipeline resume` and the rebuild function's `{"resumePipeline": true}` run this. It clears the halt and bumps
 * the sync generation once more, so the leader re-derives everything from the database's points.
 */
import { LogEvent, Metric } from '../domain/observability.js';
import type { PipelineRecoveryStore } from '../domain/pipeline-recovery.js';
import type { Logger, Metrics } from '../domain/ports.js';

export interface PipelineResumeOptions {
  recovery: PipelineRecoveryStore;
  logger: Logger;
  metrics: Metrics;
  actor: string;
}

export interface PipelineResumeSummary {
  resumed: boolean;
  /** The generation the leader follows from now (when resumed). */
  generation: string | null;
}

export async function resumePipeline({ recovery, logger, metrics, actor }: PipelineResumeOptions): Promise<PipelineResumeSummary> {
  const outcome = await recovery.resume(actor);
  if (!outcome.resumed) {
    logger.info(LogEvent.pipelineResumed, { resumed: false, reason: 'the pipeline was not halted', actor });
    return { resumed: false, generation: null };
  }
  logger.warn(LogEvent.pipelineResumed, { resumed: true, generation: outcome.generation, actor });
  metrics.gauge(Metric.pipelineHalted, 0);
  return { resumed: true, generation: outcome.generation.toString() };
}

/** The rebuild function's payload that asks for a resume instead of a rebuild. */
export function isResumeRequest(payload: unknown): boolean {
  return typeof payload === 'object' && payload !== null && (payload as Record<string, unknown>).resumePipeline === true;
}
