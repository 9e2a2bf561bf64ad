/**
 * The failures issue 10 reproduced on the AWS path, each kept as a regression test (real PostgreSQL, the processor
 * core fed SQS FIFO batches in queue order). Where the others live:
 *
 * 1. a failed filter load leaving the filter empty: test/integration/filter-load-failures.test.ts;
 * 2. a failover stranding the pipeline on the old leader's messages: here (far behind, fork, late message);
 * 3. no recovery from a divergence, valid events dragged into the DLQ: here, and the retry schedule in
 *    test/unit/retry-schedule.test.ts, the queue's retention and maxReceiveCount in test/infra;
 * 4. the cold start reading every payment under the engine's lock: test/integration/filter-load-failures.test.ts and
 *    `npm run bench:cold-start`;
 * 5. values the tables cannot hold taken for a transient failure: here;
 * 6. a database outage paging late: test/infra (DatabaseUnreachable, ChainEventsStale, FollowerTasksBelowTwo);
 * 7. the HA test expecting consecutive tokens: test/integration/ha-end-to-end.test.ts.
 */
import type { SQSRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChainEvent } from '../../functions/domain/chain.js';
import { encodeChainEventMessage, stepsOf } from '../../functions/domain/chain-event-message.js';
import { LogEvent } from '../../functions/domain/observability.js';
import { PaymentEngine } from '../../functions/domain/payment-engine.js';
import { PostgresPipelineRecoveryStore } from '../../functions/adapters/postgres/pipeline-recovery-store.js';
import { PostgresFollowerDatabase } from '../../functions/adapters/postgres/follower-database.js';
import { processChainEventBatch, type ProcessorCoreOptions } from '../../functions/handlers/processor-core.js';
import { ProcessorLogEvent } from '../../functions/domain/observability.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { createEngineFixture, type EngineFixture } from '../support/engine-fixture.js';
import { CorrelatingRecordingLogger } from '../support/recorders.js';
import { sqsRecord } from '../support/sqs-records.js';

const alice = syntheticAddress('mainnet', 'alice');
/** Few retained blocks, so "far behind" is a few dozen blocks. */
const RETAINED_BLOCKS = 10;

let f: EngineFixture;
let logger: CorrelatingRecordingLogger;
let core: ProcessorCoreOptions;
let follower: PostgresFollowerDatabase;
let messages = 0;

beforeEach(async () => {
  f = await createEngineFixture({ confirmations: 3, retainedBlocks: RETAINED_BLOCKS });
  await f.registry.register([{ address: alice, referenceType: 'deposit', referenceId: 'acct-alice', userId: 'user-alice' }], 'test');
  logger = new CorrelatingRecordingLogger();
  const engine = new PaymentEngine({
    store: f.store,
    logger,
    metrics: f.metrics,
    clock: f.clock,
    network: 'mainnet',
    confirmations: 3,
    retainedBlocks: RETAINED_BLOCKS,
  });
  core = { engine, network: 'mainnet', recovery: new PostgresPipelineRecoveryStore(f.db.pool), logger, metrics: f.metrics, clock: f.clock };
  follower = new PostgresFollowerDatabase(f.db.pool);
});
afterEach(async () => f.db.drop());

/** A leader session as the follower runs one: it fences the database, then numbers the steps it emits. */
class Leader {
  private nextStep = 1n;
  private constructor(
    readonly token: bigint,
    readonly generation: bigint,
    readonly resumeHashes: string[],
  ) {}

  static async begin(token: bigint): Promise<Leader> {
    const { generation, resumePoints } = await follower.beginSession(token);
    return new Leader(
      token,
      generation,
      resumePoints.map((point) => point.hash),
    );
  }

  message(event: ChainEvent): SQSRecord {
    const steps = { first: this.nextStep, last: this.nextStep + BigInt(stepsOf(event)) - 1n };
    this.nextStep = steps.last + 1n;
    return record(
      encodeChainEventMessage({ version: 2, network: 'mainnet', fence: this.token, generation: this.generation, steps, event }),
    );
  }
}

