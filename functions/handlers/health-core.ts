/**
 * The stack's health, independent of the Lambda runtime. Two ways in:
 *
 * - an HTTP request (IAM-authenticated function URL): ready / not_ready as JSON, 200 or 503, by the tutorial's
 *   readiness rule (database answers, lag within MAX_READY_LAG_BLOCKS);
 * - a scheduled run (EventBridge Scheduler, every minute): sync_height and sync_lag_blocks as metrics. The
 *   processor reports the same gauges, but only while it processes; this run keeps measuring when it has
 *   stopped, which is when the lag alarm matters. Every run also writes database_reachable (1 or 0: the
 *   DatabaseUnreachable alarm) and, when the database answered, pipeline_halted (1 or 0: PipelineHalted).
 *
 * The lag is measured against the live tip from Ogmios when one is configured; otherwise against the tip the
 * engine last recorded in sync_state, which stops moving with the processor, so sync_state_age_seconds (time
 * since the engine last wrote) is reported too: it grows whenever nothing is applied.
 */
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import type pg from 'pg';
import { jsonSafe } from '../adapters/observability/json-logger.js';
import type { Network } from '../domain/network.js';
import { HealthLogEvent, HealthMetric, Metric } from '../domain/observability.js';
import type { Clock, Logger, Metrics } from '../domain/ports.js';
import { assessReadiness, type PipelineHalt, type Readiness, type RebuildUnderWay } from '../domain/readiness.js';
import { pipelineHaltOf, type HaltColumns } from '../adapters/postgres/readiness-probe.js';
import { readRunningRebuild } from '../adapters/postgres/rebuild-store.js';

export interface HealthCoreOptions {
  db: Pick<pg.Pool, 'query'>;
  network: Network;
  /** The node's current block height (Ogmios); when absent, sync_state's network tip is used. */
  networkTipHeight?: () => Promise<bigint | 'origin'>;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  maxReadyLagBlocks?: number;
}

export interface SyncObservation {
  readiness: Readiness;
  /** Where the tip height came from. */
  tipSource: 'ogmios' | 'sync_state' | 'none';
  /** Seconds since the engine last wrote sync_state; null when the database did not answer. */
  syncStateAgeSeconds: number | null;
  /** Why the database did not answer, when it did not. */
  databaseError?: string;
  /** The pipeline's halt, when halted; null when it is not, or when the database did not answer (unknown). */
  halt: PipelineHalt | null;
}

interface SyncStateRow extends HaltColumns {
  last_block_height: bigint | null;
  network_tip_height: bigint | null;
  updated_at: Date;
}

/** The engine's position against the network tip, never throwing: what cannot be read makes it not ready. */
export async function observeSync(options: HealthCoreOptions): Promise<SyncObservation> {
  const [stored, liveTip] = await Promise.all([readSyncState(options), readLiveTip(options)]);
  if ('databaseError' in stored) {
    const readiness = assessReadiness({ databaseReachable: false, appliedHeight: null, networkTipHeight: null });
    return { readiness, tipSource: 'none', syncStateAgeSeconds: null, databaseError: stored.databaseError, halt: null };
  }
  const { state } = stored;
  const halt = pipelineHaltOf(state ?? undefined);
  // A relay that lags behind what the follower already saw must not make the engine look closer to the tip.
  const storedTip = state?.network_tip_height ?? null;
  const tip = liveTip !== undefined && (storedTip === null || liveTip >= storedTip) ? liveTip : storedTip;
  const tipSource = tip === null ? 'none' : tip === liveTip ? 'ogmios' : 'sync_state';
  const readiness = assessReadiness({
    databaseReachable: true,
    appliedHeight: state?.last_block_height ?? null,
    networkTipHeight: tip,
    ...(options.maxReadyLagBlocks === undefined ? {} : { maxLagBlocks: options.maxReadyLagBlocks }),
    rebuild: stored.rebuild,
    halt,
  });
  const syncStateAgeSeconds = state ? Math.max(0, Math.round((options.clock.now().getTime() - state.updated_at.getTime()) / 1000)) : null;
  return { readiness, tipSource, syncStateAgeSeconds, halt };
}

