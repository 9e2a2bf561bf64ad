/** The handle of a started simulator: its addresses, and the controls tests and the local stack use. */
import type { Network } from '../../domain/network.js';
import type { OutputReference } from './block-draft.js';
import type { BlockProducedEvent, ChainProducer, RollbackEvent } from './chain-producer.js';
import type { SimulatedPayment } from './injected-transactions.js';
import { LedgerReader, type SimulatorBalance, type SimulatorLedgerView, type SimulatorUtxo } from './ledger-reader.js';
import type { ProductionTimer } from './production-timer.js';
import type { DropMode, SimulatorServer } from './server.js';
import { tipOf, type ChainPoint, type ChainTip } from './simulated-chain.js';
import type { PaymentTarget } from './synthetic-transactions.js';

/** A block of the simulator's current chain. */
export interface SimulatedBlockInfo {
  readonly id: string;
  readonly ancestor: string;
  readonly height: number;
  readonly slot: number;
  readonly era: string;
  readonly transactionCount: number;
  /** Clock time (Unix ms) of production. */
  readonly producedAt: number;
}

export interface SimulatorLedger extends SimulatorLedgerView {
  /** The ledger as it was after `point` (undefined when not on the chain, or older than the last k blocks). */
  at(point: ChainPoint): SimulatorLedgerView | undefined;
}

export interface RollBackOptions {
  /** Blocks of the new branch (default depth + 1: a node only switches to a longer chain). */
  readonly newBranchLength?: number;
  /** Whether the simulator's own transactions of the dropped blocks go into the new branch (default true). */
  readonly requeueTransactions?: boolean;
}

export interface OgmiosSimulator {
  /** WebSocket address, `ws://127.0.0.1:<port>`. */
  readonly url: string;
  /** HTTP address of the same port (`/health`, `POST /`). */
  readonly httpUrl: string;
  readonly port: number;
  readonly network: Network;
  /** Raises the tip height by `count` (default 1) now; forks happen within if configured. Returns the new blocks. */
  produceBlocks(count?: number): BlockProducedEvent[];
  /** A fork: drops the newest `depth` blocks and grows a new branch; clients past the fork point roll back to it. */
  rollBack(depth: number, options?: RollBackOptions): void;
  tip(): ChainTip;
  /** Pauses automatic production (blockTimeMs); produceBlocks still works. */
  pause(): void;
  resume(): void;
  readonly paused: boolean;
  /** Called synchronously for every block produced / every rollback; returns an unsubscribe function. */
  on(event: 'block', listener: (event: BlockProducedEvent) => void): () => void;
  on(event: 'rollback', listener: (event: RollbackEvent) => void): () => void;
  /** Ends every WebSocket connection (to test client reconnection); returns how many were open. */
  dropConnections(mode?: DropMode): number;
  /** Queues a payment for the next block (default target: the next payTo entry in turn). */
  queuePayment(target?: PaymentTarget): SimulatedPayment;
  /** Queues a transaction spending these unspent outputs for the next block; returns its id. */
  queueSpend(references: readonly OutputReference[]): string;
  /** The current chain's retained blocks, oldest first: what a client following to the tip ends up with. */
  chain(): SimulatedBlockInfo[];
  /** A retained block of the current chain as Ogmios sends it in `result.block`. */
  blockJson(id: string): string | undefined;
  /**
   * The ledger before the oldest block a rollback can still undo, as lines that `history` takes ahead of the blocks:
   * with them, a journal of the retained chain restores the ledger too (no need for every block since genesis).
   */
  ledgerSnapshot(): string[];
  /** The UTxO set of the simulated chain at its tip (and at earlier points). */
  readonly ledger: SimulatorLedger;
  /** Replaces the API keys required in the `dmtr-api-key` header (undefined: none required). */
  setApiKeys(keys: readonly string[] | undefined): void;
  /** Open WebSocket connections. */
  readonly connectionCount: number;
  stop(): Promise<void>;
}

