/** The payout policy's variables, read with the API's and the local stack's settings, and the rules a policy is held to. */
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { readApiSettings } from '../../functions/config/lambda-settings.js';
import { readLocalStackSettings } from '../../functions/config/local-settings.js';
import { ConfigurationError } from '../../functions/config/settings-reader.js';
import { type PayoutPolicy, payoutPolicyProblems } from '../../functions/domain/payouts/payout-rules.js';

const ADA = 1_000_000n;

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
        PAYOUT_DAILY_LIMIT_LOVELACE: '18446744073709551615',
        PAYOUT_APPROVAL_THRESHOLD_LOVELACE: '0',
      }).payouts,
    ).toEqual({ maxLovelace: 2n ** 64n - 1n, dailyLimitLovelace: 2n ** 64n - 1n, approvalThresholdLovelace: 0n });
    for (const text of ['18446744073709551616', '-1', '1.5', '100 ADA', '01']) {
      expect(() => readApiSettings({ NETWORK: 'preprod', PAYOUT_MAX_LOVELACE: text })).toThrow(
        /PAYOUT_MAX_LOVELACE must be a whole number of lovelace/,
      );
    }
  });

  it('takes a threshold equal to the per-payout limit (four eyes off for ADA-only payouts) and a limit equal to the daily one', () => {
    const env = {
      PAYOUT_MAX_LOVELACE: '5000000000',
      PAYOUT_DAILY_LIMIT_LOVELACE: '5000000000',
      PAYOUT_APPROVAL_THRESHOLD_LOVELACE: '5000000000',
    };
    const policy = { maxLovelace: 5_000n * ADA, dailyLimitLovelace: 5_000n * ADA, approvalThresholdLovelace: 5_000n * ADA };
    expect(readApiSettings({ NETWORK: 'preprod', ...env }).payouts).toEqual(policy);
    expect(readLocalStackSettings(env).payouts).toEqual(policy);
  });

  it('refuses a policy that makes no sense, naming the variables, in the api and the local stack alike', () => {
    const aboveDaily = { PAYOUT_MAX_LOVELACE: '20000000000', PAYOUT_DAILY_LIMIT_LOVELACE: '10000000000' };
    for (const read of [() => readApiSettings({ NETWORK: 'preprod', ...aboveDaily }), () => readLocalStackSettings(aboveDaily)]) {
      expect(read).toThrow(ConfigurationError);
      expect(read).toThrow(
        'PAYOUT_MAX_LOVELACE (20000000000) must not exceed PAYOUT_DAILY_LIMIT_LOVELACE (10000000000): a payout above the daily limit would always be refused',
      );
    }
    // The default threshold (100 ADA) above a 50 ADA limit: four eyes would never apply.
    expect(() => readLocalStackSettings({ PAYOUT_MAX_LOVELACE: '50000000' })).toThrow(
      /^PAYOUT_APPROVAL_THRESHOLD_LOVELACE \(100000000\) must not exceed PAYOUT_MAX_LOVELACE \(50000000\): four eyes would never apply/,
    );
    // Several at once, listed under whose settings they are; a variable that cannot be read is reported as such.
    let message = '';
    try {
      readApiSettings({ NETWORK: 'preprod', PAYOUT_MAX_LOVELACE: '0', PAYOUT_DAILY_LIMIT_LOVELACE: 'lots' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('PAYOUT_DAILY_LIMIT_LOVELACE must be a whole number of lovelace');
    expect(message).toContain('PAYOUT_MAX_LOVELACE (0) must be at least 1000000 lovelace (1 ADA');
    expect(message).toContain('PAYOUT_APPROVAL_THRESHOLD_LOVELACE (100000000) must not exceed PAYOUT_MAX_LOVELACE (0)');
    expect(message).not.toContain('PAYOUT_DAILY_LIMIT_LOVELACE (');
  });

  it('npm start with such a policy says why and exits 1 before it starts anything', async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'functions/local/start.ts'],
        {
          // Were the policy let through, the start would fail on this database for another reason: not the one asserted.
          env: {
            ...process.env,
            DATABASE_URL: 'postgres://nobody:nothing@127.0.0.1:1/none',
            PAYOUT_MAX_LOVELACE: '20000000000',
            PAYOUT_DAILY_LIMIT_LOVELACE: '10000000000',
          },
          timeout: 180_000,
        },
        (error, _stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stderr }),
      );
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'npm start failed: PAYOUT_MAX_LOVELACE (20000000000) must not exceed PAYOUT_DAILY_LIMIT_LOVELACE (10000000000)',
    );
  });
});

describe('payoutPolicyProblems', () => {
  const policy = (max: bigint, daily: bigint, threshold: bigint): PayoutPolicy => ({
    maxLovelace: max,
    dailyLimitLovelace: daily,
    approvalThresholdLovelace: threshold,
  });

  it('holds for a per-payout limit of at least 1 ADA, at most the daily one, and a threshold from 0 to the limit', () => {
    expect(payoutPolicyProblems(policy(1_000n * ADA, 10_000n * ADA, 100n * ADA))).toEqual([]);
    expect(payoutPolicyProblems(policy(ADA, ADA, ADA))).toEqual([]);
    expect(payoutPolicyProblems(policy(ADA, ADA, 0n))).toEqual([]);
  });

  it('names each broken rule with the names it is given', () => {
    const named = (field: string) => `policy.${field}`;
    expect(payoutPolicyProblems(policy(ADA - 1n, 0n, ADA), named)).toEqual([
      'policy.maxLovelace (999999) must be at least 1000000 lovelace (1 ADA, the least an ADA-only payout sends): below it every ADA-only payout would be refused',
      'policy.maxLovelace (999999) must not exceed policy.dailyLimitLovelace (0): a payout above the daily limit would always be refused',
      'policy.approvalThresholdLovelace (1000000) must not exceed policy.maxLovelace (999999): four eyes would never apply ' +
        '(equal turns four eyes off for ADA-only payouts; a payout that sends tokens always needs a second actor)',
    ]);
    expect(payoutPolicyProblems(policy(2n * ADA, 2n * ADA - 1n, 2n * ADA + 1n))).toEqual([
      expect.stringMatching(/^maxLovelace \(2000000\) must not exceed dailyLimitLovelace \(1999999\)/),
      expect.stringMatching(/^approvalThresholdLovelace \(2000001\) must not exceed maxLovelace \(2000000\)/),
    ]);
  });

  it('skips the rules of a field it was not given (one that could not be read)', () => {
    expect(payoutPolicyProblems({ dailyLimitLovelace: 0n, approvalThresholdLovelace: 10n ** 19n })).toEqual([]);
    expect(payoutPolicyProblems({ maxLovelace: 0n })).toEqual([expect.stringMatching(/^maxLovelace \(0\) must be at least/)]);
  });
});
