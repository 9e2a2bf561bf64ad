import type { ChainEvent } from '../domain/chain.js';
import { ChainContinuityError, UnknownRollbackPointError } from '../domain/errors.js';
import { batchEvents } from '../domain/event-batching.js';
import { abortableSleep } from '../adapters/abortable-sleep.js';
import type { ApplyOutcome, PaymentEngine } from '../domain/payment-engine.js';
import type { Logger } from '../domain/ports.js';
import { LocalStackLogEvent } from '../domain/observability.js';

export interface EnginePipelineOptions {
  engine: Pick<PaymentEngine, 'apply'>;
  logger: Logger;
  /** Events waiting to be applied before push() makes the follower wait. */
  capacity?: number;
  /** Most blocks merged into one engine transaction during catch-up. */
  maxBatchBlocks?: number;
  /** Delay before retrying an event the engine failed to apply (doubles up to 30 s). */
  retryDelayMs?: number;
  /** Called when the engine and the chain source disagree (continuity): the source must re-intersect. */
  onDivergence?: (error: Error) => void;
  onApplied?: (outcome: ApplyOutcome, event: ChainEvent) => void;
}

/**
 * The local stack's queue between the follower and the engine. Events are applied in order; consecutive
 * roll-forwards are merged into batches; a failure is retried with backoff and nothing is ever dropped.
 * push() waits while the queue is full, which slows the follower down instead of growing memory.
 */
export class EnginePipeline {
  private queue: ChainEvent[] = [];
  private spaceWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private wake: (() => void) | undefined;
  private running = false;
  private stopped = false;
  private readonly capacity: number;
  private readonly maxBatchBlocks: number;
  private readonly retryDelayMs: number;
  private worker: Promise<void> | undefined;
  private readonly stopping = new AbortController();

  constructor(private readonly options: EnginePipelineOptions) {
    this.capacity = options.capacity ?? 1000;
    this.maxBatchBlocks = options.maxBatchBlocks ?? 200;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
  }

  get queued(): number {
    return this.queue.length;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.worker = this.work();
  }

  async push(event: ChainEvent): Promise<void> {
    while (this.queue.length >= this.capacity && !this.stopped) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
    if (this.stopped) throw new Error('The engine pipeline is stopped');
    this.queue.push(event);
    this.wake?.();
  }

  /** Resolves when everything pushed so far is applied. */
  async drained(): Promise<void> {
    if (this.queue.length === 0 && !this.busy) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops what is not applied yet (the source resumes from the database after a divergence or restart). */
  discardQueued(): void {
    this.queue = [];
    this.releaseSpace();
  }

  /** Finishes the event being applied (or gives up its retry), applies nothing more, and resolves. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.wake?.();
    this.releaseSpace();
    await this.worker;
  }

  private busy = false;

  private async work(): Promise<void> {
    while (!this.stopped) {
      if (this.queue.length === 0) {
        for (const resolve of this.idleWaiters.splice(0)) resolve();
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const taken = this.queue.splice(0, this.queue.length);
      this.releaseSpace();
      this.busy = true;
      for (const event of batchEvents(taken, { maxBlocks: this.maxBatchBlocks })) {
        // once stopping, what is not applied yet stays unapplied: the source resumes from the database
        if (this.stopped || !(await this.applyUntilDone(event))) break;
      }
      this.busy = false;
    }
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Applies one event, retrying transient failures; false when the rest of the batch must be discarded. */
  private async applyUntilDone(event: ChainEvent): Promise<boolean> {
    let delay = this.retryDelayMs;
    for (;;) {
      try {
        const outcome = await this.options.engine.apply(event);
        this.options.onApplied?.(outcome, event);
        return true;
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        if (failure instanceof ChainContinuityError || failure instanceof UnknownRollbackPointError) {
          this.options.logger.error(LocalStackLogEvent.chainDivergence, { error: failure.message });
          this.discardQueued();
          this.options.onDivergence?.(failure);
          return false;
        }
        this.options.logger.error(LocalStackLogEvent.engineApplyFailed, { error: failure.message, retry_in_ms: delay });
        if (this.stopped) return false;
        await abortableSleep(delay, this.stopping.signal);
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }

  private releaseSpace(): void {
    for (const resolve of this.spaceWaiters.splice(0)) resolve();
  }
}
