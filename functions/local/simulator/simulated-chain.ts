/**
 * The simulated node's current chain: the most recent blocks, each held as the exact JSON Ogmios would send,
 * serialised once when the block was produced. Heights are consecutive from 0 (the first block's ancestor is
 * "genesis"); only a bounded window of recent blocks is retained, older ones are dropped.
 */
import type { InjectedTransaction } from './injected-transactions.js';

export interface SimulatedBlock {
  readonly id: string;
  /** The previous block's id, or "genesis" for the first block. */
  readonly ancestor: string;
  readonly height: number;
  readonly slot: number;
  readonly era: string;
  /** The block object as UTF-8 JSON, exactly as it appears in `result.block` of a RollForward. */
  readonly json: Buffer;
  readonly transactionCount: number;
  /** Clock time (Unix ms) at which the simulator produced the block. */
  readonly producedAt: number;
  /** Transactions the simulator put in on request (payments, spends, submissions): back to the mempool if a fork drops the block. */
  readonly injected: readonly InjectedTransaction[];
}

/** A point as Ogmios writes it. */
export type ChainPoint = { readonly slot: number; readonly id: string } | 'origin';
export type ChainTip = { readonly slot: number; readonly id: string; readonly height: number } | 'origin';

export function pointOf(block: SimulatedBlock | undefined): ChainPoint {
  return block === undefined ? 'origin' : { slot: block.slot, id: block.id };
}

export function tipOf(block: SimulatedBlock | undefined): ChainTip {
  return block === undefined ? 'origin' : { slot: block.slot, id: block.id, height: block.height };
}

export interface RetentionLimits {
  /** Most blocks kept. */
  readonly blocks: number;
  /** Most bytes of block JSON kept (at least one block is always kept). */
  readonly bytes: number;
}

export class SimulatedChain {
  /** Retained blocks, oldest first, with consecutive heights. */
  private readonly blocks: SimulatedBlock[] = [];
  private readonly blocksById = new Map<string, SimulatedBlock>();
  /** Height of the oldest retained block (equal to the chain length when nothing is retained). */
  private firstRetainedHeight = 0;
  private retainedBytes = 0;
  /** Restored past genesis and nothing appended yet: the first block's ancestor is not held. */
  private restoredStart = false;

  constructor(private readonly retention: RetentionLimits) {}

  get tip(): SimulatedBlock | undefined {
    return this.blocks[this.blocks.length - 1];
  }

  /** Height the next appended block gets (the number of blocks on the chain, pruned ones included). */
  get nextHeight(): number {
    return this.firstRetainedHeight + this.blocks.length;
  }

  /** The oldest block still served, if any. */
  get oldestRetained(): SimulatedBlock | undefined {
    return this.blocks[0];
  }

  /** Whether the chain start is still retained, so that a client can follow it from the origin. */
  get retainsOrigin(): boolean {
    return this.firstRetainedHeight === 0;
  }

  get retainedCount(): number {
    return this.blocks.length;
  }

  /** The retained block at `height` on the current chain. */
  blockAt(height: number): SimulatedBlock | undefined {
    return this.blocks[height - this.firstRetainedHeight];
  }

  /** The retained block with this id, if it is on the current chain. */
  blockWithId(id: string): SimulatedBlock | undefined {
    return this.blocksById.get(id);
  }

  /** Whether `point` is on the current chain and can be served from (origin only while the start is retained). */
  contains(point: ChainPoint): boolean {
    if (point === 'origin') return this.retainsOrigin;
    return this.blockWithId(point.id)?.slot === point.slot;
  }

  /** The retained blocks, oldest first. */
  retainedBlocks(): readonly SimulatedBlock[] {
    return this.blocks;
  }

  /**
   * For a chain restored without its oldest blocks (a journal keeps the retained ones): the first block appended
   * gets `height`, after an ancestor no longer held.
   */
  startAt(height: number): void {
    if (this.blocks.length > 0 || this.firstRetainedHeight !== 0) throw new Error('only an empty chain can start past genesis');
    this.firstRetainedHeight = height;
    this.restoredStart = height > 0;
  }

  append(block: SimulatedBlock): void {
    if (block.height !== this.nextHeight) {
      throw new Error(`block ${block.id} has height ${block.height}, expected ${this.nextHeight}`);
    }
    const expectedAncestor = this.tip?.id ?? (this.restoredStart ? block.ancestor : 'genesis');
    this.restoredStart = false;
    if (block.ancestor !== expectedAncestor) {
      throw new Error(`block ${block.id} has ancestor ${block.ancestor}, expected ${expectedAncestor}`);
    }
    this.blocks.push(block);
    this.blocksById.set(block.id, block);
    this.retainedBytes += block.json.length;
  }

  /** Removes the newest `count` blocks and returns them, oldest first. */
  dropNewest(count: number): SimulatedBlock[] {
    if (!Number.isInteger(count) || count < 0 || count > this.blocks.length) {
      throw new RangeError(`cannot drop ${count} blocks: ${this.blocks.length} are retained`);
    }
    const dropped = this.blocks.splice(this.blocks.length - count, count);
    for (const block of dropped) {
      this.blocksById.delete(block.id);
      this.retainedBytes -= block.json.length;
    }
    return dropped;
  }

  /** Drops the oldest blocks beyond the retention limits and returns them, oldest first. */
  prune(): SimulatedBlock[] {
    const pruned: SimulatedBlock[] = [];
    while (this.blocks.length > 1 && (this.blocks.length > this.retention.blocks || this.retainedBytes > this.retention.bytes)) {
      const oldest = this.blocks.shift() as SimulatedBlock;
      this.blocksById.delete(oldest.id);
      this.retainedBytes -= oldest.json.length;
      this.firstRetainedHeight++;
      pruned.push(oldest);
    }
    return pruned;
  }
}
