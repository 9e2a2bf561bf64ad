/**
 * One leader session: fence the database with the term's token, follow the chain from where the engine is, and
 * emit every event, stamped with the token, the sync generation and its step in the session, strictly in order.
 *
 * - The fence comes first (FollowerDatabase.beginSession): from then on nothing an earlier leader emitted can be
 *   applied, so the points read with it stay the engine's position until this session's own events arrive,
 *   however far behind the processor is and whatever the queue still holds.
 *
 * - Chain sync hands events to the emission queue; the sender takes what has gathered and emits it; an event
 *   leaves the queue only once the emitter accepted it, and a failed send is retried from the same event. So
 *   what is emitted is a gapless prefix of what chain sync delivered.
 * - The term's end (lease lost, or its deadline passed) aborts everything at once: no send starts after it,
 *   the emitter is told to give up, chain sync is stopped, queued events are dropped. Nothing is lost by that:
 *   the next leader resumes from the database, i.e. from what the engine has applied.
 * - Every send is guarded by `holds(token)`, the lease's synchronous check against its deadline.
 */
import { abortableSleep as sleep } from '../adapters/abortable-sleep.js';
import { describePoint, type ChainEvent, type Point } from '../domain/chain.js';
import type { Logger, Metrics } from '../domain/ports.js';
import type { LeadershipTerm } from '../adapters/dynamodb/follower-lease.js';
import { ChainSyncClient, type ChainSyncClientOptions, type ChainSyncHealth } from '../adapters/ogmios/chain-sync-client.js';
import type { OgmiosEndpoints } from '../adapters/ogmios/endpoints.js';
import { EmissionQueue } from './emission-queue.js';
import { stepsOf } from '../domain/chain-event-message.js';
import type { ChainEventEmitter, SessionStamp } from '../domain/chain-event-emitter.js';
import type { FollowerDatabase } from '../adapters/postgres/follower-database.js';
import { chooseStart, type StartPoint } from './start-points.js';
import { FollowerLogEvent, FollowerMetric } from '../domain/observability.js';

/** Chain-sync settings a deployment or a test may tune. */
export type ChainSyncTuning = Partial<
  Pick<
    ChainSyncClientOptions,
    'pipelineDepth' | 'stopDrainTimeoutMs' | 'connectTimeoutMs' | 'pingIntervalMs' | 'pongTimeoutMs' | 'backoff' | 'healthyAfterMs'
  >
>;

export interface EmissionTuning {
  /** Events handed over by chain sync and not yet emitted, at most. Default 1000. */
  queueCapacity: number;
  /** Events offered to the emitter in one call, at most. Default 500. */
  maxEventsPerEmit: number;
  /** First wait after a failed send; doubles per consecutive failure. Default 200 ms. */
  retryInitialDelayMs: number;
  /** Longest wait between retries of a failed send. Default 10 s. */
  retryMaxDelayMs: number;
}

export const DEFAULT_EMISSION_TUNING: EmissionTuning = {
  queueCapacity: 1000,
  maxEventsPerEmit: 500,
  retryInitialDelayMs: 200,
  retryMaxDelayMs: 10_000,
};

/** Chain sync answers still in flight at shutdown are not worth waiting long for: nothing is emitted after stop. */
export const DEFAULT_FOLLOWER_STOP_DRAIN_MS = 1_000;
/**
 * A leader without an Ogmios connection for this long gives the lease up: the other task may reach Ogmios (its own
 * network path), and if it cannot either, the two take turns, which costs nothing.
 */
export const DEFAULT_OGMIOS_UNREACHABLE_LIMIT_MS = 120_000;

export class OgmiosUnreachableError extends Error {
  override readonly name = 'OgmiosUnreachableError';
}

/** How often a leader checks whether the sync generation was bumped (a rebuild, a recovery, a resume). */
export const DEFAULT_GENERATION_CHECK_INTERVAL_MS = 5_000;

/**
 * The sync generation was bumped (a rebuild, the processor's recovery from a divergence or a poison message, a
 * resume): everything this session emits would be dropped as stale, and the database's points may have moved
 * back. The session ends; the service starts a new one in the same term.
 */
export class SyncGenerationChangedError extends Error {
  override readonly name = 'SyncGenerationChangedError';
  constructor(
    readonly from: bigint,
    readonly to: bigint,
  ) {
    super(
      `the sync generation changed from ${from} to ${to} (a rebuild, a recovery or a resume): following again from the database's points`,
    );
  }
}

