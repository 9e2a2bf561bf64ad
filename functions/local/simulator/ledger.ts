/**
 * The UTxO set of the simulated chain: only outputs the simulated chain itself created (inputs that point
 * elsewhere, e.g. to the original chain of a replayed fixture, are ignored). Each of the last `undoDepth` blocks
 * (the security parameter k, as a node keeps the last k ledger states) keeps an ordered record of its changes,
 * so that a rollback undoes them exactly and the state after any of those blocks can be read without copying the
 * set (a view walks the records back from the tip).
 */
import type { TransactionEffects, UtxoEntry } from './block-effects.js';
import { outputKey } from './block-effects.js';
import type { SeededRandom } from './random.js';

type LedgerChange =
  | { readonly kind: 'create'; readonly entry: UtxoEntry; readonly replaced: UtxoEntry | undefined }
  | { readonly kind: 'consume'; readonly entry: UtxoEntry };

interface BlockChanges {
  readonly height: number;
  readonly changes: readonly LedgerChange[];
}

/** The UTxO set as it was after a given block. */
export interface LedgerView {
  /** Height of the last block included (-1: the origin, an empty set). */
  readonly height: number;
  get(txId: string, index: number): UtxoEntry | undefined;
  /** Unspent outputs at any of these addresses, ordered by output reference like the node's UTxO map. */
  atAddresses(addresses: Iterable<string>): UtxoEntry[];
  /** The whole set, ordered by output reference. */
  all(): UtxoEntry[];
}

export class Ledger {
  private readonly entries = new Map<string, UtxoEntry>();
  private readonly keysByAddress = new Map<string, Set<string>>();
  /** Every unspent key once, for uniform random choice; `samplePositions` says where each is. */
  private readonly sampleKeys: string[] = [];
  private readonly samplePositions = new Map<string, number>();
  /** Change records of the retained blocks, oldest first. */
  private readonly history: BlockChanges[] = [];
  private appliedHeight = -1;

  constructor(private readonly undoDepth: number) {}

  /** Number of unspent outputs at the tip. */
  get size(): number {
    return this.entries.size;
  }

  /** Whether the output with this key (txId#index) is unspent at the tip. */
  hasUnspent(key: string): boolean {
    return this.entries.has(key);
  }

  /** Height of the last applied block (-1 before the first). */
  get height(): number {
    return this.appliedHeight;
  }

  apply(height: number, transactions: readonly TransactionEffects[]): void {
    if (height !== this.appliedHeight + 1) throw new Error(`ledger at height ${this.appliedHeight} cannot apply block ${height}`);
    const changes: LedgerChange[] = [];
    for (const transaction of transactions) {
      for (const key of transaction.consumed) {
        const entry = this.entries.get(key);
        if (entry === undefined) continue; // not created by the simulated chain, or already spent
        this.remove(entry);
        changes.push({ kind: 'consume', entry });
      }
      for (const entry of transaction.created) {
        // A replayed fixture transaction can create an output that an earlier replay of it created too.
        const replaced = this.entries.get(entry.key);
        if (replaced !== undefined) this.remove(replaced);
        this.insert(entry);
        changes.push({ kind: 'create', entry, replaced });
      }
    }
    this.history.push({ height, changes });
    if (this.history.length > this.undoDepth) this.history.shift();
    this.appliedHeight = height;
  }

  /** Starts from a saved state (a journal's, see ledger-snapshot.ts): the set after block `height`, nothing to undo yet. */
  seed(height: number, entries: readonly UtxoEntry[]): void {
    if (this.appliedHeight !== -1 || this.entries.size > 0) throw new Error('only an empty ledger can be seeded');
    for (const entry of entries) this.insert(entry);
    this.appliedHeight = height;
  }

  /** The oldest height `viewAt` can give the state after: just before the oldest block that can be undone. */
  get oldestViewableHeight(): number {
    return (this.history[0]?.height ?? this.appliedHeight + 1) - 1;
  }

  /** How many of the newest blocks can be undone. */
  get undoableBlocks(): number {
    return this.history.length;
  }

  /** Undoes the newest `count` blocks. */
  undoNewest(count: number): void {
    if (count > this.history.length) throw new RangeError(`cannot undo ${count} blocks: ${this.history.length} are retained`);
    for (let undone = 0; undone < count; undone++) {
      const block = this.history.pop() as BlockChanges;
      for (let position = block.changes.length - 1; position >= 0; position--) {
        const change = block.changes[position] as LedgerChange;
        if (change.kind === 'consume') {
          this.insert(change.entry);
        } else {
          this.remove(change.entry);
          if (change.replaced !== undefined) this.insert(change.replaced);
        }
      }
      this.appliedHeight = block.height - 1;
    }
  }

  /** Forgets the change records of blocks below `height` (pruned from the chain: no longer undoable). */
  forgetBefore(height: number): void {
    let count = 0;
    while (count < this.history.length && (this.history[count] as BlockChanges).height < height) count++;
    if (count > 0) this.history.splice(0, count);
  }

