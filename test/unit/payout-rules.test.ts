/** The payout rules (functions/domain/payouts/payout-rules.ts): the state machine and the policy, case by case. */
import { describe, expect, it } from 'vitest';
import {
  approvedByPolicy,
  balanceEffectOf,
  checkApproval,
  checkAvailableBalance,
  checkCancel,
  checkDailyLimit,
  checkPayoutLimit,
  isAllowedTransition,
  PAYOUT_STATUSES,
  type PayoutPolicy,
  PayoutRefusal,
  utcDay,
} from '../../functions/domain/payouts/payout-rules.js';

const POLICY: PayoutPolicy = { maxLovelace: 1_000n, dailyLimitLovelace: 2_500n, approvalThresholdLovelace: 100n };

function codeOf(work: () => void): string | undefined {
  try {
    work();
  } catch (error) {
    if (error instanceof PayoutRefusal) return error.code;
    throw error;
  }
  return undefined;
}

describe('the payout state machine', () => {
  it('allows exactly the contract’s moves', () => {
    const allowed = PAYOUT_STATUSES.flatMap((from) =>
      PAYOUT_STATUSES.filter((to) => isAllowedTransition(from, to)).map((to) => `${from}→${to}`),
    );
    expect(allowed.sort()).toEqual(
      [
        'requested→approved',
        'requested→rejected',
        'requested→cancelled',
        'approved→built',
        'approved→cancelled',
        'built→signed',
        'built→approved',
        'built→cancelled',
        'signed→submitted',
        'signed→approved',
        'submitted→in_block',
        'submitted→expired',
        'submitted→failed',
        'in_block→confirmed',
        'in_block→submitted',
        'in_block→failed',
        'expired→approved',
      ].sort(),
    );
  });

  it('cancels only until signed; debits at confirmed, releases when the payout will never pay', () => {
    expect(PAYOUT_STATUSES.filter((status) => codeOf(() => checkCancel(status, false)) === undefined)).toEqual([
      'requested',
      'approved',
      'built',
    ]);
    // A payout whose transaction was signed once (then expired) is approved again, and never cancellable.
    expect(PAYOUT_STATUSES.filter((status) => codeOf(() => checkCancel(status, true)) === undefined)).toEqual([]);
    expect(PAYOUT_STATUSES.filter((status) => balanceEffectOf(status) === 'debit')).toEqual(['confirmed']);
    expect(PAYOUT_STATUSES.filter((status) => balanceEffectOf(status) === 'release')).toEqual(['failed', 'cancelled', 'rejected']);
  });
});

describe('the payout policy', () => {
  it('limits one payout and a UTC day, at the boundary included', () => {
    expect(codeOf(() => checkPayoutLimit(1_000n, POLICY))).toBeUndefined();
    expect(codeOf(() => checkPayoutLimit(1_001n, POLICY))).toBe('payout_limit_reached');
    expect(codeOf(() => checkDailyLimit(500n, 2_000n, POLICY))).toBeUndefined();
    expect(codeOf(() => checkDailyLimit(501n, 2_000n, POLICY))).toBe('daily_limit_reached');
    expect(utcDay(new Date('2026-05-10T23:59:59.999Z'))).toEqual({
      start: new Date('2026-05-10T00:00:00.000Z'),
      end: new Date('2026-05-11T00:00:00.000Z'),
    });
  });

  it('approves at or below the threshold by policy; above it, only another actor than the requester', () => {
    expect(approvedByPolicy({ lovelace: 100n, carriesTokens: false }, POLICY)).toBe(true);
    expect(approvedByPolicy({ lovelace: 101n, carriesTokens: false }, POLICY)).toBe(false);
    const payout = { status: 'requested' as const, lovelace: 101n, carriesTokens: false, requestedBy: 'api_key:a' };
    expect(codeOf(() => checkApproval(payout, 'api_key:a', POLICY))).toBe('four_eyes_required');
    expect(codeOf(() => checkApproval(payout, 'api_key:b', POLICY))).toBeUndefined();
    expect(codeOf(() => checkApproval({ ...payout, lovelace: 100n }, 'api_key:a', POLICY))).toBeUndefined();
    expect(codeOf(() => checkApproval({ ...payout, status: 'approved' }, 'api_key:b', POLICY))).toBe('not_approvable');
  });

  it('always wants a second actor for tokens: no lovelace threshold says a token payout is small', () => {
    expect(approvedByPolicy({ lovelace: 0n, carriesTokens: true }, POLICY)).toBe(false);
    const tokens = { status: 'requested' as const, lovelace: 0n, carriesTokens: true, requestedBy: 'api_key:a' };
    expect(codeOf(() => checkApproval(tokens, 'api_key:a', POLICY))).toBe('four_eyes_required');
    expect(codeOf(() => checkApproval(tokens, 'api_key:b', POLICY))).toBeUndefined();
  });

  it('needs the available balance of every asset asked', () => {
    const amount = new Map([
      ['lovelace', 10n],
      ['token', 5n],
    ]);
    expect(
      codeOf(() =>
        checkAvailableBalance(
          'u',
          amount,
          new Map([
            ['lovelace', 10n],
            ['token', 5n],
          ]),
        ),
      ),
    ).toBeUndefined();
    expect(
      codeOf(() =>
        checkAvailableBalance(
          'u',
          amount,
          new Map([
            ['lovelace', 10n],
            ['token', 4n],
          ]),
        ),
      ),
    ).toBe('insufficient_balance');
    expect(codeOf(() => checkAvailableBalance('u', amount, new Map([['lovelace', 10n]])))).toBe('insufficient_balance');
  });
});
