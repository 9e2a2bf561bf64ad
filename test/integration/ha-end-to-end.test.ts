/**
 * End to end, with high availability: the Ogmios simulator → two follower services (dynalite lease) → SQS FIFO
 * (local-aws-sqs, the real SQS emitter, s3rver for claim checks) → the processor core → PostgreSQL.
 *
 * While blocks are produced and the chain forks, the leader is cut off from DynamoDB three times (its lease
 * lapses, the standby takes over with a higher fencing token), and after each takeover messages the deposed
 * leader had sent are sent again (new deduplication ids), as a zombie's late messages would arrive: the
 * processor must acknowledge them as stale and change nothing. In the end the payments and balances equal those
 * of an undisturbed single-follower run over the same chain on another database.
 */
import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type MessageAttributeValue,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogEvent } from '../../functions/domain/observability.js';
import { PaymentEngine } from '../../functions/domain/payment-engine.js';
import { FollowerLease } from '../../functions/adapters/dynamodb/follower-lease.js';
import { createLeaseTable, LeaseTable } from '../../functions/adapters/dynamodb/lease-table.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { LedgerStateClient } from '../../functions/adapters/ogmios/ledger-state-client.js';
import { PostgresAddressRegistry } from '../../functions/adapters/postgres/address-registry.js';
import { PostgresPaymentStore } from '../../functions/adapters/postgres/payment-store.js';
import { PostgresPipelineRecoveryStore } from '../../functions/adapters/postgres/pipeline-recovery-store.js';
import { S3ClaimCheckStore } from '../../functions/adapters/s3/claim-check-store.js';
import { createSqsChainEventEmitter } from '../../functions/adapters/sqs/emitter-settings.js';
import type { ChainEventEmitter } from '../../functions/domain/chain-event-emitter.js';
import { PostgresFollowerDatabase } from '../../functions/adapters/postgres/follower-database.js';
import { FollowerService } from '../../functions/follower/follower-service.js';
import { processChainEventBatch, type ProcessorCoreOptions } from '../../functions/handlers/processor-core.js';
import { ProcessorLogEvent } from '../../functions/domain/observability.js';
import { startOgmiosSimulator, type OgmiosSimulator } from '../../functions/local/simulator/index.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startDynalite, type LocalDynamoDb } from '../support/dynalite.js';
import { startLocalS3, startLocalSqs, toSqsEvent, type LocalS3, type LocalSqs } from '../support/local-aws.js';
import { CorrelatingRecordingLogger, FixedClock, RecordingLogger } from '../support/recorders.js';
import { directEmitter } from '../support/direct-emitter.js';

const NETWORK = 'preprod' as const;
const TABLE = 'follower-leases';
const BUCKET = 'claim-checks';
/** Deeper than any fork below (≤ 3 blocks): no confirmed payment is ever reversed, in either run. */
const CONFIRMATIONS = 6;
/** A leader keeps its lease through stalls of about a second (a loaded machine); a cut-off one loses it in 2 s. */
const TIMINGS = { leaseDurationMs: 2_000, renewIntervalMs: 400, safetyMarginMs: 600, acquireIntervalMs: 100 };
const TOKEN = { policyId: 'ab'.repeat(28), assetName: '746f6b656e', quantity: 5n };

const USERS = ['alice', 'bob', 'carol', 'dave'].map((name) => ({
  name,
  address: syntheticAddress(NETWORK, `ha-e2e-${name}`),
  userId: `user-${name}`,
}));

/** A message as a follower handed it to SQS (captured on its SQS client). */
interface SentMessage {
  holder: string;
  fence: bigint;
  body: string;
  attributes: Record<string, MessageAttributeValue>;
}

interface Follower {
  name: string;
  service: FollowerService;
  lease: FollowerLease;
  logger: RecordingLogger;
  cutOff: boolean;
}

let simulator: OgmiosSimulator;
let dynamo: LocalDynamoDb;
let sqs: LocalSqs;
let s3: LocalS3;
let dbA: TestDatabase;
let dbB: TestDatabase;
const followers: Follower[] = [];

