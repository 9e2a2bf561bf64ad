import type { ChainTransaction, OutputReference, TransactionOutput } from './chain.js';

export interface CreatedOutput extends TransactionOutput {
  txId: string;
  index: number;
}

/**
 * The outputs a transaction really creates. A transaction that failed phase-2 validation
 * (`spends: "collaterals"`) creates none of its outputs, only its collateral return, which the ledger
 * places at index outputs.length.
 */
export function createdOutputs(tx: ChainTransaction): CreatedOutput[] {
  if (tx.spends === 'collaterals') {
    return tx.collateralReturn ? [created(tx, tx.collateralReturn, tx.outputs.length)] : [];
  }
  return tx.outputs.map((output, index) => created(tx, output, index));
}

// A literal rather than an object spread: this runs for every output of the chain.
function created(tx: ChainTransaction, output: TransactionOutput, index: number): CreatedOutput {
  return { txId: tx.id, index, address: output.address, lovelace: output.lovelace, assets: output.assets };
}

/** The outputs a transaction really consumes: its inputs, or only its collaterals when it failed. */
export function consumedOutputs(tx: ChainTransaction): readonly OutputReference[] {
  return tx.spends === 'collaterals' ? tx.collaterals : tx.inputs;
}