export class RunningSimulator implements OgmiosSimulator {
  readonly url: string;
  readonly httpUrl: string;
  readonly ledger: SimulatorLedger;
  private stopped: Promise<void> | undefined;

  constructor(
    host: string,
    readonly port: number,
    readonly network: Network,
    private readonly producer: ChainProducer,
    private readonly server: SimulatorServer,
    private readonly timer: ProductionTimer,
  ) {
    const hostInUrl = host.includes(':') ? `[${host}]` : host;
    this.url = `ws://${hostInUrl}:${port}`;
    this.httpUrl = `http://${hostInUrl}:${port}`;
    this.ledger = new TipLedger(producer);
  }

  produceBlocks(count = 1): BlockProducedEvent[] {
    const produced: BlockProducedEvent[] = [];
    const unsubscribe = this.producer.onBlock((event) => produced.push(event));
    try {
      this.producer.produce(count);
    } finally {
      unsubscribe();
    }
    return produced;
  }

  rollBack(depth: number, options: RollBackOptions = {}): void {
    this.producer.switchToFork(depth, options.newBranchLength ?? depth + 1, options.requeueTransactions ?? true);
  }

  tip(): ChainTip {
    return tipOf(this.producer.chain.tip);
  }

  pause(): void {
    this.timer.pause();
  }

  resume(): void {
    this.timer.resume();
  }

  get paused(): boolean {
    return this.timer.paused;
  }

  on(event: 'block', listener: (event: BlockProducedEvent) => void): () => void;
  on(event: 'rollback', listener: (event: RollbackEvent) => void): () => void;
  on(event: 'block' | 'rollback', listener: ((event: BlockProducedEvent) => void) | ((event: RollbackEvent) => void)): () => void {
    return event === 'block'
      ? this.producer.onBlock(listener as (event: BlockProducedEvent) => void)
      : this.producer.onRollback(listener as (event: RollbackEvent) => void);
  }

  dropConnections(mode?: DropMode): number {
    return this.server.dropConnections(mode);
  }

  queuePayment(target?: PaymentTarget): SimulatedPayment {
    return this.producer.queuePayment(target);
  }

  queueSpend(references: readonly OutputReference[]): string {
    return this.producer.queueSpend(references);
  }

  chain(): SimulatedBlockInfo[] {
    return this.producer.chain.retainedBlocks().map(({ id, ancestor, height, slot, era, transactionCount, producedAt }) => ({
      id,
      ancestor,
      height,
      slot,
      era,
      transactionCount,
      producedAt,
    }));
  }

  blockJson(id: string): string | undefined {
    return this.producer.chain.blockWithId(id)?.json.toString('utf8');
  }

  ledgerSnapshot(): string[] {
    return this.producer.ledgerSnapshot();
  }

  setApiKeys(keys: readonly string[] | undefined): void {
    this.server.setApiKeys(keys);
  }

  get connectionCount(): number {
    return this.server.activeConnections;
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.timer.stop();
      await this.server.close();
    })();
    return this.stopped;
  }
}

/** The ledger at the tip, read afresh on every call; `at` reads an earlier state. */
class TipLedger implements SimulatorLedger {
  constructor(private readonly producer: ChainProducer) {}

  get size(): number {
    return this.producer.ledger.size;
  }

  utxo(reference: OutputReference): SimulatorUtxo | undefined {
    return this.tip().utxo(reference);
  }

  utxosAt(address: string): SimulatorUtxo[] {
    return this.tip().utxosAt(address);
  }

  balanceOf(address: string): SimulatorBalance {
    return this.tip().balanceOf(address);
  }

  at(point: ChainPoint): SimulatorLedgerView | undefined {
    const { chain, ledger } = this.producer;
    if (!chain.contains(point)) return undefined;
    const height = point === 'origin' ? -1 : (chain.blockWithId(point.id)?.height as number);
    const view = ledger.viewAt(height);
    return view === undefined ? undefined : new LedgerReader(view);
  }

  private tip(): LedgerReader {
    return new LedgerReader(this.producer.ledger.tipView());
  }
}
