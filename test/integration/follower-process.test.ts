/**
 * Two follower services against the Ogmios simulator and a real DynamoDB API (dynalite), emitting into an
 * in-memory queue. A model processor applies what the queue accepted, by the engine's rules (fence check, skip
 * blocks already applied, the rest must extend the tip), and serves as the database the followers resume from.
 *
 * The leader is cut off mid-stream (its lease lapses), later the new leader is shut down (SIGTERM handover), the
 * chain forks, and sends fail now and then; throughout:
 * - every emission is attempted by the one current leader, with its current token;
 * - the accepted events, deduplicated per block, form one continuous chain: no gap, no stale event;
 * - stamps never go back to a lower token, and each new leader's token is higher;
 * - in the end the model chain is the simulator's chain.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BlockPoint, ChainEvent } from '../../functions/domain/chain.js';
import { assessReadiness, type Readiness } from '../../functions/domain/readiness.js';
import { FollowerLease } from '../../functions/adapters/dynamodb/follower-lease.js';
import { createLeaseTable, LeaseTable } from '../../functions/adapters/dynamodb/lease-table.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { LedgerStateClient } from '../../functions/adapters/ogmios/ledger-state-client.js';
import type { ChainEventEmitter, EmissionStamp, EmitOptions } from '../../functions/domain/chain-event-emitter.js';
import { FencedOutError, type FollowerDatabase, type SessionStart } from '../../functions/adapters/postgres/follower-database.js';
import { FollowerService } from '../../functions/follower/follower-service.js';
import { startOgmiosSimulator, type OgmiosSimulator } from '../../functions/local/simulator/index.js';
import { startDynalite, type LocalDynamoDb } from '../support/dynalite.js';
import { RecordingLogger } from '../support/recorders.js';

const TABLE = 'follower-leases';
const GENERATION = 3n;
/** A leader keeps its lease through stalls of about a second (a loaded machine); a cut-off one loses it in 2 s. */
const TIMINGS = { leaseDurationMs: 2_000, renewIntervalMs: 400, safetyMarginMs: 600, acquireIntervalMs: 100 };

interface AppliedBlock {
  hash: string;
  slot: bigint | undefined;
  height: bigint;
}

/** The processor and its database, as a model: applies accepted events by the engine's rules. */
class ModelProcessor implements FollowerDatabase {
  readonly chain: AppliedBlock[] = [];
  readonly violations: string[] = [];
  readonly stamps: EmissionStamp[] = [];
  rollbacks = 0;
  private highestFence = 0n;
  failResumePoints = false;
  /** The newest applied blocks left out of the resume points: a processor behind the queue, so a new leader re-emits. */
  resumeBehindBlocks = 0;
  reemittedBlocks = 0;
  /** Accepts but no longer applies (an engine that stopped): the database falls behind. */
  frozen = false;

  apply(event: ChainEvent, stamp: EmissionStamp): void {
    if (this.frozen) return;
    this.stamps.push(stamp);
    if (stamp.fence < this.highestFence)
      return void this.violations.push(`stale event with token ${stamp.fence} after ${this.highestFence}`);
    this.highestFence = stamp.fence;
    if (stamp.generation !== GENERATION) this.violations.push(`generation ${stamp.generation}`);
    if (event.type === 'rollBackward') {
      if (event.point === 'origin') return void (this.chain.length = 0);
      const at = this.chain.findIndex((block) => block.hash === (event.point as BlockPoint).hash);
      if (at === -1) return void (this.chain.length > 0 && this.violations.push(`rollback to unknown point ${event.point.hash}`));
      if (at + 1 < this.chain.length) this.rollbacks++;
      this.chain.length = at + 1;
      return;
    }
    const known = new Set(this.chain.map((block) => block.hash));
    for (const block of event.blocks) {
      if (known.has(block.hash)) {
        this.reemittedBlocks++; // deduplicated, as the engine skips blocks it has applied
        continue;
      }
      const tip = this.chain.at(-1);
      const extends_ = tip === undefined ? block.ancestor === 'genesis' || this.chain.length === 0 : block.ancestor === tip.hash;
      if (!extends_)
        return void this.violations.push(`gap: block ${block.height} (${block.hash.slice(0, 8)}) does not extend ${tip?.height}`);
      this.chain.push({ hash: block.hash, slot: block.slot, height: block.height });
      known.add(block.hash);
    }
  }

