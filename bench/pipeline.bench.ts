/**
 * npm run bench:pipeline — the whole AWS path, locally: the Ogmios simulator replaying real mainnet blocks →
 * the follower (FollowerService: lease on dynalite, fencing PostgreSQL, the SQS FIFO emitter with claim checks
 * on s3rver) → local-aws-sqs → the processor (the event source's loop around processChainEventBatch) →
 * PostgreSQL. Three processes, as deployed: this one plays the outside world (simulator, DynamoDB, SQS, S3);
 * the follower (bench/support/pipeline-follower.ts) and the processor (bench/support/pipeline-processor.ts)
 * each run in a process of their own, forked afresh for every repetition, on a fresh database.
 *
 * Measured in one run:
 * - catch-up end to end: from the follower's first emission to the processor's commit of the block at the
 *   simulator's tip; with the messages, batches and claim checks it took, and when the follower alone was done;
 * - the engine alone on the same work: the very messages the processor applied (captured, decoded beforehand),
 *   applied with the same stamps straight to a PaymentEngine on another fresh database, in the processor's
 *   process; the ratio pipeline / engine, and both databases compared;
 * - detection latency across the queue, at the tip (last repetition): one block every BENCH_BLOCK_INTERVAL_MS,
 *   each paying a registered address, timed from the simulator producing it to the processor's commit of the
 *   payment (reported by the processor when the engine's transaction returned).
 *
 * The machine is shared: every figure is printed with the load average, and each process's CPU time per block
 * next to the wall-clock rates (far less sensitive to other work on the cores).
 *
 * Options (environment): BENCH_BLOCKS (default 3000), BENCH_REPEATS (default 3), BENCH_ADDRESSES (registered,
 * default 100000), BENCH_LATENCY_SAMPLES (default 200), BENCH_BLOCK_INTERVAL_MS (default 100), BENCH_SOURCE
 * (fixtures | synthetic), BENCH_MAX_INLINE_BODY_BYTES (smaller than SQS's limit to exercise claim checks),
 * BENCH_SQS_RECEIVE (prompt | as-shipped: local-aws-sqs's own receive, which waits for a full batch or 40 ms),
 * BENCH_PROFILE (a directory: CPU profiles of the follower and processor processes),
 * DATABASE_URL, BENCH_FAST=1 (embedded PostgreSQL without fsync).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createLeaseTable } from '../functions/adapters/dynamodb/lease-table.js';
import { PostgresAddressRegistry } from '../functions/adapters/postgres/address-registry.js';
import { createPool } from '../functions/adapters/postgres/pool.js';
import { startOgmiosSimulator, type OgmiosSimulator } from '../functions/local/simulator/index.js';
import { syntheticAddress } from '../functions/local/synthetic/addresses.js';
import { startDynalite, type LocalDynamoDb } from '../test/support/dynalite.js';
import { startLocalS3, startLocalSqs, type LocalS3, type LocalSqs } from '../test/support/local-aws.js';
import { percentile } from './support/bench-database.js';
import { openBenchServer, type BenchServer } from './support/bench-server.js';
import {
  nextMessage,
  wallClockMs,
  type CatchUpStatistics,
  type EngineAloneResult,
  type FollowerStatistics,
  type FromFollower,
  type FromProcessor,
  type ToFollower,
  type ToProcessor,
} from './support/pipeline-protocol.js';
import { registerBenchAddresses } from './support/registered-addresses.js';

const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 3_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const ADDRESSES = Number(process.env.BENCH_ADDRESSES ?? 100_000);
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 200);
const BLOCK_INTERVAL_MS = Number(process.env.BENCH_BLOCK_INTERVAL_MS ?? 100);
const SOURCE = process.env.BENCH_SOURCE === 'synthetic' ? 'synthetic' : 'fixtures';
const MAX_INLINE_BODY_BYTES = process.env.BENCH_MAX_INLINE_BODY_BYTES ? Number(process.env.BENCH_MAX_INLINE_BODY_BYTES) : undefined;
/** local-aws-sqs's receive as shipped waits for a full batch or 40 ms (test/support/prompt-local-aws-sqs.ts). */
const SQS_RECEIVE = process.env.BENCH_SQS_RECEIVE === 'as-shipped' ? 'as-shipped' : 'prompt';
const NETWORK = 'mainnet' as const;
/** The deployed processor's default (CONFIRMATIONS). */
const CONFIRMATIONS = 15;
/** Registered addresses the simulator pays (and spends from): the first of the registered ones. */
const PAID_ADDRESSES = 20;
const PAYMENTS_PER_BLOCK = 1;
const SPENDS_PER_BLOCK = 0.3;
const BUCKET = 'bench-claim-checks';
const LEASE_TABLE = 'bench-follower-leases';
const TEMPLATE_DATABASE = 'bench_pipeline_template';