beforeAll(async () => {
  [dynamo, sqs, s3, dbA, dbB] = await Promise.all([
    startDynalite(),
    startLocalSqs(),
    startLocalS3(),
    createTestDatabase(),
    createTestDatabase(),
  ]);
  await createLeaseTable(dynamo.client(), TABLE);
  await s3.createBucket(BUCKET);
  for (const db of [dbA, dbB]) {
    await new PostgresAddressRegistry(db.pool, NETWORK).register(
      USERS.map((user) => ({ address: user.address, referenceType: 'deposit', referenceId: `acct-${user.name}`, userId: user.userId })),
      'test',
    );
  }
});

afterAll(async () => {
  for (const follower of followers) await follower.service.stop(2_000).catch(() => undefined);
  await simulator?.stop();
  await Promise.all([dynamo?.stop(), sqs?.close(), s3?.close(), dbA?.drop(), dbB?.drop()]);
});

// ————— helpers —————

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function newFollower(name: string, leaseName: string, emitter: (logger: RecordingLogger) => ChainEventEmitter, db: TestDatabase): Follower {
  const logger = new RecordingLogger();
  const client = dynamo.client();
  const lease = new FollowerLease({
    table: new LeaseTable({ client, tableName: TABLE, leaseName, requestTimeoutMs: 500 }),
    holderId: name,
    timings: TIMINGS,
    logger,
  });
  const service = new FollowerService({
    lease,
    emitter: emitter(logger),
    database: new PostgresFollowerDatabase(db.pool),
    ogmios: { urls: [simulator.url], apiKeys: [] },
    ogmiosQueries: new LedgerStateClient({ urls: [simulator.url], logger }),
    startPoint: 'origin',
    logger,
    metrics: new InMemoryMetrics(),
    emission: { queueCapacity: 50, maxEventsPerEmit: 20, retryInitialDelayMs: 5, retryMaxDelayMs: 20 },
    chainSync: { pipelineDepth: 10, stopDrainTimeoutMs: 100, connectTimeoutMs: 200, backoff: { initialDelayMs: 20, maxDelayMs: 50 } },
    ogmiosUnreachableLimitMs: 1_000,
  });
  const follower: Follower = { name, service, lease, logger, cutOff: false };
  // Cut off: every DynamoDB request of this task fails, as when its network path is gone (follower-process.test.ts).
  client.middlewareStack.add(
    (next) => async (args) => {
      if (follower.cutOff) throw new Error('connect ETIMEDOUT (injected)');
      return next(args);
    },
    { step: 'initialize', name: 'cutOff' },
  );
  followers.push(follower);
  return follower;
}

/** An SQS client of its own for one follower, recording every message SQS accepted from it. */
function capturingSqsClient(holder: string, sent: SentMessage[]): SQSClient {
  const client = sqs.createClient();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'SendMessageBatchCommand') {
        const input = args.input as { Entries: SendMessageBatchRequestEntry[] };
        const output = result.output as { Successful?: { Id?: string }[] };
        const accepted = new Set((output.Successful ?? []).map((entry) => entry.Id));
        for (const entry of input.Entries) {
          if (!accepted.has(entry.Id)) continue;
          sent.push({
            holder,
            fence: BigInt(entry.MessageAttributes!.fence!.StringValue!),
            body: entry.MessageBody!,
            attributes: entry.MessageAttributes!,
          });
        }
      }
      return result;
    },
    { step: 'initialize', name: 'captureSent' },
  );
  return client;
}

interface DbState {
  payments: Record<string, unknown>[];
  balances: Record<string, unknown>[];
  ledger: Record<string, unknown>[];
  sync: Record<string, unknown>;
}