function record(body: string): SQSRecord {
  return sqsRecord(`message-${++messages}`, body);
}

/** Delivers the queue in order, ten at a time, as the event source does; returns the records that failed. */
async function deliver(queue: readonly SQSRecord[]): Promise<string[]> {
  const failed: string[] = [];
  for (let offset = 0; offset < queue.length; offset += 10) {
    const response = await processChainEventBatch({ Records: queue.slice(offset, offset + 10) }, core);
    failed.push(...response.batchItemFailures.map((item) => item.itemIdentifier));
  }
  return failed;
}

async function syncState(): Promise<{ height: bigint | null; hash: string | null; halted: string | null }> {
  const { rows } = await f.db.pool.query(
    'SELECT last_block_height AS height, last_block_hash AS hash, halted_reason AS halted FROM sync_state',
  );
  return rows[0];
}

async function aliceBalance(): Promise<bigint | undefined> {
  const { rows } = await f.db.pool.query<{ balance_lovelace: bigint }>(
    `SELECT balance_lovelace FROM user_balances WHERE user_id = 'user-alice'`,
  );
  return rows[0]?.balance_lovelace;
}

describe("2. a failover while the queue still holds the old leader's messages", () => {
  it('the processor more than the retained blocks behind: the new leader resumes from the database, the old messages are stale', async () => {
    const chain = new ChainBuilder();
    const old = await Leader.begin(1n);
    const queue = [old.message(chain.forward([chain.next()]))];
    for (let n = 2; n <= 30; n++)
      queue.push(old.message(chain.forward([chain.next(n === 20 ? [transaction([output(alice, 9_000_000n)])] : [])])));
    expect(await deliver(queue.slice(0, 5))).toEqual([]); // the processor applied 5 blocks, then fell behind

    // A new leader: it fences the database, then follows from the database's points (block 5), far behind the queue.
    const next = await Leader.begin(2n);
    expect(next.resumeHashes[0]).toBe(chain.at(5n).hash);
    const rest = [next.message({ type: 'rollBackward', point: { slot: chain.at(5n).slot!, hash: chain.at(5n).hash }, tip: chain.tipOf() })];
    for (let height = 6n; height <= 30n; height += 5n)
      rest.push(next.message(chain.forward([0n, 1n, 2n, 3n, 4n].map((i) => chain.at(height + i)))));

    expect(await deliver([...queue.slice(5), ...rest])).toEqual([]);
    expect(await syncState()).toEqual({ height: 30n, hash: chain.at(30n).hash, halted: null });
    expect(await aliceBalance()).toBe(9_000_000n);
    expect(logger.events(LogEvent.staleEventDropped)).toHaveLength(25);
    expect(logger.events(LogEvent.pipelineRecovered)).toEqual([]);
  });

  it("a fork: the old leader's blocks of the abandoned branch arrive after the new leader chose where to resume, and change nothing", async () => {
    const main = new ChainBuilder('main');
    const old = await Leader.begin(1n);
    const queue = main.empty(10).map((block) => old.message(main.forward([block])));
    expect(await deliver(queue.slice(0, 8))).toEqual([]);

    // The chain switches to a branch from block 7; the new leader intersects there (its points are the database's).
    const branch = main.fork('branch', 7n);
    const paying = branch.next([transaction([output(alice, 4_000_000n)])]);
    const branchBlocks = [paying, branch.next(), branch.next(), branch.next(), branch.next()];
    const next = await Leader.begin(2n);
    const rest = [next.message(branch.backward(7n)), next.message(branch.forward(branchBlocks))];

    expect(await deliver([...queue.slice(8), ...rest])).toEqual([]);
    expect(await syncState()).toEqual({ height: 12n, hash: branch.at(12n).hash, halted: null });
    expect(await aliceBalance()).toBe(4_000_000n); // block 8 of the branch, confirmed at 10
    expect(logger.events(LogEvent.staleEventDropped)).toHaveLength(2);
  });

  it("a deposed leader's late message that arrives before any message of the new leader is stale", async () => {
    const chain = new ChainBuilder();
    const old = await Leader.begin(1n);
    expect(await deliver([old.message(chain.forward([chain.next()]))])).toEqual([]);
    const late = old.message(chain.forward([chain.next([transaction([output(alice, 5_000_000n)])])]));
    await Leader.begin(2n); // fenced: from here on nothing of token 1 applies
    expect(await deliver([late])).toEqual([]);
    expect(await syncState()).toMatchObject({ height: 1n });
    expect(logger.events(LogEvent.staleEventDropped)).toHaveLength(1);
  });
});

