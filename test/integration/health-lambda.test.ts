/**
 * The health Lambda: its core on a real PostgreSQL whose sync_state the payment engine wrote, and the handler
 * as deployed (environment, Powertools, EMF on stdout) with the Ogmios simulator as the live network tip.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LambdaFunctionURLResult } from 'aws-lambda';
import { createLambdaMetrics } from '../../functions/adapters/powertools/metrics.js';
import { HealthLogEvent, HealthMetric, Metric } from '../../functions/domain/observability.js';
import { probeReadiness } from '../../functions/adapters/postgres/readiness-probe.js';
import { handleHealthRequest, isFunctionUrlRequest, recordSyncLag, type HealthCoreOptions } from '../../functions/handlers/health-core.js';
import { startOgmiosSimulator, type OgmiosSimulator } from '../../functions/local/simulator/index.js';
import { ChainBuilder } from '../support/chain-builder.js';
import { createEngineFixture, type EngineFixture } from '../support/engine-fixture.js';
import { captureOutput, emfDocuments, functionUrlRequest, lambdaContext, metricValues } from '../support/local-aws.js';
import { RecordingLogger } from '../support/recorders.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';

type Reply = Exclude<LambdaFunctionURLResult, string>;

let f: EngineFixture;
let chain: ChainBuilder;
let logger: RecordingLogger;
let metrics: InMemoryMetrics;

beforeEach(async () => {
  f = await createEngineFixture({ confirmations: 3 });
  chain = new ChainBuilder();
  chain.empty(150); // the network is at height 150
  logger = new RecordingLogger();
  metrics = new InMemoryMetrics();
});
afterEach(async () => f.db.drop());

function options(overrides: Partial<HealthCoreOptions> = {}): HealthCoreOptions {
  return { db: f.db.pool, network: 'mainnet', logger, metrics, clock: { now: () => new Date() }, ...overrides };
}

const HALT_REASON = 'poison: 3 recoveries in a row at height 120 without progress';

/** What the processor writes when recoveries keep failing (migration 0008's columns). */
async function haltPipeline(): Promise<Date> {
  const { rows } = await f.db.pool.query<{ halted_at: Date }>(
    'UPDATE sync_state SET halted_at = now(), halted_reason = $1 WHERE id = 1 RETURNING halted_at',
    [HALT_REASON],
  );
  return rows[0]!.halted_at;
}

async function resumePipeline(): Promise<void> {
  await f.db.pool.query('UPDATE sync_state SET halted_at = NULL, halted_reason = NULL WHERE id = 1');
}

/** The engine applies blocks up to this height, seeing the network at the chain's tip (150). */
async function applyUpTo(height: number): Promise<void> {
  await f.engine.apply(chain.forward(chain.blocks.slice(0, height)));
}

async function get(path: string, overrides: Partial<HealthCoreOptions> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const reply = (await handleHealthRequest(functionUrlRequest('GET', path), options(overrides))) as Reply;
  return { status: reply.statusCode!, body: JSON.parse(reply.body!) as Record<string, unknown> };
}