const FOLLOWER_ENTRY = fileURLToPath(new URL('./support/pipeline-follower.ts', import.meta.url));
const PROCESSOR_ENTRY = fileURLToPath(new URL('./support/pipeline-processor.ts', import.meta.url));

const load = (): string =>
  `load ${os
    .loadavg()
    .map((average) => average.toFixed(2))
    .join(' ')}`;
const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1] as number;
const mebibytes = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const registeredAddress = (i: number): string => syntheticAddress(NETWORK, i);

/** The deployed follower image's NODE_OPTIONS (docker/follower/Dockerfile), so the follower runs as on Fargate. */
function deployedFollowerNodeOptions(): string {
  const dockerfile = readFileSync(new URL('../docker/follower/Dockerfile', import.meta.url), 'utf8');
  const match = /NODE_OPTIONS="([^"]*)"/.exec(dockerfile);
  if (!match) throw new Error('docker/follower/Dockerfile sets no NODE_OPTIONS="…" for the follower');
  return match[1]!;
}

/** BENCH_PROFILE=<directory>: CPU profiles of the follower and processor processes, written there when they exit. */
const PROFILE_DIRECTORY = process.env.BENCH_PROFILE;

function forkThroughTsx(entry: string, nodeOptions: string): ChildProcess {
  return fork(entry, [], {
    execArgv: ['--expose-gc', '--import', 'tsx', ...(PROFILE_DIRECTORY ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIRECTORY}`] : [])],
    env: { ...process.env, NODE_OPTIONS: nodeOptions },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

interface Environment {
  server: BenchServer;
  dynamo: LocalDynamoDb;
  sqs: LocalSqs;
  s3: LocalS3;
  simulator: OgmiosSimulator;
  targetHeight: number;
}

interface DatabaseSummary {
  height: string;
  payments: string;
  confirmed: string;
  spent: string;
  balances: string;
}

async function summarise(databaseUrl: string): Promise<DatabaseSummary> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<DatabaseSummary>(
      `SELECT (SELECT last_block_height::text FROM sync_state) AS height,
              (SELECT count(*)::text FROM incoming_payments) AS payments,
              (SELECT count(*)::text FROM incoming_payments WHERE status = 'confirmed') AS confirmed,
              (SELECT count(spent_by_tx_hash)::text FROM incoming_payments) AS spent,
              (SELECT coalesce(sum(balance_lovelace), 0)::text FROM user_balances) AS balances`,
    );
    return rows[0]!;
  } finally {
    await client.end();
  }
}

/** A migrated database with the registered addresses, cloned for every run (registering takes a while). */
async function prepareTemplate(server: BenchServer): Promise<void> {
  const url = await server.createDatabase(TEMPLATE_DATABASE);
  const pool = createPool({ connectionString: url, max: 2 });
  const registry = new PostgresAddressRegistry(pool, NETWORK);
  const started = performance.now();
  await registerBenchAddresses(registry, ADDRESSES, registeredAddress);
  await pool.query('VACUUM ANALYZE');
  await pool.end();
  console.log(
    `registered ${ADDRESSES.toLocaleString('en')} addresses in ${((performance.now() - started) / 1000).toFixed(1)} s (cloned for every database)`,
  );
}

interface CatchUpRun {
  blocks: number;
  /** First emission → the target block committed by the processor. */
  seconds: number;
  /** First emission → everything up to the target in the queue. */
  followerSeconds: number;
  processor: CatchUpStatistics;
  follower: FollowerStatistics;
  /** CPU time of this process (simulator, DynamoDB, SQS, S3) during the catch-up. */
  outsideCpuMicros: number;
  engine: EngineAloneResult;
  processorPeakRssBytes: number;
  followerPeakRssBytes: number;
  latencies: DetectionLatencies | undefined;
  sameResults: boolean;
  pipelineSummary: DatabaseSummary;
  loadAtEnd: string;
}

async function runRepetition(environment: Environment, repetition: number, measureLatency: boolean): Promise<CatchUpRun> {
  const { server, sqs, s3, dynamo, simulator, targetHeight } = environment;
  const pipelineDatabase = await server.createDatabase(`bench_pipeline_${repetition}`, { template: TEMPLATE_DATABASE });
  const engineDatabase = await server.createDatabase(`bench_pipeline_engine_${repetition}`, { template: TEMPLATE_DATABASE });
  const queueUrl = await sqs.createFifoQueue(`bench-pipeline-${repetition}-${process.pid}`);
  const catchUpTimeoutMs = Math.max(180_000, BLOCKS * 100);

  const processor = forkThroughTsx(PROCESSOR_ENTRY, '--enable-source-maps');
  const toProcessor = (message: ToProcessor) => processor.send(message);
  const fromProcessor = <T extends FromProcessor['type']>(type: T, timeoutMs: number) =>
    nextMessage<FromProcessor, T>(processor, type, timeoutMs);
  const follower = forkThroughTsx(FOLLOWER_ENTRY, deployedFollowerNodeOptions());
  const toFollower = (message: ToFollower) => follower.send(message);
  const fromFollower = <T extends FromFollower['type']>(type: T, timeoutMs: number) =>
    nextMessage<FromFollower, T>(follower, type, timeoutMs);
  try {
    const polling = fromProcessor('polling', 60_000);
    toProcessor({
      type: 'start',
      network: NETWORK,
      databaseUrl: pipelineDatabase,
      sqsEndpoint: sqs.endpoint,
      queueUrl,
      s3Endpoint: s3.endpoint,
      bucket: BUCKET,
      confirmations: CONFIRMATIONS,
      waitTimeSeconds: SQS_RECEIVE === 'prompt' ? 1 : 0,
      targetHeight,
    });
    await polling;

    const firstEmit = fromFollower('firstEmit', 60_000);
    const emittedTarget = fromFollower('emittedTarget', catchUpTimeoutMs);
    const reachedTarget = fromProcessor('reachedTarget', catchUpTimeoutMs);
    toFollower({
      type: 'start',
      network: NETWORK,
      simulatorUrl: simulator.url,
      databaseUrl: pipelineDatabase,
      dynamoEndpoint: dynamo.endpoint,
      leaseTable: LEASE_TABLE,
      leaseName: `follower#bench-${repetition}`,
      sqsEndpoint: sqs.endpoint,
      queueUrl,
      s3Endpoint: s3.endpoint,
      bucket: BUCKET,
      targetHeight,
      ...(MAX_INLINE_BODY_BYTES ? { maxInlineBodyBytes: MAX_INLINE_BODY_BYTES } : {}),
    });
    const { at: startedAt } = await firstEmit;
    const cpuAtStart = process.cpuUsage();
    const followerDone = await emittedTarget;
    const reached = await reachedTarget;
    const outsideCpu = process.cpuUsage(cpuAtStart);
    const pipelineSummary = await summarise(pipelineDatabase);
    const loadAtEnd = load();

    const latencies = measureLatency ? await detectionLatency(simulator, processor, follower) : undefined;

    const followerStopped = fromFollower('stopped', 30_000);
    toFollower({ type: 'stop' });
    const { peakRssBytes: followerPeakRssBytes } = await followerStopped;
    const processorStopped = fromProcessor('stopped', 30_000);
    toProcessor({ type: 'stop' });
    const { failedRecords, recoveries } = await processorStopped;
    if (failedRecords > 0 || recoveries > 0)
      console.error(`repetition ${repetition}: ${failedRecords} failed records, ${recoveries} recoveries (expected none)`);

    const engineDone = fromProcessor('engineAloneDone', catchUpTimeoutMs);
    toProcessor({ type: 'engineAlone', databaseUrl: engineDatabase });
    const { result: engine } = await engineDone;
    const exiting = fromProcessor('exiting', 30_000);
    toProcessor({ type: 'exit' });
    const { peakRssBytes: processorPeakRssBytes } = await exiting;

    const engineSummary = await summarise(engineDatabase);
    const sameResults = JSON.stringify(engineSummary) === JSON.stringify(pipelineSummary);
    if (!sameResults)
      console.error(
        `repetition ${repetition}: the databases differ: pipeline ${JSON.stringify(pipelineSummary)}, engine alone ${JSON.stringify(engineSummary)}`,
      );
    return {
      blocks: reached.statistics.blocksApplied,
      seconds: (reached.at - startedAt) / 1000,
      followerSeconds: (followerDone.at - startedAt) / 1000,
      processor: reached.statistics,
      follower: followerDone.statistics,
      outsideCpuMicros: outsideCpu.user + outsideCpu.system,
      engine,
      processorPeakRssBytes,
      followerPeakRssBytes,
      latencies,
      sameResults,
      pipelineSummary,
      loadAtEnd,
    };
  } finally {
    for (const child of [follower, processor]) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    }
  }
}

