/** What a reconciliation run needs from the outside world: the database's side, the chain's side, its own record. */
import type { BlockPoint, Point } from '../chain.js';
import type { ChainOutput, ChunkCounts, ComparisonMode, OutputDiscrepancy, RecordedPayment } from './classification.js';

export const RECONCILIATION_TRIGGERS = ['daily', 'on_demand', 'reconnect'] as const;
export type ReconciliationTrigger = (typeof RECONCILIATION_TRIGGERS)[number];

/**
 * A full reconciliation (the 03:00 run, or one an operator asked for) is what the alarms judge. A reconnect run
 * is an extra look after an outage: it neither reports to the alarms nor holds a full run back.
 */
export function isFullReconciliation(trigger: ReconciliationTrigger): boolean {
  return trigger !== 'reconnect';
}

/** A registered address as a chunk is planned: its id is the cursor after it. */
export interface RegisteredAddress {
  id: bigint;
  address: string;
  /** The outputs the database holds unspent at it (pending or confirmed): what the chain should hold there. */
  recordedUnspent: number;
  /** Whether its opening (what it held when watching began) was read already. */
  openingRead: boolean;
}

/**
 * Addresses whose opening is still to be read, by where watching them began. The engine records payments to an
 * address from the block after its watch start (the block it had applied when the address was registered, or its
 * first block for addresses registered before it applied any); what the address held at that block is its opening.
 */
export interface OpeningGroup {
  /**
   * The block watching began at, on the database's current chain; 'origin' when the engine followed the chain
   * from its start (nothing was held before); null when the database no longer holds that block.
   */
  start: AppliedPoint | 'origin' | null;
  /** The database's applied block: where the opening is read when the start no longer can be (null: nothing applied yet). */
  applied: AppliedPoint | null;
  addresses: string[];
}

/** What an address held when watching began (or, not exact, at the later block it could still be read at). */
export interface Opening {
  address: string;
  at: AppliedPoint | 'origin';
  exact: boolean;
  outputs: readonly ChainOutput[];
}

/** Why an address was left unjudged. */
export const UnjudgedReason = {
  /** Its outputs are more than one comparison may hold in memory (the database's count, or the node's answer). */
  tooManyUtxos: 'too_many_utxos',
} as const;
export type UnjudgedReason = (typeof UnjudgedReason)[keyof typeof UnjudgedReason];

export interface UnjudgedAddress {
  address: string;
  reason: UnjudgedReason;
  recordedUnspent: number;
  /** What exceeded which bound, for the operator. */
  detail: string;
}

export interface AppliedPoint extends BlockPoint {
  height: bigint;
}

export interface DatabaseSnapshot {
  /** The database's applied block when the payments were read (null: nothing applied yet). */
  applied: AppliedPoint | null;
  payments: RecordedPayment[];
  /** Which of the chain's outputs (`txId#index`) the addresses already held when watching them began. */
  predating: ReadonlySet<string>;
  /** The addresses whose opening could not be read yet: what the database lacks there cannot be judged. */
  unopened: ReadonlySet<string>;
}

export interface BalanceMismatch {
  userId: string;
  /** 'lovelace', or '<policy id>.<asset name hex>'. */
  asset: string;
  /**
   * The stored balance of the asset: user_balances.balance_lovelace for lovelace, user_asset_balances.quantity for a
   * token (0 when the user has ledger rows of the asset but no balance row).
   */
  stored: bigint;
  /** The sum of the user's ledger rows of the asset: credits minus debits. */
  calculated: bigint;
}

export interface BalanceVerification {
  usersChecked: number;
  /** Mismatching (user, asset) balances. */
  mismatchCount: number;
  /** The first mismatches, up to the limit asked for. */
  mismatches: BalanceMismatch[];
}

export interface InvoiceMismatch {
  invoiceId: string;
  /** What differs between the stored invoice and the rules' judgement of its on-chain payments (invoice-check.ts). */
  differences: string[];
}

export interface InvoiceVerification {
  invoicesChecked: number;
  /** Invoices with a payment a running rebuild holds aside: their judgement waits for the rebuild, not checked. */
  invoicesHeld: number;
  mismatchCount: number;
  /** The first mismatches, up to the limit asked for. */
  mismatches: InvoiceMismatch[];
}

/** The database side of the comparison. */
export interface ReconciliationRecords {
  /** The next payment addresses after `cursor` (keyset on payment_addresses.id), at most `limit`, in id order. */
  addressesAfter(cursor: bigint, limit: number): Promise<RegisteredAddress[]>;
  /**
   * The applied block and, read in the same snapshot, the unspent pending or confirmed payments at these addresses
   * plus those of `outputs` (the chain's unspent outputs there) that the database holds spent: so what is read is
   * bounded by what the two sides hold unspent, not by an address's history.
   */
  paymentsAt(addresses: readonly string[], outputs: readonly ChainOutput[]): Promise<DatabaseSnapshot>;
  /** For addresses whose opening is not read yet: where watching each began, grouped by that block. */
  openingStarts(addresses: readonly string[]): Promise<OpeningGroup[]>;
  /** Keeps what the addresses held when watching began (an opening already recorded stays as it was). */
  recordOpenings(openings: readonly Opening[]): Promise<void>;
  /** Every stored balance (each user, each asset) against the ledger sum, in one snapshot. */
  verifyBalances(detailLimit: number): Promise<BalanceVerification>;
  /**
   * Every invoice against the rules' judgement of its on-chain payments and the applied tip (invoice-check.ts), page
   * by page, each page in one snapshot with its tip.
   */
  verifyInvoices(detailLimit: number): Promise<InvoiceVerification>;
}

