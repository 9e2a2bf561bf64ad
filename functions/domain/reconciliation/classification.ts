/**
 * The comparison of one chunk of payment addresses: the chain's unspent outputs at those addresses against the
 * payments the database holds for them.
 *
 * When can the two be compared? Ogmios answers a UTxO query at the node's tip and says nothing about the height
 * of each output, while the database has applied blocks only up to its own applied block, usually one or two
 * blocks behind. So a chunk is compared in one of two ways:
 *
 * - **consistent**: the node's tip before and after the UTxO query was the very block the database had applied
 *   when its payments were read (same hash). Both sides then describe the same ledger state, and every
 *   difference is a real discrepancy.
 * - **lagging**: anything else (the database behind the node, a block arriving during the query, a fork). Then
 *   an output on chain the database does not know may sit in a block not yet applied, and a payment the
 *   database holds unspent may have been spent in such a block: neither can be judged, and both count as
 *   *too recent*. Only what both sides hold is compared (an output's amount and tokens are fixed by its
 *   transaction id, so a mismatch there is real whatever the lag).
 *
 * Whatever the mode, a payment the database holds as pending (not yet confirmed) is too recent to judge.
 *
 * An output the database does not hold that the address already held when the monitor began watching it (its
 * opening, see ports.ts) is no payment the monitor saw arrive: it *predates watching*, counted apart and never a
 * discrepancy, so an address registered with funds on it raises no alarm. Where the opening could not be read
 * yet, what the database lacks at the address is not judged (too recent).
 *
 * An output the payment policy ignores (payment-policy.ts) is not a payment: the database is not expected to hold
 * it, so it is left out unless the database holds a row for it (recorded under an earlier policy), which is compared
 * as any other.
 */
import type { AssetQuantity, Hash } from '../chain.js';
import { PAYMENT_POLICY, type PaymentPolicy } from '../payment-policy.js';

/** An unspent output on the chain at a monitored address. */
export interface ChainOutput {
  txId: Hash;
  index: number;
  address: string;
  lovelace: bigint;
  assets: readonly AssetQuantity[];
}

/** A payment the database holds on its current chain (pending or confirmed; rolled-back rows are not). */
export interface RecordedPayment {
  txId: Hash;
  index: number;
  address: string;
  lovelace: bigint;
  assets: readonly AssetQuantity[];
  status: 'pending' | 'confirmed';
  /** Whether the database saw the output spent. */
  spent: boolean;
}

export type ComparisonMode = 'consistent' | 'lagging';

export const DiscrepancyKind = {
  missingInDb: 'missing_in_db',
  extraInDb: 'extra_in_db',
  amountMismatch: 'amount_mismatch',
  assetMismatch: 'asset_mismatch',
} as const;
export type DiscrepancyKind = (typeof DiscrepancyKind)[keyof typeof DiscrepancyKind];

export interface OutputDiscrepancy {
  kind: DiscrepancyKind;
  txId: Hash;
  index: number;
  address: string;
  /** What the chain holds (absent: not on chain). */
  chain?: { lovelace: bigint; assets: readonly AssetQuantity[] };
  /** What the database holds (absent: no unspent payment). */
  db?: { lovelace: bigint; assets: readonly AssetQuantity[]; spent: boolean };
}

export interface ChunkCounts {
  matched: number;
  missingInDb: number;
  extraInDb: number;
  amountMismatch: number;
  assetMismatch: number;
  tooRecent: number;
  /** Not judged, not a discrepancy: outputs the address already held when watching it began. */
  predatesWatch: number;
}

/** What the database knows of the addresses' openings (see DatabaseSnapshot in ports.ts). */
export interface WatchStarts {
  /** Chain outputs (`txId#index`) the addresses already held when watching them began. */
  predating: ReadonlySet<string>;
  /** Addresses whose opening is not known yet. */
  unopened: ReadonlySet<string>;
}

const NO_WATCH_STARTS: WatchStarts = { predating: new Set(), unopened: new Set() };

export interface ChunkComparison {
  counts: ChunkCounts;
  discrepancies: OutputDiscrepancy[];
}

export function emptyCounts(): ChunkCounts {
  return { matched: 0, missingInDb: 0, extraInDb: 0, amountMismatch: 0, assetMismatch: 0, tooRecent: 0, predatesWatch: 0 };
}

