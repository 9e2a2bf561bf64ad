/**
 * The processor of `npm run bench:pipeline`, in a process of its own as the Lambda runs: the SQS event source's
 * loop (receive at most 10 messages of the FIFO group, long polling; processChainEventBatch; delete what
 * succeeded; make failures visible again at once), with one database connection as the deployed processor
 * (DB_POOL_MAX 1). The next batch is received only after the previous one was deleted, so order holds without
 * the event source's group locking. Logs are counted by event, not written, so that logging does not weigh on
 * the figures.
 *
 * During the catch-up it keeps the bodies of the messages it applied; afterwards ('engineAlone') it decodes
 * them and applies the same messages, with the same stamps, straight to a PaymentEngine on a fresh database:
 * the engine alone on exactly the work the pipeline did, in the same process.
 */
import { DeleteMessageBatchCommand, ChangeMessageVisibilityBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';
import type { ChainEvent } from '../../functions/domain/chain.js';
import {
  decodeChainEventMessage,
  decodeQueueMessageBody,
  type ChainEventMessage,
  type ClaimCheckPointer,
} from '../../functions/domain/chain-event-message.js';
import { Metric } from '../../functions/domain/observability.js';
import { PaymentEngine } from '../../functions/domain/payment-engine.js';
import type { EventStamp, LogFields, Logger } from '../../functions/domain/ports.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { PostgresPaymentStore } from '../../functions/adapters/postgres/payment-store.js';
import { PostgresPipelineRecoveryStore } from '../../functions/adapters/postgres/pipeline-recovery-store.js';
import { createPool } from '../../functions/adapters/postgres/pool.js';
import { S3ClaimCheckStore, type ClaimCheckReader } from '../../functions/adapters/s3/claim-check-store.js';
import { PostgresFollowerDatabase } from '../../functions/adapters/postgres/follower-database.js';
import { processChainEventBatch, type CorrelatingLogger, type ProcessorCoreOptions } from '../../functions/handlers/processor-core.js';
import { toSqsEvent } from '../../test/support/local-aws.js';
import {
  LOCAL_CREDENTIALS,
  REGION,
  S3RVER_CREDENTIALS,
  sendToParent,
  wallClockMs,
  type CatchUpStatistics,
  type EngineAloneResult,
  type FromProcessor,
  type ProcessorStart,
  type ToProcessor,
} from './pipeline-protocol.js';

const send = (message: FromProcessor): void => void sendToParent(message);
const collectGarbage = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, critical() {} };

/** Writes nothing; counts the lines at warn level and above by event, so that anything unexpected shows. */
class CountingLogger implements CorrelatingLogger {
  readonly notable = new Map<string, number>();
  debug(): void {}
  info(): void {}
  warn(event: string): void {
    this.note(event);
  }
  error(event: string): void {
    this.note(event);
  }
  critical(event: string): void {
    this.note(event);
  }
  appendKeys(_keys: LogFields): void {}
  removeKeys(_keys: readonly string[]): void {}
  private note(event: string): void {
    this.notable.set(event, (this.notable.get(event) ?? 0) + 1);
  }
}

class BenchProcessor {
  private readonly pool: pg.Pool;
  private readonly sqs: SQSClient;
  private readonly claimCheckStore: S3ClaimCheckStore;
  private readonly logger = new CountingLogger();
  private readonly metrics = new InMemoryMetrics();
  private readonly core: ProcessorCoreOptions;
  private running = true;
  private readonly loop: Promise<void>;
  private reached = false;
  private reportDetections = false;
  private cpuAtFirstMessage: NodeJS.CpuUsage | undefined;
  /** When the batch being processed was received. */
  private batchReceivedAt = 0;
  /** The bodies of the messages applied during the catch-up, in order: the engine-alone run applies them again. */
  private captured: string[] = [];
  private readonly statistics: CatchUpStatistics = {
    messages: 0,
    batches: 0,
    largestBatch: 0,
    claimChecks: 0,
    failedRecords: 0,
    blocksApplied: 0,
    cpuMicros: 0,
    capturedBytes: 0,
    peakRssBytes: 0,
  };

