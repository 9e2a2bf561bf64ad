import type { JsonRecord } from './block-effects.js';
import type { BlockDraft } from './block-draft.js';

/**
 * The content of the next block; the producer gives it its place on the chain (id, ancestor, height, slot) and
 * mixes in the transactions waiting in the simulator's mempool.
 */
export interface BlockBody {
  readonly era: string;
  /** Header fields other than type, era, id, size, height, slot, ancestor and transactions: issuer, protocol… */
  readonly header: JsonRecord;
  readonly transactions: readonly JsonRecord[];
  /** The block body size in bytes when known (a replayed block's original size); estimated otherwise. */
  readonly sizeBytes?: number;
  /** The fixture file a replayed block comes from. */
  readonly replayOf?: string;
}

export interface BlockSource {
  nextBody(draft: BlockDraft): BlockBody;
}
