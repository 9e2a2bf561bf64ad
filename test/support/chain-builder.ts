import type { AssetQuantity, ChainBlock, ChainTransaction, OutputReference, Tip, TransactionOutput } from '../../functions/domain/chain.js';
import type { ChainEvent } from '../../functions/domain/chain.js';
import { syntheticHash } from '../../functions/local/synthetic/addresses.js';

let transactionCounter = 0;

export function output(address: string, lovelace: bigint, assets: AssetQuantity[] = []): TransactionOutput {
  return { address, lovelace, assets };
}

export function transaction(
  outputs: TransactionOutput[],
  inputs: OutputReference[] = [],
  extra: Partial<Pick<ChainTransaction, 'spends' | 'collaterals' | 'collateralReturn' | 'id'>> = {},
): ChainTransaction {
  return {
    id: extra.id ?? syntheticHash(`tx:${++transactionCounter}:${Math.random()}`),
    spends: extra.spends ?? 'inputs',
    inputs,
    collaterals: extra.collaterals ?? [],
    outputs,
    ...(extra.collateralReturn ? { collateralReturn: extra.collateralReturn } : {}),
  };
}

/**
 * Builds a chain of blocks in memory. fork(height) starts a competing branch after the block at that
 * height, sharing everything before it; the label keeps its block hashes distinct.
 */
export class ChainBuilder {
  readonly blocks: ChainBlock[] = [];

  constructor(
    private readonly label = 'main',
    private readonly firstSlot = 100_000_000n,
    private readonly slotsPerBlock = 20n,
  ) {}

  get tip(): ChainBlock | undefined {
    return this.blocks[this.blocks.length - 1];
  }

  next(transactions: ChainTransaction[] = [], slotGap = this.slotsPerBlock): ChainBlock {
    const previous = this.tip;
    const height = previous ? previous.height + 1n : 1n;
    const slot = previous ? previous.slot! + slotGap : this.firstSlot;
    const block: ChainBlock = {
      hash: syntheticHash(`block:${this.label}:${height}:${slot}`),
      height,
      slot,
      ancestor: previous ? previous.hash : syntheticHash('genesis'),
      transactions,
    };
    this.blocks.push(block);
    return block;
  }

  /** Appends `count` blocks without transactions (to bury earlier ones under confirmations). */
  empty(count: number): ChainBlock[] {
    return Array.from({ length: count }, () => this.next());
  }

  fork(label: string, afterHeight: bigint): ChainBuilder {
    const branch = new ChainBuilder(label, this.firstSlot, this.slotsPerBlock);
    branch.blocks.push(...this.blocks.filter((block) => block.height <= afterHeight));
    return branch;
  }

  at(height: bigint): ChainBlock {
    const block = this.blocks.find((candidate) => candidate.height === height);
    if (!block) throw new Error(`no block at height ${height} on ${this.label}`);
    return block;
  }

  tipOf(): Tip {
    const tip = this.tip!;
    return { slot: tip.slot!, hash: tip.hash, height: tip.height };
  }

  /** A roll-forward event for these blocks, with this chain's tip as the network tip. */
  forward(blocks: ChainBlock[]): ChainEvent {
    return { type: 'rollForward', blocks, tip: this.tipOf() };
  }

  /** A roll-backward event to the block at this height (0n: origin). */
  backward(toHeight: bigint): ChainEvent {
    if (toHeight === 0n) return { type: 'rollBackward', point: 'origin', tip: this.tipOf() };
    const block = this.at(toHeight);
    return { type: 'rollBackward', point: { slot: block.slot!, hash: block.hash }, tip: this.tipOf() };
  }
}