export interface LeaderSessionOptions {
  term: LeadershipTerm;
  /** The lease's emission guard. */
  holds: (fencingToken: bigint) => boolean;
  emitter: ChainEventEmitter;
  database: FollowerDatabase;
  ogmios: OgmiosEndpoints;
  startPoint: StartPoint;
  /** The network's tip, for START_POINT=tip. */
  networkTip: () => Promise<Point>;
  logger: Logger;
  metrics: Metrics;
  emission?: Partial<EmissionTuning>;
  chainSync?: ChainSyncTuning;
  /** See DEFAULT_OGMIOS_UNREACHABLE_LIMIT_MS. */
  ogmiosUnreachableLimitMs?: number;
  /** See DEFAULT_GENERATION_CHECK_INTERVAL_MS. */
  generationCheckIntervalMs?: number;
}

export interface LeaderSessionStatus {
  fencingToken: bigint;
  generation: bigint | null;
  /** The last block accepted by the emitter. */
  emittedHeight: bigint | null;
  emittedPoint: string | null;
  queuedEvents: number;
  chainSync: ChainSyncHealth | null;
}

export class LeaderSession {
  private readonly emission: EmissionTuning;
  private readonly queue: EmissionQueue;
  /** Aborted at shutdown, once what could be flushed is flushed. */
  private readonly shutdown = new AbortController();
  /** The term's end or the shutdown, whichever comes first. */
  private readonly signal: AbortSignal;
  private client: ChainSyncClient | undefined;
  private stamp: SessionStamp | undefined;
  private emittedHeight: bigint | null = null;
  private emittedPoint: Point | null = null;
  private running: Promise<void> | undefined;
  /** Why this session cannot work, when it cannot. */
  private failure: unknown;

  constructor(private readonly options: LeaderSessionOptions) {
    this.emission = { ...DEFAULT_EMISSION_TUNING, ...options.emission };
    this.queue = new EmissionQueue(this.emission.queueCapacity);
    this.signal = AbortSignal.any([options.term.signal, this.shutdown.signal]);
  }

  get fencingToken(): bigint {
    return this.options.term.fencingToken;
  }

  /**
   * Follows and emits until the term ends or finish() is done. Rejects when the session cannot do its work (the
   * database or every Ogmios relay refuses, or no relay knows any of the points): the caller should step aside.
   */
  run(): Promise<void> {
    this.running ??= this.follow();
    return this.running;
  }

  /**
   * Shutdown: stops chain sync (the event being handed over completes, nothing after it), lets the sender emit
   * what is queued for at most `flushBudgetMs` (and only while the term lasts), then stops emitting.
   */
  async finish(flushBudgetMs: number): Promise<void> {
    const giveUp = setTimeout(() => this.shutdown.abort(new Error(`shutdown flush budget of ${flushBudgetMs} ms spent`)), flushBudgetMs);
    try {
      await this.client?.stop();
      await this.queue.drained(this.signal);
      this.options.logger.info(FollowerLogEvent.flushed, { fencingToken: this.fencingToken, emittedHeight: this.emittedHeight });
    } catch (reason) {
      this.options.logger.warn(FollowerLogEvent.flushIncomplete, {
        fencingToken: this.fencingToken,
        unsentEvents: this.queue.size,
        reason: describe(reason),
      });
    } finally {
      clearTimeout(giveUp);
      this.shutdown.abort(new Error('shutdown'));
      await this.running?.catch(() => undefined);
    }
  }

  status(): LeaderSessionStatus {
    return {
      fencingToken: this.fencingToken,
      generation: this.stamp?.generation ?? null,
      emittedHeight: this.emittedHeight,
      emittedPoint: this.emittedPoint === null ? null : describePoint(this.emittedPoint),
      queuedEvents: this.queue.size,
      chainSync: this.client?.health() ?? null,
    };
  }

  private async follow(): Promise<void> {
    const { database, logger } = this.options;
    if (!this.options.holds(this.fencingToken)) return;
    const { generation, resumePoints } = await database.beginSession(this.fencingToken);
    const start = await chooseStart(resumePoints, this.options.startPoint, this.options.networkTip);
    if (this.signal.aborted) return;
    this.stamp = { fence: this.fencingToken, generation };
    logger.info(FollowerLogEvent.sessionStarted, {
      fencingToken: this.fencingToken,
      generation,
      from: start.from,
      point: start.points[0] === undefined ? null : describePoint(start.points[0]),
    });

    const client = new ChainSyncClient({
      ...this.options.ogmios,
      knownPoints: start.points,
      allowOriginFallback: start.allowOrigin,
      onEvent: (event) => this.queue.push(event, this.signal),
      logger,
      metrics: this.options.metrics,
      stopDrainTimeoutMs: DEFAULT_FOLLOWER_STOP_DRAIN_MS,
      ...this.options.chainSync,
    });
    this.client = client;
    const stopFollowing = (): void => void client.stop();
    this.signal.addEventListener('abort', stopFollowing, { once: true });
    const sending = this.sendUntilEnd(this.stamp);
    const stopWatching = this.watchOgmiosConnection(client);
    const stopWatchingGeneration = this.watchSyncGeneration(generation);
    try {
      await client.run();
    } catch (error) {
      // Handing over fails by design once the term ends; any other failure means this session cannot work.
      if (!this.signal.aborted) this.fail(error);
    } finally {
      stopWatching();
      stopWatchingGeneration();
      this.signal.removeEventListener('abort', stopFollowing);
      await sending;
      this.options.logger.info(FollowerLogEvent.sessionEnded, {
        fencingToken: this.fencingToken,
        emittedHeight: this.emittedHeight,
        reason: describe(this.signal.reason),
      });
    }
    if (this.failure !== undefined) throw this.failure;
  }