  constructor(private readonly settings: ProcessorStart) {
    this.pool = createPool({ connectionString: settings.databaseUrl, max: 1, applicationName: 'bench-pipeline-processor' });
    this.sqs = new SQSClient({ region: REGION, endpoint: settings.sqsEndpoint, credentials: LOCAL_CREDENTIALS });
    this.claimCheckStore = new S3ClaimCheckStore({
      s3: new S3Client({ region: REGION, endpoint: settings.s3Endpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS }),
      bucket: settings.bucket,
    });
    const engine = new PaymentEngine({
      store: new PostgresPaymentStore(this.pool),
      logger: this.logger,
      metrics: this.metrics,
      clock: { now: () => new Date() },
      network: settings.network,
      confirmations: settings.confirmations,
    });
    const countingClaimChecks: ClaimCheckReader = {
      fetch: (pointer: ClaimCheckPointer) => {
        this.statistics.claimChecks++;
        return this.claimCheckStore.fetch(pointer);
      },
    };
    this.core = {
      engine: { apply: (event, stamp) => this.applyWatched(engine, event, stamp) },
      network: settings.network,
      claimChecks: countingClaimChecks,
      recovery: new PostgresPipelineRecoveryStore(this.pool),
      logger: this.logger,
      metrics: this.metrics,
      clock: { now: () => new Date() },
    };
    this.loop = this.poll();
    send({ type: 'polling' });
  }

  /** The engine's apply, watched: the outcome is known once the event's transaction has committed. */
  private async applyWatched(engine: PaymentEngine, event: ChainEvent, stamp: EventStamp | undefined) {
    const outcome = await engine.apply(event, stamp);
    if (outcome.kind !== 'applied') return outcome;
    const at = wallClockMs();
    this.statistics.blocksApplied += outcome.blocks;
    if (!this.reached && outcome.tip.height >= BigInt(this.settings.targetHeight)) {
      this.reached = true;
      const cpu = process.cpuUsage(this.cpuAtFirstMessage);
      this.statistics.cpuMicros = cpu.user + cpu.system;
      this.statistics.peakRssBytes = process.resourceUsage().maxRSS * 1024;
      send({ type: 'reachedTarget', at, statistics: { ...this.statistics } });
    }
    if (this.reportDetections && outcome.detected.length > 0) {
      send({
        type: 'detected',
        heights: [...new Set(outcome.detected.map((payment) => Number(payment.blockHeight)))],
        at,
        receivedAt: this.batchReceivedAt,
      });
    }
    return outcome;
  }

