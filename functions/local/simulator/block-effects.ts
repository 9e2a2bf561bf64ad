/**
 * What a transaction does to the UTxO set, read from its Ogmios JSON (a fixture's lossless tree or a synthetic
 * transaction): a valid transaction consumes its `inputs` and creates its `outputs`; a transaction with
 * `spends: "collaterals"` (failed phase-2 validation) consumes only its `collaterals` and creates only its
 * `collateralReturn`, numbered after the regular outputs. `references` are never consumed.
 */
import { writeJson, type JsonWritable } from './json-writer.js';

/** A JSON object as the simulator builds or parses it. */
export type JsonRecord = { readonly [key: string]: JsonWritable | undefined };

/** An unspent output: where it comes from and its Ogmios `TransactionOutput` JSON (address, value, datum…). */
export interface UtxoEntry {
  /** `txId#index`, the entry's key in the ledger's maps (computed once). */
  readonly key: string;
  readonly txId: string;
  readonly index: number;
  readonly address: string;
  /** The output object as JSON, written once: `{"address":…,"value":…}` plus datum or script when present. */
  readonly outputJson: string;
}

export interface TransactionEffects {
  readonly transactionId: string;
  /** Keys (see outputKey) of the outputs consumed, in order. */
  readonly consumed: readonly string[];
  readonly created: readonly UtxoEntry[];
}

export function outputKey(txId: string, index: number): string {
  return `${txId}#${index}`;
}

export function transactionEffects(transaction: JsonRecord): TransactionEffects {
  const transactionId = expectString(transaction.id, 'transaction id');
  if (transaction.spends === 'collaterals') {
    const outputCount = asArray(transaction.outputs).length;
    const collateralReturn = transaction.collateralReturn;
    return {
      transactionId,
      consumed: referenceKeys(transaction.collaterals),
      created: isRecord(collateralReturn) ? [utxoEntry(transactionId, outputCount, collateralReturn)] : [],
    };
  }
  return {
    transactionId,
    consumed: referenceKeys(transaction.inputs),
    created: asArray(transaction.outputs).map((output, index) => utxoEntry(transactionId, index, expectRecord(output, 'output'))),
  };
}

function utxoEntry(txId: string, index: number, output: JsonRecord): UtxoEntry {
  return {
    key: outputKey(txId, index),
    txId,
    index,
    address: expectString(output.address, 'output address'),
    outputJson: flatten(writeJson(output)),
  };
}

/**
 * The writer builds strings by concatenation, which V8 keeps as trees of pieces until first read; an entry can
 * stay unspent for a long time, so its JSON is stored as one flat string (slicing a string flattens it).
 */
function flatten(text: string): string {
  return ` ${text}`.slice(1);
}

function referenceKeys(references: JsonWritable | undefined): string[] {
  return asArray(references).map((reference) => {
    const record = expectRecord(reference, 'output reference');
    const transaction = expectRecord(record.transaction, 'output reference transaction');
    const index = record.index;
    if (typeof index !== 'number') throw new TypeError(`output reference index is ${typeof index}, expected a number`);
    return outputKey(expectString(transaction.id, 'output reference transaction id'), index);
  });
}

function asArray(value: JsonWritable | undefined): readonly JsonWritable[] {
  return Array.isArray(value) ? (value as readonly JsonWritable[]) : [];
}

export function isRecord(value: JsonWritable | undefined): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function expectRecord(value: JsonWritable | undefined, what: string): JsonRecord {
  if (isRecord(value)) return value;
  throw new TypeError(`${what} is not an object`);
}

function expectString(value: JsonWritable | undefined, what: string): string {
  if (typeof value === 'string') return value;
  throw new TypeError(`${what} is ${typeof value}, expected a string`);
}
