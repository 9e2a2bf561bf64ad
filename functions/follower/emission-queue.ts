/**
 * Chain events handed over by chain sync and not yet accepted by the emitter, oldest first. An event leaves the
 * queue only when the emitter accepted it (`acknowledge`), so a failed send is offered again, in order: nothing
 * handed over is skipped. While a send is in flight, new events gather behind it and go out together next time,
 * which batches catch-up without delaying blocks at the tip. A full queue makes `push` wait (backpressure on
 * chain sync) instead of growing.
 */
import type { ChainEvent } from '../domain/chain.js';

export class EmissionQueue {
  private events: ChainEvent[] = [];
  private readonly waiting = new Set<() => void>();

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`queue capacity must be a whole number ≥ 1; got ${capacity}`);
  }

  get size(): number {
    return this.events.length;
  }

  /** Adds an event once there is room; rejects with the signal's reason if it aborts first. */
  async push(event: ChainEvent, signal: AbortSignal): Promise<void> {
    while (this.events.length >= this.capacity) await this.change(signal);
    signal.throwIfAborted();
    this.events.push(event);
    this.notify();
  }

  /** The oldest events, up to `max`, without removing them. */
  peek(max: number): readonly ChainEvent[] {
    return this.events.slice(0, max);
  }

  /** The first `count` events were accepted: they leave the queue. */
  acknowledge(count: number): void {
    this.events.splice(0, count);
    this.notify();
  }

  /** Resolves once the queue holds an event; rejects with the signal's reason if it aborts first. */
  async nonEmpty(signal: AbortSignal): Promise<void> {
    while (this.events.length === 0) await this.change(signal);
  }

  /** Resolves once every event pushed so far has been acknowledged; rejects if the signal aborts first. */
  async drained(signal: AbortSignal): Promise<void> {
    while (this.events.length > 0) await this.change(signal);
  }

  private change(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    return new Promise((resolve, reject) => {
      const wake = (): void => {
        this.waiting.delete(wake);
        signal.removeEventListener('abort', abort);
        resolve();
      };
      const abort = (): void => {
        this.waiting.delete(wake);
        reject(signal.reason);
      };
      this.waiting.add(wake);
      signal.addEventListener('abort', abort, { once: true });
    });
  }

  private notify(): void {
    for (const wake of [...this.waiting]) wake();
  }
}
