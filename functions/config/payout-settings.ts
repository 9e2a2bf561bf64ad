/** The payout policy (issue 16), read with the API's and the local stack's settings. */
import { type PayoutPolicy, payoutPolicyProblems } from '../domain/payouts/payout-rules.js';
import type { SettingsReader } from './settings-reader.js';
import { PAYOUT_APPROVAL_THRESHOLD_LOVELACE, PAYOUT_DAILY_LIMIT_LOVELACE, PAYOUT_MAX_LOVELACE } from './variables.js';

const POLICY_VARIABLES = {
  maxLovelace: PAYOUT_MAX_LOVELACE,
  dailyLimitLovelace: PAYOUT_DAILY_LIMIT_LOVELACE,
  approvalThresholdLovelace: PAYOUT_APPROVAL_THRESHOLD_LOVELACE,
} as const;

/**
 * PAYOUT_MAX_LOVELACE, PAYOUT_DAILY_LIMIT_LOVELACE, PAYOUT_APPROVAL_THRESHOLD_LOVELACE; a policy that makes no sense
 * (payoutPolicyProblems: a per-payout limit under 1 ADA or above the daily limit, a threshold above the per-payout
 * limit) is one more problem of the reader's group, naming the variables, so the process does not start.
 */
export function readPayoutPolicyWith(reader: SettingsReader): PayoutPolicy {
  const read: Partial<PayoutPolicy> = {
    maxLovelace: reader.read<bigint | undefined>(POLICY_VARIABLES.maxLovelace),
    dailyLimitLovelace: reader.read<bigint | undefined>(POLICY_VARIABLES.dailyLimitLovelace),
    approvalThresholdLovelace: reader.read<bigint | undefined>(POLICY_VARIABLES.approvalThresholdLovelace),
  };
  for (const problem of payoutPolicyProblems(read, (field) => POLICY_VARIABLES[field].name)) reader.problem(problem);
  return read as PayoutPolicy;
}
