/**
 * The follower's connection to Ogmios: follows the chain from the consumer's position and hands every event to
 * the consumer, in order and one at a time, across reconnects, relay failovers and key rotations.
 *
 * Guarantees to the consumer:
 * - an event is delivered once `onEvent` resolved; the next one is not handed over before that;
 * - after any reconnect, following resumes right after the last delivered event: no gap, no duplicate (the
 *   roll-backward that opens every session is swallowed when it points at where the consumer is);
 * - connection problems never end `run()`; they show in `health()`. `run()` rejects only when no relay has any
 *   point the client can offer (`IntersectionNotFoundError`) or when `onEvent` throws (that error, as is).
 *
 * No API key ever reaches a log line, a metric or an error message (see redact.ts).
 */
import { abortableSleep as sleep } from '../abortable-sleep.js';
import { describePoint, type ChainEvent, type Point, type Tip } from '../../domain/chain.js';
import type { Clock, Logger, Metrics } from '../../domain/ports.js';
import { ReconnectBackoff, type BackoffOptions } from './backoff.js';
import { ChainSyncSession, DEFAULT_PIPELINE_DEPTH } from './chain-sync-session.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_PONG_TIMEOUT_MS,
  openOgmiosSocket,
} from './connection.js';
import { ChainCursor, DEFAULT_RECENT_POINTS } from './cursor.js';
import { describeTip, IntersectionNotFoundError, OgmiosProtocolError, type IntersectionRoundReport } from './errors.js';
import type { OgmiosEndpoints } from './endpoints.js';
import { RelayRotation, type OgmiosRelay } from './relays.js';
import { OgmiosLogEvent, OgmiosMetric } from '../../domain/observability.js';

/** Where to follow from is the endpoints value, whole (relays, headers, keys); the rest tunes the following. */
export interface ChainSyncClientOptions extends OgmiosEndpoints {
  /**
   * Where the consumer is, most recent first: its current position, then older sparse checkpoints. `'origin'`
   * in the list means following may start from the beginning of the chain.
   */
  knownPoints: readonly Point[];
  /** Fall back to origin when no known point intersects. Default false: a follower far behind should fail, not replay the chain. */
  allowOriginFallback?: boolean;
  onEvent: (event: ChainEvent) => Promise<void>;
  logger: Logger;
  metrics: Metrics;
  clock?: Clock;
  /** nextBlock requests kept in flight (and most decoded events ever held). Default 100. */
  pipelineDepth?: number;
  /** Points of delivered blocks kept for resuming. Default 200. */
  recentPointsLimit?: number;
  connectTimeoutMs?: number;
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** A connection that followed this long resets the backoff. Default 30 s. */
  healthyAfterMs?: number;
  /** How long stop() waits for answers still in flight. Default 5 s. */
  stopDrainTimeoutMs?: number;
  maxPayloadBytes?: number;
  /** Waits between attempts; resolves early when `signal` aborts. Injectable for tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface ChainSyncHealth {
  connected: boolean;
  /** When `connected` last changed (or the client was created). */
  since: Date;
  lastMessageAt: Date | null;
  /** Retries so far: failed attempts and lost connections. */
  reconnects: number;
  /** Why the last connection or attempt ended, redacted. */
  lastError?: string;
  /** The relay in use or tried next, redacted. */
  url: string;
  /** Where the consumer is: the point of the last delivered block. */
  position: Point;
  /** The node's tip as last reported (after an outage, until the new connection's intersection: the one from before it). */
  tip?: Tip;
  /**
   * The node's tip as reported on the current connection with its intersection or after it; absent while
   * connecting, intersecting or away. Unlike `tip`, never a tip from before a reconnect.
   */
  tipSinceIntersection?: Tip;
  inFlight: number;
  buffered: number;
}

const DEFAULT_HEALTHY_AFTER_MS = 30_000;
const DEFAULT_STOP_DRAIN_TIMEOUT_MS = 5_000;

/** Wraps an error thrown by the consumer, so it is told apart from connection failures on its way out. */
class ConsumerFailure {
  constructor(readonly error: unknown) {}
}

