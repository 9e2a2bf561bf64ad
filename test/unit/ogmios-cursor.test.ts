import { describe, expect, it } from 'vitest';
import { ChainCursor } from '../../functions/adapters/ogmios/cursor.js';
import type { BlockPoint, ChainBlock, ChainEvent, Point, Tip } from '../../functions/domain/chain.js';
import { hashOf } from '../support/scripted-ogmios.js';

const tip: Tip = { slot: 10_000n, hash: hashOf('tip'), height: 1_000n };

function block(height: number, options: { boundary?: boolean; label?: string } = {}): ChainBlock {
  const hash = hashOf(`${options.label ?? 'main'}:${height}`);
  const base = { hash, height: BigInt(height), ancestor: hashOf(`${options.label ?? 'main'}:${height - 1}`), transactions: [] };
  return options.boundary ? base : { ...base, slot: BigInt(height * 10) };
}

function point(height: number, label = 'main'): BlockPoint {
  return { slot: BigInt(height * 10), hash: hashOf(`${label}:${height}`) };
}

const forward = (...blocks: ChainBlock[]): ChainEvent => ({ type: 'rollForward', blocks, tip });
const backward = (to: Point): ChainEvent => ({ type: 'rollBackward', point: to, tip });

function cursorAfter(heights: number[], options: { recentLimit?: number; knownPoints?: Point[]; allowOrigin?: boolean } = {}): ChainCursor {
  const cursor = new ChainCursor(options.knownPoints ?? ['origin'], {
    recentLimit: options.recentLimit ?? 200,
    allowOrigin: options.allowOrigin ?? false,
  });
  for (const height of heights) cursor.recordDelivered(forward(block(height)));
  return cursor;
}

describe('ChainCursor', () => {
  it("offers the consumer's position first, then its older checkpoints, and origin only when allowed", () => {
    const cursor = new ChainCursor([point(30), point(20), point(10)], { recentLimit: 200, allowOrigin: false });
    expect(cursor.position).toEqual(point(30));
    expect(cursor.intersectionRounds()).toEqual([
      { round: 'recent', points: [point(30)] },
      { round: 'checkpoints', points: [point(20), point(10)] },
    ]);
    const allowing = new ChainCursor([point(30)], { recentLimit: 200, allowOrigin: true });
    expect(allowing.intersectionRounds().map((round) => round.round)).toEqual(['recent', 'origin']);
    expect(new ChainCursor([point(30), 'origin'], { recentLimit: 200, allowOrigin: false }).originAllowed).toBe(true);
  });

  it('starts from origin when that is all the consumer knows', () => {
    expect(cursorAfter([]).intersectionRounds()).toEqual([{ round: 'recent', points: ['origin'] }]);
    expect(() => new ChainCursor([], { recentLimit: 200, allowOrigin: true })).toThrow("pass ['origin']");
  });

  it('keeps the points of the last delivered blocks, most recent first, bounded', () => {
    const cursor = cursorAfter([1, 2, 3, 4, 5], { recentLimit: 3 });
    expect(cursor.position).toEqual(point(5));
    expect(cursor.intersectionRounds()).toEqual([
      { round: 'recent', points: [point(5), point(4), point(3)] },
      // It started from origin, so origin remains an acceptable last resort.
      { round: 'origin', points: ['origin'] },
    ]);
  });

  it('never uses an epoch boundary block as a point', () => {
    const cursor = cursorAfter([1, 2]);
    cursor.recordDelivered(forward(block(3, { boundary: true })));
    expect(cursor.position).toEqual(point(2));
    expect(cursor.intersectionRounds()[0]?.points).toEqual([point(2), point(1)]);
  });

  it('trims on a rollback to a recent point, and drops checkpoints beyond it', () => {
    const cursor = cursorAfter([5, 6, 7, 8], { knownPoints: [point(4), point(9, 'stale'), point(2)] });
    cursor.recordDelivered(backward(point(6)));
    expect(cursor.position).toEqual(point(6));
    expect(cursor.intersectionRounds()).toEqual([
      { round: 'recent', points: [point(6), point(5), point(4)] },
      { round: 'checkpoints', points: [point(2)] },
    ]);
  });

  it('restarts its recent points at a rollback point it did not know, and at origin forgets everything', () => {
    const cursor = cursorAfter([5, 6, 7]);
    cursor.recordDelivered(backward(point(3, 'checkpoint')));
    expect(cursor.intersectionRounds()[0]?.points).toEqual([point(3, 'checkpoint')]);
    cursor.recordDelivered(backward('origin'));
    expect(cursor.intersectionRounds()).toEqual([{ round: 'recent', points: ['origin'] }]);
  });
});

describe('ResumeFilter', () => {
  it('swallows the opening roll-backward when the consumer is at the intersection, and only that one', () => {
    const cursor = cursorAfter([1, 2]);
    const filter = cursor.resumeAt(point(2));
    expect(filter.admit(backward(point(2)))).toEqual([]);
    expect(filter.admit(forward(block(3)))).toEqual([forward(block(3))]);
    expect(filter.admit(backward(point(2)))).toEqual([backward(point(2))]);
  });

  it('delivers the opening roll-backward when the intersection is behind the consumer', () => {
    const filter = cursorAfter([1, 2, 3]).resumeAt(point(1));
    expect(filter.admit(backward(point(1)))).toEqual([backward(point(1))]);
  });

  it('skips the replay of boundary blocks the consumer already has', () => {
    const cursor = cursorAfter([1, 2]);
    cursor.recordDelivered(forward(block(3, { boundary: true })));
    const filter = cursor.resumeAt(point(2));
    expect(filter.admit(backward(point(2)))).toEqual([]);
    expect(filter.admit(forward(block(3, { boundary: true })))).toEqual([]);
    expect(filter.admit(forward(block(4)))).toEqual([forward(block(4))]);
  });

  it('rolls the consumer back when a different block comes where it has a boundary block', () => {
    const cursor = cursorAfter([1, 2]);
    cursor.recordDelivered(forward(block(3, { boundary: true })));
    cursor.recordDelivered(forward(block(4, { boundary: true })));
    const filter = cursor.resumeAt(point(2));
    filter.admit(backward(point(2)));
    expect(filter.admit(forward(block(3, { boundary: true })))).toEqual([]);
    const other = block(4, { label: 'fork' });
    expect(filter.admit(forward(other))).toEqual([backward(point(2)), forward(block(3, { boundary: true })), forward(other)]);
  });
});