describe('health over the function URL', () => {
  it('is not ready before the engine applied anything', async () => {
    expect(await get('/health/ready')).toMatchObject({ status: 503, body: { status: 'not_ready', reason: 'not_synced' } });
  });

  it('is not ready while the lag exceeds 100 blocks, and ready within it (lag from sync_state)', async () => {
    await applyUpTo(40);
    expect(await get('/')).toMatchObject({
      status: 503,
      body: {
        ready: false,
        reason: 'sync_lag',
        synced_height: '40',
        tip_height: '150',
        lag: 110,
        tip_source: 'sync_state',
        network: 'mainnet',
      },
    });
    await f.engine.apply(chain.forward(chain.blocks.slice(40, 140)));
    expect(await get('/health')).toMatchObject({ status: 200, body: { ready: true, status: 'ready', synced_height: '140', lag: 10 } });
  });

  it('measures against the live tip from Ogmios, and falls back to sync_state when Ogmios fails', async () => {
    await applyUpTo(140);
    expect(await get('/health/ready', { networkTipHeight: async () => 400n })).toMatchObject({
      status: 503,
      body: { reason: 'sync_lag', tip_height: '400', lag: 260, tip_source: 'ogmios' },
    });
    // A relay behind what the follower already saw does not hide lag.
    expect(await get('/health/ready', { networkTipHeight: async () => 120n })).toMatchObject({
      body: { tip_height: '150', tip_source: 'sync_state' },
    });

    const failing = await get('/health/ready', { networkTipHeight: () => Promise.reject(new Error('connect ECONNREFUSED')) });
    expect(failing).toMatchObject({ status: 200, body: { tip_height: '150', tip_source: 'sync_state' } });
    expect(logger.events(HealthLogEvent.networkTipUnavailable)[0]!.fields.reason).toBe('connect ECONNREFUSED');
  });

  it('is not ready while the pipeline is halted, whatever the lag, and says since when and why', async () => {
    await applyUpTo(140);
    const haltedAt = await haltPipeline();
    expect(await get('/health/ready')).toEqual({
      status: 503,
      body: expect.objectContaining({
        ready: false,
        status: 'not_ready',
        reason: 'pipeline_halted',
        halted_at: haltedAt.toISOString(),
        halted_reason: HALT_REASON,
        synced_height: '140',
        lag: 10,
      }),
    });
    await resumePipeline();
    expect(await get('/health/ready')).toMatchObject({ status: 200, body: { ready: true, lag: 10 } });
  });

  it('is not ready when the database does not answer', async () => {
    const db = { query: () => Promise.reject(new Error('connection terminated')) };
    expect(await get('/health/ready', { db })).toMatchObject({ status: 503, body: { reason: 'database_unreachable' } });
  });

  it('answers liveness, refuses other methods and paths', async () => {
    expect(await get('/health/live')).toMatchObject({ status: 200, body: { status: 'alive' } });
    expect(await get('/metrics')).toMatchObject({ status: 404 });
    const post = (await handleHealthRequest(functionUrlRequest('POST', '/health'), options())) as Reply;
    expect(post.statusCode).toBe(405);
  });

  it('tells a function URL request from a scheduled invocation', () => {
    expect(isFunctionUrlRequest(functionUrlRequest('GET', '/'))).toBe(true);
    expect(isFunctionUrlRequest({ task: 'record-sync-lag' })).toBe(false);
    expect(isFunctionUrlRequest({ source: 'aws.scheduler', 'detail-type': 'Scheduled Event', detail: {} })).toBe(false);
    expect(isFunctionUrlRequest(null)).toBe(false);
  });
});

