/**
 * The follower's SQS FIFO emitter against local-aws-sqs (and s3rver for claim checks).
 *
 * About local-aws-sqs's deduplication: it drops a message whose deduplication id matches one *still in the
 * queue*, while SQS remembers ids for 5 minutes whether or not the message was deleted. The deduplication tests
 * therefore send the duplicates before draining the queue, which is the case the emitter relies on (a retry
 * after an ambiguous send, seconds later).
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import {
  QueueDoesNotExist,
  type Message,
  type SendMessageBatchCommandInput,
  type SendMessageBatchCommandOutput,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainBlock, ChainEvent } from '../../functions/domain/chain.js';
import { decodeChainEventMessage, decodeQueueMessageBody, type ChainEventMessage } from '../../functions/domain/chain-event-message.js';
import { SqsChainEventEmitter } from '../../functions/adapters/sqs/chain-event-emitter.js';
import type { EmissionStamp } from '../../functions/domain/chain-event-emitter.js';
import { SqsEmissionError } from '../../functions/adapters/sqs/fifo-batch-sender.js';
import { SenderLogEvent } from '../../functions/domain/observability.js';
import { MAX_SQS_MESSAGE_BYTES } from '../../functions/adapters/sqs/message-planner.js';
import { readEmitterSettings } from '../../functions/config/follower-settings.js';
import { S3ClaimCheckStore } from '../../functions/adapters/s3/claim-check-store.js';
import { ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { drainQueue, startLocalS3, startLocalSqs, type LocalS3, type LocalSqs } from '../support/local-aws.js';
import { RecordingLogger } from '../support/recorders.js';

const BUCKET = 'claim-checks';
/** A session's stamp for an emission whose first event holds step 1. */
const STAMP: EmissionStamp = { fence: 7n, generation: 2n, firstStep: 1n };
const FAST_RETRY = { maxAttempts: 3, initialDelayMs: 5, maxDelayMs: 20 };
const ADDRESS = `addr1${'q'.repeat(98)}`;

let sqs: LocalSqs;
let s3: LocalS3;
let queueCounter = 0;

beforeAll(async () => {
  [sqs, s3] = await Promise.all([startLocalSqs(), startLocalS3()]);
  await s3.createBucket(BUCKET);
});

afterAll(async () => {
  await Promise.all([sqs?.close(), s3?.close()]);
});

interface Harness {
  queueUrl: string;
  client: SQSClient;
  emitter: SqsChainEventEmitter;
  logger: RecordingLogger;
  /** Every SendMessageBatch request, as sent. */
  requests: SendMessageBatchCommandInput[];
  drain(): Promise<{ message: Message; body: ChainEventMessage }[]>;
}

async function harness(options: { client?: SQSClient; maxBlocksPerMessage?: number } = {}): Promise<Harness> {
  const queueUrl = await sqs.createFifoQueue(`chain-events-${++queueCounter}`);
  const client = options.client ?? sqs.createClient();
  const requests: SendMessageBatchCommandInput[] = [];
  // Observes (never changes) what the emitter sends.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'SendMessageBatchCommand') requests.push(structuredClone(args.input as SendMessageBatchCommandInput));
      return next(args);
    },
    { step: 'initialize', name: 'recordRequests', priority: 'high' },
  );
  const logger = new RecordingLogger();
  const claimChecks = new S3ClaimCheckStore({ s3: s3.client, bucket: BUCKET });
  const emitter = new SqsChainEventEmitter({
    sqs: client,
    queueUrl,
    network: 'mainnet',
    claimChecks,
    logger,
    retry: FAST_RETRY,
    maxBlocksPerMessage: options.maxBlocksPerMessage,
  });
  return {
    queueUrl,
    client,
    emitter,
    logger,
    requests,
    async drain() {
      const messages = await drainQueue(sqs.client, queueUrl);
      return Promise.all(messages.map(async (message) => ({ message, body: await readBody(message.Body!) })));
    },
  };
}

