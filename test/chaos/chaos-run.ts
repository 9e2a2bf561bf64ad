/**
 * One chaos run of the AWS path: the Ogmios simulator with forks → two real follower services with dynalite
 * leases → SQS FIFO (local-aws-sqs behind the faithful model, fifo-queue-model.ts; claim checks on s3rver) → the
 * Lambda event source and the processor core → real PostgreSQL. Faults drawn from the seed (fault-plan.ts) are
 * injected while the chain grows; then they stop, and the pipeline must converge by itself:
 *
 * - the database at the chain's tip, the queue empty, nothing in the DLQ, the pipeline not halted;
 * - payments (those on the chain), balances and ledger sums equal to an undisturbed run over the final chain;
 * - every credit and reversal at most once: per payment output the credits and debits alternate, numbered without
 *   gaps, and the net credit is the payment's amount exactly when it stands confirmed;
 * - balances equal to the ledger.
 */
import { randomBytes } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteQueueCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import pg from 'pg';
import { FollowerLease } from '../../functions/adapters/dynamodb/follower-lease.js';
import { LeaseTable } from '../../functions/adapters/dynamodb/lease-table.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { LedgerStateClient } from '../../functions/adapters/ogmios/ledger-state-client.js';
import { PostgresAddressRegistry } from '../../functions/adapters/postgres/address-registry.js';
import { PostgresPaymentStore } from '../../functions/adapters/postgres/payment-store.js';
import { PostgresPipelineRecoveryStore } from '../../functions/adapters/postgres/pipeline-recovery-store.js';
import { createPool } from '../../functions/adapters/postgres/pool.js';
import { PostgresRebuildStore } from '../../functions/adapters/postgres/rebuild-store.js';
import { S3ClaimCheckStore } from '../../functions/adapters/s3/claim-check-store.js';
import { SqsChainEventEmitter } from '../../functions/adapters/sqs/chain-event-emitter.js';
import { SqsFailedMessageRetries } from '../../functions/adapters/sqs/failed-message-retries.js';
import type { ChainEvent } from '../../functions/domain/chain.js';
import { PaymentEngine } from '../../functions/domain/payment-engine.js';
import type { EventStamp } from '../../functions/domain/ports.js';
import { startRebuild } from '../../functions/domain/rebuild.js';
import type { ChainEventEmitter } from '../../functions/domain/chain-event-emitter.js';
import { PostgresFollowerDatabase } from '../../functions/adapters/postgres/follower-database.js';
import { FollowerService } from '../../functions/follower/follower-service.js';
import type { FailedMessageRetries } from '../../functions/domain/failed-message-retries.js';
import { processChainEventBatch, type ProcessorCoreOptions } from '../../functions/handlers/processor-core.js';
import { startOgmiosSimulator, type OgmiosSimulator } from '../../functions/local/simulator/index.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import type { LocalDynamoDb } from '../support/dynalite.js';
import { withDatabase } from '../support/global-setup.js';
import type { LocalS3, LocalSqs } from '../support/local-aws.js';
import { directEmitter } from '../support/direct-emitter.js';
import { Random } from '../support/random.js';
import { CorrelatingRecordingLogger, RecordingLogger } from '../support/recorders.js';
import { describeFault, planFaults, type Fault } from './fault-plan.js';
import { FifoQueueModel } from './fifo-queue-model.js';
import { LambdaEventSource, modelVisibilityClient, ProcessorCrash, type Invoke } from './lambda-event-source.js';

const NETWORK = 'preprod' as const;
const TABLE = 'follower-leases';
/** The harness's security parameter: forks reach this deep. The engine keeps twice as many blocks, as on mainnet (k = 2160, 4320 kept). */
const SECURITY_PARAMETER = 8;
const RETAINED_BLOCKS = 2 * SECURITY_PARAMETER;
const CONFIRMATIONS = 4;
/** How much faster than real time the queue's clock runs. */
const QUEUE_SPEED = 1000;
const VISIBILITY_TIMEOUT_SECONDS = 180;
const MAX_RECEIVE_COUNT = 1000;
/** The old retry window: 5 receives × 180 s of visibility, in real milliseconds at QUEUE_SPEED. */
const OLD_RETRY_WINDOW_MS = (5 * VISIBILITY_TIMEOUT_SECONDS * 1000) / QUEUE_SPEED;
const LEASE_TIMINGS = { leaseDurationMs: 300, renewIntervalMs: 100, safetyMarginMs: 100, acquireIntervalMs: 50 };
const PHASE_MS = 3_000;
const BLOCK_EVERY_MS = 25;
/** Real seconds the pipeline is given to converge once the faults stop. */
const CONVERGENCE_LIMIT_MS = 60_000;
/** Claim checks for most roll-forwards, so the claim-check store's outages matter. */
const MAX_INLINE_BODY_BYTES = 6_000;

