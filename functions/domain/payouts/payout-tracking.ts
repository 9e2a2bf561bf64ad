/**
 * The payment engine's part in payouts: in the same transaction as every chain event, the hot wallet's outputs the
 * event spent move their attempts (payout-execution.ts), a spend by another transaction is recorded as a conflict,
 * and what is deep enough becomes final: attempts confirmed, conflicts failed. A rollback returns the attempts whose
 * block it took away to `submitted` (the processor submits them again) and forgets the conflicts it took away.
 */
import type { Hash, OutputReference } from '../chain.js';
import {
  type AttemptMove,
  type AttemptStatus,
  attemptMovesOnSpends,
  type Conflict,
  conflictMove,
  type HotWalletSpend,
  type Reservation,
  type Revival,
} from './payout-execution.js';
import { PROCESSOR_ACTOR } from './payout-rules.js';

export interface PayoutTrackingTransaction {
  /** The reservations of live attempts among these outputs. */
  reservationsAmong(outputs: readonly OutputReference[]): Promise<Reservation[]>;
  /**
   * What is final at this depth, in one read: `in_block` attempts whose block (on the engine's chain) is at or below
   * this height, and live attempts whose conflict is.
   */
  settledAtOrBelow(height: bigint): Promise<SettledAttempts>;
  /** `in_block` attempts whose block is above this height (a rollback took it away). */
  attemptsInBlockAbove(height: bigint): Promise<Hash[]>;
  /** Records each conflict on its attempt (the first seen is kept). */
  recordConflicts(conflicts: readonly Conflict[]): Promise<void>;
  /** Forgets the conflicts above this height (a rollback took their block away). */
  clearConflictsAbove(height: bigint): Promise<void>;
  /**
   * Writes the moves: each attempt only from the status the move names (a repeated step changes nothing), its
   * payouts walked through payoutPathOf with an event and an audit row per status, its reservations let go when it
   * can no longer reach the chain or is final.
   */
  moveAttempts(moves: readonly AttemptMove[], actor: string): Promise<AttemptMove[]>;
  /** Writes the revivals (a repeated step changes nothing); returns those made, with the payouts they took back. */
  reviveEarlierTransactions(revivals: readonly Revival[], actor: string): Promise<RevivalRecord[]>;
}

/** A revival written: the payouts now in the landed transaction's block, and those it paid after they were closed. */
export interface RevivalRecord extends Revival {
  payouts: string[];
  /** Cancelled after its expiry, paid all the same: critical, the user's hold was released. */
  paidThoughClosed: { payoutId: string; status: string }[];
}

export interface SettledAttempts {
  confirmed: Hash[];
  /** `carriesEarlier`: some of its inputs were carried to it from an earlier transaction of its payouts. */
  conflicted: { transactionId: Hash; status: AttemptStatus; reason: string; carriesEarlier: boolean }[];
}

export interface PayoutTracking {
  moves: AttemptMove[];
  /** Conflicts seen in this step (critical at once; final once confirmed). */
  conflicts: Conflict[];
  /** Earlier transactions of ours in a block after all. */
  revivals: RevivalRecord[];
}

/** One roll-forward's part: spends of reserved outputs, then what is now deep enough. */
export async function trackPayoutsForward(
  tx: PayoutTrackingTransaction,
  step: { hotWalletSpends: readonly HotWalletSpend[]; confirmAtOrBelow: bigint },
): Promise<PayoutTracking> {
  const tracking: PayoutTracking = { moves: [], conflicts: [], revivals: [] };
  if (step.hotWalletSpends.length > 0) {
    const reservations = await tx.reservationsAmong(step.hotWalletSpends.map((spend) => spend.output));
    const { moves, conflicts, revivals } = attemptMovesOnSpends(reservations, step.hotWalletSpends);
    tracking.moves.push(...(await tx.moveAttempts(moves, PROCESSOR_ACTOR)));
    tracking.revivals.push(...(await tx.reviveEarlierTransactions(revivals, PROCESSOR_ACTOR)));
    if (conflicts.length > 0) await tx.recordConflicts(conflicts);
    tracking.conflicts.push(...conflicts);
  }
  const settled = await tx.settledAtOrBelow(step.confirmAtOrBelow);
  const final = [
    ...settled.confirmed.map((transactionId): AttemptMove => ({ transactionId, from: 'in_block', to: 'confirmed' })),
    ...settled.conflicted.flatMap((attempt) => conflictMove(attempt) ?? []),
  ];
  if (final.length > 0) tracking.moves.push(...(await tx.moveAttempts(final, PROCESSOR_ACTOR)));
  return tracking;
}

/**
 * A rollback's part: an attempt whose block left the chain is `submitted` again: the same signed transaction, whose
 * inputs the rollback made unspent, is submitted again and never rebuilt, so the payout cannot be paid twice; a
 * conflict the rollback took away is forgotten (our transaction may land after all). A confirmed attempt stays
 * confirmed: a rollback deeper than the confirmations is the ledger's finality broken, which the engine reports as
 * reversed payments.
 */
export async function trackPayoutsBack(tx: PayoutTrackingTransaction, pointHeight: bigint): Promise<PayoutTracking> {
  await tx.clearConflictsAbove(pointHeight);
  const lost = await tx.attemptsInBlockAbove(pointHeight);
  if (lost.length === 0) return { moves: [], conflicts: [], revivals: [] };
  const moves = lost.map(
    (transactionId): AttemptMove => ({
      transactionId,
      from: 'in_block',
      to: 'submitted',
      reason: 'its block left the chain',
    }),
  );
  return { moves: await tx.moveAttempts(moves, PROCESSOR_ACTOR), conflicts: [], revivals: [] };
}