async function snapshot(db: TestDatabase): Promise<DbState> {
  const payments = await db.pool.query(
    `SELECT tx_hash, output_index, address, user_id, status, amount_lovelace::text AS amount, assets, block_hash, block_height::text AS block_height,
            spent_by_tx_hash
       FROM incoming_payments WHERE status IN ('pending', 'confirmed') ORDER BY tx_hash, output_index`,
  );
  const balances = await db.pool.query('SELECT user_id, balance_lovelace::text AS balance FROM user_balances ORDER BY user_id');
  const ledger = await db.pool.query(
    `SELECT user_id, SUM(CASE type WHEN 'credit' THEN amount_lovelace ELSE -amount_lovelace END)::text AS total
       FROM balance_transactions GROUP BY user_id ORDER BY user_id`,
  );
  const sync = await db.pool.query(
    'SELECT last_block_height::text AS height, last_block_slot::text AS slot, last_block_hash AS hash FROM sync_state',
  );
  return { payments: payments.rows, balances: balances.rows, ledger: ledger.rows, sync: sync.rows[0]! };
}

async function syncState(db: TestDatabase): Promise<{ hash: string | null; height: bigint | null; fence: bigint }> {
  const { rows } = await db.pool.query<{ hash: string | null; height: string | null; fence: string }>(
    'SELECT last_block_hash AS hash, last_block_height::text AS height, fence_token::text AS fence FROM sync_state',
  );
  const row = rows[0]!;
  return { hash: row.hash, height: row.height === null ? null : BigInt(row.height), fence: BigInt(row.fence) };
}

const tipHash = () => simulator.chain().at(-1)!.id;

// ————— the processor: a consumer of the FIFO queue, as the Lambda event source runs it —————

class QueueConsumer {
  readonly logger = new CorrelatingRecordingLogger();
  readonly metrics = new InMemoryMetrics();
  readonly core: ProcessorCoreOptions;
  batches = 0;
  largestBatch = 0;
  failedRecords = 0;
  private running = true;
  private loop: Promise<void> | undefined;
  error: unknown;

  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    db: TestDatabase,
  ) {
    const engine = new PaymentEngine({
      store: new PostgresPaymentStore(db.pool),
      logger: this.logger,
      metrics: this.metrics,
      clock: new FixedClock(),
      network: NETWORK,
      confirmations: CONFIRMATIONS,
    });
    this.core = {
      engine,
      network: NETWORK,
      recovery: new PostgresPipelineRecoveryStore(db.pool),
      logger: this.logger,
      metrics: this.metrics,
      clock: new FixedClock(),
      claimChecks: new S3ClaimCheckStore({ s3: s3.client, bucket: BUCKET }),
    };
  }

  start(): void {
    this.loop = (async () => {
      while (this.running) {
        try {
          if ((await this.consumeOnce()) === 0) await new Promise((resolve) => setTimeout(resolve, 10));
        } catch (error) {
          this.error = error;
          this.running = false;
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    if (this.error) throw this.error;
  }

  /** One batch of at most 10: acknowledged records deleted, failed ones back in the queue at once. */
  private async consumeOnce(): Promise<number> {
    const { Messages = [] } = await this.client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: 10,
        AttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return 0;
    this.batches++;
    this.largestBatch = Math.max(this.largestBatch, Messages.length);
    const response = await processChainEventBatch(toSqsEvent(Messages), this.core);
    const failed = new Set(response.batchItemFailures.map((item) => item.itemIdentifier));
    this.failedRecords += failed.size;
    const done = Messages.filter((message) => !failed.has(message.MessageId!));
    const retry = Messages.filter((message) => failed.has(message.MessageId!));
    if (done.length > 0) {
      const { Failed = [] } = await this.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: done.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle! })),
        }),
      );
      if (Failed.length > 0) throw new Error(`could not delete acknowledged messages: ${JSON.stringify(Failed)}`);
    }
    if (retry.length > 0) {
      // The event source would wait for the visibility timeout; the test makes them visible again at once.
      await this.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: retry.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 })),
        }),
      );
    }
    return Messages.length;
  }

  /** The outcome the engine reported for a message (undefined until it was processed successfully). */
  outcomeOf(messageId: string): string | undefined {
    const entry = this.logger.events(ProcessorLogEvent.messageApplied).find((e) => e.fields.message_id === messageId);
    return entry?.fields.outcome as string | undefined;
  }
}

