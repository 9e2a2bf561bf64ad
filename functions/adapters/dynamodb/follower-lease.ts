/**
 * One contender for the follower lease: a standby that looks at the record every few seconds and takes it once it
 * has lapsed, and a leader that renews it and stops acting the moment it can no longer be sure it holds it.
 *
 * - Every write is conditional (see lease-table.ts); the rules of when to write are in domain/lease.ts.
 * - Only this host's monotonic clock measures time. Wall clocks (which may be off by seconds between hosts)
 *   are written into the record for operators and never read.
 * - A failed renewal (throttling, a network error, a timeout) is not a loss: it is retried until the leader's
 *   deadline (its last successful write's send time + lease − safety margin). At the deadline the term ends
 *   at once, whether or not a request is still in flight; a renewal that fails its condition ends it at once.
 * - The term's AbortSignal aborts when the term ends, so whatever acts for the leader (the emitter) stops too;
 *   `holds(token)` answers synchronously against the deadline, even when a timer is late.
 *
 * All reads and writes of one contender run one at a time, so it never races itself.
 */
import { randomUUID } from 'node:crypto';
import {
  DEFAULT_LEASE_TIMINGS,
  leaderDeadline,
  nextStandbyStep,
  validateLeaseTimings,
  type LeaseObservation,
  type LeaseTimings,
  type TakeReason,
} from '../../domain/lease.js';
import type { Clock, Logger, Metrics } from '../../domain/ports.js';
import type { HeldLease, LeaseGrant, LeaseTable } from './lease-table.js';
import { describeError, LeaseLogEvent, LeaseMetric } from '../../domain/observability.js';

/** Milliseconds that only ever go forward (performance.now()); comparable only within one process. */
export interface MonotonicClock {
  now(): number;
}

export interface FollowerLeaseOptions {
  table: LeaseTable;
  /** Unique per process: a restarted task must not pass for its former self. */
  holderId: string;
  timings?: Partial<LeaseTimings>;
  /** Wait before retrying a renewal that failed for a transient reason. Default: a tenth of the renewal interval. */
  renewRetryIntervalMs?: number;
  logger: Logger;
  metrics?: Metrics;
  monotonicClock?: MonotonicClock;
  /** Only for the timestamps written for operators. */
  wallClock?: Clock;
  newRecordVersion?: () => string;
}

export type LeaseLossReason =
  /** Another contender holds the record now (a renewal's condition failed). */
  | 'superseded'
  /** Renewals kept failing until the deadline. */
  | 'renewal_deadline'
  /** Given up on shutdown. */
  | 'released'
  /** Given up on purpose by a leader that cannot do its work; it competes again after a cooldown. */
  | 'resigned';

/** One uninterrupted period of leadership. */
export interface LeadershipTerm {
  readonly fencingToken: bigint;
  /** Aborts, with a LeaseLostError as its reason, the moment the term ends. */
  readonly signal: AbortSignal;
}

export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  constructor(
    readonly reason: LeaseLossReason,
    readonly fencingToken: bigint,
  ) {
    super(`the follower lease (token ${fencingToken}) was lost: ${reason}`);
  }
}

interface Leadership {
  readonly term: LeadershipTerm;
  readonly controller: AbortController;
  readonly held: HeldLease;
  /** Monotonic ms after which this term must not act. */
  deadline: number;
  deadlineTimer: NodeJS.Timeout | undefined;
}

export interface LeaseLoss {
  fencingToken: bigint;
  reason: LeaseLossReason;
}

/** What listeners are told: a term began, a term ended. */
interface LeaseEvents {
  acquired: [term: LeadershipTerm];
  lost: [loss: LeaseLoss];
}

type Listeners = { [Event in keyof LeaseEvents]: Set<(...args: LeaseEvents[Event]) => void> };

