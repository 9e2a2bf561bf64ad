/**
 * The follower lease against a real DynamoDB API (dynalite): contenders race, leaders are cut off, renewals
 * fail, clocks are skewed, leaders shut down. Timings are a tenth of production's (3 s lease, 500 ms renewal,
 * 1 s margin, 100 ms standby attempts): a leader keeps its lease unless its whole process stalls for more than a
 * second, which a loaded test machine does not do, so the assertions about who leads do not depend on the load;
 * and no assertion bounds how long something took, only what happened and in which order.
 *
 * A recorder watches every contender all the time and fails the test if ever:
 * - two contenders believe they lead with the same fencing token (or, stricter, two believe they lead at all);
 * - an emission is attempted with a token other than that of the lease currently held;
 * - a term begins with a token not higher than every earlier one;
 * - a term begins before the previous term has ended.
 */
import { DeleteItemCommand, GetItemCommand, ProvisionedThroughputExceededException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FollowerLease, type LeaseLossReason } from '../../functions/adapters/dynamodb/follower-lease.js';
import { createLeaseTable, LeaseTable } from '../../functions/adapters/dynamodb/lease-table.js';
import type { LeaseTimings } from '../../functions/domain/lease.js';
import { startDynalite, type LocalDynamoDb } from '../support/dynalite.js';
import { RecordingLogger } from '../support/recorders.js';

const TIMINGS: LeaseTimings = { leaseDurationMs: 3_000, renewIntervalMs: 500, safetyMarginMs: 1_000, acquireIntervalMs: 100 };
const TABLE = 'follower-leases';

/** What a contender's DynamoDB requests run into. */
type Fault =
  | 'none'
  /** DynamoDB refuses: throttled. */
  | 'throttle'
  /** The request never reaches DynamoDB. */
  | 'network'
  /** No answer, ever. */
  | 'hang'
  /** The request is applied, but its answer is lost. */
  | 'lose_answer';

interface Term {
  contender: string;
  token: bigint;
  acquiredAt: number;
  lostAt?: number;
  reason?: LeaseLossReason;
}

class Contender {
  fault: Fault = 'none';
  readonly lease: FollowerLease;
  readonly logger = new RecordingLogger();
  private emitter: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    database: LocalDynamoDb,
    readonly clocks: { wallSkewMs?: number; monotonicOffsetMs?: number } = {},
  ) {
    const client = database.client();
    injectFaults(client, () => this.fault);
    this.lease = new FollowerLease({
      table: new LeaseTable({ client, tableName: TABLE, leaseName: 'follower#preprod', requestTimeoutMs: 1_000 }),
      holderId: name,
      timings: TIMINGS,
      logger: this.logger,
      monotonicClock: { now: () => performance.now() + (clocks.monotonicOffsetMs ?? 0) },
      wallClock: { now: () => new Date(Date.now() + (clocks.wallSkewMs ?? 0)) },
    });
  }

  /** Acts like a follower: whenever it holds the lease, it tries to emit, guarded by holds(token). */
  startEmitting(recorder: LeadershipRecorder): void {
    this.emitter = setInterval(() => {
      const term = this.lease.currentTerm();
      if (term && this.lease.holds(term.fencingToken)) recorder.emissionAttempted(this, term.fencingToken);
    }, 5);
  }

  /** A crash: it stops acting at once, and its last words (the release) never reach DynamoDB. */
  async kill(): Promise<void> {
    clearInterval(this.emitter);
    this.fault = 'network';
    await this.lease.stop();
  }

  async shutDown(): Promise<void> {
    clearInterval(this.emitter);
    await this.lease.stop();
  }
}

function injectFaults(client: DynamoDBClient, fault: () => Fault): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      switch (fault()) {
        case 'throttle':
          throw new ProvisionedThroughputExceededException({ message: 'injected throttling', $metadata: { httpStatusCode: 400 } });
        case 'network':
          throw Object.assign(new Error('connect ECONNREFUSED (injected)'), { code: 'ECONNREFUSED' });
        case 'hang':
          return new Promise<never>(() => undefined);
        case 'lose_answer':
          await next(args);
          throw Object.assign(new Error('socket hang up (injected, after the request was applied)'), { code: 'ECONNRESET' });
        case 'none':
          return next(args);
      }
    },
    { step: 'initialize', name: 'injectedFaults' },
  );
}

class LeadershipRecorder {
  readonly violations: string[] = [];
  readonly terms: Term[] = [];
  emissions = 0;
  private sampler: NodeJS.Timeout | undefined;

  constructor(private readonly contenders: Contender[]) {
    for (const contender of contenders) {
      contender.lease.on('acquired', ({ fencingToken }) => this.acquired(contender, fencingToken));
      contender.lease.on('lost', ({ fencingToken, reason }) => this.lost(contender, fencingToken, reason));
    }
    this.sampler = setInterval(() => this.sample(), 2);
  }

  get highestToken(): bigint {
    return this.terms.at(-1)?.token ?? 0n;
  }

