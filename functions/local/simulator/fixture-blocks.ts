/**
 * Replays the real blocks recorded in the shared chain fixtures (see chain-fixtures/SOURCE.md): each block keeps
 * its era, issuer, protocol and transactions exactly as recorded (read losslessly, so integers beyond 2^53
 * survive), while the producer gives it a new place on the simulated chain. The fixtures are cycled through in
 * their original chronological order.
 *
 * Which blocks: the consecutive runs (`sequences`) of the chosen network from the Babbage era on; failing that,
 * every Praos block of the network; failing that, every Praos block. Byron blocks are never replayed (the
 * simulated chain is Praos only).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Network } from '../../domain/network.js';
import { readChainFixturesDirectory } from '../../config/local-settings.js';
import { isLosslessJsonObject, parseLosslessJson, type JsonObject } from '../../domain/ogmios/lossless-json.js';
import type { JsonRecord } from './block-effects.js';
import type { BlockBody, BlockSource } from './block-source.js';

/** Where the fixtures live when no directory is given: CHAIN_FIXTURES_DIR, or ../shared beside the repository. */
export function defaultFixturesDirectory(): string {
  return readChainFixturesDirectory() ?? fileURLToPath(new URL('../../../../shared/chain-fixtures/', import.meta.url));
}

/** The recorded blocks to replay are not where the simulator was told (or expected) to find them. */
export class FixturesNotFoundError extends Error {
  override readonly name = 'FixturesNotFoundError';
  constructor(readonly directory: string) {
    super(
      `no recorded chain fixtures in ${directory} (no index.json there; they are not part of this repository): ` +
        'set CHAIN_FIXTURES_DIR to a folder of them (shared/chain-fixtures in the development layout), or use the synthetic source',
    );
  }
}

export interface FixtureBlockEntry {
  /** Path relative to the fixtures directory. */
  readonly file: string;
  readonly network: string;
  readonly sequence: string | null;
  readonly era: string;
  readonly type: string;
  readonly id: string;
  readonly slot: number | null;
  readonly height: number;
}

const PRAOS_ERAS_FROM_BABBAGE = new Set(['babbage', 'conway']);

/** The fixture blocks a simulator on `network` replays, in replay order. */
export function selectFixtureBlocks(directory: string, network: Network): FixtureBlockEntry[] {
  const indexFile = join(directory, 'index.json');
  // The fixtures are not part of this repository: outside the development layout they are simply absent.
  if (!existsSync(indexFile)) throw new FixturesNotFoundError(directory);
  const index = JSON.parse(readFileSync(indexFile, 'utf8')) as { blocks: FixtureBlockEntry[] };
  const praos = index.blocks.filter((block) => block.type === 'praos' && block.slot !== null);
  const ofNetwork = praos.filter((block) => block.network === network);
  const preferred = ofNetwork.filter((block) => block.sequence !== null && PRAOS_ERAS_FROM_BABBAGE.has(block.era));
  const selection = [preferred, ofNetwork, praos].find((candidates) => candidates.length > 0);
  if (selection === undefined) throw new Error(`no Praos blocks in ${join(directory, 'index.json')}`);
  return [...selection].sort((left, right) => (left.slot as number) - (right.slot as number));
}

/** Header fields the producer sets itself; everything else in a recorded block is kept. */
const PLACEMENT_FIELDS = new Set(['type', 'era', 'id', 'size', 'height', 'slot', 'ancestor', 'transactions']);

export class FixtureBlockSource implements BlockSource {
  private position = 0;

  constructor(
    private readonly directory: string,
    private readonly blocks: readonly FixtureBlockEntry[],
  ) {
    if (blocks.length === 0) throw new Error('no fixture blocks to replay');
  }

  /** The fixture the next body comes from. */
  get nextFixture(): FixtureBlockEntry {
    return this.blocks[this.position % this.blocks.length] as FixtureBlockEntry;
  }

  nextBody(): BlockBody {
    const entry = this.nextFixture;
    this.position++;
    const block = parseLosslessJson(readFileSync(join(this.directory, entry.file), 'utf8'));
    if (!isLosslessJsonObject(block)) throw new Error(`${entry.file} does not hold a block object`);
    const header: { [key: string]: JsonObject[string] } = {};
    for (const key of Object.keys(block)) if (!PLACEMENT_FIELDS.has(key)) header[key] = block[key];
    const transactions = Array.isArray(block.transactions) ? block.transactions.filter(isLosslessJsonObject) : [];
    const size = block.size;
    return {
      era: typeof block.era === 'string' ? block.era : entry.era,
      header: header as JsonRecord,
      transactions,
      sizeBytes: isLosslessJsonObject(size) && typeof size.bytes === 'number' ? size.bytes : undefined,
      replayOf: entry.file,
    };
  }
}
