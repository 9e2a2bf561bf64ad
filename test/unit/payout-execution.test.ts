/** The moves of a payout's transaction (functions/domain/payouts/payout-execution.ts) and the processor's figures. */
import { describe, expect, it } from 'vitest';
import { OgmiosRpcError } from '../../functions/adapters/ogmios/errors.js';
import { OgmiosTransactionSubmitter, submitRefusalOf } from '../../functions/adapters/ogmios/transaction-submitter.js';
import {
  type AttemptStatus,
  attemptMovesOnSpends,
  conflictMove,
  expiryMove,
  inputsAfter,
  type HotWalletSpend,
  payoutPathOf,
  type Reservation,
} from '../../functions/domain/payouts/payout-execution.js';
import { oldestSubmittedMinutes } from '../../functions/domain/payouts/payout-processor.js';

const OURS = 'a1'.repeat(32);
const THEIRS = 'b2'.repeat(32);
const FUNDING = 'c3'.repeat(32);

const reservation = (index: number, attemptStatus: AttemptStatus, transactionId = OURS): Reservation => ({
  output: { txId: FUNDING, index },
  transactionId,
  attemptStatus,
  earlierTransactions: [],
});
const spend = (index: number, spentBy: string): HotWalletSpend => ({
  output: { txId: FUNDING, index },
  spentBy,
  blockHeight: 100n,
  blockHash: 'dd'.repeat(32),
});

describe('spends of reserved outputs', () => {
  it('our transaction in a block: in_block once, however many of its inputs the block spends', () => {
    const { moves, conflicts } = attemptMovesOnSpends(
      [reservation(0, 'submitted'), reservation(1, 'submitted')],
      [spend(0, OURS), spend(1, OURS)],
    );
    expect(moves).toEqual([{ transactionId: OURS, from: 'submitted', to: 'in_block', block: { height: 100n, hash: 'dd'.repeat(32) } }]);
    expect(conflicts).toEqual([]);
  });

  it('from signed too (submitted before a crash recorded it)', () => {
    expect(attemptMovesOnSpends([reservation(0, 'signed')], [spend(0, OURS)]).moves[0]).toMatchObject({ from: 'signed', to: 'in_block' });
  });

  it('another transaction spending an input: a conflict at its height, nothing final yet', () => {
    const { moves, conflicts } = attemptMovesOnSpends([reservation(0, 'submitted')], [spend(0, THEIRS)]);
    expect(moves).toEqual([]);
    expect(conflicts).toEqual([{ transactionId: OURS, attemptStatus: 'submitted', height: 100n, reason: expect.stringContaining(THEIRS) }]);
    expect(attemptMovesOnSpends([reservation(0, 'in_block')], [spend(0, THEIRS)]).conflicts).toEqual([]);
  });

  it('spent by an earlier transaction of the same payouts (carried to this one): a revival, not a conflict', () => {
    const EARLIER = 'e5'.repeat(32);
    const block = { height: 100n, hash: 'dd'.repeat(32) };
    const carriedToLive = { ...reservation(0, 'submitted'), earlierTransactions: [EARLIER] };
    expect(attemptMovesOnSpends([carriedToLive], [spend(0, EARLIER)])).toEqual({
      moves: [],
      conflicts: [],
      revivals: [{ landed: EARLIER, holder: OURS, block }],
    });
    // An expired or abandoned attempt carrying its own inputs, spent by itself: it landed after all.
    for (const status of ['expired', 'abandoned'] as const) {
      expect(attemptMovesOnSpends([reservation(0, status)], [spend(0, OURS)]).revivals).toEqual([{ landed: OURS, holder: OURS, block }]);
      // Spent by another transaction: told as a conflict (someone else spends from the hot wallet), which moves nothing.
      expect(attemptMovesOnSpends([reservation(0, status)], [spend(0, THEIRS)]).conflicts).toEqual([
        { transactionId: OURS, attemptStatus: status, height: 100n, reason: expect.stringContaining(THEIRS) },
      ]);
      expect(conflictMove({ transactionId: OURS, status, reason: 'r' })).toBeNull();
    }
  });

  it('inputs after a move: kept while it may land, carried once it cannot but may have been sent, released when final, only its own when no node had it', () => {
    expect(inputsAfter({ from: 'signed', to: 'submitted' })).toBe('keep');
    expect(inputsAfter({ from: 'submitted', to: 'expired' })).toBe('carry');
    expect(inputsAfter({ from: 'signed', to: 'abandoned' })).toBe('carry');
    expect(inputsAfter({ from: 'signed', to: 'abandoned', neverAccepted: true })).toBe('releaseOwn');
    expect(inputsAfter({ from: 'built', to: 'abandoned' })).toBe('releaseOwn');
    expect(inputsAfter({ from: 'in_block', to: 'confirmed' })).toBe('release');
    expect(inputsAfter({ from: 'submitted', to: 'failed' })).toBe('release');
  });

  it('a confirmed conflict: failed once submitted, abandoned (built again) before', () => {
    expect(conflictMove({ transactionId: OURS, status: 'submitted', reason: 'r' })).toMatchObject({ to: 'failed' });
    // Carrying an earlier transaction's inputs, which may still land: not failed, sent again with them.
    expect(conflictMove({ transactionId: OURS, status: 'submitted', reason: 'r', carriesEarlier: true })).toMatchObject({ to: 'expired' });
    expect(conflictMove({ transactionId: OURS, status: 'built', reason: 'r' })).toMatchObject({ to: 'abandoned' });
    expect(conflictMove({ transactionId: OURS, status: 'signed', reason: 'r' })).toMatchObject({ to: 'abandoned' });
    expect(conflictMove({ transactionId: OURS, status: 'in_block', reason: 'r' })).toBeNull();
  });

  it('nothing for an attempt already in a block, an unreserved output, or a built attempt "spent by itself"', () => {
    const nothing = { moves: [], conflicts: [], revivals: [] };
    expect(attemptMovesOnSpends([reservation(0, 'in_block')], [spend(0, OURS)])).toEqual(nothing);
    expect(attemptMovesOnSpends([reservation(0, 'submitted')], [spend(7, THEIRS)])).toEqual(nothing);
    expect(attemptMovesOnSpends([reservation(0, 'built')], [spend(0, OURS)])).toEqual(nothing);
  });
});