export class FollowerLease {
  private readonly timings: LeaseTimings;
  private readonly renewRetryIntervalMs: number;
  private readonly clock: MonotonicClock;
  private readonly wallClock: Clock;
  private readonly newRecordVersion: () => string;
  private readonly listeners: Listeners = { acquired: new Set(), lost: new Set() };
  private leadership: Leadership | null = null;
  private observation: LeaseObservation | null = null;
  private lastSeenHolder: string | undefined;
  /** Monotonic ms before which no acquisition is tried (after resigning); the clock's origin is arbitrary. */
  private cooldownUntil = Number.NEGATIVE_INFINITY;
  private tickTimer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  /** Reads and writes, one at a time. */
  private serial: Promise<void> = Promise.resolve();

  constructor(private readonly options: FollowerLeaseOptions) {
    this.timings = validateLeaseTimings({ ...DEFAULT_LEASE_TIMINGS, ...options.timings });
    this.renewRetryIntervalMs = options.renewRetryIntervalMs ?? Math.max(1, Math.ceil(this.timings.renewIntervalMs / 10));
    this.clock = options.monotonicClock ?? performance;
    this.wallClock = options.wallClock ?? { now: () => new Date() };
    this.newRecordVersion = options.newRecordVersion ?? randomUUID;
  }

  get holderId(): string {
    return this.options.holderId;
  }

  get leaseTimings(): Readonly<LeaseTimings> {
    return this.timings;
  }

  /** Starts competing: the first attempt is immediate. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.options.metrics?.gauge(LeaseMetric.leader, 0);
    this.schedule(0);
  }

  /** `acquired(term)` when a term begins, `lost({ fencingToken, reason })` when it ends; returns an unsubscribe. */
  on<Event extends keyof LeaseEvents>(event: Event, listener: (...args: LeaseEvents[Event]) => void): () => void {
    const listeners = this.listeners[event];
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }

  /** True while this process holds the lease and its deadline has not passed. */
  isLeader(): boolean {
    return this.currentTerm() !== null;
  }

  /** The term in force, or null; ends a term whose deadline passed even if its timer has not fired yet. */
  currentTerm(): LeadershipTerm | null {
    this.endTermIfPastDeadline();
    return this.leadership?.term ?? null;
  }

  get fencingToken(): bigint | null {
    return this.currentTerm()?.fencingToken ?? null;
  }

  /** The emission guard: may something be sent now with this token? */
  holds(fencingToken: bigint): boolean {
    return this.currentTerm()?.fencingToken === fencingToken;
  }

  /**
   * Gives the lease up (a leader that cannot do its work: database or Ogmios unreachable) so that another
   * contender can take it at once; this one competes again after the cooldown.
   */
  resign(cooldownMs: number): Promise<void> {
    return this.run(async () => {
      if (this.leadership) await this.giveUp('resigned');
      this.cooldownUntil = this.clock.now() + cooldownMs;
    });
  }