/** Milliseconds per block at the tip, sorted: end to end, and the three legs that add up to it. */
interface DetectionLatencies {
  /** Block produced → payment committed. */
  total: number[];
  /** Block produced → in the queue: chain sync to the follower, decoding, planning, SendMessageBatch. */
  toQueue: number[];
  /** In the queue → received by the processor (long polling; the previous batch may still be applying). */
  inQueue: number[];
  /** Received → committed: decoding the message, the engine's transaction. */
  toCommit: number[];
  /** Blocks produced whose payment was never reported. */
  missed: number;
}

/**
 * At the tip: one block every BLOCK_INTERVAL_MS, each carrying a payment to a registered address; latency is from
 * the simulator producing the block to the processor returning from the engine's commit that detected it.
 */
async function detectionLatency(simulator: OgmiosSimulator, processor: ChildProcess, follower: ChildProcess): Promise<DetectionLatencies> {
  const producedAt = new Map<number, number>(); // block height → when the simulator produced it
  const queuedAt = new Map<number, number>(); // block height → when SQS had accepted it
  const latencies: DetectionLatencies = { total: [], toQueue: [], inQueue: [], toCommit: [], missed: 0 };
  const unsubscribe = simulator.on('block', (block) => producedAt.set(block.height, wallClockMs()));
  const onFollowerMessage = (message: FromFollower) => {
    if (message.type === 'emitted') for (const height of message.heights) queuedAt.set(height, message.at);
  };
  const onProcessorMessage = (message: FromProcessor) => {
    if (message.type !== 'detected') return;
    for (const height of message.heights) {
      const produced = producedAt.get(height);
      const queued = queuedAt.get(height);
      if (produced === undefined || queued === undefined) continue;
      producedAt.delete(height); // one sample per block: its first detection
      latencies.total.push(message.at - produced);
      latencies.toQueue.push(queued - produced);
      latencies.inQueue.push(message.receivedAt - queued);
      latencies.toCommit.push(message.at - message.receivedAt);
    }
  };
  follower.on('message', onFollowerMessage);
  processor.on('message', onProcessorMessage);
  processor.send({ type: 'reportDetections' } satisfies ToProcessor);
  try {
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      simulator.queuePayment({ address: registeredAddress(i % PAID_ADDRESSES), lovelace: 1_000_000n + BigInt(i) });
      simulator.produceBlocks(1);
      await sleep(BLOCK_INTERVAL_MS);
    }
    const deadline = performance.now() + 10_000;
    while (producedAt.size > 0 && performance.now() < deadline) await sleep(20);
  } finally {
    unsubscribe();
    follower.off('message', onFollowerMessage);
    processor.off('message', onProcessorMessage);
  }
  for (const leg of [latencies.total, latencies.toQueue, latencies.inQueue, latencies.toCommit]) leg.sort((a, b) => a - b);
  latencies.missed = producedAt.size;
  return latencies;
}

