import type { ChainBlock, ChainEvent, RollForward } from './chain.js';

export interface BatchLimits {
  /** Most blocks in one roll-forward event (one engine transaction). */
  maxBlocks: number;
}

/**
 * Merges consecutive roll-forward events into larger ones, in order, so that catch-up applies many blocks
 * per database transaction. A roll-backward is never merged: it ends the batch before it and is kept as is.
 */
export function batchEvents(events: readonly ChainEvent[], { maxBlocks }: BatchLimits): ChainEvent[] {
  const batched: ChainEvent[] = [];
  let pending: { blocks: ChainBlock[]; tip: RollForward['tip'] } | undefined;
  const flush = () => {
    if (pending) batched.push({ type: 'rollForward', blocks: pending.blocks, tip: pending.tip });
    pending = undefined;
  };
  for (const event of events) {
    if (event.type === 'rollBackward') {
      flush();
      batched.push(event);
      continue;
    }
    for (const block of event.blocks) {
      if (pending && pending.blocks.length >= maxBlocks) flush();
      pending ??= { blocks: [], tip: event.tip };
      pending.blocks.push(block);
      pending.tip = event.tip;
    }
  }
  flush();
  return batched;
}