/** Sends a deposed leader's messages again, as its late deliveries: same bodies, new deduplication ids. */
async function replayAsZombie(queueUrl: string, messages: readonly SentMessage[]): Promise<string[]> {
  const ids: string[] = [];
  for (let offset = 0; offset < messages.length; offset += 10) {
    const chunk = messages.slice(offset, offset + 10);
    const { Successful = [], Failed = [] } = await sqs.client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((message, i) => ({
          Id: String(i),
          MessageBody: message.body,
          MessageAttributes: message.attributes,
          MessageGroupId: NETWORK,
          MessageDeduplicationId: `zombie-${randomUUID()}`,
        })),
      }),
    );
    if (Failed.length > 0) throw new Error(`zombie replay refused: ${JSON.stringify(Failed)}`);
    ids.push(...[...Successful].sort((a, b) => Number(a.Id) - Number(b.Id)).map((entry) => entry.MessageId!));
  }
  return ids;
}

// ————— the test —————

describe('end to end with high availability', () => {
  it('leaders killed mid-stream, forks and a zombie leader replayed: payments and balances equal an undisturbed run', async () => {
    simulator = await startOgmiosSimulator({
      seed: 'ha-end-to-end',
      network: NETWORK,
      blockTimeMs: 0,
      initialBlocks: 40,
      transactionsPerBlock: { min: 1, max: 5 },
      payTo: [
        { address: USERS[0]!.address },
        { address: USERS[1]!.address, lovelace: 7_000_000n },
        { address: USERS[2]!.address, assets: [TOKEN] },
        { address: USERS[3]!.address, lovelace: 2_500_000n, assets: [TOKEN] },
      ],
      paymentsPerBlock: 1.5,
      paymentSpendsPerBlock: 0.3,
    });

    // ——— the disturbed run: two followers → SQS FIFO → processor → database A ———
    const { QueueUrl: queueUrl } = await sqs.client.send(
      new CreateQueueCommand({ QueueName: 'chain-events-ha.fifo', Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' } }),
    );
    const consumer = new QueueConsumer(sqs.client, queueUrl!, dbA);
    const sent: SentMessage[] = [];
    const group = ['task-a', 'task-b'].map((name) =>
      newFollower(
        name,
        'follower#ha-disturbed',
        (logger) =>
          createSqsChainEventEmitter(
            { network: NETWORK, queueUrl: queueUrl!, claimCheckBucket: BUCKET },
            { logger, sqs: capturingSqsClient(name, sent), s3: s3.client },
          ),
        dbA,
      ),
    );
    const leaderOf = () => group.find((follower) => follower.lease.isLeader());
    const zombieIds: string[] = [];
    const leaderships: bigint[] = [];

    consumer.start();
    for (const follower of group) follower.service.start();
    const production = setInterval(() => simulator.produceBlocks(1), 20);
    try {
      await until(
        async () => leaderOf() !== undefined && ((await syncState(dbA)).height ?? 0n) > 45n,
        'the first leader to emit and the processor to apply',
      );
      leaderships.push(leaderOf()!.lease.fencingToken!);

      for (let round = 1; round <= 3; round++) {
        const cut = leaderOf()!;
        const deposedToken = cut.lease.fencingToken!;
        if (deposedToken !== leaderships.at(-1)) leaderships.push(deposedToken); // a lease lapsed once more meanwhile
        cut.cutOff = true;
        await until(() => leaderOf() !== undefined && leaderOf() !== cut, `the standby to take over (round ${round})`);
        // Higher than the deposed leader's; not necessarily by one: on a loaded machine a lease may lapse once more.
        const token = leaderOf()!.lease.fencingToken!;
        expect(token).toBeGreaterThan(deposedToken);
        leaderships.push(token);
        expect(cut.logger.events('lease_lost').at(-1)?.fields).toMatchObject({ reason: 'renewal_deadline' });

        // The new leader's messages reach the database first: then the deposed leader's late ones arrive.
        const heightAtTakeover = (await syncState(dbA)).height!;
        await until(async () => {
          const state = await syncState(dbA);
          return state.fence >= token && state.height! > heightAtTakeover + 3n; // newer leaders may have fenced since
        }, `the processor to apply the new leader's (token ${token}) messages`);
        const deposed = sent.filter((message) => message.holder === cut.name && message.fence === deposedToken);
        expect(deposed.length, `messages sent by the deposed leader with token ${deposedToken}`).toBeGreaterThan(0);
        zombieIds.push(...(await replayAsZombie(queueUrl!, deposed.slice(-8))));

        if (round === 1) simulator.rollBack(2);
        if (round === 2) simulator.rollBack(3);
        cut.cutOff = false;
      }
      simulator.rollBack(2); // a fork under the last leader as well
    } finally {
      clearInterval(production);
    }
    simulator.produceBlocks(CONFIRMATIONS + 2); // everything but the newest blocks confirmed
    await until(async () => (await syncState(dbA)).hash === tipHash(), 'database A to reach the simulator tip');

    // A zombie of the very first term, replayed once everything is applied: acknowledged, and nothing changes.
    const before = await snapshot(dbA);
    zombieIds.push(...(await replayAsZombie(queueUrl!, sent.filter((message) => message.fence === leaderships[0]).slice(0, 25))));
    await until(() => zombieIds.every((id) => consumer.outcomeOf(id) !== undefined), 'every zombie message to be acknowledged');
    await consumer.stop();
    expect(await snapshot(dbA)).toEqual(before);

    expect(zombieIds.map((id) => consumer.outcomeOf(id))).toEqual(zombieIds.map(() => 'unchanged'));
    const staleDrops = consumer.logger.events(LogEvent.staleEventDropped);
    expect(staleDrops.length).toBeGreaterThanOrEqual(zombieIds.length);
    for (const id of zombieIds)
      expect(
        staleDrops.some((entry) => entry.fields.message_id === id),
        `stale_event_dropped for zombie ${id}`,
      ).toBe(true);
    expect(consumer.metrics.snapshot().counters.stale_events_dropped).toBe(staleDrops.length);
    expect(consumer.largestBatch).toBeGreaterThan(1);
    expect(consumer.logger.events(ProcessorLogEvent.poisonMessage)).toEqual([]);
    expect(leaderships.length).toBeGreaterThanOrEqual(4);
    expect(leaderships).toEqual([...leaderships].sort((a, b) => (a < b ? -1 : 1)));
    expect(new Set(leaderships).size).toBe(leaderships.length);
    expect(consumer.failedRecords).toBe(0);
    expect(consumer.logger.events(LogEvent.pipelineRecovered)).toEqual([]);
    const stateA = await syncState(dbA);
    // At least the last recorded leader's: on a loaded machine its lease may lapse once more after the last round.
    expect(stateA.fence).toBeGreaterThanOrEqual(leaderships.at(-1)!);
    const disturbed = await snapshot(dbA);

    // ——— the reference run: one follower, undisturbed, straight into the engine on database B ———
    const referenceLogger = new RecordingLogger();
    const referenceEngine = new PaymentEngine({
      store: new PostgresPaymentStore(dbB.pool),
      logger: referenceLogger,
      metrics: new InMemoryMetrics(),
      clock: new FixedClock(),
      network: NETWORK,
      confirmations: CONFIRMATIONS,
    });
    const direct = directEmitter(referenceEngine);
    const single = newFollower('reference', 'follower#ha-reference', () => direct, dbB);
    single.service.start();
    await until(async () => (await syncState(dbB)).hash === tipHash(), 'database B (reference) to reach the simulator tip');
    await single.service.stop(2_000);
    for (const follower of group) await follower.service.stop(2_000);

    const reference = await snapshot(dbB);
    expect(reference.payments.length, 'the chain paid the registered addresses').toBeGreaterThan(20);
    expect(reference.payments.some((payment) => payment.status === 'confirmed')).toBe(true);
    expect(reference.payments.some((payment) => payment.spent_by_tx_hash !== null)).toBe(true);
    expect(reference.payments.some((payment) => JSON.stringify(payment.assets) !== '{}')).toBe(true);
    expect(disturbed.sync).toEqual(reference.sync);
    expect(disturbed.payments).toEqual(reference.payments);
    expect(disturbed.balances).toEqual(reference.balances);
    expect(disturbed.ledger).toEqual(reference.ledger);
    expect(disturbed.balances.length).toBeGreaterThan(0);
  }, 120_000);
});