export class ChainSyncClient {
  private readonly relays: RelayRotation;
  private readonly cursor: ChainCursor;
  private readonly backoff: ReconnectBackoff;
  private readonly clock: Clock;
  private readonly stopSignal = new AbortController();
  private readonly relaysWithoutIntersection = new Set<number>();
  private session: ChainSyncSession | undefined;
  private running: Promise<void> | undefined;
  private followingSince: Date | undefined;
  /** The current connection found its intersection: the tips it reports are the node's as of this connection. */
  private intersected = false;
  private readonly status: Omit<ChainSyncHealth, 'url' | 'position' | 'inFlight' | 'buffered'>;

  constructor(private readonly options: ChainSyncClientOptions) {
    this.relays = new RelayRotation(options);
    this.cursor = new ChainCursor(options.knownPoints, {
      recentLimit: options.recentPointsLimit ?? DEFAULT_RECENT_POINTS,
      allowOrigin: options.allowOriginFallback ?? false,
    });
    this.backoff = new ReconnectBackoff(options.backoff);
    this.clock = options.clock ?? { now: () => new Date() };
    this.status = { connected: false, since: this.clock.now(), lastMessageAt: null, reconnects: 0 };
  }

  /** Follows until stop(); see the module comment for when it rejects. Calling it again returns the same run. */
  run(): Promise<void> {
    this.running ??= this.follow();
    return this.running;
  }

  /**
   * Stops requesting, lets the event being delivered finish (nothing after it is delivered), drains the answers
   * still in flight, closes the socket. Resolves when all of that is done, whatever run() ends with.
   */
  async stop(): Promise<void> {
    this.stopSignal.abort();
    this.session?.stopRequesting();
    await this.running?.catch(() => undefined);
  }

  health(): ChainSyncHealth {
    const pipeline = this.session?.pipeline ?? { inFlight: 0, buffered: 0 };
    return { ...this.status, url: this.relays.current().safeUrl, position: this.cursor.position, ...pipeline };
  }

  private get stopping(): boolean {
    return this.stopSignal.signal.aborted;
  }

  private async follow(): Promise<void> {
    try {
      while (!this.stopping) {
        const endpoint = this.relays.current();
        try {
          await this.followThrough(endpoint);
        } catch (error) {
          if (error instanceof ConsumerFailure) throw error;
          if (error instanceof IntersectionNotFoundError && this.relaysWithoutIntersection.size >= this.relays.relayCount) {
            throw new IntersectionNotFoundError(error.rounds, error.serverTip, this.relays.safeUrls(), this.cursor.originAllowed);
          }
          if (this.stopping) break;
          await this.retryAfter(endpoint, error);
        }
      }
      this.options.logger.info(OgmiosLogEvent.chainSyncStopped, { position: describePoint(this.cursor.position) });
    } catch (failure) {
      const error = failure instanceof ConsumerFailure ? failure.error : failure;
      this.options.logger.error(OgmiosLogEvent.chainSyncFailed, { reason: this.relays.redactor.errorMessage(error) });
      throw error;
    }
  }

  /** One connection, from connect to close. Returns only when stopping; any failure throws. */
  private async followThrough(endpoint: OgmiosRelay): Promise<void> {
    const socket = await openOgmiosSocket(await this.relays.connectTo(), {
      connectTimeoutMs: this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      maxPayloadBytes: this.options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
      redactor: this.relays.redactor,
      signal: this.stopSignal.signal,
    });
    const session = new ChainSyncSession(socket, {
      pipelineDepth: this.options.pipelineDepth ?? DEFAULT_PIPELINE_DEPTH,
      liveness: {
        pingIntervalMs: this.options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
        pongTimeoutMs: this.options.pongTimeoutMs ?? DEFAULT_PONG_TIMEOUT_MS,
      },
      redactor: this.relays.redactor,
      onMessage: () => {
        this.status.lastMessageAt = this.clock.now();
      },
    });
    this.session = session;
    // stop() may have come between the socket opening and the session existing.
    if (this.stopping) session.stopRequesting();
    this.setConnected(true);
    this.options.logger.info(OgmiosLogEvent.connected, {
      url: endpoint.safeUrl,
      relay: endpoint.relay,
      reconnects: this.status.reconnects,
    });
    try {
      const intersection = await this.intersect(session, endpoint);
      this.followingSince = this.clock.now();
      const resume = this.cursor.resumeAt(intersection);
      session.startFollowing();
      for (let event = await session.next(); event !== null; event = await session.next()) {
        this.observeTip(event.tip);
        for (const admitted of resume.admit(event)) {
          if (this.stopping) break;
          await this.deliver(admitted);
        }
      }
      await session.drain(this.options.stopDrainTimeoutMs ?? DEFAULT_STOP_DRAIN_TIMEOUT_MS);
    } finally {
      this.intersected = false;
      this.status.tipSinceIntersection = undefined;
      this.session = undefined;
      await session.close();
      this.setConnected(false);
    }
  }

