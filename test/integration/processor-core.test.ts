/**
 * The processor's core on a real PostgreSQL (one database per test), fed with SQS FIFO batches as the Lambda
 * event source delivers them: built directly for the ordering and failure cases, and taken from local-aws-sqs
 * after a real emission for the claim-check case (s3rver as S3). Every record is applied, acknowledged without
 * effect, acknowledged after a recovery (poison, divergence), or failed for a transient reason and postponed.
 */
import { GetObjectCommand, PutObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChainEvent } from '../../functions/domain/chain.js';
import {
  decodeQueueMessageBody,
  encodeBlock,
  encodeChainEventMessage,
  encodeClaimCheckPointer,
  stepsOf,
} from '../../functions/domain/chain-event-message.js';
import type { Network } from '../../functions/domain/network.js';
import { LogEvent, ProcessorLogEvent, ProcessorMetric } from '../../functions/domain/observability.js';
import { PaymentEngine } from '../../functions/domain/payment-engine.js';
import { HALT_AFTER_RECOVERIES_WITHOUT_PROGRESS } from '../../functions/domain/pipeline-recovery.js';
import { PostgresPipelineRecoveryStore } from '../../functions/adapters/postgres/pipeline-recovery-store.js';
import { SqsChainEventEmitter } from '../../functions/adapters/sqs/chain-event-emitter.js';
import { S3ClaimCheckStore } from '../../functions/adapters/s3/claim-check-store.js';
import { PostgresFollowerDatabase } from '../../functions/adapters/postgres/follower-database.js';
import { processChainEventBatch, type ProcessorCoreOptions } from '../../functions/handlers/processor-core.js';
import type { PostponedMessage } from '../../functions/domain/failed-message-retries.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { createEngineFixture, type EngineFixture } from '../support/engine-fixture.js';
import { drainQueue, startLocalS3, startLocalSqs, toSqsEvent, type LocalS3, type LocalSqs } from '../support/local-aws.js';
import { CorrelatingRecordingLogger, RecordingLogger } from '../support/recorders.js';
import { sqsRecord } from '../support/sqs-records.js';

const alice = syntheticAddress('mainnet', 'alice');
const BUCKET = 'claim-checks';

interface Session {
  fence: bigint;
  generation: bigint;
}

let f: EngineFixture;
let logger: CorrelatingRecordingLogger;
let core: ProcessorCoreOptions;
let chain: ChainBuilder;
let postponed: PostponedMessage[];
let follower: PostgresFollowerDatabase;
/** The current leader's session: fenced in the database like the follower does. */
let leader: Session;
const nextStep = new Map<string, bigint>();
let messageCounter = 0;

beforeEach(async () => {
  f = await createEngineFixture({ confirmations: 3 });
  await f.registry.register([{ address: alice, referenceType: 'deposit', referenceId: 'acct-alice', userId: 'user-alice' }], 'test');
  logger = new CorrelatingRecordingLogger();
  postponed = [];
  nextStep.clear();
  // The engine logs through the same logger, so its lines carry the record's correlation keys.
  const engine = new PaymentEngine({ store: f.store, logger, metrics: f.metrics, clock: f.clock, network: 'mainnet', confirmations: 3 });
  core = {
    engine,
    network: 'mainnet',
    recovery: new PostgresPipelineRecoveryStore(f.db.pool),
    retries: { postpone: async (messages) => void postponed.push(...messages) },
    logger,
    metrics: f.metrics,
    clock: f.clock,
  };
  chain = new ChainBuilder();
  follower = new PostgresFollowerDatabase(f.db.pool);
  await f.db.pool.query('UPDATE sync_state SET sync_generation = 1'); // so that an older generation exists
  leader = await fence(5n);
});
afterEach(async () => f.db.drop());

/** A new leader session, as the follower starts one. */
async function fence(token: bigint): Promise<Session> {
  const { generation } = await follower.beginSession(token);
  return { fence: token, generation };
}