  currentLeader(): Contender | undefined {
    return this.contenders.find((contender) => contender.lease.isLeader());
  }

  emissionAttempted(contender: Contender, token: bigint): void {
    this.emissions++;
    if (token !== this.highestToken)
      this.violations.push(`${contender.name} emitted with token ${token} while ${this.highestToken} is the lease's`);
    const others = this.contenders.filter((other) => other !== contender && other.lease.isLeader());
    if (others.length > 0) this.violations.push(`${contender.name} emitted while ${others.map((o) => o.name).join(', ')} also lead`);
  }

  stop(): void {
    clearInterval(this.sampler);
    this.sample();
  }

  private acquired(contender: Contender, token: bigint): void {
    const previous = this.terms.at(-1);
    if (previous && token <= previous.token) this.violations.push(`${contender.name} acquired token ${token} after ${previous.token}`);
    if (previous && previous.lostAt === undefined)
      this.violations.push(`${contender.name} acquired token ${token} while ${previous.contender}'s term ${previous.token} had not ended`);
    this.terms.push({ contender: contender.name, token, acquiredAt: performance.now() });
  }

  private lost(contender: Contender, token: bigint, reason: LeaseLossReason): void {
    const term = this.terms.find((t) => t.contender === contender.name && t.token === token);
    if (!term) return void this.violations.push(`${contender.name} lost token ${token} it never acquired`);
    term.lostAt = performance.now();
    term.reason = reason;
  }

