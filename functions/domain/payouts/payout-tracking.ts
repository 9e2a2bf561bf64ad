/**
 * The payment engine's part in payouts: in the same transaction as every chain event, the hot wallet's outputs the
 * event spent move their attempts (payout-execution.ts), attempts deep enough are confirmed, and a rollback
 * returns the attempts whose block it took away to `submitted` (the processor submits them again).
 */
import type { Hash, OutputReference } from '../chain.js';
import { type AttemptMove, attemptMovesOnSpends, type HotWalletSpend, type Reservation } from './payout-execution.js';
import { PROCESSOR_ACTOR } from './payout-rules.js';

export interface PayoutTrackingTransaction {
  /** The reservations of live attempts among these outputs. */
  reservationsAmong(outputs: readonly OutputReference[]): Promise<Reservation[]>;
  /** Attempts in a block at or below this height (`in_block`, to be confirmed). */
  attemptsInBlockAtOrBelow(height: bigint): Promise<Hash[]>;
  /** `in_block` attempts whose block is above this height (a rollback took it away). */
  attemptsInBlockAbove(height: bigint): Promise<Hash[]>;
  /**
   * Writes the moves: each attempt only from the status the move names (a repeated step changes nothing), its
   * reservations let go when it can no longer reach the chain or is final, its payouts walked through
   * payoutPathOf with an event and an audit row per status.
   */
  moveAttempts(moves: readonly AttemptMove[], actor: string): Promise<AttemptMove[]>;
}

/** One roll-forward's part: spends of reserved outputs, then confirmations. Returns the moves made. */
export async function trackPayoutsForward(
  tx: PayoutTrackingTransaction,
  step: { hotWalletSpends: readonly HotWalletSpend[]; confirmAtOrBelow: bigint },
): Promise<AttemptMove[]> {
  const moves: AttemptMove[] = [];
  if (step.hotWalletSpends.length > 0) {
    const reservations = await tx.reservationsAmong(step.hotWalletSpends.map((spend) => spend.output));
    moves.push(...(await tx.moveAttempts(attemptMovesOnSpends(reservations, step.hotWalletSpends), PROCESSOR_ACTOR)));
  }
  const deepEnough = await tx.attemptsInBlockAtOrBelow(step.confirmAtOrBelow);
  if (deepEnough.length > 0) {
    const confirmations = deepEnough.map((transactionId): AttemptMove => ({ transactionId, from: 'in_block', to: 'confirmed' }));
    moves.push(...(await tx.moveAttempts(confirmations, PROCESSOR_ACTOR)));
  }
  return moves;
}

/**
 * A rollback's part: an attempt whose block left the chain is `submitted` again: the same signed transaction, whose
 * inputs the rollback made unspent, is submitted again and never rebuilt, so the payout cannot be paid twice. (A
 * confirmed one stays confirmed: a rollback deeper than the confirmations is the ledger's finality broken, which
 * the engine reports as reversed payments.)
 */
export async function trackPayoutsBack(tx: PayoutTrackingTransaction, pointHeight: bigint): Promise<AttemptMove[]> {
  const lost = await tx.attemptsInBlockAbove(pointHeight);
  if (lost.length === 0) return [];
  const moves = lost.map(
    (transactionId): AttemptMove => ({
      transactionId,
      from: 'in_block',
      to: 'submitted',
      reason: 'its block left the chain',
    }),
  );
  return tx.moveAttempts(moves, PROCESSOR_ACTOR);
}