describe('the end of the validity interval', () => {
  const attempt = (status: AttemptStatus) => ({ transactionId: OURS, status, validUntilSlot: 1_000n });

  it('only once a confirmed block is past the last slot the transaction could be in', () => {
    expect(expiryMove(attempt('submitted'), null)).toBeNull();
    expect(expiryMove(attempt('submitted'), 1_000n)).toBeNull();
    expect(expiryMove(attempt('submitted'), 1_001n)).toMatchObject({ from: 'submitted', to: 'expired' });
  });

  it('abandons what was never submitted; leaves what is in a block or final alone', () => {
    expect(expiryMove(attempt('built'), 1_001n)).toMatchObject({ to: 'abandoned' });
    expect(expiryMove(attempt('signed'), 1_001n)).toMatchObject({ to: 'abandoned' });
    for (const status of ['in_block', 'confirmed', 'failed', 'expired', 'abandoned'] as const) {
      expect(expiryMove(attempt(status), 5_000n)).toBeNull();
    }
  });
});

describe("the payouts' path for each move", () => {
  it('walks the payout through every status in order, and back to approved when the transaction cannot land', () => {
    expect(payoutPathOf({ from: 'signed', to: 'in_block' })).toEqual(['submitted', 'in_block']);
    expect(payoutPathOf({ from: 'submitted', to: 'in_block' })).toEqual(['in_block']);
    expect(payoutPathOf({ from: 'in_block', to: 'submitted' })).toEqual(['submitted']);
    expect(payoutPathOf({ from: 'submitted', to: 'expired' })).toEqual(['expired', 'approved']);
    expect(payoutPathOf({ from: 'signed', to: 'abandoned' })).toEqual(['approved']);
    expect(payoutPathOf({ from: 'in_block', to: 'confirmed' })).toEqual(['confirmed']);
  });
});

describe('the oldest submitted transaction', () => {
  it('is how long the first accepted submission has waited, in minutes (0 when none waits)', () => {
    const now = new Date('2026-12-07T12:00:00Z');
    expect(oldestSubmittedMinutes([], now)).toBe(0);
    expect(
      oldestSubmittedMinutes(
        [{ firstSentAt: new Date('2026-12-07T11:50:00Z') }, { firstSentAt: new Date('2026-12-07T11:29:00Z') }, { firstSentAt: null }],
        now,
      ),
    ).toBe(31);
  });
});

describe("Ogmios' refusals", () => {
  it('are mapped to what the processor decides on; anything else is not a verdict and is thrown', async () => {
    expect(submitRefusalOf(3117)).toBe('inputs_spent');
    expect(submitRefusalOf(3118)).toBe('outside_validity');
    expect(submitRefusalOf(3122)).toBe('fee_too_small');
    expect(submitRefusalOf(3123)).toBe('invalid');
    expect(submitRefusalOf(-32602)).toBeUndefined();

    const refusing = new OgmiosTransactionSubmitter({
      submitTransaction: async () => {
        throw new OgmiosRpcError('submitTransaction', 3122, 'fee too small', { minimumRequiredFee: { ada: { lovelace: 170000 } } });
      },
    });
    expect(await refusing.submit(new Uint8Array([0x84]))).toMatchObject({ kind: 'refused', reason: 'fee_too_small' });
    const unreachable = new OgmiosTransactionSubmitter({
      submitTransaction: async () => {
        throw new Error('connection refused');
      },
    });
    await expect(unreachable.submit(new Uint8Array([0x84]))).rejects.toThrow('connection refused');
    const accepting = new OgmiosTransactionSubmitter({ submitTransaction: async () => ({ transaction: { id: OURS } }) });
    expect(await accepting.submit(new Uint8Array([0x84]))).toEqual({ kind: 'accepted' });
  });
});