  /** The fence, as the database does it: a token below the highest is refused. */
  async beginSession(fencingToken: bigint): Promise<SessionStart> {
    const resumePoints = await this.resumePoints();
    if (fencingToken < this.highestFence) throw new FencedOutError(fencingToken, this.highestFence);
    this.highestFence = fencingToken;
    return { generation: GENERATION, resumePoints };
  }

  private async resumePoints(): Promise<BlockPoint[]> {
    if (this.failResumePoints) throw new Error('connect ECONNREFUSED (database, injected)');
    return this.chain
      .filter((block): block is AppliedBlock & { slot: bigint } => block.slot !== undefined)
      .slice(0, this.chain.length - this.resumeBehindBlocks)
      .slice(-20)
      .reverse()
      .map((block) => ({ slot: block.slot, hash: block.hash }));
  }

  async syncGeneration(): Promise<bigint> {
    return GENERATION;
  }

  async readiness(freshTipHeight: () => bigint | undefined): Promise<Readiness> {
    return assessReadiness({
      databaseReachable: true,
      appliedHeight: this.chain.at(-1)?.height ?? null,
      networkTipHeight: freshTipHeight() ?? null,
    });
  }
}

/** The queue in memory: accepts after a short delay, fails now and then, and checks who is emitting. */
class InMemoryEmitter implements ChainEventEmitter {
  calls = 0;
  largestBatch = 0;
  failEvery = 0;
  /** The last failed send: the next send of the same term must offer exactly these events again. */
  private failed: { events: readonly ChainEvent[]; fence: bigint } | undefined;

  constructor(
    private readonly name: string,
    private readonly processor: ModelProcessor,
    private readonly leaders: () => { name: string; lease: FollowerLease }[],
    private readonly self: () => FollowerLease,
  ) {}

  async emit(events: readonly ChainEvent[], stamp: EmissionStamp, { signal }: EmitOptions = {}): Promise<void> {
    this.calls++;
    if (signal?.aborted) this.processor.violations.push(`${this.name} emitted after its term ended`);
    if (!this.self().holds(stamp.fence)) this.processor.violations.push(`${this.name} emitted with token ${stamp.fence} it does not hold`);
    const others = this.leaders().filter((leader) => leader.name !== this.name);
    if (others.length > 0) this.processor.violations.push(`${this.name} emitted while ${others.map((o) => o.name).join(', ')} lead`);
    const retry = this.failed?.fence === stamp.fence ? this.failed.events : undefined;
    if (retry && !sameEvents(retry, events)) this.processor.violations.push(`${this.name} retried a failed send with other events`);
    this.failed = undefined;
    await new Promise((resolve) => setTimeout(resolve, 2));
    if (this.failEvery > 0 && this.calls % this.failEvery === 0) {
      this.failed = { events, fence: stamp.fence };
      throw new Error('SQS unavailable (injected)');
    }
    // Accepted only while the term lasts: an abort during the send means it never reached the queue.
    signal?.throwIfAborted();
    this.largestBatch = Math.max(this.largestBatch, events.length);
    for (const event of events) this.processor.apply(event, stamp);
  }
}

function sameEvents(a: readonly ChainEvent[], b: readonly ChainEvent[]): boolean {
  return a.length === b.length && a.every((event, index) => event === b[index]);
}

interface Follower {
  name: string;
  service: FollowerService;
  lease: FollowerLease;
  emitter: InMemoryEmitter;
  logger: RecordingLogger;
  cutOff: boolean;
}

let simulator: OgmiosSimulator;
let dynamo: LocalDynamoDb;
let followers: Follower[] = [];

beforeAll(async () => {
  dynamo = await startDynalite();
  await createLeaseTable(dynamo.client(), TABLE);
});
afterAll(async () => dynamo.stop());

afterEach(async () => {
  for (const follower of followers) await follower.service.stop(2_000);
  followers = [];
  await simulator.stop();
});

let leaseNumber = 0;