/** The message a body carries, following a claim check to S3 and verifying it. */
async function readBody(text: string): Promise<ChainEventMessage> {
  const body = decodeQueueMessageBody(text);
  if (body.kind === 'event') return body.message;
  return decodeChainEventMessage(await new S3ClaimCheckStore({ s3: s3.client, bucket: BUCKET }).fetch(body.pointer));
}

function heightsOf(messages: { body: ChainEventMessage }[]): (string | bigint[])[] {
  return messages.map(({ body: { event } }) =>
    event.type === 'rollForward'
      ? event.blocks.map((block) => block.height)
      : `back to ${event.point === 'origin' ? 'origin' : event.point.slot}`,
  );
}

/** A block with `outputs` outputs of about 150 bytes each once encoded. */
function blockOfSize(chain: ChainBuilder, outputs: number): ChainBlock {
  return chain.next([transaction(Array.from({ length: outputs }, (_, i) => output(ADDRESS, 1_000_000n + BigInt(i))))]);
}

/** Makes SendMessageBatch report the entries at these positions of its first call as failed, without sending them. */
function failEntriesOnce(client: SQSClient, positions: (entries: number) => number[]): void {
  let failed = false;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (failed || context.commandName !== 'SendMessageBatchCommand') return next(args);
      failed = true;
      const input = args.input as SendMessageBatchCommandInput;
      const entries = input.Entries ?? [];
      const failing = new Set(positions(entries.length).map((position) => entries[position]!.Id));
      const result = await next({ ...args, input: { ...input, Entries: entries.filter((entry) => !failing.has(entry.Id)) } });
      const output = result.output as SendMessageBatchCommandOutput;
      output.Failed = [
        ...(output.Failed ?? []),
        ...[...failing].map((Id) => ({ Id, Code: 'InternalError', Message: 'injected by the test', SenderFault: false })),
      ];
      return result;
    },
    { step: 'initialize', name: 'failEntriesOnce' },
  );
}

