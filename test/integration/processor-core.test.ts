/**
 * The processor's core on a real PostgreSQL (one database per test), fed with SQS FIFO batches as the Lambda
 * event source delivers them: built directly for the ordering and failure cases, and taken from local-aws-sqs
 * after a real emission for the claim-check case (s3rver as S3).
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChainEvent } from '../../functions/domain/chain.js';
import { decodeQueueMessageBody, encodeBlock, encodeChainEventMessage, encodeClaimCheckPointer } from '../../functions/domain/chain-event-message.js';
import type { Network } from '../../functions/domain/network.js';
import { LogEvent } from '../../functions/domain/observability.js';
import { PaymentEngine } from '../../functions/domain/payment-engine.js';
import { SqsChainEventEmitter } from '../../functions/adapters/sqs/chain-event-emitter.js';
import { S3ClaimCheckStore } from '../../functions/adapters/s3/claim-check-store.js';
import { processChainEventBatch, ProcessorLogEvent, ProcessorMetric, type ProcessorCoreOptions } from '../../functions/handlers/processor-core.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { createEngineFixture, type EngineFixture } from '../support/engine-fixture.js';
import { drainQueue, startLocalS3, startLocalSqs, toSqsEvent, type LocalS3, type LocalSqs } from '../support/local-aws.js';
import { CorrelatingRecordingLogger, RecordingLogger } from '../support/recorders.js';

const alice = syntheticAddress('mainnet', 'alice');
const BUCKET = 'claim-checks';
const LEADER = { fence: 5n, generation: 1n };


let f: EngineFixture;
let logger: CorrelatingRecordingLogger;
let core: ProcessorCoreOptions;
let chain: ChainBuilder;
let messageCounter = 0;

beforeEach(async () => {
  f = await createEngineFixture({ confirmations: 3 });
  await f.registry.register([{ address: alice, referenceType: 'deposit', referenceId: 'acct-alice', userId: 'user-alice' }], 'test');
  logger = new CorrelatingRecordingLogger();
  // The engine logs through the same logger, so its lines carry the record's correlation keys.
  const engine = new PaymentEngine({ store: f.store, logger, metrics: f.metrics, clock: f.clock, network: 'mainnet', confirmations: 3 });
  core = { engine, network: 'mainnet', logger, metrics: f.metrics };
  chain = new ChainBuilder();
});
afterEach(async () => f.db.drop());

function record(body: string, receiveCount = 1): SQSRecord {
  const messageId = `message-${++messageCounter}`;
  return {
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '0',
      SenderId: 'follower',
      ApproximateFirstReceiveTimestamp: '0',
      MessageGroupId: 'mainnet',
      MessageDeduplicationId: messageId,
      SequenceNumber: String(messageCounter),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:chain-events.fifo',
    awsRegion: 'us-east-1',
  };
}

function message(event: ChainEvent, stamp = LEADER, network: Network = 'mainnet'): SQSRecord {
  return record(encodeChainEventMessage({ version: 1, network, ...stamp, event }));
}

const batch = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
const failedIds = (response: { batchItemFailures: { itemIdentifier: string }[] }) => response.batchItemFailures.map((item) => item.itemIdentifier);

async function appliedHeight(): Promise<bigint | null> {
  const { rows } = await f.db.pool.query<{ last_block_height: bigint | null }>('SELECT last_block_height FROM sync_state');
  return rows[0]!.last_block_height;
}

async function balance(userId: string): Promise<bigint | undefined> {
  const { rows } = await f.db.pool.query<{ balance_lovelace: bigint }>('SELECT balance_lovelace FROM user_balances WHERE user_id = $1', [userId]);
  return rows[0]?.balance_lovelace;
}

describe('processor core', () => {
  it('applies a batch in order and credits a payment once it is confirmed, every log line correlated by block', async () => {
    const pay = transaction([output(alice, 25_000_000n)]);
    const records = [message(chain.forward([chain.next([pay])])), message(chain.forward([chain.next(), chain.next()])), message(chain.forward([chain.next()]))];
    const response = await processChainEventBatch(batch(...records), core);

    expect(failedIds(response)).toEqual([]);
    expect(await appliedHeight()).toBe(4n);
    expect(await balance('user-alice')).toBe(25_000_000n);
    expect(logger.events(LogEvent.paymentDetected)[0]!.fields).toMatchObject({
      message_id: records[0]!.messageId,
      block_id: chain.at(1n).hash,
      block_height: 1n,
      fence: 5n,
      generation: 1n,
      tx_hash: pay.id,
    });
    expect(logger.events(LogEvent.paymentConfirmed)[0]!.fields).toMatchObject({
      message_id: records[1]!.messageId,
      block_id: chain.at(3n).hash,
      first_block_id: chain.at(2n).hash,
    });
  });

  it('acknowledges and drops a message of a deposed leader or an older generation', async () => {
    const b1 = chain.next();
    const b2 = chain.next();
    await processChainEventBatch(batch(message(chain.forward([b1]), { fence: 6n, generation: 2n })), core);

    const staleFence = message(chain.forward([b2]), { fence: 5n, generation: 2n });
    const staleGeneration = message(chain.forward([b2]), { fence: 9n, generation: 1n });
    const current = message(chain.forward([b2]), { fence: 6n, generation: 2n });
    const response = await processChainEventBatch(batch(staleFence, staleGeneration, current), core);

    expect(failedIds(response)).toEqual([]); // stale messages are deleted from the queue, not retried
    expect(await appliedHeight()).toBe(2n);
    expect(logger.events(LogEvent.staleEventDropped).map((entry) => entry.fields.message_id)).toEqual([staleFence.messageId, staleGeneration.messageId]);
    expect(f.metrics.snapshot().counters.stale_events_dropped).toBe(2);
  });

  it('fails a poison message and every record after it, logging why, so order holds and it reaches the DLQ', async () => {
    const first = message(chain.forward([chain.next()]));
    const poison = record('{"version":1,"network":"mainnet","generation":"1","fence":5,"event":{}}', 4);
    const second = message(chain.forward([chain.next()]));
    const third = message(chain.forward([chain.next()]));
    const response = await processChainEventBatch(batch(first, poison, second, third), core);

    expect(failedIds(response)).toEqual([poison.messageId, second.messageId, third.messageId]);
    expect(await appliedHeight()).toBe(1n); // nothing after the poison message was applied
    const [entry] = logger.events(ProcessorLogEvent.poisonMessage);
    expect(entry).toMatchObject({ level: 'error', fields: { message_id: poison.messageId, path: '$.fence', receive_count: 4 } });
    expect(String(entry!.fields.reason)).toContain('expected an unsigned integer as a decimal string');
    expect(f.metrics.snapshot().counters[ProcessorMetric.poisonMessages]).toBe(1);
    expect(logger.events(ProcessorLogEvent.batchProcessed)[0]!.fields).toMatchObject({ records: 4, applied: 1, returned_to_queue: 3 });

    // Once the poison message has moved to the DLQ, the rest is delivered again, in order.
    expect(failedIds(await processChainEventBatch(batch(second, third), core))).toEqual([]);
    expect(await appliedHeight()).toBe(3n);
  });

  it('reports a batch whose first record fails as entirely failed, without throwing', async () => {
    const response = await processChainEventBatch(batch(record('not json'), message(chain.forward([chain.next()]))), core);
    expect(response.batchItemFailures).toHaveLength(2);
    expect(await appliedHeight()).toBeNull();
  });

  it('treats a message for another network as poison', async () => {
    const foreign = message(chain.forward([chain.next()]), LEADER, 'preprod');
    const response = await processChainEventBatch(batch(foreign), core);
    expect(failedIds(response)).toEqual([foreign.messageId]);
    expect(logger.events(ProcessorLogEvent.poisonMessage)[0]!.fields).toMatchObject({ path: '$.network' });
  });

  it('fails a block that does not extend the chain (not poison: the engine refuses it) and keeps the rest queued', async () => {
    const [b1, , b3, b4] = [chain.next(), chain.next(), chain.next(), chain.next()];
    await processChainEventBatch(batch(message(chain.forward([b1!]))), core);
    const gap = message(chain.forward([b3!])); // height 3 on top of height 1
    const after = message(chain.forward([b4!]));
    const response = await processChainEventBatch(batch(gap, after), core);
    expect(failedIds(response)).toEqual([gap.messageId, after.messageId]);
    const [failure] = logger.events(ProcessorLogEvent.messageFailed);
    expect(failure).toMatchObject({ level: 'error', fields: { message_id: gap.messageId, block_height: 3n } });
    expect(String((failure!.fields.error as Error).message)).toContain('cannot be applied');
    expect(logger.events(ProcessorLogEvent.poisonMessage)).toHaveLength(0);
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
    const emitter = new SqsChainEventEmitter({ sqs: sqs.client, queueUrl, network: 'mainnet', claimChecks: store, logger: new RecordingLogger() });
    await emitter.emit(events, LEADER);
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
    const event = await throughQueue([chain.forward([chain.next()]), chain.forward([hugeBlock()]), chain.forward([chain.next(), chain.next()])]);
    expect(event.Records.map((r) => decodeQueueMessageBody(r.body).kind)).toEqual(['event', 'claimCheck', 'event']);

    const response = await processChainEventBatch(event, { ...core, claimChecks: store });
    expect(failedIds(response)).toEqual([]);
    expect(await appliedHeight()).toBe(4n);
    expect(await balance('user-alice')).toBe(42_000_000n);
  });

  it('refuses a tampered claim-check payload as poison, and everything after it', async () => {
    const event = await throughQueue([chain.forward([hugeBlock()]), chain.forward([chain.next()])]);
    const pointer = JSON.parse(event.Records[0]!.body) as { claimCheck: { bucket: string; key: string } };
    // Same size, one digit changed: only the SHA-256 can tell.
    const { Body } = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: pointer.claimCheck.key }));
    const tampered = (await Body!.transformToString()).replace('"42000000"', '"92000000"');
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: pointer.claimCheck.key, Body: tampered }));

    const response = await processChainEventBatch(event, { ...core, claimChecks: store });
    expect(failedIds(response)).toEqual(event.Records.map((r) => r.messageId));
    expect(String(logger.events(ProcessorLogEvent.poisonMessage)[0]!.fields.reason)).toMatch(/content has SHA-256 [0-9a-f]{64}, the pointer says/);
    expect(await appliedHeight()).toBeNull();
  });

  it('refuses a pointer to another bucket, and a claim check when no bucket is configured', async () => {
    const forged = record(encodeClaimCheckPointer({ bucket: 'elsewhere', key: 'x.json', sha256: '0'.repeat(64), bytes: 10 }));
    await processChainEventBatch(batch(forged), { ...core, claimChecks: store });
    expect(String(logger.events(ProcessorLogEvent.poisonMessage)[0]!.fields.reason)).toContain('points outside the claim-check bucket claim-checks');

    const response = await processChainEventBatch(batch(forged), core);
    expect(failedIds(response)).toEqual([forged.messageId]);
    expect(String((logger.events(ProcessorLogEvent.messageFailed)[0]!.fields.error as Error).message)).toContain('no CLAIM_CHECK_BUCKET');
  });
});
