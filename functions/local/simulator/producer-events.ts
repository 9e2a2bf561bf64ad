/** What the producer reports: public events (tests, latency measurement) and the internal observer of sessions. */
import type { SimulatedPayment } from './injected-transactions.js';
import type { ChainPoint } from './simulated-chain.js';

export interface BlockProducedEvent {
  readonly id: string;
  readonly ancestor: string;
  readonly height: number;
  readonly slot: number;
  readonly era: string;
  /** Clock time (Unix ms) of production: compare with the time a client saw the block to measure latency. */
  readonly producedAt: number;
  readonly transactionIds: readonly string[];
  /** Outputs paid to payment addresses (configured or queued) in this block. */
  readonly payments: readonly SimulatedPayment[];
  /** Ids of the transactions the simulator put in on request (payments, spends, submissions). */
  readonly injectedTransactionIds: readonly string[];
  /** The fixture file the block replays, for `source: 'fixtures'`. */
  readonly replayOf?: string;
}

export interface RollbackEvent {
  /** The fork point: the newest block kept. */
  readonly point: ChainPoint;
  readonly depth: number;
  /** Ids of the dropped blocks, oldest first. */
  readonly droppedBlockIds: readonly string[];
  readonly rolledBackAt: number;
}

/**
 * Internal observer of chain changes (the client sessions). A fork switch reports the rollback first, then one
 * `onChainChanged` once the new branch is complete, so that clients see the rollback with the new tip, as a node
 * switching to a longer fork reports it.
 */
export interface ChainObserver {
  /** The chain was cut back to `point` (at `pointHeight`, -1 for the origin). */
  onRollBack(point: ChainPoint, pointHeight: number): void;
  /** The chain has changed (blocks added, or a rollback completed): answer what can now be answered. */
  onChainChanged(): void;
}

/** Listeners of the public events, called synchronously in subscription order. */
export class ProducerEvents {
  private readonly blockListeners = new Set<(event: BlockProducedEvent) => void>();
  private readonly rollbackListeners = new Set<(event: RollbackEvent) => void>();

  onBlock(listener: (event: BlockProducedEvent) => void): () => void {
    this.blockListeners.add(listener);
    return () => this.blockListeners.delete(listener);
  }

  onRollback(listener: (event: RollbackEvent) => void): () => void {
    this.rollbackListeners.add(listener);
    return () => this.rollbackListeners.delete(listener);
  }

  emitBlock(event: BlockProducedEvent): void {
    for (const listener of this.blockListeners) callSafely(listener, event);
  }

  emitRollback(event: RollbackEvent): void {
    for (const listener of this.rollbackListeners) callSafely(listener, event);
  }
}

/** A failing listener must not leave the chain half-updated: its error is rethrown as an uncaught error instead. */
function callSafely<T>(listener: (event: T) => void, event: T): void {
  try {
    listener(event);
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
