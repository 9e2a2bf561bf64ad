/**
 * The hot wallet's own change (hotWalletChange, functions/domain/hot-wallet.ts): which payments a step recorded are
 * change. On the real engine and PostgreSQL, with payout transactions: test/integration/hot-wallet-change.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { HOT_WALLET_REFERENCE_TYPE, hotWalletChange } from '../../functions/domain/hot-wallet.js';
import type { Payment } from '../../functions/domain/ports.js';

function payment(txId: string, referenceType: string, index = 0): Payment {
  return {
    txId,
    index,
    address: `addr-${referenceType}`,
    lovelace: 1_000_000n,
    assets: [],
    referenceType,
    referenceId: 'ref',
    userId: null,
    blockHeight: 10n,
    blockSlot: 200n,
    blockTime: new Date('2026-12-07T00:00:00Z'),
  };
}

describe('the hot wallet change', () => {
  const funding = payment('tx-funding', HOT_WALLET_REFERENCE_TYPE);
  const change = payment('tx-payout', HOT_WALLET_REFERENCE_TYPE, 1);
  const paid = payment('tx-payout', 'deposit', 0);

  it('is an output to the hot wallet in a transaction that spent a hot-wallet output', () => {
    expect(hotWalletChange([funding, change, paid], new Set(['tx-payout']))).toEqual([change]);
  });

  it('is none when no transaction of the step spent the hot wallet: a deposit into it is a payment', () => {
    expect(hotWalletChange([funding, change, paid], new Set())).toEqual([]);
    expect(hotWalletChange([funding], new Set(['tx-other']))).toEqual([]);
  });

  it('never takes another address paid by such a transaction (a user paid by a payout is paid)', () => {
    expect(hotWalletChange([paid], new Set(['tx-payout']))).toEqual([]);
  });
});
