/**
 * A ledger state as lines of text, so that a journal of the chain (local/simulator-journal.ts) need not keep every
 * block since genesis to rebuild the UTxO set: a header line `{"ledger":<height>,"outputs":<n>}`, then one line per
 * unspent output, `{"utxo":"<tx id>#<index>","address":"<address>","output":<the output's JSON as served>}`. Restored
 * (ChainProducer.restore), the ledger starts from that state and the blocks after `height` are applied on top.
 */
import { outputKey, type UtxoEntry } from './block-effects.js';
import type { LedgerView } from './ledger.js';

const HEADER = /^\{"ledger":(-?\d+),"outputs":(\d+)\}$/;
const ENTRY = /^\{"utxo":"([0-9a-f]+)#(\d+)","address":"([^"\\]+)","output":(.*)\}$/;

export function ledgerSnapshotLines(view: LedgerView): string[] {
  const entries = view.all();
  return [
    `{"ledger":${view.height},"outputs":${entries.length}}`,
    ...entries.map((entry) => `{"utxo":"${entry.key}","address":"${entry.address}","output":${entry.outputJson}}`),
  ];
}

/** Whether a journal line belongs to a ledger snapshot (and not to the blocks). */
export function isLedgerSnapshotLine(line: string): boolean {
  return line.startsWith('{"ledger":') || line.startsWith('{"utxo":');
}

/** The snapshot at the start of `lines`, if any, and how many lines it takes. */
export function readLedgerSnapshot(lines: readonly string[]): { height: number; entries: UtxoEntry[]; lineCount: number } | undefined {
  const header = HEADER.exec(lines[0] ?? '');
  if (!header) return undefined;
  const count = Number(header[2]);
  const entries: UtxoEntry[] = [];
  for (let position = 1; position <= count; position++) {
    const entry = ENTRY.exec(lines[position] ?? '');
    if (!entry) throw new Error(`the ledger snapshot's line ${position + 1} is not an unspent output (${count} announced)`);
    const [, txId, index, address, outputJson] = entry as unknown as [string, string, string, string, string];
    entries.push({ key: outputKey(txId, Number(index)), txId, index: Number(index), address, outputJson });
  }
  return { height: Number(header[1]), entries, lineCount: count + 1 };
}