function cpuPerBlock(name: string, microsPerBlock: readonly number[]): string {
  const typical = median(microsPerBlock);
  return `${name} ${typical.toFixed(0)} µs (${(1e6 / typical).toFixed(0)} blocks/s)`;
}

function describeRepetition(repetition: number, run: CatchUpRun): string {
  const pipelineRate = run.blocks / run.seconds;
  const engineRate = run.engine.blocks / run.engine.seconds;
  const { processor, follower } = run;
  return [
    `repetition ${repetition}: pipeline ${run.blocks} blocks in ${run.seconds.toFixed(2)} s: ${pipelineRate.toFixed(0)} blocks/s end to end ` +
      `(the follower had queued them all after ${run.followerSeconds.toFixed(2)} s: ${(run.blocks / run.followerSeconds).toFixed(0)} blocks/s)`,
    `  ${processor.messages} messages (${(run.blocks / processor.messages).toFixed(1)} blocks each; the follower sent ${follower.messagesSent} in ${follower.emits} emissions), ` +
      `${processor.batches} batches (at most ${processor.largestBatch} messages), ${processor.claimChecks} claim checks read (${follower.claimChecksStored} stored); ` +
      `CPU per block: follower ${(follower.cpuMicros / run.blocks).toFixed(0)} µs, processor ${(processor.cpuMicros / run.blocks).toFixed(0)} µs, ` +
      `simulator and local AWS ${(run.outsideCpuMicros / run.blocks).toFixed(0)} µs`,
    `  engine alone, the same ${run.engine.messages} messages: ${run.engine.blocks} blocks in ${run.engine.seconds.toFixed(2)} s: ${engineRate.toFixed(0)} blocks/s ` +
      `(per message p50 ${percentile(run.engine.messageMillis, 50).toFixed(0)} ms, p99 ${percentile(run.engine.messageMillis, 99).toFixed(0)} ms, ` +
      `the first, loading the filters, ${run.engine.firstMillis.toFixed(0)} ms; ` +
      `decoding the messages beforehand ${((run.engine.decodeSeconds * 1e6) / run.engine.blocks).toFixed(0)} µs/block)`,
    `  pipeline / engine alone: ${(pipelineRate / engineRate).toFixed(2)}; both databases: ${run.pipelineSummary.payments} payments, ${run.pipelineSummary.confirmed} confirmed, ` +
      `${run.pipelineSummary.spent} spent, height ${run.pipelineSummary.height}: ${run.sameResults ? 'identical' : 'DIFFERENT'}; ${run.loadAtEnd}`,
  ].join('\n');
}