export interface ChaosEnvironment {
  adminUrl: string;
  templateDatabase: string;
  dynamo: LocalDynamoDb;
  sqs: LocalSqs;
  s3: LocalS3;
  bucket: string;
}

/**
 * Negative controls: a run that must fail, to show the harness can tell.
 * - `lose_a_payment`: the processor silently loses every output to one registered address (the first one it sees
 *   paid), from then on: the payments to it on the final chain are lost whichever blocks a fork takes away (losing
 *   only one delivery of one block was caught or not depending on whether a later fork replaced that block);
 * - `old_retry_settings`: the queue dead-letters after 5 receives and the processor postpones nothing (the settings
 *   before issue 10), with a database outage longer than their retry window.
 */
export type Sabotage = 'lose_a_payment' | 'old_retry_settings';

export interface ChaosRunResult {
  seed: number;
  ok: boolean;
  faults: string[];
  failure?: string;
  durationMs: number;
  convergedInMs: number | null;
  statistics: Record<string, number>;
}

/** Switches the harness flips to inject faults into real clients. */
interface ClientFaults {
  dynamoCut: boolean;
  sqsCut: boolean;
  /** A SendMessageBatch started while set waits this long (real ms) before it goes out. */
  holdSendsMs: number;
}

interface Follower {
  name: string;
  service: FollowerService;
  lease: FollowerLease;
  faults: ClientFaults;
  pool: pg.Pool;
  stopped: boolean;
}

export async function runChaos(seed: number, environment: ChaosEnvironment, sabotage?: Sabotage): Promise<ChaosRunResult> {
  const started = performance.now();
  const random = new Random(seed);
  const plan = planFaults(random.fork('faults'), {
    phaseMs: PHASE_MS,
    securityParameter: SECURITY_PARAMETER,
    retainedBlocks: RETAINED_BLOCKS,
    oldRetryWindowMs: OLD_RETRY_WINDOW_MS,
    leaseDurationMs: LEASE_TIMINGS.leaseDurationMs,
  });
  if (sabotage === 'old_retry_settings' && !plan.some((fault) => fault.kind === 'database_outage')) {
    plan.push({ kind: 'database_outage', atMs: PHASE_MS / 3, durationMs: OLD_RETRY_WINDOW_MS * 2, blocks: 0, pick: 0 });
    plan.sort((a, b) => a.atMs - b.atMs);
  }
  const run = new ChaosRun(seed, environment, sabotage);
  let failure: string | undefined;
  let convergedInMs: number | null = null;
  try {
    await run.setUp();
    await run.injectFaults(plan);
    convergedInMs = await run.healAndConverge();
    failure = await run.compareWithUndisturbedRun();
  } catch (error) {
    failure =
      error instanceof Error
        ? `${error.message}${error.stack ? `\n${error.stack.split('\n').slice(1, 4).join('\n')}` : ''}`
        : String(error);
  } finally {
    await run.tearDown().catch((error: unknown) => {
      failure ??= `tear down: ${error instanceof Error ? error.message : String(error)}`;
    });
  }
  return {
    seed,
    ok: failure === undefined,
    faults: plan.map(describeFault),
    ...(failure === undefined ? {} : { failure }),
    durationMs: Math.round(performance.now() - started),
    convergedInMs,
    statistics: run.statistics(),
  };
}

class ChaosRun {
  private readonly suffix: string;
  private readonly databases: { disturbed: string; reference: string };
  private readonly admin: pg.Pool;
  private simulator!: OgmiosSimulator;
  private queueUrl!: string;
  private queue!: FifoQueueModel;
  private eventSource!: LambdaEventSource;
  /** The disturbed database, for the harness's own reads and operator actions. */
  private disturbed!: pg.Pool;
  private reference!: pg.Pool;
  private readonly pools: pg.Pool[] = [];
  private readonly followers: Follower[] = [];
  private followerCount = 0;
  private readonly processorLogger = new CorrelatingRecordingLogger();
  private readonly addresses: { address: string; userId: string; name: string }[] = [];
  private readonly s3Faults = { down: false };
  /** The next invocation dies: at which share of its batch (0 ≤ at < 1), before or after applying that record. */
  private pendingCrash: { at: number; afterApply: boolean } | undefined;
  private production: NodeJS.Timeout | undefined;
  private readonly healing: Promise<unknown>[] = [];
  private readonly counts = { blocksProduced: 0, forks: 0, rebuilds: 0, registrations: 0, duplicates: 0, databaseOutages: 0 };

  /** The `lose_a_payment` sabotage's address, once chosen. */
  private lostAddress: string | undefined;