describe('SQS FIFO emission', () => {
  it('delivers events in order in one message group, each stamped with version, fence, generation, steps and type', async () => {
    const h = await harness();
    const chain = new ChainBuilder();
    // At the tip the follower emits each event as it comes; each holds the next step of the session.
    for (let i = 0; i < 12; i++) await h.emitter.emit([chain.forward([chain.next()])], { ...STAMP, firstStep: BigInt(i + 1) });
    await h.emitter.emit([chain.backward(10n)], { ...STAMP, firstStep: 13n });

    const delivered = await h.drain();
    expect(heightsOf(delivered)).toEqual([...Array.from({ length: 12 }, (_, i) => [BigInt(i + 1)]), `back to ${chain.at(10n).slot}`]);
    for (const [index, { message, body }] of delivered.entries()) {
      const step = BigInt(index + 1);
      expect(message.Attributes?.MessageGroupId).toBe('mainnet');
      expect(body).toMatchObject({ version: 2, network: 'mainnet', fence: 7n, generation: 2n, steps: { first: step, last: step } });
      expect(message.MessageAttributes).toMatchObject({
        version: { DataType: 'Number', StringValue: '2' },
        fence: { DataType: 'Number', StringValue: '7' },
        generation: { DataType: 'Number', StringValue: '2' },
        steps: { DataType: 'String', StringValue: `${step}..${step}` },
        type: { DataType: 'String', StringValue: body.event.type },
      });
    }
  });

  it('numbers the steps of merged messages by block, a rollback being one step', async () => {
    const h = await harness({ maxBlocksPerMessage: 2 });
    const chain = new ChainBuilder();
    const forward = [chain.forward([chain.next()]), chain.forward([chain.next()]), chain.forward([chain.next()])];
    await h.emitter.emit([...forward, chain.backward(2n), chain.forward([chain.next()])], { ...STAMP, firstStep: 40n });
    const delivered = await h.drain();
    expect(delivered.map(({ body }) => [body.steps.first, body.steps.last])).toEqual([
      [40n, 41n],
      [42n, 42n],
      [43n, 43n],
      [44n, 44n],
    ]);
  });

  it('deduplicates a re-send of the same events, but not a new leader’s re-send (higher fence)', async () => {
    const h = await harness();
    const chain = new ChainBuilder();
    const first = chain.forward([chain.next(), chain.next()]);
    const fork = chain.fork('b', 1n);
    const events: ChainEvent[] = [first, fork.backward(1n), fork.forward([fork.next()])];
    await h.emitter.emit(events, STAMP);
    await h.emitter.emit(events, STAMP); // a retry after an ambiguous send
    expect(heightsOf(await h.drain())).toEqual([[1n, 2n], `back to ${chain.at(1n).slot}`, [2n]]);

    await h.emitter.emit(events, STAMP);
    await h.emitter.emit(events, { ...STAMP, fence: STAMP.fence + 1n }); // the next leader sends the same blocks
    const delivered = await h.drain();
    expect(delivered.map(({ body }) => body.fence)).toEqual([7n, 7n, 7n, 8n, 8n, 8n]);
  });

  it('survives a send whose response was lost: the retry is deduplicated, nothing is delivered twice', async () => {
    const client = sqs.createClient();
    let lost = false;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (!lost && context.commandName === 'SendMessageBatchCommand') {
          lost = true;
          throw Object.assign(new Error('socket hang up (injected after SQS accepted the batch)'), { name: 'TimeoutError' });
        }
        return result;
      },
      { step: 'initialize', name: 'loseResponseOnce' },
    );
    const h = await harness({ client });
    const chain = new ChainBuilder();
    await h.emitter.emit([chain.forward([chain.next()]), chain.forward([chain.next()]), chain.backward(1n)], STAMP);

    expect(h.requests).toHaveLength(2);
    expect(h.logger.events(SenderLogEvent.retry)).toHaveLength(1);
    expect(heightsOf(await h.drain())).toEqual([[1n, 2n], `back to ${chain.at(1n).slot}`]);
  });

  it('batches catch-up into few messages: many small blocks share one, up to the block limit', async () => {
    const h = await harness({ maxBlocksPerMessage: 500 });
    const chain = new ChainBuilder();
    const events = Array.from({ length: 1_800 }, () => chain.forward([chain.next()]));
    await h.emitter.emit(events, STAMP);

    expect(h.requests).toHaveLength(1);
    expect(h.requests[0]!.Entries).toHaveLength(4);
    const delivered = await h.drain();
    expect(delivered.map(({ body }) => (body.event.type === 'rollForward' ? body.event.blocks.length : 0))).toEqual([500, 500, 500, 300]);
    expect(
      delivered.flatMap(({ body }) => (body.event.type === 'rollForward' ? body.event.blocks.map((block) => block.height) : [])),
    ).toEqual(chain.blocks.map((block) => block.height));
    // Each message carries the tip of the last event it covers.
    expect(delivered[0]!.body.event.tip).toEqual((events[499] as Extract<ChainEvent, { type: 'rollForward' }>).tip);
  });

  it('batches large blocks up to 1 MiB per message and per SendMessageBatch, never merging a roll-backward', async () => {
    const h = await harness();
    const chain = new ChainBuilder();
    const forward = Array.from({ length: 40 }, () => chain.forward([blockOfSize(chain, 300)])); // ~45 KB each
    const back = chain.backward(35n);
    await h.emitter.emit([...forward, back, chain.forward([chain.next()])], STAMP);

    for (const request of h.requests) {
      const entries = request.Entries ?? [];
      expect(entries.length).toBeLessThanOrEqual(10);
      const bytes = entries.reduce((sum, entry) => sum + Buffer.byteLength(entry.MessageBody ?? ''), 0);
      expect(bytes).toBeLessThanOrEqual(MAX_SQS_MESSAGE_BYTES);
    }
    const delivered = await h.drain();
    expect(delivered.length).toBeGreaterThanOrEqual(3);
    for (const { message } of delivered) expect(Buffer.byteLength(message.Body!)).toBeLessThanOrEqual(MAX_SQS_MESSAGE_BYTES);
    const shapes = heightsOf(delivered);
    expect(shapes.slice(0, -2).flat()).toEqual(Array.from({ length: 40 }, (_, i) => BigInt(i + 1)));
    expect(shapes.slice(-2)).toEqual([`back to ${chain.at(35n).slot}`, [41n]]);
  });

  it('sends ten messages per SendMessageBatch at most', async () => {
    const h = await harness();
    const chain = new ChainBuilder();
    chain.next();
    // Alternating directions: every event is a message of its own.
    const events: ChainEvent[] = [];
    for (let i = 0; i < 6; i++) events.push(chain.forward([chain.next()]), chain.backward(1n));
    await h.emitter.emit(events, STAMP);
    expect(h.requests.map((request) => request.Entries?.length)).toEqual([10, 2]);
    expect(await h.drain()).toHaveLength(12);
  });

  it('puts a block over 1 MiB in S3, encrypted, and sends a verified pointer in its place', async () => {
    const h = await harness();
    const chain = new ChainBuilder();
    const small = chain.forward([chain.next()]);
    const huge = blockOfSize(chain, 9_000);
    await h.emitter.emit([small, chain.forward([huge]), chain.forward([chain.next()])], STAMP);

    const messages = await drainQueue(sqs.client, h.queueUrl);
    expect(messages).toHaveLength(3);
    const pointerBody = decodeQueueMessageBody(messages[1]!.Body!);
    if (pointerBody.kind !== 'claimCheck') throw new Error('expected a claim check');
    const { pointer } = pointerBody;
    expect(Buffer.byteLength(messages[1]!.Body!)).toBeLessThan(300);
    expect(pointer.bytes).toBeGreaterThan(MAX_SQS_MESSAGE_BYTES);
    expect(pointer.key).toBe(`chain-events/${pointer.sha256}.json`);

    const object = await s3.client.send(new GetObjectCommand({ Bucket: pointer.bucket, Key: pointer.key }));
    const stored = await object.Body!.transformToString();
    expect(createHash('sha256').update(stored).digest('hex')).toBe(pointer.sha256);
    const message = decodeChainEventMessage(stored);
    expect(message).toMatchObject({ fence: 7n, generation: 2n, event: { type: 'rollForward', blocks: [huge] } });
    expect(h.logger.events('claim_check_stored')).toHaveLength(1);
    expect(heightsOf(await Promise.all(messages.map(async (m) => ({ body: await readBody(m.Body!) }))))).toEqual([[1n], [2n], [3n]]);
  });

  it('retries a partial batch failure from the failed entry, in order, without gaps or duplicates', async () => {
    const client = sqs.createClient();
    // Entry 3 fails and so does everything after it in the batch.
    failEntriesOnce(client, (entries) => Array.from({ length: entries - 3 }, (_, i) => 3 + i));
    const h = await harness({ client });
    const chain = new ChainBuilder();
    chain.next();
    const events: ChainEvent[] = [];
    for (let i = 0; i < 4; i++) events.push(chain.forward([chain.next()]), chain.backward(1n));
    await h.emitter.emit(events, STAMP);

    expect(h.requests.map((request) => request.Entries?.length)).toEqual([8, 5]);
    expect(h.requests[1]!.Entries![0]!.MessageDeduplicationId).toBe(h.requests[0]!.Entries![3]!.MessageDeduplicationId);
    const back = `back to ${chain.at(1n).slot}`;
    expect(heightsOf(await h.drain())).toEqual([[2n], back, [3n], back, [4n], back, [5n], back]);
  });

  it('when SQS accepts entries after a failed one, re-sends them in order under fresh deduplication ids', async () => {
    const client = sqs.createClient();
    failEntriesOnce(client, () => [1]); // only entry 1 fails; 2 and 3 are accepted ahead of it
    const h = await harness({ client });
    // Four rollbacks told apart by their tips.
    const events: ChainEvent[] = Array.from({ length: 4 }, (_, i) => ({
      type: 'rollBackward',
      point: 'origin',
      tip: { slot: BigInt(i), hash: String(i).repeat(64), height: BigInt(i) },
    }));
    await h.emitter.emit(events, STAMP);

    expect(h.logger.events(SenderLogEvent.acceptedOutOfOrder)).toHaveLength(2);
    const [first, second] = h.requests;
    expect(second!.Entries!.map((entry) => entry.MessageDeduplicationId)).toEqual([
      first!.Entries![1]!.MessageDeduplicationId,
      expect.not.stringMatching(first!.Entries![2]!.MessageDeduplicationId!),
      expect.not.stringMatching(first!.Entries![3]!.MessageDeduplicationId!),
    ]);
    // The early copies stay where SQS put them; a complete, in-order run follows the failed entry.
    const tips = (await h.drain()).map(({ body }) => (body.event.tip === 'origin' ? -1n : body.event.tip.height));
    expect(tips).toEqual([0n, 2n, 3n, 1n, 2n, 3n]);
  });

  it('gives up at once when the leader’s term ends (abort), even while backing off', async () => {
    const client = sqs.createClient();
    client.middlewareStack.add(
      () => async () => {
        throw Object.assign(new Error('service unavailable (injected)'), { name: 'ServiceUnavailable', $fault: 'server' });
      },
      { step: 'initialize', name: 'alwaysUnavailable' },
    );
    const h = await harness({ client });
    const emitter = new SqsChainEventEmitter({
      sqs: client,
      queueUrl: h.queueUrl,
      network: 'mainnet',
      claimChecks: new S3ClaimCheckStore({ s3: s3.client, bucket: BUCKET }),
      logger: h.logger,
      retry: { maxAttempts: 100, initialDelayMs: 10_000, maxDelayMs: 10_000 },
    });
    const termEnded = new AbortController();
    const chain = new ChainBuilder();
    const started = Date.now();
    const emission = emitter.emit([chain.forward([chain.next()])], STAMP, { signal: termEnded.signal });
    setTimeout(() => termEnded.abort(new Error('lease lost')), 50);
    await expect(emission).rejects.toThrow('lease lost');
    expect(Date.now() - started).toBeLessThan(5_000); // half the 10 s retry delay it would otherwise sit out
    expect(h.logger.events(SenderLogEvent.retry)).toHaveLength(1);
  });

  it('fails at once, without retrying, when SQS refuses for good (no such queue)', async () => {
    const h = await harness();
    const emitter = new SqsChainEventEmitter({
      sqs: h.client,
      queueUrl: `${sqs.endpoint}/123456789012/missing.fifo`,
      network: 'mainnet',
      claimChecks: new S3ClaimCheckStore({ s3: s3.client, bucket: BUCKET }),
      logger: h.logger,
      retry: { maxAttempts: 50, initialDelayMs: 1_000, maxDelayMs: 1_000 },
    });
    const chain = new ChainBuilder();
    const error = await emitter.emit([chain.forward([chain.next()])], STAMP).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SqsEmissionError);
    expect((error as SqsEmissionError).accepted).toBe(0);
    expect((error as SqsEmissionError).cause).toBeInstanceOf(QueueDoesNotExist);
    expect(h.logger.events(SenderLogEvent.retry)).toHaveLength(0);
  });
});

describe('emitter settings', () => {
  it('reads the queue and the claim-check bucket from the environment, refusing a standard queue', () => {
    const env = {
      NETWORK: 'preview',
      CHAIN_EVENT_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/chain-events.fifo',
      CLAIM_CHECK_BUCKET: 'claims',
    };
    expect(readEmitterSettings(env)).toEqual({ network: 'preview', queueUrl: env.CHAIN_EVENT_QUEUE_URL, claimCheckBucket: 'claims' });
    expect(readEmitterSettings({ ...env, CLAIM_CHECK_KMS_KEY_ID: 'alias/claims' }).claimCheckKmsKeyId).toBe('alias/claims');
    expect(() => readEmitterSettings({ ...env, CHAIN_EVENT_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/chain-events' })).toThrow(
      'must name a FIFO queue',
    );
    expect(() => readEmitterSettings({ ...env, CLAIM_CHECK_BUCKET: '' })).toThrow('CLAIM_CHECK_BUCKET is not set');
  });
});
