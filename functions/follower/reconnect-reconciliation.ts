/**
 * Reconciliation after an outage: when the chain-sync connection is back after having been lost and the follower
 * has caught up with the node's tip again, a reconciliation of the monitored addresses is started: it checks at
 * once (as BTCPay does after a reconnect) that the payments made while the follower was away are all in the
 * database, instead of waiting for the 03:00 run.
 *
 * Why only once caught up: the catch-up itself is what records those payments (the follower resumes from its
 * last point, so no block is skipped), and until the database has applied the blocks of the outage every chunk
 * lags the node and a reconciliation can only count their outputs as too recent. Run at the tip, it judges them.
 * The tip it waits for is one the node reported on the new connection, with its intersection or after it: the tip
 * known when the socket opens is the one from before the outage, which the follower had already reached.
 *
 * It watches the chain-sync client's telemetry (reconnects, the tip since the intersection) rather than hooking
 * into the loop: the chain-sync loop never waits for it. One at a time, and at most one per `minIntervalMs` (a
 * flapping connection must not start a reconciliation per flap).
 */
import type { Logger } from '../domain/ports.js';
import { ReconnectReconciliationLogEvent } from '../domain/observability.js';
import type { ChainSyncHealth } from '../adapters/ogmios/chain-sync-client.js';

export interface ConnectionTelemetry {
  /** Retries so far (failed attempts and lost connections); grows with every outage. */
  reconnects: number;
  /**
   * The follower has passed on the node's tip as reported on the current connection, with its intersection or
   * after it (never a tip from before a reconnect); false while connecting, intersecting or away.
   */
  caughtUp: boolean;
  /** That tip's height, for the log line; undefined until the current connection found its intersection. */
  tipHeight: bigint | undefined;
}

/** The leader's view: caught up once the height it emitted reaches that tip's. */
export function emittedTelemetry(health: ChainSyncHealth, emittedHeight: bigint | null): ConnectionTelemetry {
  const tip = health.tipSinceIntersection;
  return {
    reconnects: health.reconnects,
    caughtUp: tip !== undefined && emittedHeight !== null && emittedHeight >= tip.height,
    tipHeight: tip?.height,
  };
}

/** The local stack's view: caught up once the last block handed to the engine is that tip's block. */
export function deliveredTelemetry(health: ChainSyncHealth): ConnectionTelemetry {
  const tip = health.tipSinceIntersection;
  const { position } = health;
  return {
    reconnects: health.reconnects,
    caughtUp: tip !== undefined && position !== 'origin' && position.hash === tip.hash,
    tipHeight: tip?.height,
  };
}

export interface ReconnectReconciliationOptions {
  /** The chain-sync client's view (undefined while there is no client, e.g. on a standby). */
  observe: () => ConnectionTelemetry | undefined;
  /** Starts a reconciliation (an asynchronous Lambda invocation, or an in-process run locally). */
  reconcile: () => Promise<unknown>;
  logger: Logger;
  /** Default 10 minutes. */
  minIntervalMs?: number;
  /** How often the telemetry is read. Default 5 s. */
  checkEveryMs?: number;
  now?: () => number;
}

export class ReconnectReconciliation {
  /** Reconnects of the current client already taken into account; a client counts from zero. */
  private seenReconnects = 0;
  private pendingSince: number | undefined;
  private running: Promise<void> | undefined;
  private lastStartedAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ReconnectReconciliationOptions) {}

  start(): void {
    this.timer ??= setInterval(() => this.check(), this.options.checkEveryMs ?? 5_000);
    this.timer.unref();
  }

  /** Stops watching and waits for a reconciliation in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One look at the telemetry (the timer calls it; tests may too). Returns whether a reconciliation started. */
  check(): boolean {
    const telemetry = this.options.observe();
    if (telemetry === undefined) {
      this.seenReconnects = 0; // no client (a standby): the next one counts from zero
      return false;
    }
    if (telemetry.reconnects < this.seenReconnects) this.seenReconnects = 0; // a new client
    if (telemetry.reconnects > this.seenReconnects) {
      this.seenReconnects = telemetry.reconnects;
      this.pendingSince ??= this.now();
    }
    // Pending until the catch-up reached the tip: before, the run could only count the outage's payments as too recent.
    if (this.pendingSince === undefined || !telemetry.caughtUp || this.running !== undefined) return false;
    if (this.now() - this.lastStartedAt < (this.options.minIntervalMs ?? 10 * 60_000)) return false;
    this.pendingSince = undefined;
    this.lastStartedAt = this.now();
    this.options.logger.info(ReconnectReconciliationLogEvent.triggered, {
      reconnects: telemetry.reconnects,
      tipHeight: telemetry.tipHeight,
    });
    this.running = this.options
      .reconcile()
      .then(
        () => undefined,
        (error: unknown) =>
          this.options.logger.warn(ReconnectReconciliationLogEvent.failed, {
            reason: error instanceof Error ? error.message : String(error),
          }),
      )
      .finally(() => {
        this.running = undefined;
      });
    return true;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}