  constructor(
    private readonly seed: number,
    private readonly environment: ChaosEnvironment,
    private readonly sabotage?: Sabotage,
  ) {
    this.suffix = `${seed}_${randomBytes(3).toString('hex')}`;
    this.databases = { disturbed: `pm_chaos_a_${this.suffix}`, reference: `pm_chaos_b_${this.suffix}` };
    this.admin = new pg.Pool({ connectionString: environment.adminUrl, max: 2 });
  }

  /** The hash of the simulator's tip block. */
  private tipHash(): string {
    return this.simulator.chain().at(-1)!.id;
  }

  // ————— set up —————

  async setUp(): Promise<void> {
    for (const name of Object.values(this.databases))
      await this.admin.query(`CREATE DATABASE ${name} TEMPLATE ${this.environment.templateDatabase}`);
    this.disturbed = this.pool(this.databases.disturbed, 2);
    this.reference = this.pool(this.databases.reference, 2);
    for (const name of ['alice', 'bob', 'carol', 'dave'])
      this.addresses.push({ name, userId: `user-${name}`, address: syntheticAddress(NETWORK, `chaos-${this.seed}-${name}`) });
    await this.register(this.disturbed, this.addresses);

    const token = { policyId: 'ab'.repeat(28), assetName: '746f6b656e', quantity: 5n };
    this.simulator = await startOgmiosSimulator({
      seed: `chaos-${this.seed}`,
      network: NETWORK,
      blockTimeMs: 0,
      initialBlocks: 20,
      transactionsPerBlock: { min: 1, max: 3 },
      payTo: [
        { address: this.addresses[0]!.address },
        { address: this.addresses[1]!.address, lovelace: 7_000_000n },
        { address: this.addresses[2]!.address, assets: [token] },
        { address: this.addresses[3]!.address, lovelace: 2_500_000n, assets: [token] },
      ],
      paymentsPerBlock: 1.5,
      paymentSpendsPerBlock: 0.4,
    });

    const { QueueUrl } = await this.environment.sqs.client.send(
      new CreateQueueCommand({
        QueueName: `chaos-${this.suffix}.fifo`,
        Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' },
      }),
    );
    this.queueUrl = QueueUrl!;
    this.queue = new FifoQueueModel({
      sqs: this.environment.sqs.client,
      queueUrl: this.queueUrl,
      visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS,
      maxReceiveCount: this.sabotage === 'old_retry_settings' ? 5 : MAX_RECEIVE_COUNT,
      speed: QUEUE_SPEED,
    });
    this.queue.start();
    this.eventSource = new LambdaEventSource(this.queue, () => this.processorInstance());
    this.eventSource.start();
    this.startFollower();
    this.startFollower();
  }

  private pool(database: string, max: number): pg.Pool {
    const pool = createPool({ connectionString: withDatabase(this.environment.adminUrl, database), max });
    this.pools.push(pool);
    return pool;
  }

  private async register(pool: pg.Pool, addresses: readonly { address: string; userId: string; name: string }[]): Promise<void> {
    await new PostgresAddressRegistry(pool, NETWORK).register(
      addresses.map(({ address, userId, name }) => ({ address, referenceType: 'deposit', referenceId: `acct-${name}`, userId })),
      'chaos',
    );
  }

  /** A cold processor instance: its own pool, engine and filters, as a new Lambda instance has. */
  private processorInstance(): Invoke {
    const pool = this.pool(this.databases.disturbed, 1);
    const engine = new PaymentEngine({
      store: new PostgresPaymentStore(pool, { retainedBlocks: RETAINED_BLOCKS }),
      logger: this.processorLogger,
      metrics: new InMemoryMetrics(),
      clock: { now: () => new Date() },
      network: NETWORK,
      confirmations: CONFIRMATIONS,
      retainedBlocks: RETAINED_BLOCKS,
    });
    // Per invocation: whether (and at which record) this one dies, and whether it has.
    let crash: { record: number; afterApply: boolean } | undefined;
    let crashed = false;
    let record = 0;
    const retries = new SqsFailedMessageRetries({
      sqs: modelVisibilityClient(this.queue),
      logger: this.processorLogger,
      queueUrl: this.queueUrl,
    });
    const core: ProcessorCoreOptions = {
      engine: {
        apply: async (event: ChainEvent, stamp?: EventStamp) => {
          record++;
          if (crash && record === crash.record && !crash.afterApply) crashed = true;
          if (crashed) throw new ProcessorCrash('the instance died before applying the record');
          const outcome = await engine.apply(this.sabotaged(event), stamp);
          if (crash && record === crash.record && crash.afterApply) {
            crashed = true;
            throw new ProcessorCrash('the instance died after applying the record');
          }
          return outcome;
        },
      },
      network: NETWORK,
      claimChecks: new S3ClaimCheckStore({ s3: this.s3Client(), bucket: this.environment.bucket, keyPrefix: `chaos-${this.suffix}/` }),
      recovery: new PostgresPipelineRecoveryStore(pool),
      // A dead instance postpones nothing: its messages reappear after the queue's visibility timeout.
      retries: {
        postpone: (messages) => (crashed || this.sabotage === 'old_retry_settings' ? Promise.resolve() : retries.postpone(messages)),
      } satisfies FailedMessageRetries,
      logger: this.processorLogger,
      metrics: new InMemoryMetrics(),
      clock: { now: () => new Date(this.queue.now()) },
      actor: 'chaos-processor',
    };
    return async (event: SQSEvent): Promise<SQSBatchResponse> => {
      const planned = this.pendingCrash;
      this.pendingCrash = undefined;
      crash = planned && { record: 1 + Math.floor(planned.at * event.Records.length), afterApply: planned.afterApply };
      record = 0;
      const response = await processChainEventBatch(event, core);
      if (crashed) throw new ProcessorCrash('crashed mid-batch');
      return response;
    };
  }