function record(body: string, { receiveCount = 1, failingForSeconds = 0 } = {}): SQSRecord {
  return sqsRecord(`message-${++messageCounter}`, body, {
    receiveCount,
    firstReceivedAt: f.clock.now().getTime() - failingForSeconds * 1000,
  });
}

/** The session's next message: its steps follow the ones it sent before. */
function message(event: ChainEvent, session: Session = leader, network: Network = 'mainnet'): SQSRecord {
  const key = `${session.generation}/${session.fence}`;
  const first = nextStep.get(key) ?? 1n;
  const steps = { first, last: first + BigInt(stepsOf(event)) - 1n };
  nextStep.set(key, steps.last + 1n);
  return record(encodeChainEventMessage({ version: 2, network, ...session, steps, event }));
}

/** The same message delivered again (SQS delivered it twice, or a retried send landed twice). */
const again = (original: SQSRecord): SQSRecord => record(original.body);

const batch = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
const failedIds = (response: { batchItemFailures: { itemIdentifier: string }[] }) =>
  response.batchItemFailures.map((item) => item.itemIdentifier);

async function appliedHeight(): Promise<bigint | null> {
  const { rows } = await f.db.pool.query<{ last_block_height: bigint | null }>('SELECT last_block_height FROM sync_state');
  return rows[0]!.last_block_height;
}

async function syncState(): Promise<{ generation: bigint; fence: bigint; halted_reason: string | null }> {
  const { rows } = await f.db.pool.query('SELECT sync_generation AS generation, fence_token AS fence, halted_reason FROM sync_state');
  return rows[0];
}

async function recoveries(): Promise<Record<string, unknown>[]> {
  const { rows } = await f.db.pool.query(
    'SELECT kind, reason, message_id, message_body, generation, generation_to FROM pipeline_recoveries ORDER BY id',
  );
  return rows;
}

async function balance(userId: string): Promise<bigint | undefined> {
  const { rows } = await f.db.pool.query<{ balance_lovelace: bigint }>('SELECT balance_lovelace FROM user_balances WHERE user_id = $1', [
    userId,
  ]);
  return rows[0]?.balance_lovelace;
}