describe('the scheduled lag measurement', () => {
  it('keeps reporting a growing lag while the processor stands still', async () => {
    await applyUpTo(100);
    let networkHeight = 150n;
    const live = options({ networkTipHeight: async () => networkHeight, clock: { now: () => new Date(Date.now() + 90_000) } });
    await recordSyncLag(live);
    expect(metrics.snapshot().gauges).toMatchObject({ [Metric.syncHeight]: 100, [Metric.syncLag]: 50 });
    networkHeight = 180n; // the chain moved on, nothing was applied
    await recordSyncLag(live);
    const { gauges } = metrics.snapshot();
    expect(gauges).toMatchObject({ [Metric.syncHeight]: 100, [Metric.syncLag]: 80 });
    expect(gauges[HealthMetric.syncStateAge]).toBeGreaterThanOrEqual(89);
    expect(logger.events(HealthLogEvent.syncMeasured).at(-1)!.fields).toMatchObject({ lag: 80, tip_source: 'ogmios' });
  });

  it('writes database_reachable 1 and pipeline_halted 0 on every run while the database answers and nothing is halted', async () => {
    await applyUpTo(100);
    const gauge = vi.spyOn(metrics, 'gauge');
    for (let run = 0; run < 3; run++) await recordSyncLag(options());
    const written = (name: string) => gauge.mock.calls.filter(([metric]) => metric === name).map(([, value]) => value);
    expect(written(Metric.databaseReachable)).toEqual([1, 1, 1]);
    expect(written(Metric.pipelineHalted)).toEqual([0, 0, 0]);
  });

  it('writes database_reachable even before the engine applied anything (the alarm must not see a gap)', async () => {
    await recordSyncLag(options());
    const { gauges } = metrics.snapshot();
    expect(gauges).toMatchObject({ [Metric.databaseReachable]: 1, [Metric.pipelineHalted]: 0 });
    expect(gauges).not.toHaveProperty(Metric.syncLag);
  });

  it('writes pipeline_halted 1 while sync_state.halted_at is set, and 0 again after the resume', async () => {
    await applyUpTo(120);
    const haltedAt = await haltPipeline();
    const halted = await recordSyncLag(options());
    expect(metrics.snapshot().gauges).toMatchObject({
      [Metric.pipelineHalted]: 1,
      [Metric.databaseReachable]: 1,
      [Metric.syncHeight]: 120,
    });
    expect(halted).toMatchObject({ reason: 'pipeline_halted', halted_at: haltedAt.toISOString(), halted_reason: HALT_REASON });
    expect(logger.events(HealthLogEvent.syncMeasured).at(-1)!.fields).toMatchObject({
      reason: 'pipeline_halted',
      halted_reason: HALT_REASON,
    });
    await resumePipeline();
    await recordSyncLag(options());
    expect(metrics.snapshot().gauges[Metric.pipelineHalted]).toBe(0);
  });

  it('counts a failed measurement when the database does not answer: database_reachable 0, no lag, no halt state', async () => {
    const db = { query: () => Promise.reject(new Error('timeout')) };
    await recordSyncLag(options({ db }));
    expect(metrics.snapshot()).toMatchObject({
      gauges: { [Metric.databaseReachable]: 0 },
      counters: { [HealthMetric.databaseUnreachable]: 1 },
    });
    // Whether the pipeline is halted is unknown: writing 0 would clear a PipelineHalted alarm that may be right.
    expect(Object.keys(metrics.snapshot().gauges)).toEqual([Metric.databaseReachable]);
    expect(logger.events(HealthLogEvent.databaseUnreachable)).toEqual([
      { level: 'error', event: HealthLogEvent.databaseUnreachable, fields: { reason: 'timeout' } },
    ]);
  });

  it('writes the gauges as CloudWatch EMF in the PaymentMonitor namespace, by service and stage', async () => {
    await applyUpTo(120);
    const emf = createLambdaMetrics({ serviceName: 'payment-monitor', stage: 'test', logLevel: 'info' });
    const { lines } = await captureOutput(async () => {
      await recordSyncLag(options({ metrics: emf }));
      emf.publish();
    });
    const documents = emfDocuments(lines);
    expect(documents).toHaveLength(1);
    expect(documents[0]!._aws.CloudWatchMetrics[0]!.Namespace).toBe('PaymentMonitor');
    expect(metricValues(documents, Metric.syncLag)).toEqual([{ value: 30, dimensions: { service: 'payment-monitor', stage: 'test' } }]);
    expect(metricValues(documents, Metric.syncHeight)).toEqual([{ value: 120, dimensions: { service: 'payment-monitor', stage: 'test' } }]);
    expect(documents[0]!._aws.CloudWatchMetrics[0]!.Metrics).toContainEqual({ Name: Metric.syncLag, Unit: 'Count' });
    // The series the DatabaseUnreachable and PipelineHalted alarms watch: service + stage, no other dimension.
    expect(metricValues(documents, Metric.databaseReachable)).toEqual([
      { value: 1, dimensions: { service: 'payment-monitor', stage: 'test' } },
    ]);
    expect(metricValues(documents, Metric.pipelineHalted)).toEqual([
      { value: 0, dimensions: { service: 'payment-monitor', stage: 'test' } },
    ]);
  });

  it('writes database_reachable 0 as EMF when the database does not answer', async () => {
    const emf = createLambdaMetrics({ serviceName: 'payment-monitor', stage: 'test', logLevel: 'info' });
    const db = { query: () => Promise.reject(new Error('connect ETIMEDOUT')) };
    const { lines } = await captureOutput(async () => {
      await recordSyncLag(options({ db, metrics: emf }));
      emf.publish();
    });
    const documents = emfDocuments(lines);
    expect(metricValues(documents, Metric.databaseReachable)).toEqual([
      { value: 0, dimensions: { service: 'payment-monitor', stage: 'test' } },
    ]);
    expect(metricValues(documents, Metric.pipelineHalted)).toEqual([]);
  });
});