  /** The `lose_a_payment` sabotage: outputs to the first registered address seen paid are dropped, every time. */
  private sabotaged(event: ChainEvent): ChainEvent {
    if (this.sabotage !== 'lose_a_payment' || event.type !== 'rollForward') return event;
    if (this.lostAddress === undefined) {
      const registered = new Set(this.addresses.map((entry) => entry.address));
      this.lostAddress = event.blocks
        .flatMap((block) => block.transactions.flatMap((transaction) => transaction.outputs))
        .find((output) => registered.has(output.address))?.address;
      if (this.lostAddress === undefined) return event;
    }
    const lost = this.lostAddress;
    return {
      ...event,
      blocks: event.blocks.map((block) => ({
        ...block,
        transactions: block.transactions.map((transaction) => ({
          ...transaction,
          // Paid elsewhere instead: the other outputs keep their indexes.
          outputs: transaction.outputs.map((output) => (output.address === lost ? { ...output, address: `${lost}-lost` } : output)),
        })),
      })),
    };
  }

  private s3Client(faults?: ClientFaults): S3Client {
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: this.environment.s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      maxAttempts: 1,
    });
    client.middlewareStack.add(
      (next) => async (args) => {
        if (this.s3Faults.down || faults?.sqsCut)
          throw Object.assign(new Error('connect ETIMEDOUT (claim-check store outage, injected)'), {
            name: 'TimeoutError',
            $fault: 'server',
          });
        return next(args);
      },
      { step: 'initialize', name: 'chaosFaults' },
    );
    return client;
  }

  private startFollower(): Follower {
    const name = `task-${++this.followerCount}`;
    const faults: ClientFaults = { dynamoCut: false, sqsCut: false, holdSendsMs: 0 };
    const logger = new RecordingLogger();
    const dynamo = this.environment.dynamo.client();
    dynamo.middlewareStack.add(
      (next) => async (args) => {
        if (faults.dynamoCut) throw new Error('connect ETIMEDOUT (injected)');
        return next(args);
      },
      { step: 'initialize', name: 'chaosFaults' },
    );
    const sqs = this.environment.sqs.createClient();
    sqs.middlewareStack.add(
      (next, context) => async (args) => {
        if (faults.sqsCut) throw Object.assign(new Error('connect ETIMEDOUT (injected)'), { $fault: 'server' });
        if (context.commandName === 'SendMessageBatchCommand' && faults.holdSendsMs > 0) {
          const held = faults.holdSendsMs;
          await new Promise((resolve) => setTimeout(resolve, held));
        }
        return next(args);
      },
      { step: 'initialize', name: 'chaosFaults' },
    );
    const lease = new FollowerLease({
      table: new LeaseTable({ client: dynamo, tableName: TABLE, leaseName: `chaos#${this.suffix}`, requestTimeoutMs: 100 }),
      holderId: name,
      timings: LEASE_TIMINGS,
      logger,
    });
    const pool = this.pool(this.databases.disturbed, 2);
    const emitter = new SqsChainEventEmitter({
      sqs,
      queueUrl: this.queueUrl,
      network: NETWORK,
      claimChecks: new S3ClaimCheckStore({
        s3: this.s3Client(faults),
        bucket: this.environment.bucket,
        keyPrefix: `chaos-${this.suffix}/`,
      }),
      logger,
      maxInlineBodyBytes: MAX_INLINE_BODY_BYTES,
      retry: { maxAttempts: 3, initialDelayMs: 20, maxDelayMs: 100 },
    });
    const service = this.followerService(lease, emitter, new PostgresFollowerDatabase(pool), logger);
    const follower: Follower = { name, service, lease, faults, pool, stopped: false };
    this.followers.push(follower);
    service.start();
    return follower;
  }

  private followerService(
    lease: FollowerLease,
    emitter: ChainEventEmitter,
    database: PostgresFollowerDatabase,
    logger: RecordingLogger,
  ): FollowerService {
    return new FollowerService({
      lease,
      emitter,
      database,
      ogmios: { urls: [this.simulator.url], apiKeys: [] },
      ogmiosQueries: new LedgerStateClient({ urls: [this.simulator.url], logger }),
      startPoint: 'origin',
      logger,
      metrics: new InMemoryMetrics(),
      emission: { queueCapacity: 100, maxEventsPerEmit: 50, retryInitialDelayMs: 10, retryMaxDelayMs: 100 },
      chainSync: { pipelineDepth: 20, stopDrainTimeoutMs: 100, connectTimeoutMs: 500, backoff: { initialDelayMs: 20, maxDelayMs: 100 } },
      ogmiosUnreachableLimitMs: 2_000,
      generationCheckIntervalMs: 50,
      resignCooldownMs: 100,
    });
  }

  private get alive(): Follower[] {
    return this.followers.filter((follower) => !follower.stopped);
  }

  private leader(): Follower | undefined {
    return this.alive.find((follower) => follower.lease.isLeader());
  }

  // ————— faults —————

  async injectFaults(plan: readonly Fault[]): Promise<void> {
    await until(() => this.leader() !== undefined, 'a first leader', 10_000);
    const phaseStart = performance.now();
    this.production = setInterval(() => this.produce(1), BLOCK_EVERY_MS);
    for (const fault of plan) {
      const wait = fault.atMs - (performance.now() - phaseStart);
      if (wait > 0) await sleep(wait);
      await this.inject(fault);
    }
    const rest = PHASE_MS - (performance.now() - phaseStart);
    if (rest > 0) await sleep(rest);
  }

  private produce(count: number): void {
    this.simulator.produceBlocks(count);
    this.counts.blocksProduced += count;
  }

  private async inject(fault: Fault): Promise<void> {
    switch (fault.kind) {
      case 'fork':
        this.simulator.rollBack(Math.min(fault.blocks, this.simulator.chain().length - 1));
        this.counts.forks++;
        return;
      case 'ogmios_disconnect':
        this.simulator.dropConnections(fault.pick < 0.5 ? 'close' : 'terminate');
        return;
      case 'leader_sigterm': {
        const leader = this.leader();
        if (!leader) return;
        this.healing.push(this.stopFollower(leader, 500).then(() => this.startFollower()));
        return;
      }
      case 'leader_crash': {
        const leader = this.leader();
        if (!leader) return;
        // Every request of the dead task fails at once; its lease lapses. ECS starts a replacement later.
        leader.faults.dynamoCut = true;
        leader.faults.sqsCut = true;
        this.healing.push(this.stopFollower(leader, 0));
        this.healing.push(sleep(fault.durationMs).then(() => this.startFollower()));
        return;
      }
      case 'lease_loss': {
        const leader = this.leader();
        if (!leader) return;
        leader.faults.dynamoCut = true;
        this.healing.push(sleep(fault.durationMs).then(() => void (leader.faults.dynamoCut = false)));
        return;
      }
      case 'delayed_delivery': {
        const leader = this.leader();
        if (!leader) return;
        leader.faults.holdSendsMs = fault.durationMs;
        this.healing.push(sleep(fault.durationMs).then(() => void (leader.faults.holdSendsMs = 0)));
        return;
      }
      case 'database_outage':
        this.counts.databaseOutages++;
        await this.databaseDown();
        this.healing.push(sleep(fault.durationMs).then(() => this.databaseUp()));
        return;
      case 'claim_check_outage':
        this.s3Faults.down = true;
        this.healing.push(sleep(fault.durationMs).then(() => void (this.s3Faults.down = false)));
        return;
      case 'processor_crash':
        this.pendingCrash = { at: fault.pick, afterApply: fault.pick * 10 - Math.floor(fault.pick * 10) >= 0.5 };
        return;
      case 'duplicate_delivery':
        if (this.queue.duplicateRecent(fault.pick) !== null) this.counts.duplicates++;
        return;
      case 'poison_message':
        this.queue.corruptNext(fault.pick);
        return;
      case 'lost_message':
        this.queue.loseNext();
        return;
      case 'processor_far_behind':
        await this.fallFarBehind(fault);
        return;
      case 'rebuild':
        await this.rebuild(fault.pick);
        return;
      case 'register_address':
        await this.registerNewAddress(fault.pick);
        return;
    }
  }

  private async stopFollower(follower: Follower, budgetMs: number): Promise<void> {
    follower.stopped = true;
    await follower.service.stop(budgetMs).catch(() => undefined);
  }

  private async databaseDown(): Promise<void> {
    await this.admin.query(`ALTER DATABASE ${this.databases.disturbed} WITH ALLOW_CONNECTIONS false`);
    await this.admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [this.databases.disturbed]);
  }

  private async databaseUp(): Promise<void> {
    await this.admin.query(`ALTER DATABASE ${this.databases.disturbed} WITH ALLOW_CONNECTIONS true`);
  }

  /**
   * The processor stops consuming while the follower emits more blocks than the engine retains, and the leader
   * changes meanwhile: the new leader resumes from the database, far behind what the queue holds.
   */
  private async fallFarBehind(fault: Fault): Promise<void> {
    this.eventSource.pause();
    const production = this.production;
    clearInterval(production);
    this.produce(fault.blocks);
    const leader = this.leader();
    await sleep(150); // the leader emits some of them
    if (leader && fault.pick < 0.7) await this.stopFollower(leader, 300).then(() => this.startFollower());
    await sleep(150);
    this.production = setInterval(() => this.produce(1), BLOCK_EVERY_MS);
    this.eventSource.resume();
  }

  private async rebuild(pick: number): Promise<void> {
    try {
      const { rows } = await this.disturbed.query<{ slot: string; hash: string }>(
        'SELECT slot::text, hash FROM blocks WHERE height < (SELECT last_block_height FROM sync_state) ORDER BY height DESC LIMIT $1',
        [RETAINED_BLOCKS],
      );
      const block = rows[Math.floor(pick * rows.length)];
      if (!block) return;
      const point = { slot: BigInt(block.slot), hash: block.hash };
      await startRebuild(
        { point },
        {
          store: new PostgresRebuildStore(this.disturbed),
          clock: { now: () => new Date() },
          logger: new RecordingLogger(),
          actor: 'chaos',
        },
      );
      this.counts.rebuilds++;
    } catch {
      // The database is down, or the block was pruned meanwhile: an operator would try again later.
    }
  }

  private async registerNewAddress(pick: number): Promise<void> {
    const index = this.addresses.length;
    const entry = {
      name: `new-${index}`,
      userId: `user-new-${index}`,
      address: syntheticAddress(NETWORK, `chaos-${this.seed}-new-${index}`),
    };
    try {
      await this.register(this.disturbed, [entry]);
    } catch {
      return; // the database is down: the business retries later
    }
    this.addresses.push(entry);
    this.counts.registrations++;
    // Paid only from now on: its earlier blocks never held outputs to it, in either run.
    for (let n = 0; n <= Math.floor(pick * 3); n++)
      this.simulator.queuePayment({ address: entry.address, lovelace: 3_000_000n + BigInt(n) });
  }

  // ————— convergence —————

  /** Heals every fault, brings the chain to a final tip, and waits for the pipeline to catch up by itself. */
  async healAndConverge(): Promise<number> {
    clearInterval(this.production);
    await Promise.all(this.healing);
    this.s3Faults.down = false;
    await this.databaseUp();
    this.eventSource.resume();
    for (const follower of this.alive) Object.assign(follower.faults, { dynamoCut: false, sqsCut: false, holdSendsMs: 0 });
    while (this.alive.length < 2) this.startFollower();
    this.produce(CONFIRMATIONS + 2);
    const started = performance.now();
    const tipHash = this.tipHash();
    let stable = 0;
    while (stable < 3) {
      if (performance.now() - started > CONVERGENCE_LIMIT_MS)
        throw new Error(`did not converge within ${CONVERGENCE_LIMIT_MS} ms: ${await this.describeState()}`);
      if (this.eventSource.unexpected) throw this.eventSource.unexpected;
      const state = await this.syncState(this.disturbed);
      if (state.halted_reason !== null) throw new Error(`the pipeline halted: ${state.halted_reason}`);
      stable = state.last_block_hash === tipHash && (await this.queue.isEmpty()) ? stable + 1 : 0;
      await sleep(50);
    }
    return Math.round(performance.now() - started);
  }

  private async describeState(): Promise<string> {
    const state = await this.syncState(this.disturbed).catch((error: unknown) => ({ error: String(error) }));
    return JSON.stringify(
      {
        database: state,
        tip: { height: this.simulator.chain().at(-1)!.height, hash: this.tipHash() },
        queueDepth: this.queue.depth,
        leader: this.leader()?.name ?? null,
        followers: this.alive.map((follower) => ({ name: follower.name, ...follower.service.liveness() })),
        recoveries: this.processorLogger.events('pipeline_recovered').length,
        poisonSetAside: this.processorLogger.events('poison_message').length,
      },
      (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value),
    );
  }

  private async syncState(pool: pg.Pool): Promise<{ last_block_hash: string | null; halted_reason: string | null }> {
    const { rows } = await pool.query('SELECT last_block_hash, halted_reason FROM sync_state');
    return rows[0];
  }

  // ————— the undisturbed run and the comparison —————

  /** Returns why the disturbed run differs from an undisturbed one over the final chain, or undefined. */
  async compareWithUndisturbedRun(): Promise<string | undefined> {
    const problems: string[] = [];
    if (this.queue.deadLetterCount > 0) problems.push(`${this.queue.deadLetterCount} messages in the DLQ`);
    await this.register(this.reference, this.addresses);
    await this.followUndisturbed();

    const [disturbed, reference] = await Promise.all([snapshot(this.disturbed), snapshot(this.reference)]);
    for (const table of ['sync', 'payments', 'balances', 'ledgerSums'] as const) {
      const a = JSON.stringify(disturbed[table]);
      const b = JSON.stringify(reference[table]);
      if (a !== b)
        problems.push(`${table} differ from the undisturbed run:\n  disturbed: ${a.slice(0, 600)}\n  reference: ${b.slice(0, 600)}`);
    }
    problems.push(...(await ledgerViolations(this.disturbed)));
    const { rows: held } = await this.disturbed.query<{ n: number }>('SELECT count(*)::int AS n FROM rebuild_held_payments');
    if (held[0]!.n > 0) problems.push(`${held[0]!.n} payments still held by a rebuild`);
    if (reference.payments.length === 0) problems.push('the chain paid no registered address: the run proves nothing');
    return problems.length === 0 ? undefined : problems.join('\n');
  }

  /** One follower, no faults, straight into the engine on the reference database, from origin to the final tip. */
  private async followUndisturbed(): Promise<void> {
    const engine = new PaymentEngine({
      store: new PostgresPaymentStore(this.reference, { retainedBlocks: RETAINED_BLOCKS }),
      logger: new RecordingLogger(),
      metrics: new InMemoryMetrics(),
      clock: { now: () => new Date() },
      network: NETWORK,
      confirmations: CONFIRMATIONS,
      retainedBlocks: RETAINED_BLOCKS,
    });
    const direct = directEmitter(engine);
    const logger = new RecordingLogger();
    const lease = new FollowerLease({
      table: new LeaseTable({
        client: this.environment.dynamo.client(),
        tableName: TABLE,
        leaseName: `chaos-reference#${this.suffix}`,
        requestTimeoutMs: 500,
      }),
      holderId: 'reference',
      timings: { leaseDurationMs: 5_000, renewIntervalMs: 1_000, safetyMarginMs: 1_000, acquireIntervalMs: 50 },
      logger,
    });
    const service = this.followerService(lease, direct, new PostgresFollowerDatabase(this.reference), logger);
    service.start();
    try {
      const tipHash = this.tipHash();
      await until(
        async () => (await this.syncState(this.reference)).last_block_hash === tipHash,
        'the undisturbed run to reach the tip',
        30_000,
      );
    } finally {
      await service.stop(1_000);
    }
  }

  // ————— tear down —————

  statistics(): Record<string, number> {
    const source = this.eventSource?.statistics;
    const queue = this.queue?.statistics;
    return {
      ...this.counts,
      ...(source
        ? { invocations: source.invocations, crashes: source.crashes, instances: source.instances, failedRecords: source.failedRecords }
        : {}),
      ...(queue
        ? {
            messages: queue.sent,
            deduplicated: queue.deduplicated,
            corrupted: queue.corruptedByFault,
            lost: queue.lostByFault,
            deadLetters: queue.movedToDeadLetter,
          }
        : {}),
      recoveries: this.processorLogger.events('pipeline_recovered').length,
      poisonSetAside: this.processorLogger.events('poison_message').length,
      staleDropped: this.processorLogger.events('stale_event_dropped').length,
      duplicatesDropped: this.processorLogger.events('duplicate_event_dropped').length,
      followers: this.followerCount,
    };
  }

  async tearDown(): Promise<void> {
    clearInterval(this.production);
    await Promise.allSettled(this.healing);
    await Promise.all(this.followers.map((follower) => this.stopFollower(follower, 200)));
    await this.eventSource?.stop();
    await this.queue?.stop();
    await this.simulator?.stop();
    await Promise.all(this.pools.map((pool) => pool.end().catch(() => undefined)));
    if (this.queueUrl) await this.environment.sqs.client.send(new DeleteQueueCommand({ QueueUrl: this.queueUrl })).catch(() => undefined);
    await this.databaseUp().catch(() => undefined);
    for (const name of Object.values(this.databases)) await this.admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await this.admin.end();
  }
}

