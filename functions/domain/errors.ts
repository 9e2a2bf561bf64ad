import type { ChainBlock, Point } from './chain.js';
import { describePoint } from './chain.js';
import type { AppliedBlock } from './ports.js';

/** A block that neither extends the engine's tip nor is already applied. Nothing was written. */
export class ChainContinuityError extends Error {
  override readonly name = 'ChainContinuityError';
  constructor(
    readonly block: Pick<ChainBlock, 'hash' | 'height' | 'slot' | 'ancestor'>,
    /** The engine's tip when the block was checked against it; undefined when the batch itself is broken. */
    readonly tip: AppliedBlock | null | undefined,
    reason: string,
  ) {
    const tipText =
      tip === undefined ? '' : `; the engine's tip is ${tip ? `${tip.hash} (height ${tip.height}, slot ${tip.slot})` : 'origin'}`;
    super(`Block ${block.hash} (height ${block.height}, slot ${block.slot ?? 'none'}) cannot be applied: ${reason}${tipText}`);
  }
}

/** A rollback to a point the engine does not hold: not on its chain, or deeper than the retained blocks. */
export class UnknownRollbackPointError extends Error {
  override readonly name = 'UnknownRollbackPointError';
  constructor(
    readonly point: Point,
    reason: string,
  ) {
    super(`Cannot roll back to ${describePoint(point)}: ${reason}`);
  }
}

/**
 * An event of the current leader session that does not follow what the engine applied of that session: steps are
 * missing before it (a message was lost or set aside), or the session was never fenced in this database. Nothing
 * was written; the leader must follow again from the database's points.
 */
export class SessionOutOfStepError extends Error {
  override readonly name = 'SessionOutOfStepError';
}

/** Errors that mean the event stream and the database disagree: resolved by following again from the database. */
export function isDivergence(error: unknown): error is ChainContinuityError | UnknownRollbackPointError | SessionOutOfStepError {
  return error instanceof ChainContinuityError || error instanceof UnknownRollbackPointError || error instanceof SessionOutOfStepError;
}