describe('processor core', () => {
  it('wakes the event publisher after a batch that wrote business events, and not after one that wrote none', async () => {
    const wakes: string[] = [];
    const waking = { ...core, wakePublisher: async () => void wakes.push('wake') };
    await processChainEventBatch(batch(message(chain.forward([chain.next(), chain.next()]))), waking);
    expect(wakes).toEqual([]);
    const pay = transaction([output(alice, 1_000_000n)]);
    await processChainEventBatch(batch(message(chain.forward([chain.next([pay])])), message(chain.forward([chain.next()]))), waking);
    expect(wakes).toEqual(['wake']);
    expect((await f.db.pool.query('SELECT type FROM business_events ORDER BY seq')).rows).toEqual([{ type: 'payment.detected' }]);
    // a failed wake is logged and never fails the batch
    const failing = { ...core, wakePublisher: async () => Promise.reject(new Error('throttled')) };
    const response = await processChainEventBatch(batch(message(chain.forward([chain.next(), chain.next()]))), failing);
    expect(failedIds(response)).toEqual([]);
    expect(logger.events(ProcessorLogEvent.publisherWakeFailed)).toHaveLength(1);
  });

  it('applies a batch in order and credits a payment once it is confirmed, every log line correlated by block', async () => {
    const pay = transaction([output(alice, 25_000_000n)]);
    const records = [
      message(chain.forward([chain.next([pay])])),
      message(chain.forward([chain.next(), chain.next()])),
      message(chain.forward([chain.next()])),
    ];
    const response = await processChainEventBatch(batch(...records), core);

    expect(failedIds(response)).toEqual([]);
    expect(await appliedHeight()).toBe(4n);
    expect(await balance('user-alice')).toBe(25_000_000n);
    expect(logger.events(LogEvent.paymentDetected)[0]!.fields).toMatchObject({
      message_id: records[0]!.messageId,
      block_id: chain.at(1n).hash,
      block_height: 1n,
      fence: 5n,
      generation: leader.generation,
      steps: '1..1',
      tx_hash: pay.id,
    });
    expect(logger.events(LogEvent.paymentConfirmed)[0]!.fields).toMatchObject({
      message_id: records[1]!.messageId,
      block_id: chain.at(3n).hash,
      first_block_id: chain.at(2n).hash,
      steps: '2..3',
    });
    expect(postponed).toEqual([]);
  });

  it("acknowledges a deposed leader's messages, and those of an older generation, once a new leader fenced the database", async () => {
    const b1 = chain.next();
    const b2 = chain.next();
    const deposed = leader;
    await processChainEventBatch(batch(message(chain.forward([b1]), deposed)), core);
    const newLeader = await fence(6n);

    const staleFence = message(chain.forward([b2]), deposed);
    const staleGeneration = message(chain.forward([b2]), { fence: 9n, generation: leader.generation - 1n });
    const current = message(chain.forward([b2]), newLeader);
    const response = await processChainEventBatch(batch(staleFence, staleGeneration, current), core);

    expect(failedIds(response)).toEqual([]); // stale messages are deleted from the queue, not retried
    expect(await appliedHeight()).toBe(2n);
    expect(logger.events(LogEvent.staleEventDropped).map((entry) => entry.fields.message_id)).toEqual([
      staleFence.messageId,
      staleGeneration.messageId,
    ]);
    expect(f.metrics.snapshot().counters.stale_events_dropped).toBe(2);
    expect(await recoveries()).toEqual([]);
  });

  it('acknowledges a message delivered twice without applying it twice, even after a fork moved the chain on', async () => {
    const pay = message(chain.forward([chain.next([transaction([output(alice, 7_000_000n)])])]));
    const rollback = message(chain.backward(0n));
    const forward = message(chain.forward([chain.next()]));
    expect(failedIds(await processChainEventBatch(batch(pay, rollback, forward), core))).toEqual([]);
    // The rollback again, late: applied once more it would undo the block that followed it.
    const response = await processChainEventBatch(batch(again(rollback), again(pay)), core);
    expect(failedIds(response)).toEqual([]);
    expect(await appliedHeight()).toBe(2n);
    expect(logger.events(LogEvent.duplicateEventDropped)).toHaveLength(2);
    expect(f.metrics.snapshot().counters.duplicate_events_dropped).toBe(2);
  });

  it('sets a poison message aside with its body and reason, acknowledges it and the stale records behind it, and the leader follows again', async () => {
    const first = message(chain.forward([chain.next()]));
    const body = '{"version":2,"network":"mainnet","generation":"1","fence":5,"steps":{"first":"2","last":"2"},"event":{}}';
    const poison = record(body, { receiveCount: 1 });
    const second = message(chain.forward([chain.next()]));
    const third = message(chain.forward([chain.next()]));
    const response = await processChainEventBatch(batch(first, poison, second, third), core);

    expect(failedIds(response)).toEqual([]); // nothing is left to drag valid events into the DLQ
    expect(postponed).toEqual([]);
    expect(await appliedHeight()).toBe(1n);
    const [entry] = logger.events(ProcessorLogEvent.poisonMessage);
    expect(entry).toMatchObject({ level: 'error', fields: { message_id: poison.messageId, path: '$.fence', receive_count: 1 } });
    expect(String(entry!.fields.reason)).toContain('expected an unsigned integer as a decimal string');
    expect(f.metrics.snapshot().counters[ProcessorMetric.poisonMessages]).toBe(1);
    expect(await recoveries()).toEqual([
      expect.objectContaining({ kind: 'poison', message_id: poison.messageId, message_body: body, generation_to: leader.generation + 1n }),
    ]);
    expect(logger.events(LogEvent.pipelineRecovered)[0]!.fields).toMatchObject({ kind: 'poison', generation_to: leader.generation + 1n });
    // The rest of the old session is stale now: acknowledged, not applied.
    expect(logger.events(LogEvent.staleEventDropped).map((e) => e.fields.message_id)).toEqual([second.messageId, third.messageId]);

    // The leader sees the new generation and follows again from the database's points: its steps start at 1.
    const again = await fence(5n);
    expect(again.generation).toBe(leader.generation + 1n);
    expect(
      failedIds(
        await processChainEventBatch(
          batch(message(chain.backward(1n), again), message(chain.forward([chain.at(2n), chain.at(3n)]), again)),
          core,
        ),
      ),
    ).toEqual([]);
    expect(await appliedHeight()).toBe(3n);
  });

  it('sets aside a message for another network, and an unreadable first record, without failing the batch', async () => {
    const foreign = message(chain.forward([chain.next()]), leader, 'preprod');
    expect(failedIds(await processChainEventBatch(batch(foreign), core))).toEqual([]);
    expect(logger.events(ProcessorLogEvent.poisonMessage)[0]!.fields).toMatchObject({ path: '$.network' });
    const response = await processChainEventBatch(batch(record('not json'), message(chain.forward([chain.next()]))), core);
    expect(response.batchItemFailures).toEqual([]);
    expect((await recoveries()).map((row) => row.kind)).toEqual(['poison', 'poison']);
  });

  it("drops a message of another release (the deploy's window) without a recovery, however many arrive", async () => {
    await processChainEventBatch(batch(message(chain.forward([chain.next()]))), core);
    const oldRelease = (event: ChainEvent) =>
      record(
        JSON.stringify({
          version: 1,
          network: 'mainnet',
          generation: String(leader.generation),
          fence: '5',
          event: JSON.parse(encodeChainEventMessage({ version: 2, network: 'mainnet', ...leader, steps: { first: 1n, last: 1n }, event }))
            .event,
        }),
      );
    const records = [0, 1, 2, 3, 4].map(() => oldRelease(chain.forward([chain.next()])));
    expect(failedIds(await processChainEventBatch(batch(...records), core))).toEqual([]);
    expect(logger.events(ProcessorLogEvent.otherReleaseMessage)).toHaveLength(5);
    expect(logger.events(ProcessorLogEvent.otherReleaseMessage)[0]).toMatchObject({ level: 'error', fields: { version: 1 } });
    expect(f.metrics.snapshot().counters[ProcessorMetric.otherReleaseMessagesDropped]).toBe(5);
    expect(await recoveries()).toEqual([]);
    expect(await syncState()).toMatchObject({ generation: leader.generation, halted_reason: null });
    expect(await appliedHeight()).toBe(1n);
  });

  it('recovers from a message whose steps come after missing ones, and from a block that does not extend the chain', async () => {
    const [b1, b2, b3] = [chain.next(), chain.next(), chain.next()];
    await processChainEventBatch(batch(message(chain.forward([b1!]))), core);
    message(chain.forward([b2!])); // step 2: lost (never delivered)
    const gap = message(chain.forward([b3!]));
    expect(failedIds(await processChainEventBatch(batch(gap), core))).toEqual([]);
    expect(await recoveries()).toEqual([
      expect.objectContaining({ kind: 'divergence', reason: 'steps 3 follow step 1: steps 2 are missing', message_id: gap.messageId }),
    ]);

    const session = await fence(5n);
    const notExtending = message(chain.forward([b3!]), session); // height 3 on top of height 1
    expect(failedIds(await processChainEventBatch(batch(notExtending), core))).toEqual([]);
    expect((await recoveries())[1]).toMatchObject({ kind: 'divergence', reason: expect.stringContaining('cannot be applied') });
    expect(logger.events(ProcessorLogEvent.messageFailed)).toHaveLength(0);
    expect(await appliedHeight()).toBe(1n);
  });

  it(`halts after ${HALT_AFTER_RECOVERIES_WITHOUT_PROGRESS} recoveries without progress, applies nothing until resumed, then follows again`, async () => {
    await processChainEventBatch(batch(message(chain.forward([chain.next()]))), core);
    for (let n = 0; n < HALT_AFTER_RECOVERIES_WITHOUT_PROGRESS; n++) {
      const session = await fence(5n);
      expect(
        failedIds(await processChainEventBatch(batch(record('poison, again'), message(chain.forward([chain.next()]), session)), core)),
      ).toEqual([]);
      chain.blocks.pop();
    }
    expect((await syncState()).halted_reason).toMatch(/^3 recoveries in a row without the engine getting past height 1; the last: poison/);
    expect(logger.events(LogEvent.pipelineHalted)).toHaveLength(1);
    expect(logger.events(LogEvent.pipelineHalted)[0]!.level).toBe('critical');

    const whileHalted = await fence(5n);
    const payment = message(chain.forward([chain.next([transaction([output(alice, 3_000_000n)])])]), whileHalted);
    expect(failedIds(await processChainEventBatch(batch(payment), core))).toEqual([]);
    expect(await appliedHeight()).toBe(1n);
    // the record behind the halting one, and this one
    expect(logger.events(LogEvent.pipelineHaltedMessageDropped)).toHaveLength(2);
    expect(f.metrics.snapshot().gauges.pipeline_halted).toBe(1);

    const store = new PostgresPipelineRecoveryStore(f.db.pool);
    const resumed = await store.resume('operator:test');
    expect(resumed).toMatchObject({ resumed: true });
    expect(await store.resume('operator:test')).toEqual({ resumed: false });
    expect((await recoveries()).map((row) => row.kind)).toEqual(['poison', 'poison', 'poison', 'halted', 'resumed']);
    const afterResume = await fence(5n);
    expect(failedIds(await processChainEventBatch(batch(message(chain.forward([chain.at(2n)]), afterResume)), core))).toEqual([]);
    expect(await appliedHeight()).toBe(2n);
  });

  it('fails a record for a transient reason, with every record behind it, and postpones them by how long they have been failing', async () => {
    const first = message(chain.forward([chain.next()]));
    const fresh = message(chain.forward([chain.next()]));
    const older = record(message(chain.forward([chain.next()])).body, { receiveCount: 40, failingForSeconds: 600 });
    let outage = true;
    const flaky: ProcessorCoreOptions = {
      ...core,
      engine: {
        apply: (event, stamp) => {
          if (outage && stamp?.steps.first === 2n) return Promise.reject(new Error('Connection terminated unexpectedly'));
          return core.engine.apply(event, stamp);
        },
      },
    };
    const response = await processChainEventBatch(batch(first, fresh, older), flaky);
    expect(failedIds(response)).toEqual([fresh.messageId, older.messageId]);
    expect(postponed.map(({ messageId, delaySeconds }) => ({ messageId, delaySeconds }))).toEqual([
      { messageId: fresh.messageId, delaySeconds: 5 },
      { messageId: older.messageId, delaySeconds: 60 },
    ]);
    expect(postponed[0]).toMatchObject({ receiptHandle: fresh.receiptHandle, eventSourceArn: fresh.eventSourceARN });
    expect(logger.events(ProcessorLogEvent.messageFailed)[0]!.fields).toMatchObject({ message_id: fresh.messageId, transient: true });
    expect(logger.events(ProcessorLogEvent.batchProcessed)[0]!.fields).toMatchObject({
      records: 3,
      applied: 1,
      returned_to_queue: 2,
      retry_in_seconds: 5,
    });
    expect(await recoveries()).toEqual([]);

    outage = false;
    expect(failedIds(await processChainEventBatch(batch(fresh, older), flaky))).toEqual([]);
    expect(await appliedHeight()).toBe(3n);
  });

  it('sets aside a message whose values PostgreSQL refuses (a data exception): retrying could never help', async () => {
    const refused = message(chain.forward([chain.next()]));
    const failing: ProcessorCoreOptions = {
      ...core,
      engine: {
        apply: () =>
          Promise.reject(Object.assign(new Error('value "9223372036854775808" is out of range for type bigint'), { code: '22003' })),
      },
    };
    expect(failedIds(await processChainEventBatch(batch(refused), failing))).toEqual([]);
    expect(await recoveries()).toEqual([
      expect.objectContaining({
        kind: 'poison',
        reason: expect.stringContaining('PostgreSQL refused a value'),
        message_body: refused.body,
      }),
    ]);
    expect(logger.events(ProcessorLogEvent.poisonMessage)).toEqual([
      expect.objectContaining({
        level: 'error',
        fields: expect.objectContaining({ reason: expect.stringContaining('out of range'), body_start: refused.body.slice(0, 200) }),
      }),
    ]);
  });

  it('keeps the recovery itself transient: when the database cannot record it, the record fails and is retried', async () => {
    const poison = record('{');
    const unreachable: ProcessorCoreOptions = {
      ...core,
      recovery: { recover: () => Promise.reject(new Error('connect ECONNREFUSED')), resume: core.recovery.resume },
    };
    expect(failedIds(await processChainEventBatch(batch(poison), unreachable))).toEqual([poison.messageId]);
    expect(postponed).toHaveLength(1);
    expect(failedIds(await processChainEventBatch(batch(poison), core))).toEqual([]);
    expect(await recoveries()).toHaveLength(1);
  });
});

