/**
 * The chain as the payment engine sees it: only what payments need, with every integer that can exceed
 * 2^53 (slots, heights, lovelace, token quantities) held as bigint.
 */

/** A block header hash or transaction id: 64 lowercase hex characters. */
export type Hash = string;

export interface BlockPoint {
  slot: bigint;
  hash: Hash;
}

/** A place on the chain: a block, or the origin before the first block. */
export type Point = BlockPoint | 'origin';

/** The network's tip as last reported by the node. */
export interface Tip {
  slot: bigint;
  hash: Hash;
  height: bigint;
}

export interface OutputReference {
  txId: Hash;
  index: number;
}

export interface AssetQuantity {
  policyId: string;
  /** Hex-encoded asset name; may be empty. */
  assetName: string;
  quantity: bigint;
}

export interface TransactionOutput {
  address: string;
  lovelace: bigint;
  assets: readonly AssetQuantity[];
}

export interface ChainTransaction {
  id: Hash;
  /**
   * `inputs` for a valid transaction; `collaterals` when phase-2 validation failed: then only its
   * collaterals are consumed and only its collateral return is created.
   */
  spends: 'inputs' | 'collaterals';
  inputs: readonly OutputReference[];
  collaterals: readonly OutputReference[];
  outputs: readonly TransactionOutput[];
  collateralReturn?: TransactionOutput;
}

export interface ChainBlock {
  hash: Hash;
  height: bigint;
  /** Absent only for Byron epoch boundary blocks, which have no slot of their own. */
  slot?: bigint;
  /** Hash of the previous block, or 'genesis' for a chain whose first block has none. */
  ancestor: Hash | 'genesis';
  transactions: readonly ChainTransaction[];
}

export interface RollForward {
  type: 'rollForward';
  /** Consecutive blocks, oldest first. */
  blocks: readonly ChainBlock[];
  tip: Tip;
}

export interface RollBackward {
  type: 'rollBackward';
  point: Point;
  tip: Tip | 'origin';
}

export type ChainEvent = RollForward | RollBackward;

export function describePoint(point: Point): string {
  return point === 'origin' ? 'origin' : `${point.slot}.${point.hash}`;
}

/** Parses `<slot>.<64-hex block id>` (the form Kupo and this project's CLI use) or `origin`. */
export function parsePoint(text: string): Point {
  if (text === 'origin') return 'origin';
  const match = /^(\d+)\.([0-9a-f]{64})$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a chain point: expected origin or <slot>.<64-hex block id>`);
  return { slot: BigInt(match[1]!), hash: match[2]! };
}