describe('the readiness probe the follower and the local stack use', () => {
  it('is not ready while the pipeline is halted, with the reason, and ready after the resume', async () => {
    await applyUpTo(145);
    const haltedAt = await haltPipeline();
    expect(await probeReadiness(f.db.pool, () => 150n)).toEqual({
      ready: false,
      status: 'not_ready',
      reason: 'pipeline_halted',
      synced_height: 145n,
      tip_height: 150n,
      lag: 5,
      halted_at: haltedAt,
      halted_reason: HALT_REASON,
    });
    await resumePipeline();
    expect(await probeReadiness(f.db.pool, () => 150n)).toEqual({
      ready: true,
      status: 'ready',
      synced_height: 145n,
      tip_height: 150n,
      lag: 5,
    });
  });
});

describe('the deployed handler (environment, Powertools, Ogmios simulator)', () => {
  let simulator: OgmiosSimulator;

  beforeAll(async () => {
    simulator = await startOgmiosSimulator({ network: 'mainnet', initialBlocks: 200 });
  });
  afterAll(async () => simulator?.stop());
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('answers the function URL and, on schedule, emits the lag against the simulator’s tip', async () => {
    await applyUpTo(150);
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand'); // set by Lambda; Powertools detects cold starts by it
    vi.stubEnv('STAGE', 'test');
    vi.stubEnv('NETWORK', 'mainnet');
    vi.stubEnv('DATABASE_URL', f.db.url);
    vi.stubEnv('OGMIOS_URL', simulator.url);
    vi.stubEnv('LOG_LEVEL', 'info');
    const { handler } = await import('../../functions/handlers/health.js');

    const http = await captureOutput(() => handler(functionUrlRequest('GET', '/health/ready'), lambdaContext('health')));
    const tip = simulator.tip();
    const lag = Number(tip === 'origin' ? 0 : tip.height) - 150;
    expect(http.result).toMatchObject({ statusCode: 200 });
    expect(JSON.parse((http.result as Reply).body!)).toMatchObject({ ready: true, synced_height: '150', lag, tip_source: 'ogmios' });

    const scheduled = await captureOutput(() => handler({ task: 'record-sync-lag' }, lambdaContext('health')));
    expect(scheduled.result).toMatchObject({ lag, tip_source: 'ogmios' });
    const documents = emfDocuments(scheduled.lines);
    expect(metricValues(documents, Metric.syncLag)).toEqual([{ value: lag, dimensions: { service: 'payment-monitor', stage: 'test' } }]);
    expect(metricValues(emfDocuments(http.lines), 'ColdStart')).toHaveLength(1);
    expect(metricValues(documents, 'ColdStart')).toHaveLength(0);
    const measured = scheduled.lines.find((line) => line.message === HealthLogEvent.syncMeasured);
    expect(measured).toMatchObject({ level: 'INFO', service: 'payment-monitor', stage: 'test', function_name: 'health', lag });
  });
});