describe('processor core with claim checks (local-aws-sqs and s3rver)', () => {
  let sqs: LocalSqs;
  let s3: LocalS3;
  let store: S3ClaimCheckStore;

  beforeAll(async () => {
    [sqs, s3] = await Promise.all([startLocalSqs(), startLocalS3()]);
    await s3.createBucket(BUCKET);
    await s3.createBucket('elsewhere');
    store = new S3ClaimCheckStore({ s3: s3.client, bucket: BUCKET });
  });
  afterAll(async () => Promise.all([sqs?.close(), s3?.close()]));

  /** Emits through SQS and returns the batch the event source would hand to the processor. */
  async function throughQueue(events: ChainEvent[]): Promise<SQSEvent> {
    const queueUrl = await sqs.createFifoQueue(`processor-${++messageCounter}`);
    const emitter = new SqsChainEventEmitter({
      sqs: sqs.client,
      queueUrl,
      network: 'mainnet',
      claimChecks: store,
      logger: new RecordingLogger(),
    });
    await emitter.emit(events, { ...leader, firstStep: nextStep.get(`${leader.generation}/${leader.fence}`) ?? 1n });
    nextStep.set(
      `${leader.generation}/${leader.fence}`,
      (nextStep.get(`${leader.generation}/${leader.fence}`) ?? 1n) + BigInt(events.reduce((sum, event) => sum + stepsOf(event), 0)),
    );
    return toSqsEvent(await drainQueue(sqs.client, queueUrl));
  }

  /** A block over SQS's 1 MiB once encoded (14,000 outputs of ~95 bytes), one output paying alice. */
  function hugeBlock() {
    const outputs = Array.from({ length: 14_000 }, (_, i) => output(syntheticAddress('mainnet', `crowd-${i}`), 1_000_000n + BigInt(i)));
    outputs[4_321] = output(alice, 42_000_000n);
    const block = chain.next([transaction(outputs)]);
    expect(Buffer.byteLength(encodeBlock(block))).toBeGreaterThan(1_048_576);
    return block;
  }

  it('fetches a claim-checked block from S3, verifies it and applies it in order', async () => {
    const event = await throughQueue([
      chain.forward([chain.next()]),
      chain.forward([hugeBlock()]),
      chain.forward([chain.next(), chain.next()]),
    ]);
    expect(event.Records.map((r) => decodeQueueMessageBody(r.body).kind)).toEqual(['event', 'claimCheck', 'event']);

    const response = await processChainEventBatch(event, { ...core, claimChecks: store });
    expect(failedIds(response)).toEqual([]);
    expect(await appliedHeight()).toBe(4n);
    expect(await balance('user-alice')).toBe(42_000_000n);
  });

  it('sets aside a tampered claim-check payload as poison; the records after it are of a session that is over', async () => {
    const event = await throughQueue([chain.forward([hugeBlock()]), chain.forward([chain.next()])]);
    const pointer = JSON.parse(event.Records[0]!.body) as { claimCheck: { bucket: string; key: string } };
    // Same size, one digit changed: only the SHA-256 can tell.
    const { Body } = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: pointer.claimCheck.key }));
    const tampered = (await Body!.transformToString()).replace('"42000000"', '"92000000"');
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: pointer.claimCheck.key, Body: tampered }));

    const response = await processChainEventBatch(event, { ...core, claimChecks: store });
    expect(failedIds(response)).toEqual([]);
    expect(String(logger.events(ProcessorLogEvent.poisonMessage)[0]!.fields.reason)).toMatch(
      /content has SHA-256 [0-9a-f]{64}, the pointer says/,
    );
    expect(await appliedHeight()).toBeNull();
    // The pointer's attributes name the session, so the recovery knows it was the current one.
    expect(await recoveries()).toEqual([
      expect.objectContaining({ kind: 'poison', generation: leader.generation, generation_to: leader.generation + 1n }),
    ]);
    expect(logger.events(LogEvent.staleEventDropped).map((e) => e.fields.message_id)).toEqual([event.Records[1]!.messageId]);
  });

  it('sets aside a claim check whose object is gone (S3 never brings it back), and fails while S3 cannot be reached', async () => {
    const event = await throughQueue([chain.forward([hugeBlock()])]);
    const pointer = JSON.parse(event.Records[0]!.body) as { claimCheck: { key: string } };
    const unreachable = new S3ClaimCheckStore({
      s3: { send: () => Promise.reject(Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError' })) },
      bucket: BUCKET,
    });
    expect(failedIds(await processChainEventBatch(event, { ...core, claimChecks: unreachable }))).toEqual([event.Records[0]!.messageId]);
    expect(await recoveries()).toEqual([]);

    await s3.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: pointer.claimCheck.key }));
    expect(failedIds(await processChainEventBatch(event, { ...core, claimChecks: store }))).toEqual([]);
    expect(await recoveries()).toEqual([
      expect.objectContaining({ kind: 'poison', reason: expect.stringContaining('the object does not exist') }),
    ]);
  });

  it('sets aside a pointer to another bucket; fails a claim check when no bucket is configured (a configuration to fix)', async () => {
    const forged = record(encodeClaimCheckPointer({ bucket: 'elsewhere', key: 'x.json', sha256: '0'.repeat(64), bytes: 10 }));
    await processChainEventBatch(batch(forged), { ...core, claimChecks: store });
    expect(String(logger.events(ProcessorLogEvent.poisonMessage)[0]!.fields.reason)).toContain(
      'points outside the claim-check bucket claim-checks',
    );

    const { claimChecks: _none, ...withoutBucket } = { ...core, claimChecks: undefined };
    const response = await processChainEventBatch(batch(forged), withoutBucket);
    expect(failedIds(response)).toEqual([forged.messageId]);
    expect(String((logger.events(ProcessorLogEvent.messageFailed)[0]!.fields.error as Error).message)).toContain('no CLAIM_CHECK_BUCKET');
  });
});