// ————— what is compared —————

interface Snapshot {
  sync: unknown;
  payments: unknown[];
  balances: unknown[];
  ledgerSums: unknown[];
}

async function snapshot(pool: pg.Pool): Promise<Snapshot> {
  const payments = await pool.query(
    `SELECT tx_hash, output_index, address, user_id, reference_id, status, amount_lovelace::text AS amount, assets, block_hash,
            block_height::text AS block_height, spent_by_tx_hash
       FROM incoming_payments WHERE status IN ('pending', 'confirmed') ORDER BY tx_hash, output_index`,
  );
  const balances = await pool.query(
    'SELECT user_id, balance_lovelace::text AS balance FROM user_balances WHERE balance_lovelace <> 0 ORDER BY user_id',
  );
  const ledgerSums = await pool.query(
    `SELECT user_id, sum(CASE type WHEN 'credit' THEN amount_lovelace ELSE -amount_lovelace END)::text AS total
       FROM balance_transactions GROUP BY user_id HAVING sum(CASE type WHEN 'credit' THEN amount_lovelace ELSE -amount_lovelace END) <> 0
      ORDER BY user_id`,
  );
  const sync = await pool.query('SELECT last_block_height::text AS height, last_block_hash AS hash FROM sync_state');
  return { sync: sync.rows[0], payments: payments.rows, balances: balances.rows, ledgerSums: ledgerSums.rows };
}

