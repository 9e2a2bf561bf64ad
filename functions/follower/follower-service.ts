/**
 * The follower task: competes for the lease; while it leads, runs a LeaderSession (follow Ogmios from the
 * engine's position, emit every event with the term's fencing token); while it stands by, waits. Also what its
 * health endpoints report, and the orderly shutdown ECS asks for with SIGTERM.
 *
 * A leader whose session cannot work (database unreachable, no Ogmios connection for two minutes, no
 * intersection) resigns the lease, so
 * that the other task, which may well reach them, takes over at once; it competes again after a cooldown.
 */
import type { Point } from '../domain/chain.js';
import type { Logger, Metrics } from '../domain/ports.js';
import { FollowerLogEvent } from '../domain/observability.js';
import type { FollowerLease, LeadershipTerm } from '../adapters/dynamodb/follower-lease.js';
import type { OgmiosEndpoints } from '../adapters/ogmios/endpoints.js';
import type { ChainEventEmitter } from '../domain/chain-event-emitter.js';
import type { FollowerDatabase } from '../adapters/postgres/follower-database.js';
import { assessFollowerReadiness, type FollowerReadiness, type FollowerRole } from './follower-readiness.js';
import { LeaderSession, SyncGenerationChangedError, type ChainSyncTuning, type EmissionTuning } from './leader-session.js';
import { emittedTelemetry, type ConnectionTelemetry } from './reconnect-reconciliation.js';
import type { StartPoint } from './start-points.js';

/** Ledger-state queries the follower needs outside chain sync. */
export interface OgmiosQueries {
  /** The node's tip: for START_POINT=tip. */
  networkTip(): Promise<Point>;
  /** The node's block height; for a standby's health. Rejects when Ogmios does not answer. */
  networkBlockHeight(): Promise<bigint | 'origin'>;
  close(): Promise<void>;
}

export interface FollowerServiceOptions {
  lease: FollowerLease;
  emitter: ChainEventEmitter;
  database: FollowerDatabase;
  ogmios: OgmiosEndpoints;
  ogmiosQueries: OgmiosQueries;
  startPoint: StartPoint;
  logger: Logger;
  metrics: Metrics;
  /** Wait after resigning before competing again. Default: three standby attempt intervals. */
  resignCooldownMs?: number;
  /** Kept back from the shutdown budget for releasing the lease. Default 5 s. */
  releaseReserveMs?: number;
  emission?: Partial<EmissionTuning>;
  chainSync?: ChainSyncTuning;
  /** A leader without an Ogmios connection this long resigns. Default 2 minutes. */
  ogmiosUnreachableLimitMs?: number;
  /** How often a leader checks for a rebuild's new sync generation. Default 5 s. */
  generationCheckIntervalMs?: number;
}

export interface FollowerLiveness {
  role: FollowerRole;
  holder: string;
  fence_token: bigint | null;
  generation: bigint | null;
  emitted_height: bigint | null;
  emitted_point: string | null;
  tip_height: bigint | null;
  ogmios_connected: boolean;
  ogmios_reconnects: number;
  queued_events: number;
  stopping: boolean;
}

export const DEFAULT_RELEASE_RESERVE_MS = 5_000;

export class FollowerService {
  private session: LeaderSession | undefined;
  private readonly sessions = new Set<Promise<void>>();
  private started = false;
  private stopping = false;
  private stopped: Promise<void> | undefined;

  constructor(private readonly options: FollowerServiceOptions) {}

  start(): void {
    if (this.started) return;
    this.started = true;
    this.options.lease.on('acquired', (term) => this.lead(term));
    this.options.lease.start();
  }

  get role(): FollowerRole {
    return this.options.lease.isLeader() ? 'leader' : 'standby';
  }

  /**
   * SIGTERM: stop following, emit what is queued (within the budget, minus what the release needs), release
   * the lease so that the standby takes over at once, and resolve. Calling it again returns the same promise.
   */
  stop(budgetMs: number): Promise<void> {
    this.stopped ??= this.shutDown(budgetMs);
    return this.stopped;
  }

