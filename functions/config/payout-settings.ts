/** The payout policy (issue 16), read with the API's and the local stack's settings. */
import type { PayoutPolicy } from '../domain/payouts/payout-rules.js';
import type { SettingsReader } from './settings-reader.js';
import { PAYOUT_APPROVAL_THRESHOLD_LOVELACE, PAYOUT_DAILY_LIMIT_LOVELACE, PAYOUT_MAX_LOVELACE } from './variables.js';

/** PAYOUT_MAX_LOVELACE, PAYOUT_DAILY_LIMIT_LOVELACE, PAYOUT_APPROVAL_THRESHOLD_LOVELACE. */
export function readPayoutPolicyWith(reader: SettingsReader): PayoutPolicy {
  return {
    maxLovelace: reader.read(PAYOUT_MAX_LOVELACE),
    dailyLimitLovelace: reader.read(PAYOUT_DAILY_LIMIT_LOVELACE),
    approvalThresholdLovelace: reader.read(PAYOUT_APPROVAL_THRESHOLD_LOVELACE),
  };
}