  private fail(error: unknown): void {
    this.failure ??= error;
    this.shutdown.abort(error);
  }

  /** Chain sync retries a lost connection for ever; a leader should not wait for ever without one. */
  private watchOgmiosConnection(client: ChainSyncClient): () => void {
    const limitMs = this.options.ogmiosUnreachableLimitMs ?? DEFAULT_OGMIOS_UNREACHABLE_LIMIT_MS;
    let lastConnectedAt = performance.now();
    const timer = setInterval(
      () => {
        if (client.health().connected) lastConnectedAt = performance.now();
        else if (performance.now() - lastConnectedAt >= limitMs) {
          this.fail(new OgmiosUnreachableError(`no Ogmios connection for ${limitMs} ms (${client.health().lastError ?? 'no answer'})`));
        }
      },
      Math.max(10, Math.min(5_000, limitMs / 4)),
    );
    return () => clearInterval(timer);
  }

  /** A rebuild bumps the generation; a failed read changes nothing (readiness reports the database). */
  private watchSyncGeneration(generation: bigint): () => void {
    const timer = setInterval(() => {
      this.options.database.syncGeneration().then(
        (current) => {
          if (current > generation) this.fail(new SyncGenerationChangedError(generation, current));
        },
        () => undefined,
      );
    }, this.options.generationCheckIntervalMs ?? DEFAULT_GENERATION_CHECK_INTERVAL_MS);
    return () => clearInterval(timer);
  }

  /**
   * Emits what gathers in the queue, in order, until the session's signal aborts. Never rejects. A failed send is
   * retried with exactly the same events (not with what has gathered since), so that the emitter builds the same
   * messages with the same deduplication ids and the queue drops the copies of what it had already accepted.
   */
  private async sendUntilEnd(stamp: SessionStamp): Promise<void> {
    let consecutiveFailures = 0;
    let unaccepted: readonly ChainEvent[] | undefined;
    /** The step the next event emitted holds: steps are numbered from 1 in each session. */
    let nextStep = 1n;
    for (;;) {
      try {
        await this.queue.nonEmpty(this.signal);
      } catch {
        return;
      }
      const events = unaccepted ?? this.queue.peek(this.emission.maxEventsPerEmit);
      if (!this.options.holds(stamp.fence)) return;
      try {
        await this.options.emitter.emit(events, { ...stamp, firstStep: nextStep }, { signal: this.signal });
        unaccepted = undefined;
      } catch (error) {
        if (this.signal.aborted) return;
        unaccepted = events;
        consecutiveFailures++;
        const retryInMs = Math.min(this.emission.retryMaxDelayMs, this.emission.retryInitialDelayMs * 2 ** (consecutiveFailures - 1));
        this.options.metrics.count(FollowerMetric.emitFailures);
        this.options.logger.error(FollowerLogEvent.emitFailed, {
          fencingToken: stamp.fence,
          events: events.length,
          consecutiveFailures,
          retryInMs,
          error: describe(error),
        });
        await sleep(retryInMs, this.signal);
        continue;
      }
      consecutiveFailures = 0;
      for (const event of events) nextStep += BigInt(stepsOf(event));
      this.queue.acknowledge(events.length);
      this.noteEmitted(events);
    }
  }

  private noteEmitted(events: readonly ChainEvent[]): void {
    for (const event of events) {
      if (event.type === 'rollBackward') {
        // The height of a rollback point is not in the event; the next block forward tells it.
        this.emittedPoint = event.point;
        continue;
      }
      const last = event.blocks.at(-1);
      if (!last) continue;
      this.emittedHeight = last.height;
      this.emittedPoint = last.slot === undefined ? this.emittedPoint : { slot: last.slot, hash: last.hash };
    }
    const { metrics } = this.options;
    metrics.count(FollowerMetric.eventsEmitted, events.length);
    metrics.gauge(FollowerMetric.queuedEvents, this.queue.size);
    if (this.emittedHeight !== null) metrics.gauge(FollowerMetric.emittedHeight, Number(this.emittedHeight));
  }
}

function describe(reason: unknown): string {
  if (reason === undefined) return 'finished';
  return reason instanceof Error ? reason.message : String(reason);
}