async function main(): Promise<void> {
  // The SDK's notice that it will need Node 22 next year, once per process, is not a benchmark figure.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  console.log(`${os.cpus().length} cores; Node ${process.version}; ${load()}`);
  const server = await openBenchServer();
  const [dynamo, sqs, s3] = await Promise.all([startDynalite(), startLocalSqs({ receive: SQS_RECEIVE }), startLocalS3()]);
  let simulator: OgmiosSimulator | undefined;
  try {
    console.log(
      `${server.describe}; local-aws-sqs with ${SQS_RECEIVE === 'prompt' ? 'receives that return as soon as a message is there, as SQS long polling' : 'its receive as shipped (a full batch or 40 ms)'}`,
    );
    await createLeaseTable(dynamo.client(), LEASE_TABLE);
    await s3.createBucket(BUCKET);
    await prepareTemplate(server);

    console.log(
      `producing ${BLOCKS.toLocaleString('en')} blocks (${SOURCE === 'fixtures' ? 'real mainnet blocks of the shared fixtures, re-linked' : 'synthetic'})…`,
    );
    simulator = await startOgmiosSimulator({
      network: NETWORK,
      source: SOURCE,
      blockTimeMs: 0,
      initialBlocks: BLOCKS,
      retainedBlocks: BLOCKS + LATENCY_SAMPLES + 100,
      payTo: Array.from({ length: PAID_ADDRESSES }, (_, i) => ({ address: registeredAddress(i) })),
      paymentsPerBlock: PAYMENTS_PER_BLOCK,
      paymentSpendsPerBlock: SPENDS_PER_BLOCK,
      seed: 'bench-pipeline',
    });
    const chain = simulator.chain();
    const chainBytes = chain.reduce((total, block) => total + (simulator!.blockJson(block.id)?.length ?? 0), 0);
    const transactions = chain.reduce((total, block) => total + block.transactionCount, 0);
    const environment: Environment = {
      server,
      dynamo,
      sqs,
      s3,
      simulator,
      targetHeight: simulator.tip() === 'origin' ? 0 : chain.at(-1)!.height,
    };
    console.log(
      `${chain.length} blocks, average ${(chainBytes / chain.length / 1024).toFixed(1)} KiB of block JSON and ${(transactions / chain.length).toFixed(1)} transactions; ` +
        `${PAYMENTS_PER_BLOCK} payment and ${SPENDS_PER_BLOCK} spends of payments per block injected for ${PAID_ADDRESSES} of the registered addresses; ` +
        `confirmations ${CONFIRMATIONS}; follower NODE_OPTIONS ${deployedFollowerNodeOptions()}; ${load()}`,
    );

    const runs: CatchUpRun[] = [];
    for (let repetition = 1; repetition <= REPEATS; repetition++) {
      const run = await runRepetition(environment, repetition, repetition === REPEATS && LATENCY_SAMPLES > 0);
      runs.push(run);
      console.log(describeRepetition(repetition, run));
    }

    const pipelineRates = runs.map((run) => run.blocks / run.seconds);
    const engineRates = runs.map((run) => run.engine.blocks / run.engine.seconds);
    const ratios = pipelineRates.map((rate, i) => rate / engineRates[i]!);
    console.log(
      `median of ${runs.length}: pipeline ${median(pipelineRates).toFixed(0)} blocks/s end to end (${Math.min(...pipelineRates).toFixed(0)}–${Math.max(...pipelineRates).toFixed(0)}), ` +
        `engine alone ${median(engineRates).toFixed(0)} blocks/s (${Math.min(...engineRates).toFixed(0)}–${Math.max(...engineRates).toFixed(0)}), ` +
        `pipeline / engine ${median(ratios).toFixed(2)}; ` +
        `CPU per block (and the rate it alone would allow on a core of its own): ${cpuPerBlock(
          'follower',
          runs.map((run) => run.follower.cpuMicros / run.blocks),
        )}, ` +
        `${cpuPerBlock(
          'processor',
          runs.map((run) => run.processor.cpuMicros / run.blocks),
        )}, ` +
        `${cpuPerBlock(
          'simulator and local AWS',
          runs.map((run) => run.outsideCpuMicros / run.blocks),
        )}; ${load()}`,
    );
    const latencies = runs.at(-1)!.latencies;
    if (latencies) {
      const describe = (sorted: readonly number[]) =>
        `p50 ${percentile(sorted, 50).toFixed(1)}, p95 ${percentile(sorted, 95).toFixed(1)}, p99 ${percentile(sorted, 99).toFixed(1)}, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms`;
      console.log(
        `detection latency across the queue (block produced → payment committed), one block every ${BLOCK_INTERVAL_MS} ms, ${latencies.total.length} blocks` +
          `${latencies.missed > 0 ? ` (${latencies.missed} never detected)` : ''}: ${describe(latencies.total)}; ${load()}\n` +
          `  produced → in the queue (follower): ${describe(latencies.toQueue)}\n` +
          `  in the queue → received (processor's long poll): ${describe(latencies.inQueue)}\n` +
          `  received → committed (decoding, the engine's transaction): ${describe(latencies.toCommit)}`,
      );
    }
    console.log(
      `peak RSS: processor ${mebibytes(median(runs.map((run) => run.processor.peakRssBytes)))} at the end of the catch-up ` +
        `(holding ${mebibytes(median(runs.map((run) => run.processor.capturedBytes)))} of captured message bodies for the engine-alone run), ` +
        `${mebibytes(Math.max(...runs.map((run) => run.processorPeakRssBytes)))} after it; ` +
        `follower ${mebibytes(median(runs.map((run) => run.followerPeakRssBytes)))}; ` +
        `this process (simulator with the chain in memory, dynalite, SQS, s3rver) ${mebibytes(process.resourceUsage().maxRSS * 1024)}`,
    );
  } finally {
    await simulator?.stop();
    await Promise.all([dynamo.stop(), sqs.close(), s3.close()]);
    await server.close();
  }
}

await main();