export function discrepancyTotal(counts: ChunkCounts): number {
  return counts.missingInDb + counts.extraInDb + counts.amountMismatch + counts.assetMismatch;
}

const COUNT_OF: Record<DiscrepancyKind, keyof ChunkCounts> = {
  missing_in_db: 'missingInDb',
  extra_in_db: 'extraInDb',
  amount_mismatch: 'amountMismatch',
  asset_mismatch: 'assetMismatch',
};

export function compareChunk(
  chainOutputs: readonly ChainOutput[],
  recorded: readonly RecordedPayment[],
  mode: ComparisonMode,
  isPayment: PaymentPolicy = PAYMENT_POLICY,
  watch: WatchStarts = NO_WATCH_STARTS,
): ChunkComparison {
  const counts = emptyCounts();
  const discrepancies: OutputDiscrepancy[] = [];
  const report = (discrepancy: OutputDiscrepancy) => {
    counts[COUNT_OF[discrepancy.kind]]++;
    discrepancies.push(discrepancy);
  };
  const judgeable = mode === 'consistent';

  const recordedByOutput = new Map<string, RecordedPayment>();
  for (const payment of recorded) {
    const key = outputKey(payment.txId, payment.index);
    // At most one row per output is on the database's chain; should there be two, the confirmed one speaks.
    const known = recordedByOutput.get(key);
    if (known === undefined || (known.status === 'pending' && payment.status === 'confirmed')) recordedByOutput.set(key, payment);
  }

  const onChain = new Set<string>();
  for (const output of chainOutputs) {
    const key = outputKey(output.txId, output.index);
    onChain.add(key);
    const payment = recordedByOutput.get(key);
    if (payment === undefined && !isPayment(output)) continue; // not a payment: nothing to expect in the database
    const chain = { lovelace: output.lovelace, assets: output.assets };
    if (payment === undefined && watch.predating.has(key)) {
      counts.predatesWatch++; // held before watching began: no payment the monitor saw arrive
    } else if (payment === undefined && watch.unopened.has(output.address)) {
      counts.tooRecent++; // the address's opening is not known yet: it may predate watching
    } else if (payment === undefined || payment.spent) {
      // On chain, unspent, but the database holds no unspent payment for it.
      if (!judgeable) counts.tooRecent++;
      else
        report({
          kind: 'missing_in_db',
          txId: output.txId,
          index: output.index,
          address: output.address,
          chain,
          ...(payment ? { db: describe(payment) } : {}),
        });
    } else if (payment.status === 'pending') {
      counts.tooRecent++;
    } else if (payment.lovelace !== output.lovelace) {
      report({ kind: 'amount_mismatch', txId: output.txId, index: output.index, address: output.address, chain, db: describe(payment) });
    } else if (!sameAssets(payment.assets, output.assets)) {
      report({ kind: 'asset_mismatch', txId: output.txId, index: output.index, address: output.address, chain, db: describe(payment) });
    } else {
      counts.matched++;
    }
  }

  for (const [key, payment] of recordedByOutput) {
    if (payment.spent || onChain.has(key)) continue;
    // The database holds it unspent; the chain does not hold it.
    if (payment.status === 'pending' || !judgeable) counts.tooRecent++;
    else report({ kind: 'extra_in_db', txId: payment.txId, index: payment.index, address: payment.address, db: describe(payment) });
  }
  return { counts, discrepancies };
}

function describe(payment: RecordedPayment): NonNullable<OutputDiscrepancy['db']> {
  return { lovelace: payment.lovelace, assets: payment.assets, spent: payment.spent };
}

export function outputKey(txId: Hash, index: number): string {
  return `${txId}#${index}`;
}

/** The same tokens in the same quantities, whatever the order (zero quantities do not exist on chain). */
export function sameAssets(left: readonly AssetQuantity[], right: readonly AssetQuantity[]): boolean {
  const totals = new Map<string, bigint>();
  for (const asset of left)
    totals.set(`${asset.policyId}.${asset.assetName}`, (totals.get(`${asset.policyId}.${asset.assetName}`) ?? 0n) + asset.quantity);
  for (const asset of right)
    totals.set(`${asset.policyId}.${asset.assetName}`, (totals.get(`${asset.policyId}.${asset.assetName}`) ?? 0n) - asset.quantity);
  for (const difference of totals.values()) if (difference !== 0n) return false;
  return true;
}
