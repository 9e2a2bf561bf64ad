/**
 * Rebuild Lambda (on-demand invoke): `{ "daysAgo": 30 }`, `{ "slot": n }` or `{ "point": "<slot>.<blockId>" }`.
 * Resets the engine to that retained point in one transaction (seconds, whatever the depth); the follower
 * re-derives the chain from there. Env: DATABASE_URL or DATABASE_SECRET_ARN. The work is in rebuild-core.ts.
 * `{ "resumePipeline": true }` resumes a halted pipeline instead (pipeline-resume-core.ts): the same kind of
 * operator action on the same permissions, so it needs no function of its own.
 */
import { PostgresPipelineRecoveryStore } from '../adapters/postgres/pipeline-recovery-store.js';
import { PostgresRebuildStore } from '../adapters/postgres/rebuild-store.js';
import { lambdaHandler, lambdaPool, logger, metrics } from './lambda-handler.js';
import { isResumeRequest, resumePipeline, type PipelineResumeSummary } from './pipeline-resume-core.js';
import { runRebuild, type RebuildSummary } from './rebuild-core.js';

const pool = lambdaPool({ max: 1, applicationName: 'payment-monitor-rebuild' });

export const handler = lambdaHandler<unknown, RebuildSummary | PipelineResumeSummary>(async (event, context) => {
  if (isResumeRequest(event)) {
    return resumePipeline({
      recovery: new PostgresPipelineRecoveryStore(await pool()),
      logger,
      metrics,
      actor: `lambda:${context.functionName}`,
    });
  }
  return runRebuild(event, {
    store: new PostgresRebuildStore(await pool()),
    logger,
    metrics,
    clock: { now: () => new Date() },
    actor: `lambda:${context.functionName}`,
  });
});
