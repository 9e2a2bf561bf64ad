/**
 * Puts a block together: the source's body with the simulator's own transactions mixed in, placed on the chain
 * (id, ancestor, height, slot), serialised once as Ogmios writes it, with what each transaction does to the UTxO set.
 */
import { transactionEffects, type JsonRecord, type TransactionEffects } from './block-effects.js';
import type { BlockBody } from './block-source.js';
import { writeJson } from './json-writer.js';
import type { SeededRandom } from './random.js';

export interface BlockPlacement {
  readonly id: string;
  readonly ancestor: string;
  readonly height: number;
  readonly slot: number;
}

export interface AssembledBlock {
  /** The block object as UTF-8 JSON, exactly as `result.block` of a RollForward. */
  readonly json: Buffer;
  readonly effects: readonly TransactionEffects[];
}

/** Largest block body on mainnet (maxBlockBodySize). */
const MAX_BLOCK_BODY_BYTES = 90_112;
/** Ogmios JSON is about 2.8 times the CBOR size of a block body (median over the real fixtures). */
const CBOR_BYTES_PER_JSON_BYTE = 0.36;

export function assembleBlock(
  placement: BlockPlacement,
  body: BlockBody,
  injected: readonly JsonRecord[],
  random: SeededRandom,
): AssembledBlock {
  const transactions = mixIn(body.transactions, injected, random);
  const transactionsJson = writeJson(transactions);
  const injectedJsonBytes = injected.reduce((total, transaction) => total + writeJson(transaction).length, 0);
  const sizeBytes = Math.min(
    MAX_BLOCK_BODY_BYTES,
    body.sizeBytes !== undefined ? body.sizeBytes + estimateCborBytes(injectedJsonBytes) : estimateCborBytes(transactionsJson.length),
  );
  const { id, ancestor, height, slot } = placement;
  // Ogmios key order; `transactions` comes last, spliced in as already written.
  const header = writeJson({ type: 'praos', era: body.era, id, size: { bytes: sizeBytes }, height, slot, ancestor, ...body.header });
  return {
    json: Buffer.from(`${header.slice(0, -1)},"transactions":${transactionsJson}}`),
    effects: transactions.map(transactionEffects),
  };
}

/** Inserts `extra` at random positions of `base`, keeping the order within each list. */
function mixIn(base: readonly JsonRecord[], extra: readonly JsonRecord[], random: SeededRandom): JsonRecord[] {
  const mixed = [...base];
  let lowest = 0;
  for (const transaction of extra) {
    const position = random.integer(lowest, mixed.length);
    mixed.splice(position, 0, transaction);
    lowest = position + 1;
  }
  return mixed;
}

function estimateCborBytes(jsonBytes: number): number {
  return Math.round(jsonBytes * CBOR_BYTES_PER_JSON_BYTE);
}