function startFollowers(
  processor: ModelProcessor,
  names: string[],
  leaseName = `follower#test-${++leaseNumber}`,
  ogmiosUrl = () => simulator.url,
): Follower[] {
  const created = names.map((name): Follower => {
    const logger = new RecordingLogger();
    const client = dynamo.client();
    const lease = new FollowerLease({
      table: new LeaseTable({ client, tableName: TABLE, leaseName, requestTimeoutMs: 500 }),
      holderId: name,
      timings: TIMINGS,
      logger,
    });
    const emitter = new InMemoryEmitter(
      name,
      processor,
      () => followers.filter((other) => other.lease.isLeader()),
      () => lease,
    );
    const service = new FollowerService({
      lease,
      emitter,
      database: processor,
      ogmios: { urls: [ogmiosUrl()], apiKeys: [] },
      ogmiosQueries: new LedgerStateClient({ urls: [ogmiosUrl()], logger }),
      startPoint: 'origin',
      logger,
      metrics: new InMemoryMetrics(),
      emission: { queueCapacity: 50, maxEventsPerEmit: 20, retryInitialDelayMs: 5, retryMaxDelayMs: 20 },
      chainSync: { pipelineDepth: 10, stopDrainTimeoutMs: 100, connectTimeoutMs: 200, backoff: { initialDelayMs: 20, maxDelayMs: 50 } },
      ogmiosUnreachableLimitMs: 300,
    });
    const follower: Follower = { name, service, lease, emitter, logger, cutOff: false };
    // Cut off: every DynamoDB request of this task fails, as when its network path is gone.
    client.middlewareStack.add(
      (next) => async (args) => {
        if (follower.cutOff) throw new Error('connect ETIMEDOUT (injected)');
        return next(args);
      },
      { step: 'initialize', name: 'cutOff' },
    );
    return follower;
  });
  followers.push(...created);
  for (const follower of created) follower.service.start();
  return created;
}

async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function leaderOf(group: Follower[]): Follower | undefined {
  return group.find((follower) => follower.lease.isLeader());
}

function simulatorTipHeight(): bigint {
  const tip = simulator.tip();
  return tip === 'origin' ? 0n : BigInt(tip.height);
}

async function caughtUp(processor: ModelProcessor): Promise<void> {
  await until(() => processor.chain.at(-1)?.height === simulatorTipHeight(), 'the model to reach the simulator tip');
}

