/**
 * The payout as the API returns it and as its events carry it (one shape for every channel). Quantities are decimal
 * strings; the amount has the request's shape: {"lovelace": "…", "assets": {"<policy>.<name hex>": "…"}}.
 */
import { type AmountJson, amountJson } from '../invoices/invoice-resource.js';
import { type AssetAmounts, LOVELACE, type PayoutStatus } from './payout-rules.js';

/** A payout as stored. */
export interface PayoutRecord {
  id: string;
  referenceId: string;
  userId: string | null;
  destination: string;
  /** Lovelace (when above 0) and every token, each > 0. */
  amount: AssetAmounts;
  status: PayoutStatus;
  requestedBy: string;
  approvedBy: string | null;
  approvedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  version: number;
  failureReason: string | null;
  transactionId: string | null;
}

export interface PayoutResource {
  id: string;
  reference_id: string;
  user_id: string | null;
  destination: string;
  amount: AmountJson;
  status: PayoutStatus;
  requested_by: string;
  approved_by: string | null;
  approved_at: string | null;
  transaction_id: string | null;
  failure_reason: string | null;
  created_at: string;
  updated_at: string;
  version: number;
}

export function payoutResource(payout: PayoutRecord): PayoutResource {
  return {
    id: payout.id,
    reference_id: payout.referenceId,
    user_id: payout.userId,
    destination: payout.destination,
    amount: amountJson(payout.amount),
    status: payout.status,
    requested_by: payout.requestedBy,
    approved_by: payout.approvedBy,
    approved_at: payout.approvedAt?.toISOString() ?? null,
    transaction_id: payout.transactionId,
    failure_reason: payout.failureReason,
    created_at: payout.createdAt.toISOString(),
    updated_at: payout.updatedAt.toISOString(),
    version: payout.version,
  };
}

export function payoutLovelace(payout: Pick<PayoutRecord, 'amount'>): bigint {
  return payout.amount.get(LOVELACE) ?? 0n;
}

/** What the four-eyes rule looks at (payout-rules.ts needsSecondActor). */
export function approvalSubjectOf(payout: Pick<PayoutRecord, 'amount'>): { lovelace: bigint; carriesTokens: boolean } {
  return { lovelace: payoutLovelace(payout), carriesTokens: [...payout.amount.keys()].some((asset) => asset !== LOVELACE) };
}
