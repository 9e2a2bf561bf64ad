import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { OgmiosSimulator } from './simulator/index.js';

/**
 * The local stack's simulated chain survives restarts: every block the simulator produces is appended to a
 * journal (one `result.block` JSON per line), every rollback as `{"rollback":<depth>}`. On start the journal is
 * replayed into the chain to restore, then compacted to just that chain. Without it, a restarted simulator
 * would make up a new chain that the stored blocks do not intersect.
 */
export function readJournal(file: string): string[] {
  if (!existsSync(file)) return [];
  const chain: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    const rollback = /^\{"rollback":(\d+)\}$/.exec(line);
    if (rollback) chain.splice(Math.max(0, chain.length - Number(rollback[1])));
    else chain.push(line);
  }
  return chain;
}

/** Rewrites the journal as exactly this chain (atomically), then appends what the simulator does next. */
export function keepJournal(simulator: OgmiosSimulator, file: string): () => void {
  mkdirSync(path.dirname(file), { recursive: true });
  const blocks = simulator.chain().map((block) => simulator.blockJson(block.id)!);
  writeFileSync(`${file}.tmp`, blocks.map((json) => `${json}\n`).join(''));
  renameSync(`${file}.tmp`, file);
  const offBlock = simulator.on('block', (block) => appendFileSync(file, `${simulator.blockJson(block.id)}\n`));
  const offRollback = simulator.on('rollback', (rollback) => appendFileSync(file, `{"rollback":${rollback.depth}}\n`));
  return () => {
    offBlock();
    offRollback();
  };
}
