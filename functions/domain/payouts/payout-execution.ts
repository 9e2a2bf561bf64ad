/**
 * How a payout's transaction (an attempt) moves once it is approved, and what each move means for the payouts it
 * carries (issue 16). The chain decides: the engine sees the hot wallet's outputs spent, by our transaction or by
 * another one, and rollbacks take blocks away; the processor sees the validity interval pass.
 *
 *   built → signed → submitted → in_block → confirmed
 *   in_block → submitted            its block left the chain: the same signed transaction is submitted again
 *   submitted → expired             a block deep enough is past its validity interval (its inputs unspent as far as
 *                                   the engine saw: a spend by ours would have made it in_block, another's a conflict)
 *   submitted → failed              an input was spent by a transaction that is not ours, in a block now confirmed
 *                                   (critical at once; final only at depth: a rollback may take that spend away)
 *   built | signed → abandoned      the same before it was sent anywhere, the first node refused it for its fee or
 *                                   form, or its validity passed first: the payouts are built again
 *   expired | abandoned → in_block  a rollback deeper than the expiry's depth, and it landed after all (a revival):
 *                                   its payouts are its own again, and the transaction built after it never lands
 *
 * A payout has one live attempt at a time. A new one is built only once the last can never reach the chain
 * (expired or abandoned). That "never" rests on a confirmed block past the validity interval, so it would not survive
 * a rollback deeper than that: an attempt that may have been sent therefore keeps its inputs for its payouts (they are
 * *carried*), and their next transaction spends every one of them. The two share inputs, so at most one of them can
 * ever be in the chain, however deep a rollback goes; should the earlier one land after all, it is revived. A payout
 * whose transaction was signed is never cancelled (payout-rules.ts `checkCancel`): it may still be paid.
 */
import type { Hash, OutputReference } from '../chain.js';

export const ATTEMPT_STATUSES = ['built', 'signed', 'submitted', 'in_block', 'confirmed', 'expired', 'failed', 'abandoned'] as const;
export type AttemptStatus = (typeof ATTEMPT_STATUSES)[number];

/** The payout statuses an attempt's moves drive (payout-rules.ts owns the full list). */
export type ExecutionPayoutStatus = 'approved' | 'built' | 'signed' | 'submitted' | 'in_block' | 'confirmed' | 'expired' | 'failed';

/** A hot-wallet output reserved by an attempt (live, or carrying it for its payouts). */
export interface Reservation {
  output: OutputReference;
  transactionId: Hash;
  attemptStatus: AttemptStatus;
  /** Earlier transactions of the same payouts that spend this output too (it was carried to this one). */
  earlierTransactions: readonly Hash[];
}

/** A hot-wallet output the chain saw spent. */
export interface HotWalletSpend {
  output: OutputReference;
  spentBy: Hash;
  blockHeight: bigint;
  blockHash: Hash;
}

export interface AttemptMove {
  transactionId: Hash;
  from: AttemptStatus;
  to: AttemptStatus;
  /** The block that now carries it (to in_block). */
  block?: { height: bigint; hash: Hash };
  reason?: string;
  /** Abandoned because the only node it was ever sent to refused it: no node holds it, its inputs are let go. */
  neverAccepted?: boolean;
}

/**
 * Another transaction spent one of an attempt's inputs: final once that block is confirmed, undone by a rollback. (Of a
 * carried attempt: only told; it moves nothing.)
 */
export interface Conflict {
  transactionId: Hash;
  /** The live status of the attempt when it was seen. */
  attemptStatus: AttemptStatus;
  /** The block that carries the other spend. */
  height: bigint;
  reason: string;
}

/**
 * A transaction of ours that could no longer land (expired, or abandoned after it may have been sent) is in a block
 * after all: a rollback deeper than the expiry's depth. It spends outputs carried to `holder` (itself, or the next
 * transaction of its payouts, which now never can land): its payouts are its own again, in its block.
 */
export interface Revival {
  landed: Hash;
  holder: Hash;
  block: { height: bigint; hash: Hash };
}

export interface SpendOutcome {
  /** Our transaction in a block. */
  moves: AttemptMove[];
  /** Another transaction spending our inputs. */
  conflicts: Conflict[];
  /** An earlier transaction of ours, given up on, in a block after all. */
  revivals: Revival[];
}

/**
 * What the spends of reserved outputs do to their attempts (a transaction spends several of our outputs in one block:
 * one outcome per attempt). Our own transaction in a block is in_block (from signed too: a crash may have come between
 * sending it and recording that). An earlier transaction of the same payouts (carried) in a block is theirs again
 * (a revival). Another transaction spending one of its inputs is a conflict: ours can never land on this chain, but
 * the block may still be rolled back, so nothing is final before it is confirmed.
 */