  /** The state after the block at `height`, or undefined when that is older than the retained records. */
  viewAt(height: number): LedgerView | undefined {
    if (height === this.appliedHeight) return new TipView(this.entries, this.keysByAddress, height);
    const oldest = this.history[0];
    if (height > this.appliedHeight || oldest === undefined || height < oldest.height - 1) return undefined;
    // Walk back from the tip: what each later block created did not exist yet, what it consumed still did.
    const overlay = new Map<string, UtxoEntry | null>();
    for (let position = this.history.length - 1; position >= 0; position--) {
      const block = this.history[position] as BlockChanges;
      if (block.height <= height) break;
      for (let index = block.changes.length - 1; index >= 0; index--) {
        const change = block.changes[index] as LedgerChange;
        overlay.set(change.entry.key, change.kind === 'consume' ? change.entry : (change.replaced ?? null));
      }
    }
    return new PastView(new TipView(this.entries, this.keysByAddress, this.appliedHeight), overlay, height);
  }

  tipView(): LedgerView {
    return new TipView(this.entries, this.keysByAddress, this.appliedHeight);
  }

  /** A uniformly chosen unspent output that `isAvailable` accepts (a few tries), for synthetic transactions. */
  randomUnspent(random: SeededRandom, isAvailable: (entry: UtxoEntry) => boolean): UtxoEntry | undefined {
    if (this.sampleKeys.length === 0) return undefined;
    for (let attempt = 0; attempt < 8; attempt++) {
      const entry = this.entries.get(random.pick(this.sampleKeys)) as UtxoEntry;
      if (isAvailable(entry)) return entry;
    }
    return undefined;
  }

  private insert(entry: UtxoEntry): void {
    const key = entry.key;
    this.entries.set(key, entry);
    let keys = this.keysByAddress.get(entry.address);
    if (keys === undefined) {
      keys = new Set();
      this.keysByAddress.set(entry.address, keys);
    }
    keys.add(key);
    this.samplePositions.set(key, this.sampleKeys.length);
    this.sampleKeys.push(key);
  }

  private remove(entry: UtxoEntry): void {
    const key = entry.key;
    this.entries.delete(key);
    const keys = this.keysByAddress.get(entry.address);
    keys?.delete(key);
    if (keys?.size === 0) this.keysByAddress.delete(entry.address);
    // Swap-remove from the sample list.
    const position = this.samplePositions.get(key) as number;
    const last = this.sampleKeys.pop() as string;
    this.samplePositions.delete(key);
    if (last !== key) {
      this.sampleKeys[position] = last;
      this.samplePositions.set(last, position);
    }
  }
}

class TipView implements LedgerView {
  constructor(
    private readonly entries: ReadonlyMap<string, UtxoEntry>,
    private readonly keysByAddress: ReadonlyMap<string, ReadonlySet<string>>,
    readonly height: number,
  ) {}

  get(txId: string, index: number): UtxoEntry | undefined {
    return this.entries.get(outputKey(txId, index));
  }

  atAddresses(addresses: Iterable<string>): UtxoEntry[] {
    const found: UtxoEntry[] = [];
    for (const address of new Set(addresses)) {
      for (const key of this.keysByAddress.get(address) ?? []) found.push(this.entries.get(key) as UtxoEntry);
    }
    return found.sort(compareReferences);
  }

  all(): UtxoEntry[] {
    return [...this.entries.values()].sort(compareReferences);
  }

  /** Keys at an address, for the past view to correct. */
  keysAt(address: string): Iterable<string> {
    return this.keysByAddress.get(address) ?? [];
  }

  entry(key: string): UtxoEntry | undefined {
    return this.entries.get(key);
  }
}

/** The tip state corrected by an overlay: key → the entry as it was then, or null when it did not exist. */
class PastView implements LedgerView {
  constructor(
    private readonly tip: TipView,
    private readonly overlay: ReadonlyMap<string, UtxoEntry | null>,
    readonly height: number,
  ) {}

  get(txId: string, index: number): UtxoEntry | undefined {
    const key = outputKey(txId, index);
    const past = this.overlay.get(key);
    return past === undefined ? this.tip.entry(key) : (past ?? undefined);
  }

  atAddresses(addresses: Iterable<string>): UtxoEntry[] {
    const wanted = new Set(addresses);
    const found: UtxoEntry[] = [];
    for (const address of wanted) {
      for (const key of this.tip.keysAt(address)) {
        if (!this.overlay.has(key)) found.push(this.tip.entry(key) as UtxoEntry);
      }
    }
    for (const past of this.overlay.values()) {
      if (past !== null && wanted.has(past.address)) found.push(past);
    }
    return found.sort(compareReferences);
  }

  all(): UtxoEntry[] {
    const found = this.tip.all().filter((entry) => !this.overlay.has(entry.key));
    for (const past of this.overlay.values()) if (past !== null) found.push(past);
    return found.sort(compareReferences);
  }
}

function compareReferences(left: UtxoEntry, right: UtxoEntry): number {
  if (left.txId !== right.txId) return left.txId < right.txId ? -1 : 1;
  return left.index - right.index;
}