  private sample(): void {
    const leaders = this.contenders.flatMap((contender) => {
      const term = contender.lease.currentTerm();
      return term ? [{ name: contender.name, token: term.fencingToken }] : [];
    });
    const tokens = new Set(leaders.map((leader) => leader.token));
    if (tokens.size < leaders.length)
      this.violations.push(`same token held twice: ${JSON.stringify(leaders, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
    else if (leaders.length > 1)
      this.violations.push(`two leaders at once: ${leaders.map((leader) => `${leader.name}#${leader.token}`).join(', ')}`);
  }
}

async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

let database: LocalDynamoDb;
let contenders: Contender[];
let recorder: LeadershipRecorder;
let tableClient: DynamoDBClient;

beforeAll(async () => {
  database = await startDynalite();
  tableClient = database.client();
  await createLeaseTable(tableClient, TABLE);
});
afterAll(async () => database.stop());

/** Starts contenders at the same moment, each acting like a follower, all watched by the recorder. */
function race(...specs: { name: string; wallSkewMs?: number; monotonicOffsetMs?: number }[]): Contender[] {
  contenders = specs.map((spec) => new Contender(spec.name, database, spec));
  recorder = new LeadershipRecorder(contenders);
  for (const contender of contenders) {
    contender.startEmitting(recorder);
    contender.lease.start();
  }
  return contenders;
}

beforeEach(async () => {
  // A fresh lease record for every test: nothing carries over between them.
  await tableClient.send(new DeleteItemCommand({ TableName: TABLE, Key: { leaseName: { S: 'follower#preprod' } } }));
});

afterEach(async () => {
  for (const contender of contenders) await contender.shutDown();
  recorder.stop();
  expect(recorder.violations).toEqual([]);
});

async function leaseItem(): Promise<Record<string, string | undefined>> {
  const { Item = {} } = await tableClient.send(
    new GetItemCommand({ TableName: TABLE, Key: { leaseName: { S: 'follower#preprod' } }, ConsistentRead: true }),
  );
  return Object.fromEntries(
    Object.entries(Item).map(([key, value]) => [key, value.S ?? value.N ?? (value.BOOL === undefined ? undefined : String(value.BOOL))]),
  );
}

async function nextLeader(after: bigint, timeoutMs = 15_000): Promise<Contender> {
  await until(
    () => recorder.highestToken > after && recorder.currentLeader() !== undefined,
    `a leader with a token above ${after}`,
    timeoutMs,
  );
  return recorder.currentLeader()!;
}

describe('follower lease on DynamoDB', () => {
  it('three contenders racing: exactly one leads, with token 1, and keeps leading through many renewals', async () => {
    race({ name: 'a' }, { name: 'b' }, { name: 'c' });
    const leader = await nextLeader(0n);
    expect(leader.lease.fencingToken).toBe(1n);
    await sleep(2_600); // five renewals
    expect(recorder.terms).toHaveLength(1);
    expect(recorder.currentLeader()).toBe(leader);
    expect(recorder.emissions).toBeGreaterThan(50);
    const item = await leaseItem();
    expect(item).toMatchObject({ holder: leader.name, fencingToken: '1', released: 'false', leaseDurationMs: '3000' });
    for (const standby of contenders.filter((c) => c !== leader)) {
      expect(standby.logger.events('lease_held_by_other')[0]?.fields).toMatchObject({ heldBy: leader.name });
    }
  });

  it('a leader killed: a standby takes over only after the lease lapsed, with the next token; again and again', async () => {
    race({ name: 'a' }, { name: 'b' }, { name: 'c' });
    let leader = await nextLeader(0n);
    for (let round = 1n; round <= 2n; round++) {
      const killedAt = performance.now();
      const killed = leader;
      await killed.kill();
      leader = await nextLeader(round);
      const takeover = recorder.terms.at(-1)!;
      expect(leader).not.toBe(killed);
      expect(takeover.token).toBe(round + 1n);
      expect(takeover.contender).toBe(leader.name);
      // Its last renewal was at most one renewal interval before the kill; the standby then waited a whole lease.
      expect(takeover.acquiredAt - killedAt).toBeGreaterThanOrEqual(TIMINGS.leaseDurationMs - TIMINGS.renewIntervalMs);
      expect(leader.logger.events('lease_acquired').at(-1)?.fields).toMatchObject({ reason: 'expired', previousHolder: killed.name });
    }
  });

  it('renewals failing for less than the slack: the leader keeps the lease (a failed renewal is not a loss)', async () => {
    race({ name: 'a' }, { name: 'b' });
    const leader = await nextLeader(0n);
    await sleep(600);
    leader.fault = 'throttle';
    await until(() => leader.logger.events('lease_renewal_failed').length > 0, 'a failed renewal');
    await sleep(100);
    leader.fault = 'none';
    await sleep(2_000);
    expect(recorder.terms).toHaveLength(1);
    expect(leader.lease.isLeader()).toBe(true);
    expect(leader.logger.events('lease_renewal_failed')[0]?.fields.error).toMatch(/ProvisionedThroughputExceeded/);
  });

  for (const fault of ['throttle', 'hang'] as const) {
    it(`renewals failing (${fault}) until the deadline: the leader steps down before the standby can take over`, async () => {
      race({ name: 'a' }, { name: 'b' });
      const leader = await nextLeader(0n);
      const standby = contenders.find((c) => c !== leader)!;
      leader.fault = fault;
      const successor = await nextLeader(1n);
      expect(successor).toBe(standby);
      const [stepDown, takeover] = recorder.terms;
      expect(stepDown).toMatchObject({ contender: leader.name, token: 1n, reason: 'renewal_deadline' });
      // The margin is what separates them: the leader stepped down before the standby took over.
      expect(takeover!.acquiredAt).toBeGreaterThan(stepDown!.lostAt!);
      // Back to health, the former leader is a standby that respects the new term.
      leader.fault = 'none';
      await sleep(1_500);
      expect(recorder.terms).toHaveLength(2);
      expect(leader.lease.isLeader()).toBe(false);
    });
  }

  it('a renewal applied whose answer was lost: the leader recognises its own write and carries on', async () => {
    race({ name: 'a' }, { name: 'b' });
    const leader = await nextLeader(0n);
    await sleep(300);
    leader.fault = 'lose_answer';
    await until(() => leader.logger.events('lease_renewal_failed').length > 0, 'the lost answer');
    leader.fault = 'none';
    await sleep(2_000);
    expect(recorder.terms).toHaveLength(1);
    expect(leader.lease.fencingToken).toBe(1n);
    expect(leader.logger.events('lease_own_write_recognised')).toHaveLength(1);
  });

  it('clocks skewed ±5 s (wall and monotonic origins differ): the protocol does not notice', async () => {
    race(
      { name: 'slow', wallSkewMs: -5_000, monotonicOffsetMs: 1e9 },
      { name: 'exact' },
      { name: 'fast', wallSkewMs: 5_000, monotonicOffsetMs: -123_456 },
    );
    let leader = await nextLeader(0n);
    await sleep(2_000); // a skewed clock that mattered would show as a takeover of a live leader here
    expect(recorder.terms).toHaveLength(1);
    const written = Date.parse((await leaseItem()).renewedAt!);
    expect(Math.abs(written - (Date.now() + (leader.clocks.wallSkewMs ?? 0)))).toBeLessThan(1_000);

    // Failover and handover among the skewed contenders.
    await leader.kill();
    leader = await nextLeader(1n);
    await sleep(1_000);
    await leader.shutDown();
    leader = await nextLeader(2n);
    await sleep(1_000);
    expect(recorder.terms.map((term) => term.token)).toEqual([1n, 2n, 3n]);
    expect(recorder.terms.filter((term) => term.reason === 'superseded')).toEqual([]);
  });

  it('shutdown (SIGTERM): the leader releases and a standby takes it over as released, without waiting for it to lapse', async () => {
    race({ name: 'a' }, { name: 'b' }, { name: 'c' });
    const leader = await nextLeader(0n);
    await sleep(600);
    await leader.shutDown();
    expect(leader.lease.isLeader()).toBe(false);
    expect((await leaseItem()).released).toBe('true');
    const successor = await nextLeader(1n);
    // 'released', not 'expired': the standby took the record on its next look, not after a lease duration.
    expect(successor.logger.events('lease_acquired').at(-1)?.fields).toMatchObject({ reason: 'released', fencingToken: 2n });
    expect(recorder.terms[0]).toMatchObject({ reason: 'released' });
    // The released token is not reused: the record keeps counting.
    expect((await leaseItem()).fencingToken).toBe('2');
  });
});
