/**
 * Transactions the simulator puts into blocks on request rather than as background traffic: payments to the
 * configured addresses, spends of those payments, funding of the `fund` addresses in the first block, and
 * transactions submitted by clients. They wait in a mempool until the next block is produced; when a fork drops
 * the block that carried one, it goes back to the mempool and lands in the new branch (as on the real network,
 * where both competing blocks draw on the same mempool), unless the fork is made without requeueing. A submitted
 * transaction is checked again when a block is made: one whose ttl has passed by then, or whose inputs are gone,
 * is dropped, as a node's mempool drops what no longer applies.
 */
import type { AssetQuantity } from '../../domain/chain.js';
import type { JsonRecord } from './block-effects.js';

/** An output the simulated chain pays to one of the configured payment addresses. */
export interface SimulatedPayment {
  readonly txId: string;
  readonly index: number;
  readonly address: string;
  readonly lovelace: bigint;
  readonly assets: readonly AssetQuantity[];
}

export type InjectedKind = 'payment' | 'spend' | 'submitted' | 'funding';

export interface InjectedTransaction {
  readonly kind: InjectedKind;
  readonly id: string;
  /** The transaction as it appears in the block. */
  readonly transaction: JsonRecord;
  readonly payments: readonly SimulatedPayment[];
  /** Keys (txId#index) of the simulated outputs it consumes. */
  readonly consumes: readonly string[];
  /** A submitted transaction's ttl: from this slot on it can no longer go into a block. */
  readonly invalidAfter?: bigint;
}

export class Mempool {
  private waiting: InjectedTransaction[] = [];

  get size(): number {
    return this.waiting.length;
  }

  add(transaction: InjectedTransaction): void {
    this.waiting.push(transaction);
  }

  /** Puts back transactions of blocks a fork dropped, ahead of anything that arrived since. */
  putBack(transactions: readonly InjectedTransaction[]): void {
    this.waiting = [...transactions, ...this.waiting];
  }

  has(id: string): boolean {
    return this.waiting.some((transaction) => transaction.id === id);
  }

  /** The waiting transactions, in the order they will go into the next block. */
  get transactions(): readonly InjectedTransaction[] {
    return this.waiting;
  }

  /** Outputs that waiting transactions will consume: not available to other new transactions. */
  claimedOutputs(): string[] {
    return this.waiting.flatMap((transaction) => transaction.consumes);
  }

  takeAll(): InjectedTransaction[] {
    const taken = this.waiting;
    this.waiting = [];
    return taken;
  }
}