describe('follower process: lease, chain sync and emission together', () => {
  it('leaders cut off mid-stream three times, a fork, a SIGTERM handover: what was emitted is continuous, with rising tokens', async () => {
    simulator = await startOgmiosSimulator({
      seed: 'follower-process',
      network: 'preprod',
      initialBlocks: 60,
      transactionsPerBlock: { min: 1, max: 3 },
    });
    const processor = new ModelProcessor();
    processor.resumeBehindBlocks = 5;
    const group = startFollowers(processor, ['task-a', 'task-b']);
    for (const follower of group) follower.emitter.failEvery = 7;
    const production = setInterval(() => simulator.produceBlocks(1), 15);
    try {
      await until(() => leaderOf(group) !== undefined && processor.chain.length > 30, 'the first leader to emit');
      expect(leaderOf(group)!.emitter.largestBatch).toBeGreaterThan(1); // catch-up goes out in batches

      for (let round = 1; round <= 3; round++) {
        // Cut off from DynamoDB (as good as killed, from the outside): it must stop on its own, the other takes over.
        const cut = leaderOf(group)!;
        const cutToken = cut.lease.fencingToken!;
        cut.cutOff = true;
        await until(() => leaderOf(group) !== undefined && leaderOf(group) !== cut, 'the standby to take over');
        // Higher than the cut leader's; by one unless a lease lapsed once more on a loaded machine.
        expect(leaderOf(group)!.lease.fencingToken).toBeGreaterThan(cutToken);
        expect(cut.logger.events('lease_lost').at(-1)?.fields).toMatchObject({ reason: 'renewal_deadline' });
        const heightAtTakeover = processor.chain.at(-1)!.height;
        await until(() => processor.chain.at(-1)!.height > heightAtTakeover + 5n, 'the new leader to emit');
        cut.cutOff = false;
      }

      // The fork takes blocks the processor holds (it has caught up first), so it must see a rollback.
      clearInterval(production);
      await caughtUp(processor);
      const rollbacksBefore = processor.rollbacks;
      simulator.rollBack(3);
      await until(() => processor.rollbacks > rollbacksBefore, 'the fork to be emitted');

      // SIGTERM: the queue is flushed, the lease released, the other task takes over at once.
      const stopping = leaderOf(group)!;
      const stoppingToken = stopping.lease.fencingToken!;
      const standby = group.find((follower) => follower !== stopping)!;
      await stopping.service.stop(2_000);
      expect(stopping.logger.events('shutdown_flushed')).toHaveLength(1);
      await until(() => standby.lease.isLeader(), 'the standby to lead');
      expect(standby.lease.fencingToken).toBeGreaterThan(stoppingToken);
    } finally {
      clearInterval(production);
    }
    simulator.produceBlocks(5);
    await caughtUp(processor);

    expect(processor.violations).toEqual([]);
    expect(processor.chain.map((block) => block.hash)).toEqual(simulator.chain().map((block) => block.id));
    const fences = processor.stamps.map((stamp) => stamp.fence);
    expect(fences).toEqual([...fences].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(new Set(fences).size).toBeGreaterThanOrEqual(5); // five terms at least emitted
    expect(processor.reemittedBlocks).toBeGreaterThan(0); // each new leader resumed behind the queue: duplicates, no gap
    expect(group.some((follower) => follower.logger.events('emit_failed').length > 0)).toBe(true);
  });

  it('a leader that cannot read its database resigns, and the standby takes over at once', async () => {
    simulator = await startOgmiosSimulator({
      seed: 'follower-resign',
      network: 'preprod',
      initialBlocks: 10,
      transactionsPerBlock: { min: 1, max: 2 },
    });
    const processor = new ModelProcessor();
    processor.failResumePoints = true;
    const group = startFollowers(processor, ['task-a', 'task-b']);
    await until(() => group.some((follower) => follower.logger.events('leader_session_failed').length > 0), 'a failed session');
    processor.failResumePoints = false;
    await caughtUp(processor);
    const resigned = group.find((follower) => follower.logger.events('leader_session_failed').length > 0)!;
    expect(resigned.logger.events('lease_lost')[0]?.fields).toMatchObject({ reason: 'resigned' });
    expect(processor.violations).toEqual([]);
    expect(processor.stamps.every((stamp) => stamp.fence >= 2n)).toBe(true);
  });

  it('a leader that cannot reach Ogmios resigns, and a standby that can takes over', async () => {
    simulator = await startOgmiosSimulator({
      seed: 'follower-unreachable',
      network: 'preprod',
      initialBlocks: 10,
      transactionsPerBlock: { min: 1, max: 2 },
    });
    const processor = new ModelProcessor();
    const leaseName = `follower#test-${++leaseNumber}`;
    const [cutOff] = startFollowers(processor, ['task-a'], leaseName, () => 'ws://127.0.0.1:9'); // nothing listens there
    await until(() => cutOff!.lease.isLeader(), 'the cut-off task to lead');
    const [reachable] = startFollowers(processor, ['task-b'], leaseName);
    await caughtUp(processor);
    expect(reachable!.lease.fencingToken).toBeGreaterThanOrEqual(2n);
    expect(cutOff!.logger.events('leader_session_failed')[0]?.fields.error).toMatch(/no Ogmios connection for 300 ms/);
    expect(processor.violations).toEqual([]);
  });

  it('reports role, position and readiness: the leader by the lag rule, the standby by the database alone', async () => {
    simulator = await startOgmiosSimulator({
      seed: 'follower-health',
      network: 'preprod',
      initialBlocks: 20,
      transactionsPerBlock: { min: 1, max: 2 },
    });
    const processor = new ModelProcessor();
    const group = startFollowers(processor, ['task-a', 'task-b']);
    await caughtUp(processor);
    const leader = leaderOf(group)!;
    const standby = group.find((follower) => follower !== leader)!;
    const tip = simulatorTipHeight();
    expect(leader.service.liveness()).toMatchObject({
      role: 'leader',
      fence_token: 1n,
      generation: GENERATION,
      emitted_height: tip,
      tip_height: tip,
      ogmios_connected: true,
    });
    expect(standby.service.liveness()).toMatchObject({ role: 'standby', fence_token: null, emitted_height: null });
    expect(await leader.service.readiness()).toMatchObject({
      ready: true,
      role: 'leader',
      synced_height: tip,
      lag: 0,
      ogmios_reachable: true,
      fence_token: 1n,
    });
    expect(await standby.service.readiness()).toMatchObject({
      ready: true,
      role: 'standby',
      tip_height: tip,
      ogmios_reachable: true,
      fence_token: null,
    });

    // The engine stops applying and the chain runs 150 blocks ahead: past the tutorial's limit of 100.
    processor.frozen = true;
    simulator.produceBlocks(150);
    await until(() => leader.service.liveness().tip_height === simulatorTipHeight(), 'the leader to see the new tip');
    expect(await leader.service.readiness()).toMatchObject({ ready: false, role: 'leader', reason: 'sync_lag', lag: 150 });
    // A standby only needs the database to be ready: it reports the lag without being judged by it.
    expect(await standby.service.readiness()).toMatchObject({ ready: true, role: 'standby', lag: 150 });
  });
});