  liveness(): FollowerLiveness {
    const status = this.session?.status();
    const chainSync = status?.chainSync;
    return {
      role: this.role,
      holder: this.options.lease.holderId,
      fence_token: this.options.lease.fencingToken,
      generation: status?.generation ?? null,
      emitted_height: status?.emittedHeight ?? null,
      emitted_point: status?.emittedPoint ?? null,
      tip_height: chainSync?.tip?.height ?? null,
      ogmios_connected: chainSync?.connected ?? false,
      ogmios_reconnects: chainSync?.reconnects ?? 0,
      queued_events: status?.queuedEvents ?? 0,
      stopping: this.stopping,
    };
  }

  /** What the reconnect reconciliation watches: the leader's chain-sync connection and emitted height (none on a standby). */
  reconnectTelemetry(): ConnectionTelemetry | undefined {
    if (this.role !== 'leader') return undefined;
    const status = this.session?.status();
    if (status?.chainSync == null) return undefined;
    return emittedTelemetry(status.chainSync, status.emittedHeight);
  }

  async readiness(): Promise<FollowerReadiness> {
    const role = this.role;
    if (role === 'leader') {
      const chainSync = this.session?.status().chainSync;
      const engine = await this.options.database.readiness(() => chainSync?.tip?.height);
      return assessFollowerReadiness({
        role,
        engine,
        ogmiosReachable: chainSync?.connected ?? false,
        fenceToken: this.options.lease.fencingToken,
      });
    }
    const tipHeight = await this.options.ogmiosQueries.networkBlockHeight().then(
      (height) => (height === 'origin' ? 0n : height),
      () => null,
    );
    const engine = await this.options.database.readiness(() => tipHeight ?? undefined);
    return assessFollowerReadiness({ role, engine, ogmiosReachable: tipHeight !== null, fenceToken: null });
  }

  private lead(term: LeadershipTerm): void {
    if (this.stopping) return; // the lease is being released: nothing more to start
    const session = new LeaderSession({
      term,
      holds: (token) => this.options.lease.holds(token),
      emitter: this.options.emitter,
      database: this.options.database,
      ogmios: this.options.ogmios,
      startPoint: this.options.startPoint,
      networkTip: () => this.options.ogmiosQueries.networkTip(),
      logger: this.options.logger,
      metrics: this.options.metrics,
      emission: this.options.emission,
      chainSync: this.options.chainSync,
      ogmiosUnreachableLimitMs: this.options.ogmiosUnreachableLimitMs,
      generationCheckIntervalMs: this.options.generationCheckIntervalMs,
    });
    this.session = session;
    const running = session
      .run()
      .catch((error: unknown) =>
        error instanceof SyncGenerationChangedError ? this.followAgain(term, error) : this.stepAside(term, error),
      )
      .finally(() => {
        this.sessions.delete(running);
        if (this.session === session) this.session = undefined;
      });
    this.sessions.add(running);
  }

  /** After a rebuild: same term, a new session stamped with the new generation, from the database's new points. */
  private followAgain(term: LeadershipTerm, change: SyncGenerationChangedError): void {
    const stillLeading = !this.stopping && this.options.lease.holds(term.fencingToken);
    this.options.logger.warn(FollowerLogEvent.generationChanged, {
      fencingToken: term.fencingToken,
      from: change.from,
      to: change.to,
      action: stillLeading ? 'following again from the database' : 'none (no longer leading)',
    });
    if (stillLeading) this.lead(term);
  }

  private async stepAside(term: LeadershipTerm, error: unknown): Promise<void> {
    this.options.logger.error(FollowerLogEvent.sessionFailed, {
      fencingToken: term.fencingToken,
      error: error instanceof Error ? error.message : String(error),
      action: this.stopping ? 'none (stopping)' : 'resigning the lease',
    });
    if (this.stopping || !this.options.lease.holds(term.fencingToken)) return;
    const cooldownMs = this.options.resignCooldownMs ?? this.options.lease.leaseTimings.acquireIntervalMs * 3;
    await this.options.lease.resign(cooldownMs);
  }

  private async shutDown(budgetMs: number): Promise<void> {
    this.stopping = true;
    const releaseReserveMs = Math.min(this.options.releaseReserveMs ?? DEFAULT_RELEASE_RESERVE_MS, budgetMs / 2);
    await this.session?.finish(Math.max(0, budgetMs - releaseReserveMs));
    await this.options.lease.stop();
    await Promise.all(this.sessions);
    await this.options.ogmiosQueries.close().catch(() => undefined);
  }
}