describe('3. a divergence is resolved without an operator; nothing valid is dragged into the DLQ', () => {
  it('a block that does not extend the chain is acknowledged, the leader follows again, and the records behind it are not failed', async () => {
    const chain = new ChainBuilder();
    const leader = await Leader.begin(1n);
    expect(await deliver([leader.message(chain.forward([chain.next()]))])).toEqual([]);
    chain.next(); // block 2: never sent
    const notExtending = leader.message(chain.forward([chain.next()]));
    const behind = [leader.message(chain.forward([chain.next()])), leader.message(chain.forward([chain.next()]))];
    // Old code: these three failed together, five times, and went to the DLQ; every later block failed after them.
    expect(await deliver([notExtending, ...behind])).toEqual([]);
    expect(logger.events(LogEvent.pipelineRecovered)).toHaveLength(1);

    // The leader sees the new generation and follows again from the database's points.
    const again = await Leader.begin(1n);
    expect(again.generation).toBe(leader.generation + 1n);
    expect(
      await deliver([again.message(chain.backward(1n)), again.message(chain.forward([2n, 3n, 4n, 5n].map((h) => chain.at(h))))]),
    ).toEqual([]);
    expect(await syncState()).toMatchObject({ height: 5n, halted: null });
  });
});

describe('5. values the tables cannot hold', () => {
  it('lovelace above 2^63 − 1 or an output index above 2^31 − 1 is a poison message set aside, not a transient failure retried', async () => {
    const chain = new ChainBuilder();
    const leader = await Leader.begin(1n);
    const tooMuch = leader.message(chain.forward([chain.next([transaction([output(alice, 1n)])])]));
    const body = tooMuch.body.replace('"lovelace":"1"', '"lovelace":"9223372036854775808"');
    expect(body).not.toBe(tooMuch.body);
    const badIndex = leader.message(chain.forward([chain.next([transaction([output(alice, 2n)], [{ txId: 'ab'.repeat(32), index: 1 }])])]));
    const indexBody = badIndex.body.replace(`"${'ab'.repeat(32)}#1"`, `"${'ab'.repeat(32)}#2147483648"`);
    expect(indexBody).not.toBe(badIndex.body);

    expect(
      await deliver([
        { ...tooMuch, body },
        { ...badIndex, body: indexBody },
      ]),
    ).toEqual([]);
    expect(logger.events(ProcessorLogEvent.messageFailed)).toEqual([]);
    const reasons = logger.events(ProcessorLogEvent.poisonMessage).map((entry) => String(entry.fields.reason));
    expect(reasons[0]).toMatch(/lovelace: 9223372036854775808 exceeds 2\^63 − 1/);
    // The decoder refuses it on its own, before admission (which would only find it stale after the first recovery).
    expect(reasons[1]).toMatch(/2147483648/);
    expect(reasons).toHaveLength(2);
    const { rows } = await f.db.pool.query(`SELECT kind, message_body FROM pipeline_recoveries ORDER BY id`);
    expect(rows[0]).toEqual({ kind: 'poison', message_body: body });
  });
});
