/**
 * The local stack's simulator journal (issue 13, item 8): bounded while the chain grows (compacted to the chain the
 * simulator serves), and read a chunk at a time on restart, never whole.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keepJournal, readJournal } from '../../functions/local/simulator-journal.js';
import { isLedgerSnapshotLine, startOgmiosSimulator, type OgmiosSimulator } from '../../functions/local/simulator/index.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';

let folder: string;
const simulators: OgmiosSimulator[] = [];

beforeEach(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'simulator-journal-'));
});
afterEach(async () => {
  await Promise.all(simulators.splice(0).map((simulator) => simulator.stop()));
  await rm(folder, { recursive: true, force: true });
});

/** The replay as the journal's first version did it: the whole file at once. */
function replayWhole(text: string): string[] {
  const chain: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const rollback = /^\{"rollback":(\d+)\}$/.exec(line);
    if (rollback) chain.splice(Math.max(0, chain.length - Number(rollback[1])));
    else chain.push(line);
  }
  return chain;
}

const chainJson = (simulator: OgmiosSimulator) => simulator.chain().map((block) => simulator.blockJson(block.id)!);
const bytesOf = (lines: readonly string[]) => lines.reduce((total, line) => total + Buffer.byteLength(line) + 1, 0);

describe('simulator journal', () => {
  it('replays blocks and rollbacks read a few bytes at a time exactly as a whole read', async () => {
    const lines: string[] = [];
    for (let n = 0; n < 300; n++) {
      // Blocks of varied length, with characters of several bytes that a chunk boundary may cut.
      lines.push(JSON.stringify({ height: n, note: 'ä€𝄞'.repeat(n % 7), pad: 'x'.repeat((n * 37) % 101) }));
      if (n % 17 === 16) lines.push(`{"rollback":${(n % 3) + 1}}`);
    }
    const text = `${lines.join('\n')}\n`;
    const file = path.join(folder, 'chain.jsonl');
    await writeFile(file, text);
    const whole = replayWhole(text);
    for (const chunkBytes of [1, 7, 64, 4096, 1024 * 1024]) expect(readJournal(file, { chunkBytes })).toEqual(whole);

    // A last line cut short (the process stopped while appending it) is not a block.
    await writeFile(file, `${text}{"height":999,"no`);
    expect(readJournal(file, { chunkBytes: 64 })).toEqual(whole);
    expect(readJournal(path.join(folder, 'absent.jsonl'))).toEqual([]);
  });

  it('stays within 1.5 times what a compaction writes while the chain grows through forks, and restores chain and ledger', async () => {
    const paid = syntheticAddress('preprod', 'journal');
    const simulator = await startOgmiosSimulator({
      network: 'preprod',
      initialBlocks: 30,
      retainedBlocks: 40,
      payTo: [{ address: paid }],
      paymentsPerBlock: 0.5,
      forks: { everyBlocks: 7, maxDepth: 3 },
      transactionsPerBlock: { min: 1, max: 6 },
      seed: 'journal-bound',
    });
    simulators.push(simulator);
    const file = path.join(folder, 'chain.jsonl');
    const stop = keepJournal(simulator, file, { compactAfterBytes: 1 });
    // What a compaction writes: the ledger before the oldest undoable block, then the retained chain.
    const compacted = () => bytesOf(simulator.ledgerSnapshot()) + bytesOf(chainJson(simulator));
    let produced = 0;
    let largestCompaction = compacted();
    let largestFile = 0;
    for (let step = 0; step < 400; step++) {
      for (const block of simulator.produceBlocks(1)) produced += Buffer.byteLength(simulator.blockJson(block.id) ?? '');
      largestCompaction = Math.max(largestCompaction, compacted());
      largestFile = Math.max(largestFile, (await stat(file)).size);
    }
    stop();
    // Without compaction the journal would hold every block produced; it holds about the retained chain.
    expect(produced).toBeGreaterThan(3 * largestFile);
    expect(largestFile).toBeLessThanOrEqual(1.5 * largestCompaction + 1);

    const restored = readJournal(file);
    // The chain it serves, after what the last compaction kept before it (the restored simulator keeps its own 40).
    const blocks = restored.filter((line) => !isLedgerSnapshotLine(line));
    expect(blocks.slice(-40).join('\n') === chainJson(simulator).join('\n')).toBe(true);
    const again = await startOgmiosSimulator({ network: 'preprod', retainedBlocks: 40, history: restored, seed: 'journal-bound-2' });
    simulators.push(again);
    expect(again.tip()).toEqual(simulator.tip());
    // The whole UTxO set, not only what the retained blocks created.
    expect(again.ledger.size).toBe(simulator.ledger.size);
    expect(again.ledger.utxosAt(paid)).toEqual(simulator.ledger.utxosAt(paid));
    expect(simulator.chain()[0]!.height).toBeGreaterThan(300);
    // And it rolls back as deep as the original could.
    for (const rolled of [again, simulator]) rolled.rollBack(3, { newBranchLength: 0 });
    expect(again.tip()).toEqual(simulator.tip());
    expect(again.ledger.size).toBe(simulator.ledger.size);
    expect(again.ledger.utxosAt(paid)).toEqual(simulator.ledger.utxosAt(paid));
  });

  it("refuses, saying why, blocks that start past the chain's first one without the ledger before them", async () => {
    const simulator = await startOgmiosSimulator({ network: 'preprod', initialBlocks: 60, retainedBlocks: 20, seed: 'journal-old' });
    simulators.push(simulator);
    await expect(startOgmiosSimulator({ network: 'preprod', history: chainJson(simulator) })).rejects.toThrow(
      /start at height 40 without the ledger state before them/,
    );
  });
});
