import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { isLedgerSnapshotLine, type OgmiosSimulator } from './simulator/index.js';

/**
 * The local stack's simulated chain survives restarts: every block the simulator produces is appended to a
 * journal (one `result.block` JSON per line), every rollback as `{"rollback":<depth>}`. On start the journal is
 * replayed into the chain to restore, then compacted to just that chain. Without it, a restarted simulator
 * would make up a new chain that the stored blocks do not intersect.
 *
 * Bounded: a compaction writes the ledger as it was before the oldest block a rollback can still undo (the
 * simulator's `ledgerSnapshot()`, about the size of its UTxO set) and then only the chain the simulator retains; it
 * happens at start and again whenever what was appended since reaches half of what the last one wrote. So the journal
 * holds about the retained chain (1.5 times what a compaction wrote, at most, past a floor), instead of every block
 * ever produced (about 40 MB an hour for the demo's), and it is read a chunk at a time, never as one string.
 */

/** Below this much appended since the last compaction, the journal is left to grow (rewriting is not worth it). */
export const DEFAULT_COMPACT_AFTER_BYTES = 16 * 1024 * 1024;
const READ_CHUNK_BYTES = 1024 * 1024;
const ROLLBACK_LINE = /^\{"rollback":(\d+)\}$/;

/**
 * What the journal holds, as `startOgmiosSimulator`'s `history` takes it: the ledger snapshot it starts with (if
 * any), then the blocks of the chain with its rollbacks applied, oldest first.
 */
export function readJournal(file: string, options: { chunkBytes?: number } = {}): string[] {
  if (!existsSync(file)) return [];
  const snapshot: string[] = [];
  const chain: string[] = [];
  const apply = (line: string) => {
    if (line === '') return;
    const rollback = ROLLBACK_LINE.exec(line);
    if (rollback) chain.splice(Math.max(0, chain.length - Number(rollback[1])));
    else if (chain.length === 0 && isLedgerSnapshotLine(line)) snapshot.push(line);
    else chain.push(line);
  };
  const descriptor = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(options.chunkBytes ?? READ_CHUNK_BYTES);
    // Bytes of a line not ended yet (a block may span many chunks); joined once its newline comes.
    let partial: Buffer[] = [];
    for (;;) {
      const read = readSync(descriptor, buffer, 0, buffer.length, null);
      if (read === 0) break;
      let start = 0;
      for (let newline = buffer.indexOf(10, start); newline !== -1 && newline < read; newline = buffer.indexOf(10, start)) {
        partial.push(buffer.subarray(start, newline));
        apply(Buffer.concat(partial).toString('utf8'));
        partial = [];
        start = newline + 1;
      }
      if (start < read) partial.push(Buffer.from(buffer.subarray(start, read)));
    }
    // A last line without its newline was being written when the process stopped: it is not a whole block.
  } finally {
    closeSync(descriptor);
  }
  return [...snapshot, ...chain];
}

export interface KeepJournalOptions {
  /** Compaction waits until at least this much was appended (and half of the last compaction's size). */
  compactAfterBytes?: number;
}

/**
 * Rewrites the journal as exactly the simulator's chain (atomically), then appends what the simulator does next,
 * compacting it again whenever it has grown by half. Returns the function that stops journaling.
 */
export function keepJournal(simulator: OgmiosSimulator, file: string, options: KeepJournalOptions = {}): () => void {
  mkdirSync(path.dirname(file), { recursive: true });
  const floor = options.compactAfterBytes ?? DEFAULT_COMPACT_AFTER_BYTES;
  let compactedBytes = compact(simulator, file);
  let appendedBytes = 0;
  const append = (line: string) => {
    appendFileSync(file, line);
    appendedBytes += Buffer.byteLength(line);
    if (appendedBytes >= Math.max(floor, compactedBytes / 2)) {
      compactedBytes = compact(simulator, file);
      appendedBytes = 0;
    }
  };
  const offBlock = simulator.on('block', (block) => append(`${simulator.blockJson(block.id)}\n`));
  const offRollback = simulator.on('rollback', (rollback) => append(`{"rollback":${rollback.depth}}\n`));
  return () => {
    offBlock();
    offRollback();
  };
}

/** Writes the ledger snapshot and the retained chain to a new file and puts it in the journal's place; returns its size. */
function compact(simulator: OgmiosSimulator, file: string): number {
  const temporary = `${file}.tmp`;
  const descriptor = openSync(temporary, 'w');
  try {
    // Line by line: the chain is never joined into one string.
    for (const line of simulator.ledgerSnapshot()) writeSync(descriptor, `${line}\n`);
    for (const block of simulator.chain()) writeSync(descriptor, `${simulator.blockJson(block.id)!}\n`);
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
  renameSync(temporary, file);
  return statSync(file).size;
}
