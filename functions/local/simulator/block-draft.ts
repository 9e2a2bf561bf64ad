/**
 * A block being assembled: where it sits, and which unspent outputs its transactions have already taken, so
 * that no two transactions of the simulated chain spend the same output.
 */
import { outputKey, type UtxoEntry } from './block-effects.js';
import type { Ledger } from './ledger.js';
import type { SeededRandom } from './random.js';

export interface OutputReference {
  readonly txId: string;
  readonly index: number;
}

export class BlockDraft {
  private readonly claimed: Set<string>;
  private readonly isFreeForAnyone = (entry: UtxoEntry): boolean => !this.claimed.has(entry.key) && !this.ownedAddresses.has(entry.address);

  constructor(
    readonly height: number,
    readonly slot: number,
    private readonly ledger: Ledger,
    private readonly random: SeededRandom,
    /** Outputs already promised to transactions waiting in the mempool. */
    alreadyClaimed: Iterable<string> = [],
    /**
     * Addresses whose outputs only their owner spends (the configured payment addresses): background traffic
     * leaves them alone, only payment spends take them.
     */
    private readonly ownedAddresses: ReadonlySet<string> = new Set(),
  ) {
    this.claimed = new Set(alreadyClaimed);
  }

  /** Unspent outputs of the simulated chain before this block. */
  get unspentCount(): number {
    return this.ledger.size;
  }

  /**
   * A random unspent output of the simulated chain for a new transaction to spend. Before the chain has created
   * enough outputs, a reference to an output outside the simulated chain (as a real chain's early history).
   */
  claimRandomInput(): OutputReference {
    const entry = this.ledger.randomUnspent(this.random, this.isFreeForAnyone);
    if (entry !== undefined) {
      this.claimed.add(entry.key);
      return entry;
    }
    return { txId: this.random.hex(32), index: this.random.integer(0, 3) };
  }

  /** Like claimRandomInput, without claiming: for inputs that a failed transaction names but does not consume. */
  randomInput(): OutputReference {
    const entry = this.ledger.randomUnspent(this.random, this.isFreeForAnyone);
    return entry ?? { txId: this.random.hex(32), index: this.random.integer(0, 3) };
  }

  /** A random unclaimed unspent output at one of `addresses`, claimed; undefined when there is none. */
  claimUnspentAt(addresses: readonly string[]): UtxoEntry | undefined {
    const available = this.ledger
      .tipView()
      .atAddresses(addresses)
      .filter((entry) => !this.claimed.has(entry.key));
    if (available.length === 0) return undefined;
    const entry = this.random.pick(available);
    this.claimed.add(entry.key);
    return entry;
  }

  /** The unspent output at `reference`, claimed; undefined when it does not exist or is taken. */
  claimReference(reference: OutputReference): UtxoEntry | undefined {
    const key = outputKey(reference.txId, reference.index);
    if (this.claimed.has(key)) return undefined;
    const entry = this.ledger.tipView().get(reference.txId, reference.index);
    if (entry !== undefined) this.claimed.add(key);
    return entry;
  }
}
