/** Where an output sits on the chain: what orders payments (an engine payment, an invoice's payment). */
export interface ChainPosition {
  blockHeight: bigint;
  txId: string;
  index: number;
}

/** The order payments are read in (and credited in): by block height, then transaction id, then output index. */
export function inChainOrder(a: ChainPosition, b: ChainPosition): number {
  if (a.blockHeight !== b.blockHeight) return a.blockHeight < b.blockHeight ? -1 : 1;
  if (a.txId !== b.txId) return a.txId < b.txId ? -1 : 1;
  return a.index - b.index;
}