  private async poll(): Promise<void> {
    while (this.running) {
      // Long polling, as the event source does: a message is received as soon as it is sent.
      const { Messages = [] } = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.settings.queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: this.settings.waitTimeSeconds,
          AttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) continue;
      this.batchReceivedAt = wallClockMs();
      this.cpuAtFirstMessage ??= process.cpuUsage();
      const capturing = !this.reached;
      this.statistics.batches++;
      this.statistics.messages += Messages.length;
      this.statistics.largestBatch = Math.max(this.statistics.largestBatch, Messages.length);
      const response = await processChainEventBatch(toSqsEvent(Messages, `arn:aws:sqs:${REGION}:000000000000:bench.fifo`), this.core);
      const failed = new Set(response.batchItemFailures.map((item) => item.itemIdentifier));
      this.statistics.failedRecords += failed.size;
      const done = Messages.filter((message) => !failed.has(message.MessageId!));
      const retry = Messages.filter((message) => failed.has(message.MessageId!));
      if (capturing) {
        for (const message of done) {
          this.captured.push(message.Body!);
          this.statistics.capturedBytes += Buffer.byteLength(message.Body!, 'utf8');
        }
      }
      if (done.length > 0) {
        const { Failed = [] } = await this.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.settings.queueUrl,
            Entries: done.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle! })),
          }),
        );
        if (Failed.length > 0) throw new Error(`could not delete acknowledged messages: ${JSON.stringify(Failed)}`);
      }
      if (retry.length > 0) {
        // The event source would wait for the visibility timeout; here they are visible again at once.
        await this.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.settings.queueUrl,
            Entries: retry.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 })),
          }),
        );
      }
    }
  }

  startReportingDetections(): void {
    this.reportDetections = true;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    const counters = this.metrics.snapshot().counters;
    const recoveries = Object.entries(counters)
      .filter(([key]) => key.startsWith(Metric.pipelineRecoveries))
      .reduce((total, [, value]) => total + value, 0);
    if (this.logger.notable.size > 0)
      console.error(`processor: log lines at warn level or above: ${JSON.stringify(Object.fromEntries(this.logger.notable))}`);
    send({ type: 'stopped', failedRecords: this.statistics.failedRecords, recoveries });
    await this.pool.end();
  }

  /** The captured catch-up, applied again by an engine on its own on a fresh database, message by message. */
  async engineAlone(databaseUrl: string): Promise<EngineAloneResult> {
    const decodeStarted = performance.now();
    const messages: ChainEventMessage[] = [];
    for (const body of this.captured) {
      const parsed = decodeQueueMessageBody(body);
      messages.push(parsed.kind === 'event' ? parsed.message : decodeChainEventMessage(await this.claimCheckStore.fetch(parsed.pointer)));
    }
    const decodeSeconds = (performance.now() - decodeStarted) / 1000;
    this.captured = [];
    const first = messages[0];
    if (!first) throw new Error('no message was captured during the catch-up');
    const pool = createPool({ connectionString: databaseUrl, max: 1, applicationName: 'bench-pipeline-engine-alone' });
    try {
      // The session the follower opened on the pipeline's database, opened the same way on this one.
      const session = await new PostgresFollowerDatabase(pool).beginSession(first.fence);
      if (session.generation !== first.generation)
        throw new Error(`the fresh database is at generation ${session.generation}, the messages at ${first.generation}`);
      const engine = new PaymentEngine({
        store: new PostgresPaymentStore(pool),
        logger: silent,
        metrics: new InMemoryMetrics(),
        clock: { now: () => new Date() },
        network: this.settings.network,
        confirmations: this.settings.confirmations,
      });
      collectGarbage();
      const messageMillis: number[] = [];
      let firstMillis: number | undefined;
      let blocks = 0;
      const started = performance.now();
      for (const message of messages) {
        const messageStarted = performance.now();
        const outcome = await engine.apply(message.event, { token: message.fence, generation: message.generation, steps: message.steps });
        const millis = performance.now() - messageStarted;
        if (outcome.kind !== 'applied') continue;
        blocks += outcome.blocks;
        if (firstMillis === undefined) firstMillis = millis;
        else messageMillis.push(millis);
      }
      const seconds = (performance.now() - started) / 1000;
      return {
        messages: messages.length,
        blocks,
        seconds,
        decodeSeconds,
        firstMillis: firstMillis ?? 0,
        messageMillis: messageMillis.sort((a, b) => a - b),
      };
    } finally {
      await pool.end();
    }
  }
}

let processor: BenchProcessor | undefined;
const fail = (error: unknown) => {
  console.error(error);
  process.exit(1);
};
process.on('message', (message: ToProcessor) => {
  switch (message.type) {
    case 'start':
      processor = new BenchProcessor(message);
      return;
    case 'reportDetections':
      processor?.startReportingDetections();
      return;
    case 'stop':
      processor?.stop().catch(fail);
      return;
    case 'engineAlone':
      processor
        ?.engineAlone(message.databaseUrl)
        .then((result) => send({ type: 'engineAloneDone', result }))
        .catch(fail);
      return;
    case 'exit':
      // The SDK clients' keep-alive sockets would hold the process open.
      void sendToParent<FromProcessor>({ type: 'exiting', peakRssBytes: process.resourceUsage().maxRSS * 1024 }).then(
        () => process.exit(0),
        fail,
      );
      return;
  }
});