  /** Offers the cursor's points round by round (recent, checkpoints, origin) until one intersects. */
  private async intersect(session: ChainSyncSession, endpoint: OgmiosRelay): Promise<Point> {
    const tried: IntersectionRoundReport[] = [];
    let serverTip: Tip | 'origin' | undefined;
    for (const { round, points } of this.cursor.intersectionRounds()) {
      const outcome = await session.findIntersection(points);
      if (outcome.found) this.intersected = true;
      this.observeTip(outcome.tip);
      if (outcome.found) {
        this.relaysWithoutIntersection.clear();
        this.options.logger.info(OgmiosLogEvent.intersectionFound, {
          url: endpoint.safeUrl,
          round,
          point: describePoint(outcome.intersection),
          position: describePoint(this.cursor.position),
          tip: describeTip(outcome.tip),
        });
        return outcome.intersection;
      }
      serverTip = outcome.tip;
      tried.push({ round, points });
      this.options.logger.warn(OgmiosLogEvent.intersectionNotFound, {
        url: endpoint.safeUrl,
        round,
        pointsTried: points.length,
        newestPoint: points[0] === undefined ? null : describePoint(points[0]),
        tip: describeTip(outcome.tip),
      });
    }
    this.relaysWithoutIntersection.add(endpoint.relay);
    throw new IntersectionNotFoundError(tried, serverTip, [endpoint.safeUrl], this.cursor.originAllowed);
  }

  private async deliver(event: ChainEvent): Promise<void> {
    try {
      await this.options.onEvent(event);
    } catch (error) {
      throw new ConsumerFailure(error);
    }
    this.cursor.recordDelivered(event);
    this.options.metrics.count(OgmiosMetric.eventsDelivered);
  }

  private async retryAfter(endpoint: OgmiosRelay, failure: unknown): Promise<void> {
    const reason = this.relays.redactor.errorMessage(failure);
    if (failure instanceof OgmiosProtocolError) {
      this.options.logger.error(OgmiosLogEvent.messageInvalid, { url: endpoint.safeUrl, reason });
    }
    // A connection that followed for a while was healthy: this failure starts a new series.
    const followedFor = this.followingSince === undefined ? 0 : this.clock.now().getTime() - this.followingSince.getTime();
    this.followingSince = undefined;
    if (followedFor >= (this.options.healthyAfterMs ?? DEFAULT_HEALTHY_AFTER_MS)) this.backoff.reset();

    this.relays.afterFailure(failure);
    const delay = this.backoff.nextDelayMs();
    this.status.reconnects++;
    this.status.lastError = reason;
    this.options.metrics.count(OgmiosMetric.reconnects);
    this.options.logger.warn(OgmiosLogEvent.disconnected, {
      url: endpoint.safeUrl,
      reason,
      retryInMs: delay,
      nextUrl: this.relays.current().safeUrl,
    });
    await (this.options.sleep ?? sleep)(delay, this.stopSignal.signal);
  }

  private observeTip(tip: Tip | 'origin' | undefined): void {
    if (tip === undefined || tip === 'origin') return;
    this.status.tip = tip;
    if (this.intersected) this.status.tipSinceIntersection = tip;
    this.options.metrics.gauge(OgmiosMetric.tipHeight, Number(tip.height));
  }

  private setConnected(connected: boolean): void {
    if (this.status.connected === connected) return;
    this.status.connected = connected;
    this.status.since = this.clock.now();
    this.options.metrics.gauge(OgmiosMetric.connected, connected ? 1 : 0);
  }
}