/** GET /, /health, /health/ready: readiness (200 or 503). GET /health/live: 200 while the function runs. */
export async function handleHealthRequest(event: LambdaFunctionURLEvent, options: HealthCoreOptions): Promise<LambdaFunctionURLResult> {
  const method = event.requestContext.http.method;
  if (method !== 'GET' && method !== 'HEAD') return reply(405, { error: 'method not allowed' });
  const path = event.rawPath.replace(/\/+$/, '') || '/';
  if (path === '/health/live') return reply(200, { status: 'alive' });
  if (path !== '/' && path !== '/health' && path !== '/health/ready') {
    return reply(404, { error: 'not found', endpoints: ['/health/ready', '/health/live'] });
  }
  const observation = await observeSync(options);
  if (observation.databaseError) options.logger.warn(HealthLogEvent.databaseUnreachable, { reason: observation.databaseError });
  return reply(observation.readiness.ready ? 200 : 503, describeObservation(observation, options.network));
}

/**
 * The scheduled run: the lag and height gauges, whatever state the processor is in; database_reachable on every
 * run (a run that writes nothing, because the function failed or did not run, is missing data, which the
 * DatabaseUnreachable alarm treats as breaching); pipeline_halted whenever the database answered.
 */
export async function recordSyncLag(options: HealthCoreOptions): Promise<Record<string, unknown>> {
  const observation = await observeSync(options);
  const { readiness } = observation;
  const { metrics, logger } = options;
  const databaseAnswered = observation.databaseError === undefined;
  metrics.gauge(Metric.databaseReachable, databaseAnswered ? 1 : 0);
  if (!databaseAnswered) {
    // No lag can be measured: the alarm on sync_lag_blocks must treat missing data as breaching, and this
    // counter says why it is missing. Whether the pipeline is halted is unknown, so pipeline_halted is not written.
    metrics.count(HealthMetric.databaseUnreachable);
    logger.error(HealthLogEvent.databaseUnreachable, { reason: observation.databaseError });
    return describeObservation(observation, options.network);
  }
  metrics.gauge(Metric.pipelineHalted, observation.halt ? 1 : 0);
  const applied = readiness.synced_height ?? null;
  const tip = readiness.tip_height ?? null;
  if (applied !== null) metrics.gauge(Metric.syncHeight, Number(applied));
  if (applied !== null && tip !== null) metrics.gauge(Metric.syncLag, Number(tip > applied ? tip - applied : 0n));
  if (observation.syncStateAgeSeconds !== null) metrics.gauge(HealthMetric.syncStateAge, observation.syncStateAgeSeconds);
  const description = describeObservation(observation, options.network);
  logger.info(HealthLogEvent.syncMeasured, description);
  return description;
}

/** A function URL request, as opposed to a scheduled invocation (whatever input the schedule passes). */
export function isFunctionUrlRequest(event: unknown): event is LambdaFunctionURLEvent {
  if (typeof event !== 'object' || event === null) return false;
  const { requestContext, rawPath } = event as { requestContext?: { http?: { method?: unknown } }; rawPath?: unknown };
  return typeof rawPath === 'string' && typeof requestContext?.http?.method === 'string';
}

async function readSyncState({
  db,
}: HealthCoreOptions): Promise<{ state: SyncStateRow | null; rebuild: RebuildUnderWay | null } | { databaseError: string }> {
  try {
    const { rows } = await db.query<SyncStateRow>(
      'SELECT last_block_height, network_tip_height, updated_at, halted_at, halted_reason FROM sync_state WHERE id = 1',
    );
    return { state: rows[0] ?? null, rebuild: await readRunningRebuild(db) };
  } catch (error) {
    return { databaseError: error instanceof Error ? error.message : String(error) };
  }
}

async function readLiveTip({ networkTipHeight, logger }: HealthCoreOptions): Promise<bigint | undefined> {
  if (!networkTipHeight) return undefined;
  try {
    const height = await networkTipHeight();
    return height === 'origin' ? 0n : height;
  } catch (error) {
    // The stored tip still gives a (possibly understated) lag, and sync_state_age_seconds the rest.
    logger.warn(HealthLogEvent.networkTipUnavailable, { reason: error instanceof Error ? error.message : String(error) });
    return undefined;
  }
}

function describeObservation({ readiness, tipSource, syncStateAgeSeconds }: SyncObservation, network: Network): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify({ ...readiness, network, tip_source: tipSource, sync_state_age_seconds: syncStateAgeSeconds }, jsonSafe),
  ) as Record<string, unknown>;
}

function reply(statusCode: number, body: unknown): LambdaFunctionURLResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(body, jsonSafe),
  };
}