  /** Stops competing; a leader ends its term at once and then releases the record. */
  stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.tickTimer);
    return this.run(async () => {
      if (this.leadership) await this.giveUp('released');
      this.options.metrics?.gauge(LeaseMetric.leader, 0);
    });
  }

  // ————— the loop —————

  private schedule(delayMs: number): void {
    clearTimeout(this.tickTimer);
    if (this.stopped) return;
    this.tickTimer = setTimeout(() => void this.run(() => this.tick()), Math.max(0, delayMs));
  }

  private run(work: () => Promise<void>): Promise<void> {
    const next = this.serial.then(work);
    this.serial = next.catch((error: unknown) => {
      this.options.logger.error(LeaseLogEvent.stepFailed, { error: describeError(error) });
    });
    return next;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.currentTerm()) await this.renew();
    else await this.tryAcquire();
  }

  private async tryAcquire(): Promise<void> {
    const waitForCooldown = this.cooldownUntil - this.clock.now();
    if (waitForCooldown > 0) return this.schedule(waitForCooldown);
    try {
      const record = await this.options.table.read();
      const step = nextStandbyStep(record, this.observation, this.clock.now(), this.holderId);
      if (step.kind === 'wait') {
        this.observation = step.observation;
        this.noteHolder(step.holder);
        // Look again when the lease could have lapsed, if that comes before the next regular attempt.
        return this.schedule(Math.min(this.timings.acquireIntervalMs, step.remainingMs));
      }
      this.observation = null;
      const grant: LeaseGrant = {
        holder: this.holderId,
        fencingToken: step.fencingToken,
        recordVersion: this.newRecordVersion(),
        leaseDurationMs: this.timings.leaseDurationMs,
      };
      const sentAt = this.clock.now();
      const outcome =
        step.kind === 'create'
          ? await this.options.table.create(grant, this.wallClock.now())
          : await this.options.table.take(step.expectedVersion, grant, this.wallClock.now());
      // Someone else wrote first: it is their term now; watch it like any other.
      if (outcome === 'conflict') return this.schedule(this.timings.acquireIntervalMs);
      this.beginTerm(grant, sentAt, step.kind === 'create' ? 'created' : step.reason);
    } catch (error) {
      this.options.logger.warn(LeaseLogEvent.acquireFailed, { ...this.describe(), error: describeError(error) });
      this.schedule(this.timings.acquireIntervalMs);
    }
  }

  private async renew(): Promise<void> {
    const leadership = this.leadership!;
    const sentAt = this.clock.now();
    const nextVersion = this.newRecordVersion();
    try {
      const outcome = await this.options.table.renew(
        leadership.held,
        nextVersion,
        this.timings.leaseDurationMs,
        this.wallClock.now(),
        // An answer after the deadline is of no use: the term is over by then.
        Math.max(1, leadership.deadline - sentAt),
      );
      if (this.leadership !== leadership) return this.schedule(0);
      if (outcome === 'written') {
        leadership.held.recordVersion = nextVersion;
        this.extendDeadline(leadership, leaderDeadline(sentAt, this.timings.leaseDurationMs, this.timings.safetyMarginMs));
        return this.schedule(this.timings.renewIntervalMs);
      }
      await this.afterRenewalConflict(leadership);
    } catch (error) {
      if (this.leadership !== leadership) return this.schedule(0);
      this.options.metrics?.count(LeaseMetric.renewalFailures);
      this.options.logger.warn(LeaseLogEvent.renewalFailed, {
        ...this.describe(),
        error: describeError(error),
        msUntilDeadline: Math.round(leadership.deadline - this.clock.now()),
      });
      this.schedule(this.renewRetryIntervalMs);
    }
  }

  /**
   * The record is not as this term left it. If it still names this holder and token, an earlier renewal did
   * reach DynamoDB though its answer was lost: carry on from that version (without extending the deadline,
   * since when it was written is unknown). Otherwise another contender has taken over.
   */
  private async afterRenewalConflict(leadership: Leadership): Promise<void> {
    const record = await this.options.table.read(Math.max(1, leadership.deadline - this.clock.now()));
    if (this.leadership !== leadership) return this.schedule(0);
    if (record && !record.released && record.holder === this.holderId && record.fencingToken === leadership.term.fencingToken) {
      leadership.held.recordVersion = record.recordVersion;
      this.options.logger.info(LeaseLogEvent.ownWriteRecognised, { ...this.describe(), fencingToken: leadership.term.fencingToken });
      return this.schedule(0);
    }
    if (record) this.noteHolder(record.holder);
    this.endTerm('superseded');
    this.schedule(this.timings.acquireIntervalMs);
  }

  private async giveUp(reason: 'released' | 'resigned'): Promise<void> {
    const held = { ...this.leadership!.held };
    // Stop acting first: from here on nothing may be sent with this token, whatever the release's outcome.
    this.endTerm(reason);
    try {
      const outcome = await this.options.table.release(held, this.newRecordVersion(), this.wallClock.now());
      if (outcome === 'written')
        this.options.logger.info(LeaseLogEvent.released, { ...this.describe(), fencingToken: held.fencingToken, reason });
      else
        this.options.logger.warn(LeaseLogEvent.releaseFailed, {
          ...this.describe(),
          fencingToken: held.fencingToken,
          reason: 'already taken over',
        });
    } catch (error) {
      // The record then lapses on its own after one lease duration.
      this.options.logger.warn(LeaseLogEvent.releaseFailed, {
        ...this.describe(),
        fencingToken: held.fencingToken,
        error: describeError(error),
      });
    }
  }

  // ————— terms —————

  private beginTerm(grant: LeaseGrant, sentAt: number, reason: TakeReason | 'created'): void {
    const deadline = leaderDeadline(sentAt, this.timings.leaseDurationMs, this.timings.safetyMarginMs);
    if (this.clock.now() >= deadline) {
      // The write took longer than the lease allows acting on: the record names this holder, so the next
      // attempt takes it again, with a fresh token.
      this.options.logger.warn(LeaseLogEvent.acquireFailed, { ...this.describe(), error: 'acquisition answered after its own deadline' });
      return this.schedule(0);
    }
    const controller = new AbortController();
    const term: LeadershipTerm = { fencingToken: grant.fencingToken, signal: controller.signal };
    const leadership: Leadership = { term, controller, held: { ...grant }, deadline, deadlineTimer: undefined };
    this.leadership = leadership;
    this.armDeadline(leadership);
    this.options.metrics?.gauge(LeaseMetric.leader, 1);
    this.options.metrics?.count(LeaseMetric.acquisitions);
    this.options.logger.info(LeaseLogEvent.acquired, {
      ...this.describe(),
      fencingToken: grant.fencingToken,
      reason,
      previousHolder: this.lastSeenHolder ?? null,
    });
    this.lastSeenHolder = this.holderId;
    this.schedule(this.timings.renewIntervalMs);
    this.notify('acquired', term);
  }

  private endTerm(reason: LeaseLossReason): void {
    const leadership = this.leadership;
    if (!leadership) return;
    this.leadership = null;
    clearTimeout(leadership.deadlineTimer);
    const { fencingToken } = leadership.term;
    leadership.controller.abort(new LeaseLostError(reason, fencingToken));
    this.options.metrics?.gauge(LeaseMetric.leader, 0);
    const involuntary = reason === 'superseded' || reason === 'renewal_deadline';
    if (involuntary) this.options.metrics?.count(LeaseMetric.losses);
    this.options.logger[involuntary ? 'warn' : 'info'](LeaseLogEvent.lost, { ...this.describe(), fencingToken, reason });
    this.notify('lost', { fencingToken, reason });
  }

  private extendDeadline(leadership: Leadership, deadline: number): void {
    leadership.deadline = Math.max(leadership.deadline, deadline);
    this.armDeadline(leadership);
  }

  private armDeadline(leadership: Leadership): void {
    clearTimeout(leadership.deadlineTimer);
    leadership.deadlineTimer = setTimeout(
      () => {
        if (this.leadership !== leadership) return;
        // A timer may fire a little early against this clock: look again until the deadline has truly passed.
        if (!this.endTermIfPastDeadline()) this.armDeadline(leadership);
      },
      Math.max(0, Math.ceil(leadership.deadline - this.clock.now())),
    );
  }

  private endTermIfPastDeadline(): boolean {
    if (this.leadership === null || this.clock.now() < this.leadership.deadline) return false;
    this.endTerm('renewal_deadline');
    return true;
  }

  // ————— reporting —————

  private noteHolder(holder: string): void {
    if (holder === this.lastSeenHolder) return;
    this.lastSeenHolder = holder;
    this.options.logger.info(LeaseLogEvent.held, { ...this.describe(), heldBy: holder });
  }

  /** A listener's failure is logged and stays its own: the lease's state is already settled. */
  private notify<Event extends keyof LeaseEvents>(event: Event, ...args: LeaseEvents[Event]): void {
    for (const listener of this.listeners[event]) {
      try {
        listener(...args);
      } catch (error) {
        this.options.logger.error(LeaseLogEvent.listenerFailed, { ...this.describe(), event, error: describeError(error) });
      }
    }
  }

  private describe(): { lease: string; holder: string } {
    return { lease: this.options.table.leaseName, holder: this.holderId };
  }
}
