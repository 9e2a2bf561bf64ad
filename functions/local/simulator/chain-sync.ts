/**
 * The chain-sync state of one client connection, as Ogmios keeps it: a cursor on the chain, starting at the
 * origin; `findIntersection` moves it; each `nextBlock` is answered with the block after the cursor
 * (RollForward) or, when the chain the cursor stands on was cut back, with a RollBackward to where it now
 * stands. The first answer after connecting or intersecting is always a RollBackward to the cursor.
 *
 * A `nextBlock` that finds the client at the tip waits until the chain changes; requests are always answered in
 * the order they came, and a `findIntersection` while some wait is refused (1001), as Ogmios does.
 *
 * Responses are assembled from the block JSON serialised when the block was produced.
 */
import type { SimulatedChain, ChainPoint, SimulatedBlock } from './simulated-chain.js';
import { pointOf, tipOf } from './simulated-chain.js';
import { writeJson } from './json-writer.js';
import { errorMessage, resultMessage, type MessageSink } from './rpc-messages.js';
import type { RequestedPoint } from './request-params.js';

/** Where the cursor stands: the origin (height -1) or a block. */
interface Cursor {
  readonly height: number;
  readonly point: ChainPoint;
}

const ORIGIN: Cursor = { height: -1, point: 'origin' };

export interface ChainSyncHooks {
  /** The next block the client needs has been dropped from the retained window. */
  onFellBehind(): void;
  /** Waiting requests were answered; `waitingCount` are still waiting. */
  onWaitingDrained(waitingCount: number): void;
}

const FORWARD_PREFIX = Buffer.from('{"jsonrpc":"2.0","method":"nextBlock","result":{"direction":"forward","block":');

export class ChainSyncSession {
  private cursor: Cursor = ORIGIN;
  /** The RollBackward owed to the client before anything else (to the cursor). */
  private owedRollBack: ChainPoint | undefined = 'origin';
  /** Ids (as JSON) of `nextBlock` requests not answered yet, oldest first. */
  private readonly waiting: string[] = [];

  constructor(
    private readonly chain: SimulatedChain,
    private readonly sink: MessageSink,
    private readonly hooks: ChainSyncHooks,
  ) {}

  /** `nextBlock` requests waiting for the chain to change. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  findIntersection(points: readonly RequestedPoint[], idJson: string): void {
    if (this.waiting.length > 0) {
      this.sink.send(
        errorMessage(
          'findIntersection',
          {
            code: 1001,
            message:
              "Cannot interleave 'findIntersection' requests with 'nextBlock'. Note that you should never face this error. If you do, please open an issue.",
          },
          idJson,
        ),
        'error',
      );
      return;
    }
    const tipJson = writeJson(tipOf(this.chain.tip));
    for (const point of points) {
      const cursor = this.cursorAt(point);
      if (cursor === undefined) continue;
      this.cursor = cursor;
      this.owedRollBack = cursor.point;
      this.sink.send(resultMessage('findIntersection', `{"intersection":${writeJson(cursor.point)},"tip":${tipJson}}`, idJson), 'result');
      return;
    }
    this.sink.send(
      errorMessage('findIntersection', { code: 1000, message: 'No intersection found.', data: { tip: tipOf(this.chain.tip) } }, idJson),
      'error',
    );
  }

  nextBlock(idJson: string): void {
    if (this.waiting.length > 0 || !this.answer(idJson)) this.waiting.push(idJson);
  }

  /** The chain was cut back to `point`: a client past it is owed a RollBackward there. */
  onRollBack(point: ChainPoint, pointHeight: number): void {
    if (this.cursor.height > pointHeight) {
      this.cursor = { height: pointHeight, point };
      this.owedRollBack = point;
    }
  }

  /** Answers the waiting requests that the changed chain now allows. */
  onChainChanged(): void {
    const before = this.waiting.length;
    while (this.waiting.length > 0 && this.answer(this.waiting[0] as string)) this.waiting.shift();
    if (this.waiting.length < before) this.hooks.onWaitingDrained(this.waiting.length);
  }

  /** Sends the answer to one `nextBlock`; false when the client is at the tip and must wait. */
  private answer(idJson: string): boolean {
    const tip = this.chain.tip;
    if (this.owedRollBack !== undefined) {
      const point = this.owedRollBack;
      this.owedRollBack = undefined;
      this.sink.send(
        `{"jsonrpc":"2.0","method":"nextBlock","result":{"direction":"backward","point":${writeJson(point)},"tip":${writeJson(tipOf(tip))}},"id":${idJson}}`,
        'result',
      );
      return true;
    }
    const next = this.chain.blockAt(this.cursor.height + 1);
    if (next === undefined) {
      const oldest = this.chain.oldestRetained;
      if (oldest !== undefined && this.cursor.height + 1 < oldest.height) this.hooks.onFellBehind();
      return false;
    }
    this.cursor = { height: next.height, point: pointOf(next) };
    this.sink.sendParts(forwardMessageParts(next, tip as SimulatedBlock, idJson), 'result');
    return true;
  }

  private cursorAt(point: RequestedPoint): Cursor | undefined {
    if (point === 'origin') return this.chain.retainsOrigin ? ORIGIN : undefined;
    const block = this.chain.blockWithId(point.id);
    if (block === undefined || BigInt(block.slot) !== BigInt(point.slot)) return undefined;
    return { height: block.height, point: pointOf(block) };
  }
}

/** A RollForward in three parts: the block's JSON goes out as stored, never copied into a new buffer. */
function forwardMessageParts(block: SimulatedBlock, tip: SimulatedBlock, idJson: string): readonly Buffer[] {
  const suffix = `,"tip":{"slot":${tip.slot},"id":"${tip.id}","height":${tip.height}}},"id":${idJson}}`;
  return [FORWARD_PREFIX, block.json, Buffer.from(suffix)];
}
