/** The payout policy's variables, read with the API's and the local stack's settings. */
import { describe, expect, it } from 'vitest';
import { readApiSettings } from '../../functions/config/lambda-settings.js';
import { readLocalStackSettings } from '../../functions/config/local-settings.js';

describe('the payout policy settings', () => {
  it('defaults to 1,000 ADA a payout, 10,000 ADA a day and four eyes above 100 ADA', () => {
    const policy = { maxLovelace: 1_000_000_000n, dailyLimitLovelace: 10_000_000_000n, approvalThresholdLovelace: 100_000_000n };
    expect(readApiSettings({ NETWORK: 'preprod' }).payouts).toEqual(policy);
    expect(readLocalStackSettings({}).payouts).toEqual(policy);
  });

  it('reads whole numbers of lovelace up to 2^64 - 1, and refuses anything else naming the variable', () => {
    expect(
      readApiSettings({
        NETWORK: 'preprod',
        PAYOUT_MAX_LOVELACE: '18446744073709551615',
        PAYOUT_DAILY_LIMIT_LOVELACE: '0',
        PAYOUT_APPROVAL_THRESHOLD_LOVELACE: '5',
      }).payouts,
    ).toEqual({ maxLovelace: 2n ** 64n - 1n, dailyLimitLovelace: 0n, approvalThresholdLovelace: 5n });
    for (const text of ['18446744073709551616', '-1', '1.5', '100 ADA', '01']) {
      expect(() => readApiSettings({ NETWORK: 'preprod', PAYOUT_MAX_LOVELACE: text })).toThrow(
        /PAYOUT_MAX_LOVELACE must be a whole number of lovelace/,
      );
    }
  });
});
