import { describe, expect, it } from 'vitest';
import { batchEvents } from '../../functions/domain/event-batching.js';
import type { ChainEvent } from '../../functions/domain/chain.js';
import { ChainBuilder } from '../support/chain-builder.js';

describe('batchEvents', () => {
  it('merges consecutive roll-forwards up to the limit, keeping order and the latest tip', () => {
    const chain = new ChainBuilder();
    const events = Array.from({ length: 5 }, () => chain.forward([chain.next()]));
    const batched = batchEvents(events, { maxBlocks: 2 });
    expect(batched.map((e) => (e.type === 'rollForward' ? e.blocks.map((b) => b.height) : 'back'))).toEqual([[1n, 2n], [3n, 4n], [5n]]);
    expect(batched[0]).toMatchObject({ tip: (events[1] as Extract<ChainEvent, { type: 'rollForward' }>).tip });
  });

  it('never merges across a roll-backward', () => {
    const chain = new ChainBuilder();
    const a = chain.forward([chain.next()]);
    const b = chain.forward([chain.next()]);
    const back = chain.backward(1n);
    const c = chain.forward([chain.next()]);
    const batched = batchEvents([a, b, back, c], { maxBlocks: 100 });
    expect(batched.map((e) => e.type)).toEqual(['rollForward', 'rollBackward', 'rollForward']);
    expect(batched[1]).toBe(back);
  });
});
