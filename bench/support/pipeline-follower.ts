/**
 * The follower task of `npm run bench:pipeline`, in a process of its own as on Fargate: a FollowerService with
 * its lease on dynalite, fencing PostgreSQL, following the simulator and emitting through the SQS FIFO emitter
 * (claim checks on s3rver). Production settings throughout (lease timings, emission and chain-sync tuning);
 * logs are dropped so that writing them does not weigh on the figures.
 *
 * Reports over IPC the time of its first emission, the time everything up to the target height was in the
 * queue (with its counters and its CPU time in between), then when each later block was in the queue, and on
 * 'stop' its peak RSS.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { ChainEvent } from '../../functions/domain/chain.js';
import type { Logger } from '../../functions/domain/ports.js';
import { FollowerLease } from '../../functions/adapters/dynamodb/follower-lease.js';
import { LeaseTable } from '../../functions/adapters/dynamodb/lease-table.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { LedgerStateClient } from '../../functions/adapters/ogmios/ledger-state-client.js';
import { createPool } from '../../functions/adapters/postgres/pool.js';
import { S3ClaimCheckStore } from '../../functions/adapters/s3/claim-check-store.js';
import { SqsChainEventEmitter } from '../../functions/adapters/sqs/chain-event-emitter.js';
import { EmitterMetric } from '../../functions/domain/observability.js';
import type { ChainEventEmitter, EmissionStamp, EmitOptions } from '../../functions/domain/chain-event-emitter.js';
import { PostgresFollowerDatabase } from '../../functions/adapters/postgres/follower-database.js';
import { FollowerService } from '../../functions/follower/follower-service.js';
import {
  LOCAL_CREDENTIALS,
  REGION,
  S3RVER_CREDENTIALS,
  sendToParent,
  wallClockMs,
  type FollowerStart,
  type FromFollower,
  type ToFollower,
} from './pipeline-protocol.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, critical() {} };
const send = (message: FromFollower): void => void sendToParent(message);
/** What a stop may take, as ECS's SIGTERM budget would allow. */
const STOP_BUDGET_MS = 10_000;

function lastHeightOf(events: readonly ChainEvent[]): number | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    if (event.type === 'rollForward') return Number(event.blocks[event.blocks.length - 1]!.height);
  }
  return undefined;
}

function start(settings: FollowerStart): { stop(): Promise<void> } {
  const metrics = new InMemoryMetrics();
  const pool = createPool({ connectionString: settings.databaseUrl, max: 2, applicationName: 'bench-pipeline-follower' });
  const sqsEmitter = new SqsChainEventEmitter({
    sqs: new SQSClient({ region: REGION, endpoint: settings.sqsEndpoint, credentials: LOCAL_CREDENTIALS }),
    queueUrl: settings.queueUrl,
    network: settings.network,
    claimChecks: new S3ClaimCheckStore({
      s3: new S3Client({ region: REGION, endpoint: settings.s3Endpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS }),
      bucket: settings.bucket,
    }),
    logger: silent,
    metrics,
    ...(settings.maxInlineBodyBytes ? { maxInlineBodyBytes: settings.maxInlineBodyBytes } : {}),
  });
  let emits = 0;
  let blocksEmitted = 0;
  let cpuAtFirstEmit: NodeJS.CpuUsage | undefined;
  let targetReported = false;
  // Watches what the follower hands to SQS; the SQS emitter does all the work.
  const emitter: ChainEventEmitter = {
    async emit(events: readonly ChainEvent[], stamp: EmissionStamp, options?: EmitOptions) {
      if (cpuAtFirstEmit === undefined) {
        cpuAtFirstEmit = process.cpuUsage();
        send({ type: 'firstEmit', at: wallClockMs() });
      }
      await sqsEmitter.emit(events, stamp, options);
      emits++;
      for (const event of events) if (event.type === 'rollForward') blocksEmitted += event.blocks.length;
      const height = lastHeightOf(events);
      if (targetReported) {
        const heights = events.flatMap((event) => (event.type === 'rollForward' ? event.blocks.map((block) => Number(block.height)) : []));
        if (heights.length > 0) send({ type: 'emitted', heights, at: wallClockMs() });
      } else if (height !== undefined && height >= settings.targetHeight) {
        targetReported = true;
        const at = wallClockMs();
        const cpu = process.cpuUsage(cpuAtFirstEmit);
        const counters = metrics.snapshot().counters;
        send({
          type: 'emittedTarget',
          at,
          statistics: {
            emits,
            blocksEmitted,
            messagesSent: counters[EmitterMetric.messagesSent] ?? 0,
            claimChecksStored: counters[EmitterMetric.claimChecksStored] ?? 0,
            cpuMicros: cpu.user + cpu.system,
          },
        });
      }
    },
  };
  const lease = new FollowerLease({
    table: new LeaseTable({
      client: new DynamoDBClient({ region: REGION, endpoint: settings.dynamoEndpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 2 }),
      tableName: settings.leaseTable,
      leaseName: settings.leaseName,
      requestTimeoutMs: 2_000,
    }),
    holderId: `bench-follower/${randomUUID().slice(0, 8)}`,
    logger: silent,
    metrics,
  });
  const service = new FollowerService({
    lease,
    emitter,
    database: new PostgresFollowerDatabase(pool),
    ogmios: { urls: [settings.simulatorUrl], apiKeys: [] },
    ogmiosQueries: new LedgerStateClient({ urls: [settings.simulatorUrl], logger: silent }),
    startPoint: 'origin',
    logger: silent,
    metrics,
  });
  service.start();
  return {
    async stop() {
      await service.stop(STOP_BUDGET_MS);
      await pool.end();
      await sendToParent<FromFollower>({ type: 'stopped', peakRssBytes: process.resourceUsage().maxRSS * 1024 });
    },
  };
}

let running: { stop(): Promise<void> } | undefined;
process.on('message', (message: ToFollower) => {
  if (message.type === 'start') running = start(message);
  else if (message.type === 'stop') {
    void (async () => {
      await running?.stop();
      // The SDK clients' keep-alive sockets would hold the process open.
      process.exit(0);
    })().catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
  }
});