export function attemptMovesOnSpends(reservations: readonly Reservation[], spends: readonly HotWalletSpend[]): SpendOutcome {
  const byOutput = new Map(reservations.map((reservation) => [outputKey(reservation.output), reservation]));
  const seen = new Set<Hash>();
  const outcome: SpendOutcome = { moves: [], conflicts: [], revivals: [] };
  for (const spend of spends) {
    const reservation = byOutput.get(outputKey(spend.output));
    if (!reservation || seen.has(reservation.transactionId)) continue;
    const { transactionId, attemptStatus: from } = reservation;
    const block = { height: spend.blockHeight, hash: spend.blockHash };
    if (spend.spentBy === transactionId && (from === 'signed' || from === 'submitted')) {
      seen.add(transactionId);
      outcome.moves.push({ transactionId, from, to: 'in_block', block });
    } else if (spend.spentBy === transactionId ? CARRYING.has(from) : reservation.earlierTransactions.includes(spend.spentBy)) {
      seen.add(transactionId);
      outcome.revivals.push({ landed: spend.spentBy, holder: transactionId, block });
    } else if (spend.spentBy !== transactionId && (LIVE_BEFORE_A_BLOCK.has(from) || CARRYING.has(from))) {
      // A carried input spent by another transaction is as alarming (someone else spends from the hot wallet); the
      // carried attempt waits for that spend to be final before it lets its inputs go.
      seen.add(transactionId);
      outcome.conflicts.push({
        transactionId,
        attemptStatus: from,
        height: spend.blockHeight,
        reason: `input ${outputKey(spend.output)} spent by ${spend.spentBy}, a transaction that is not ours`,
      });
    }
  }
  return outcome;
}

/** Statuses of an attempt that holds reservations only to carry them (inputsAfter). */
const CARRYING: ReadonlySet<AttemptStatus> = new Set(['expired', 'abandoned']);

const LIVE_BEFORE_A_BLOCK: ReadonlySet<AttemptStatus> = new Set(['built', 'signed', 'submitted']);

/**
 * A conflict whose block is confirmed: the attempt can never land. Once submitted, its payouts fail (the hot wallet's
 * coins went elsewhere: someone else spends from it); before (built, signed), they are built again. An attempt
 * carrying inputs of an earlier transaction of its payouts does not fail them: that transaction may still land, so
 * they go again with its inputs, as after an expiry (a failed payout's hold is released, and it would be paid).
 */
export function conflictMove(attempt: {
  transactionId: Hash;
  status: AttemptStatus;
  reason: string;
  carriesEarlier?: boolean;
}): AttemptMove | null {
  const { transactionId, status: from, reason } = attempt;
  if (from === 'submitted' && attempt.carriesEarlier) {
    return { transactionId, from, to: 'expired', reason: `${reason}; an earlier transaction of its payouts may still land` };
  }
  if (from === 'submitted') return { transactionId, from, to: 'failed', reason };
  if (from === 'built' || from === 'signed') return { transactionId, from, to: 'abandoned', reason };
  return null;
}

/**
 * What the end of an attempt's validity interval does to it, once a confirmed block is past it (from then on it can
 * never be in a block, short of a rollback deeper than the confirmations: the finality the ledger credits by). A
 * submitted attempt expires; one never submitted (built, or signed and perhaps submitted before a crash) is
 * abandoned. Either way its payouts are built again. Null while it may still land.
 */
export function expiryMove(
  attempt: { transactionId: Hash; status: AttemptStatus; validUntilSlot: bigint },
  confirmedSlot: bigint | null,
): AttemptMove | null {
  if (confirmedSlot === null || confirmedSlot <= attempt.validUntilSlot) return null;
  const reason = `validity interval ended at slot ${attempt.validUntilSlot}; a confirmed block is at slot ${confirmedSlot}`;
  const { transactionId, status: from } = attempt;
  switch (from) {
    case 'submitted':
      return { transactionId, from, to: 'expired', reason };
    case 'built':
    case 'signed':
      return { transactionId, from, to: 'abandoned', reason };
    default:
      return null;
  }
}

/**
 * The payout statuses one attempt move walks its payouts through, in order (each one event). Abandoned and expired
 * attempts hand their payouts back to `approved` for the next build.
 */
export function payoutPathOf(move: Pick<AttemptMove, 'from' | 'to'>): ExecutionPayoutStatus[] {
  switch (move.to) {
    case 'signed':
      return ['signed'];
    case 'submitted':
      return ['submitted'];
    case 'in_block':
      return move.from === 'signed' ? ['submitted', 'in_block'] : ['in_block'];
    case 'confirmed':
      return ['confirmed'];
    case 'expired':
      return ['expired', 'approved'];
    case 'failed':
      return ['failed'];
    case 'abandoned':
      return ['approved'];
    case 'built':
      return ['built'];
  }
}

/**
 * What a move does with the attempt's reserved inputs: `keep` them while it may still land; `carry` them for its
 * payouts' next transaction once it cannot land on this chain but may have been sent (signed: a node may hold it, and
 * only a transaction spending the same inputs is sure never to land beside it); `release` them when it is final
 * (confirmed, failed); when no node can hold it (never signed, or refused by the only node it was sent to),
 * `releaseOwn`: those only it spends are let go, those carried to it from an earlier transaction stay carried.
 */
export function inputsAfter(move: Pick<AttemptMove, 'from' | 'to' | 'neverAccepted'>): 'keep' | 'carry' | 'release' | 'releaseOwn' {
  switch (move.to) {
    case 'expired':
      return 'carry';
    case 'abandoned':
      return move.from === 'built' || move.neverAccepted ? 'releaseOwn' : 'carry';
    case 'confirmed':
    case 'failed':
      return 'release';
    default:
      return 'keep';
  }
}

/** A move as its log line names it (the engine's and the processor's alike). */
export function attemptMoveFields(move: AttemptMove): Record<string, unknown> {
  return {
    tx_hash: move.transactionId,
    previous_status: move.from,
    status: move.to,
    ...(move.block ? { included_at_height: move.block.height } : {}),
    ...(move.reason ? { reason: move.reason } : {}),
  };
}

export function outputKey(output: OutputReference): string {
  return `${output.txId}#${output.index}`;
}
