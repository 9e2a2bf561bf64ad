import type { AssetQuantity, Hash, OutputReference } from './chain.js';
import type { CreatedOutput } from './transaction-effects.js';
import type { InvoiceJudgingTransaction } from './invoices/invoice-judging.js';
import type { HotWalletSpend } from './payouts/payout-execution.js';
import type { PayoutTrackingTransaction } from './payouts/payout-tracking.js';

/** What the engine needs from the outside world. Adapters implement these; the domain imports none of them. */

export interface Clock {
  now(): Date;
}

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** Something an operator must look at now (a reversed payment). */
  critical(event: string, fields?: LogFields): void;
}

export type MetricDimensions = Record<string, string>;

export interface Metrics {
  gauge(name: string, value: number, dimensions?: MetricDimensions): void;
  count(name: string, value?: number, dimensions?: MetricDimensions): void;
  /** One observation of a distribution (value sizes, durations). */
  observe(name: string, value: number, dimensions?: MetricDimensions): void;
}

/** A block as the engine stored it: every block has a slot and a time once applied. */
export interface AppliedBlock {
  hash: Hash;
  height: bigint;
  slot: bigint;
  ancestor: Hash | 'genesis';
  time: Date;
}

/** Which steps of its leader session an event holds, numbered from 1: a block is a step, a rollback is a step. */
export interface StepRange {
  first: bigint;
  last: bigint;
}

/**
 * Who emitted an event and where it sits in that leader's session (event-admission.ts): the follower lease's
 * fencing token, the sync generation (bumped by a rebuild or a recovery) and the steps it holds.
 */
export interface EventStamp {
  token: bigint;
  generation: bigint;
  steps: StepRange;
}

/** The current leader session as the database knows it. */
export interface LeaderSessionState {
  generation: bigint;
  /** The highest fencing token a leader wrote as its fence when its session began. */
  fence: bigint;
  /** The last step of the current session applied; 0 before its first. */
  appliedStep: bigint;
  /** Why the pipeline is halted, or null. */
  haltedReason: string | null;
}

export interface SyncPosition {
  /** The last applied block, or null at origin. */
  tip: AppliedBlock | null;
  networkTipHeight: bigint | null;
}

/** The engine's position, locked for one transaction, with the leader session it is following. */
export interface LockedSyncPosition extends SyncPosition {
  session: LeaderSessionState;
}

export { type ChainPosition, inChainOrder } from './chain-order.js';

export interface Payment {
  txId: Hash;
  index: number;
  address: string;
  lovelace: bigint;
  assets: readonly AssetQuantity[];
  referenceType: string;
  referenceId: string;
  userId: string | null;
  blockHeight: bigint;
  blockSlot: bigint;
  blockTime: Date;
}

export interface OutputInBlock {
  output: CreatedOutput;
  block: AppliedBlock;
}

export interface Spend {
  output: OutputReference;
  spentBy: Hash;
  block: AppliedBlock;
}

export interface SpendOutcome {
  /** Recorded payments marked spent. */
  marked: number;
  /** Those of them that are the hot wallet's outputs: payouts follow them (payouts/payout-tracking.ts). */
  hotWallet: HotWalletSpend[];
}

export interface Confirmation {
  confirmed: Payment[];
  /** Confirmed payments whose credit the ledger already held (a repeated step or a rebuild): not credited again. */
  alreadyCredited: number;
}

export interface RollbackOutcome {
  blocksRemoved: number;
  /** Pending payments whose block left the chain. */
  rolledBack: Payment[];
  /** Confirmed (and credited) payments whose block left the chain: debited. */
  reversed: Payment[];
  spendsUndone: number;
}

// ---- a running rebuild, settled by every roll-forward (the rules are in rebuild.ts) ------------------------------

export interface RunningRebuild {
  runId: bigint;
  pointHeight: bigint;
  targetHeight: bigint;
  progressLoggedHeight: bigint;
}

export interface HeldPaymentsSettlement {
  /** Found again in the same block (identity restored): the held copies let go in this step (their invoices are judged again now). */
  refoundPayments: Payment[];
  /** Not found by their confirmation depth, had been confirmed: reversed (debited once if credited). */
  reversed: Payment[];
  /** Not found by their confirmation depth, had been pending: rolled back. */
  rolledBack: Payment[];
}

export interface RebuildProgressUpdate {
  progressHeight: bigint;
  progressLoggedHeight: bigint;
  refound: number;
  reversed: number;
  rolledBack: number;
  completed: boolean;
}

/** What a roll-forward's transaction offers for settling a running rebuild. */
export interface RebuildSettlementTransaction {
  /** The running rebuild, locked for this transaction; null when none runs (the usual case). */
  runningRebuild(): Promise<RunningRebuild | null>;
  settleHeldPayments(appliedHeight: bigint, confirmations: bigint, actor: string): Promise<HeldPaymentsSettlement>;
  /** Payments still waiting for the chain to settle them (a read of the whole held set). */
  heldPaymentCount(): Promise<number>;
  saveRebuildProgress(runId: bigint, update: RebuildProgressUpdate): Promise<void>;
}

/**
 * One database transaction of the engine. Every method is set-based: one statement for a whole batch. A roll-forward
 * also settles a running rebuild (RebuildSettlementTransaction, see rebuild.ts); every step judges the invoices it
 * may have changed (InvoiceJudgingTransaction, see invoices/invoice-judging.ts) and follows the payouts' transactions
 * (PayoutTrackingTransaction, see payouts/payout-tracking.ts).
 */
export interface EngineTransaction extends RebuildSettlementTransaction, InvoiceJudgingTransaction, PayoutTrackingTransaction {
  /** Locks the engine's position so that concurrent engines apply events one at a time. */
  lockSyncPosition(): Promise<LockedSyncPosition>;
  /** Records the last step of the current leader session applied (with the rest of this transaction). */
  recordAppliedStep(step: bigint): Promise<void>;
  /** Which of these blocks are on the engine's current chain. */
  appliedBlocks(hashes: readonly Hash[]): Promise<Set<Hash>>;
  findBlock(hash: Hash): Promise<AppliedBlock | null>;
  appendBlocks(blocks: readonly AppliedBlock[], checkpoints: readonly AppliedBlock[]): Promise<void>;
  /** Records the outputs that pay a registered address; returns the payments newly recorded. */
  recordPayments(outputs: readonly OutputInBlock[], detectedAt: Date): Promise<Payment[]>;
  /** Marks recorded, unspent payments consumed by these spends. */
  markSpent(spends: readonly Spend[]): Promise<SpendOutcome>;
  /**
   * Keeps these payments, recorded in this step, as the hot wallet's own change (hotWalletChange in hot-wallet.ts):
   * still hot-wallet coins, but told to nobody, from now on and in this step (what it wrote about them is withdrawn).
   */
  setApartHotWalletChange(change: readonly Payment[]): Promise<void>;
  /** Confirms pending payments at or below this height and credits their users, each at most once. */
  confirmPayments(maxBlockHeight: bigint, confirmedAt: Date): Promise<Confirmation>;
  /** Undoes everything after the point (origin: everything). */
  rollBackAfter(point: AppliedBlock | 'origin', actor: string): Promise<RollbackOutcome>;
  saveSyncPosition(position: SyncPosition): Promise<void>;
  forgetBlocksBelow(height: bigint): Promise<void>;
}

export interface PaymentStore {
  /** Runs work in one database transaction: all of it is written, or none. */
  inTransaction<T>(work: (tx: EngineTransaction) => Promise<T>): Promise<T>;
}
