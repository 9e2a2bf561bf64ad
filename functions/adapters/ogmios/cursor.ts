/**
 * Where the consumer is on the chain, and which points to offer the server to resume from there.
 */
import type { BlockPoint, ChainBlock, ChainEvent, Hash, Point } from '../../domain/chain.js';
import { samePoint } from './wire-format.js';

export const DEFAULT_RECENT_POINTS = 200;

export interface IntersectionRound {
  round: 'recent' | 'checkpoints' | 'origin';
  /** Most recent first: the server picks the first one on its chain. */
  points: Point[];
}

export interface ChainCursorOptions {
  /** How many points of delivered blocks to keep. */
  recentLimit: number;
  /** Whether following may restart from the beginning of the chain when nothing else intersects. */
  allowOrigin: boolean;
}

/**
 * Tracks delivered events. The position is the point of the last delivered block; an epoch boundary block has
 * no slot, so it is never a point: it is remembered by hash so that its replay after a resume can be skipped.
 */
export class ChainCursor {
  /** Points of delivered blocks, oldest first, at most `recentLimit`. */
  private recent: BlockPoint[] = [];
  /** The caller's points, most recent first; those after a delivered rollback are dropped. */
  private checkpoints: BlockPoint[];
  /** Epoch boundary blocks delivered after `current`, oldest first. */
  private boundaryBlocks: Hash[] = [];
  private current: Point;
  readonly originAllowed: boolean;

  constructor(
    knownPoints: readonly Point[],
    private readonly options: ChainCursorOptions,
  ) {
    const first = knownPoints[0];
    if (first === undefined) throw new Error("knownPoints is empty: pass ['origin'] to follow from the start of the chain");
    this.current = first;
    this.originAllowed = options.allowOrigin || knownPoints.includes('origin');
    this.checkpoints = knownPoints.filter(isBlockPoint);
    if (first !== 'origin') this.recent = [first];
  }

  /** The point of the last delivered block (or of the consumer's state at start). */
  get position(): Point {
    return this.current;
  }

  /** Points to try in turn: recent ones, then the caller's checkpoints, then origin if allowed. */
  intersectionRounds(): IntersectionRound[] {
    const recent: Point[] = this.current === 'origin' ? ['origin'] : [...this.recent].reverse();
    const rounds: IntersectionRound[] = [{ round: 'recent', points: recent }];
    const older = this.checkpoints.filter((checkpoint) => !recent.some((point) => samePoint(point, checkpoint)));
    if (older.length > 0) rounds.push({ round: 'checkpoints', points: older });
    if (this.originAllowed && this.current !== 'origin') rounds.push({ round: 'origin', points: ['origin'] });
    return rounds;
  }

  /** Call once the consumer has handled the event. */
  recordDelivered(event: ChainEvent): void {
    if (event.type === 'rollForward') {
      for (const block of event.blocks) this.recordBlock(block);
    } else {
      this.recordRollback(event.point);
    }
  }

  /** How to treat the events that follow an intersection at `intersection`. */
  resumeAt(intersection: Point): ResumeFilter {
    return new ResumeFilter(intersection, samePoint(intersection, this.current), this.boundaryBlocks);
  }

  private recordBlock(block: ChainBlock): void {
    if (block.slot === undefined) {
      this.boundaryBlocks.push(block.hash);
      return;
    }
    const point = { slot: block.slot, hash: block.hash };
    this.current = point;
    this.boundaryBlocks = [];
    this.recent.push(point);
    if (this.recent.length > this.options.recentLimit) this.recent.splice(0, this.recent.length - this.options.recentLimit);
  }

  private recordRollback(point: Point): void {
    this.current = point;
    this.boundaryBlocks = [];
    if (point === 'origin') {
      this.recent = [];
      this.checkpoints = [];
      return;
    }
    const kept = this.recent.findLastIndex((recent) => samePoint(recent, point));
    this.recent = kept === -1 ? [point] : this.recent.slice(0, kept + 1);
    // Checkpoints beyond the rollback point are on the abandoned branch, or at best not yet re-confirmed.
    this.checkpoints = this.checkpoints.filter((checkpoint) => checkpoint.slot <= point.slot);
  }
}

/**
 * Decides which events after a (re-)intersection reach the consumer:
 * - the roll-backward to the intersection that opens every session is a no-op when the consumer is already
 *   there, and is delivered otherwise (the chain switched while we were away);
 * - epoch boundary blocks the consumer already has after that point come again and are skipped; if the
 *   chain turns out to differ there, the consumer is rolled back to the intersection first.
 */
export class ResumeFilter {
  private awaitingIntersectionRollback = true;
  private readonly expectedReplay: Hash[];
  private readonly replayed: ChainBlock[] = [];

  constructor(
    private readonly intersection: Point,
    private readonly consumerIsAtIntersection: boolean,
    boundaryBlocks: readonly Hash[],
  ) {
    this.expectedReplay = consumerIsAtIntersection ? [...boundaryBlocks] : [];
  }

  /** The events to deliver for one received event, in order: usually exactly that event. */
  admit(event: ChainEvent): ChainEvent[] {
    if (this.awaitingIntersectionRollback) {
      this.awaitingIntersectionRollback = false;
      if (event.type === 'rollBackward' && this.consumerIsAtIntersection && samePoint(event.point, this.intersection)) return [];
    }
    if (this.expectedReplay.length === 0) return [event];
    if (event.type === 'rollBackward') {
      this.expectedReplay.length = 0;
      return [event];
    }
    const blocks = [...event.blocks];
    while (blocks.length > 0 && blocks[0]?.hash === this.expectedReplay[0]) {
      this.replayed.push(blocks.shift() as ChainBlock);
      this.expectedReplay.shift();
    }
    if (blocks.length === 0) return [];
    if (this.expectedReplay.length === 0) return [{ ...event, blocks }];
    // A different block where the consumer has a boundary block: undo back to the intersection, then replay.
    this.expectedReplay.length = 0;
    const undo: ChainEvent = { type: 'rollBackward', point: this.intersection, tip: event.tip };
    const redo: ChainEvent[] = this.replayed.length > 0 ? [{ type: 'rollForward', blocks: [...this.replayed], tip: event.tip }] : [];
    return [undo, ...redo, { ...event, blocks }];
  }
}

function isBlockPoint(point: Point): point is BlockPoint {
  return point !== 'origin';
}