/** Credits and reversals each at most once, and the ledger agreeing with balances and with the payments. */
async function ledgerViolations(pool: pg.Pool): Promise<string[]> {
  const problems: string[] = [];
  const alternation = await pool.query(
    `SELECT payment_tx_hash, payment_output_index, asset,
            count(*) FILTER (WHERE type = 'credit') AS credits, count(*) FILTER (WHERE type = 'debit') AS debits,
            coalesce(max(occurrence) FILTER (WHERE type = 'credit'), 0) AS last_credit,
            coalesce(max(occurrence) FILTER (WHERE type = 'debit'), 0) AS last_debit
       FROM balance_transactions WHERE payment_tx_hash IS NOT NULL GROUP BY 1, 2, 3
     HAVING NOT (count(*) FILTER (WHERE type = 'credit') - count(*) FILTER (WHERE type = 'debit') IN (0, 1)
                 AND coalesce(max(occurrence) FILTER (WHERE type = 'credit'), 0) = count(*) FILTER (WHERE type = 'credit')
                 AND coalesce(max(occurrence) FILTER (WHERE type = 'debit'), 0) = count(*) FILTER (WHERE type = 'debit'))`,
  );
  if (alternation.rows.length > 0) problems.push(`credits and debits do not alternate for ${JSON.stringify(alternation.rows.slice(0, 3))}`);
  const net = await pool.query(
    `WITH ledger AS (
       SELECT payment_tx_hash AS tx_hash, payment_output_index AS output_index,
              sum(CASE type WHEN 'credit' THEN amount_lovelace ELSE -amount_lovelace END) AS net
         FROM balance_transactions WHERE payment_tx_hash IS NOT NULL GROUP BY 1, 2
     ), credited AS (
       SELECT tx_hash, output_index, amount_lovelace AS net FROM incoming_payments WHERE status = 'confirmed' AND user_id IS NOT NULL
     )
     SELECT coalesce(l.tx_hash, c.tx_hash) AS tx_hash, coalesce(l.output_index, c.output_index) AS output_index,
            coalesce(l.net, 0)::text AS ledger, coalesce(c.net, 0)::text AS expected
       FROM ledger l FULL JOIN credited c ON c.tx_hash = l.tx_hash AND c.output_index = l.output_index
      WHERE coalesce(l.net, 0) <> coalesce(c.net, 0)`,
  );
  if (net.rows.length > 0)
    problems.push(`the ledger's net credit differs from the confirmed payments for ${JSON.stringify(net.rows.slice(0, 3))}`);
  const balances = await pool.query(
    `SELECT b.user_id, b.balance_lovelace::text AS balance, coalesce(l.total, 0)::text AS ledger
       FROM user_balances b
       LEFT JOIN (SELECT user_id, sum(CASE type WHEN 'credit' THEN amount_lovelace ELSE -amount_lovelace END) AS total
                    FROM balance_transactions GROUP BY user_id) l ON l.user_id = b.user_id
      WHERE b.balance_lovelace <> coalesce(l.total, 0)`,
  );
  if (balances.rows.length > 0) problems.push(`balances differ from the ledger for ${JSON.stringify(balances.rows)}`);
  return problems;
}

// ————— helpers —————

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}