/** The chain side: ledger states of the node through Ogmios. */
export interface ChainLedger {
  /**
   * Pins one ledger state (the node's tip, or the block `at`) on one node, runs `queries` against it, and releases
   * it. When that state is lost meanwhile (the connection dropped: a retry could reach another node; the state
   * expired) or cannot be acquired (`at` is older than the node keeps, or not on its chain), the queries fail with
   * `LedgerStateLostError` and are never answered from anywhere else.
   */
  acquire<T>(queries: (state: AcquiredLedgerState) => Promise<T>, at?: BlockPoint): Promise<T>;
}

/** Queries against one acquired ledger state. */
export interface AcquiredLedgerState {
  /** The acquired state's point. */
  tip(): Promise<Point>;
  /** Fails with `UtxoAnswerTooLargeError` when the answer exceeds the bound on one answer's size. */
  utxoAt(addresses: readonly string[]): Promise<ChainOutput[]>;
}

/** The acquired ledger state is gone (connection lost, state expired or not acquirable): start the queries again. */
export class LedgerStateLostError extends Error {
  override readonly name = 'LedgerStateLostError';
}

/** A UTxO answer larger than one comparison may hold: ask for fewer addresses at a time. */
export class UtxoAnswerTooLargeError extends Error {
  override readonly name = 'UtxoAnswerTooLargeError';
}

export interface RunCounts extends ChunkCounts {
  addresses: number;
  chunks: number;
  laggingChunks: number;
  /** Addresses left unjudged (see UnjudgedReason); their outputs are in no other count. */
  unjudgedAddresses: number;
  /** null until the balances were verified. */
  balanceMismatches: number | null;
  /** null until the invoices were verified (invoice_mismatch discrepancies). */
  invoiceMismatches: number | null;
}

export interface ReconciliationRun {
  id: bigint;
  trigger: ReconciliationTrigger;
  status: 'running' | 'completed' | 'failed';
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  addressCursor: bigint;
  invocations: number;
  firstPointHeight: bigint | null;
  lastPoint: AppliedPoint | null;
  counts: RunCounts;
  /** Invocations in a row that failed on this run without recording a chunk (reset by progress). */
  failedAttempts: number;
  /** While running: the last failed attempt's error; once failed: why. */
  error: string | null;
}

export interface ComparedChunk {
  /** The cursor the chunk started from: the chunk is recorded only if the run is still there. */
  fromCursor: bigint;
  toCursor: bigint;
  addresses: number;
  /** 'unjudged': not compared at all (an address over the size bounds, in `unjudged`). */
  mode: ComparisonMode | 'unjudged';
  /** The point compared at, when consistent. */
  point: AppliedPoint | null;
  counts: ChunkCounts;
  discrepancies: readonly OutputDiscrepancy[];
  unjudged: readonly UnjudgedAddress[];
}

export type StartOutcome =
  /** A new run; `supersededRun` is the reconnect run it ended to take the slot. */
  | { started: ReconciliationRun; supersededRun?: ReconciliationRun }
  /** The running run, taken over: nobody advanced it for `staleAfterMs`, or its last attempt failed (once per failure). */
  | { resumed: ReconciliationRun; reason: 'stale' | 'failed_attempt' }
  | { alreadyRunning: ReconciliationRun };

/** The run's own record (reconciliation_runs and its discrepancies). */
export interface ReconciliationRunStore {
  /**
   * Starts a run unless one is running. A running one is taken over (resumed from its cursor) when nobody
   * advanced it for `staleAfterMs` or its last attempt failed and no start took it over since; a running reconnect run is ended (failed,
   * "superseded") when a full run starts. Otherwise the running run is reported.
   */
  start(trigger: ReconciliationTrigger, staleAfterMs: number): Promise<StartOutcome>;
  find(id: bigint): Promise<ReconciliationRun | null>;
  /** Counts one more invocation working on the run (a continuation). */
  noteInvocation(id: bigint): Promise<void>;
  /**
   * Records a failed attempt on a running run: it stays running (a retry resumes from its cursor) until
   * `maxFailedAttempts` attempts in a row failed, then it is failed. Null when the run was no longer running, or
   * when it was updated within `unlessUpdatedWithinMs` (it is moving: a chunk was just recorded).
   */
  noteFailure(
    id: bigint,
    error: string,
    maxFailedAttempts: number,
    options?: { unlessUpdatedWithinMs?: number },
  ): Promise<ReconciliationRun | null>;
  /**
   * Adds a chunk's counts, discrepancies (at most `detailLimit` discrepancy rows per run) and unjudged addresses and moves the cursor,
   * atomically, only if the run is running with its cursor at `chunk.fromCursor`. Returns how many of the
   * chunk's discrepancies were kept in detail, or 'stale' when another invocation got there first.
   */
  recordChunk(id: bigint, chunk: ComparedChunk, detailLimit: number): Promise<{ detailed: number } | 'stale'>;
  /** Records the balance verification once; 'stale' when it was already recorded or the run is no longer running. */
  recordBalances(id: bigint, verification: BalanceVerification): Promise<'recorded' | 'stale'>;
  /** Records the invoice verification once; 'stale' when it was already recorded or the run is no longer running. */
  recordInvoices(id: bigint, verification: InvoiceVerification): Promise<'recorded' | 'stale'>;
  /** Ends a running run; null when it had already ended. */
  finish(id: bigint, outcome: { status: 'completed' } | { status: 'failed'; error: string }): Promise<ReconciliationRun | null>;
  recent(limit: number): Promise<ReconciliationRun[]>;
}
