/**
 * Payouts (issue 16): their states, who may move a payout from one to another, and the policy a request and an
 * approval are held to. Pure: the adapter (functions/adapters/postgres/payout-requests.ts) reads what the rules need
 * (the day's total, the user's available balance) and applies what they decide, in one transaction.
 *
 * requested → approved → built → signed → submitted → in_block → confirmed, with in_block → submitted (a rollback of
 * its block), submitted → expired → approved (a new attempt only once the old one can never land), submitted|in_block
 * → failed, built|signed → approved (an attempt abandoned before submission), and requested|approved|built →
 * cancelled, requested → rejected. The request side moves requested → approved | rejected | cancelled and
 * approved|built → cancelled; the processor moves the rest.
 */
import { type Asset, type AssetAmounts, LOVELACE } from '../invoices/invoice-rules.js';

export { type Asset, type AssetAmounts, LOVELACE };

export const PAYOUT_STATUSES = [
  'requested',
  'approved',
  'built',
  'signed',
  'submitted',
  'in_block',
  'confirmed',
  'expired',
  'failed',
  'cancelled',
  'rejected',
] as const;
export type PayoutStatus = (typeof PAYOUT_STATUSES)[number];

/** Every allowed move, from → to. */
export const PAYOUT_TRANSITIONS: Readonly<Record<PayoutStatus, readonly PayoutStatus[]>> = {
  requested: ['approved', 'rejected', 'cancelled'],
  approved: ['built', 'cancelled'],
  built: ['signed', 'approved', 'cancelled'],
  signed: ['submitted', 'approved'],
  submitted: ['in_block', 'expired', 'failed'],
  in_block: ['confirmed', 'submitted', 'failed'],
  expired: ['approved'],
  confirmed: [],
  failed: [],
  cancelled: [],
  rejected: [],
};

export function isAllowedTransition(from: PayoutStatus, to: PayoutStatus): boolean {
  return PAYOUT_TRANSITIONS[from].includes(to);
}

/** Cancel is possible until the payout is signed: afterwards its transaction may land whatever we decide. */
export const CANCELLABLE_STATUSES: readonly PayoutStatus[] = ['requested', 'approved', 'built'];

/** Statuses that no longer count toward the daily limit (the payout will never pay). */
export const UNCOUNTED_STATUSES: readonly PayoutStatus[] = ['cancelled', 'rejected', 'failed'];

/** What a transition does to the user's held balance. */
export type BalanceEffect = 'debit' | 'release' | 'none';

/** The hold is debited at confirmation (once) and released when the payout will never pay. */
export function balanceEffectOf(to: PayoutStatus): BalanceEffect {
  if (to === 'confirmed') return 'debit';
  if (to === 'cancelled' || to === 'rejected' || to === 'failed') return 'release';
  return 'none';
}

export const PAYOUT_EVENT_TYPES = [
  'payout.requested',
  'payout.approved',
  'payout.built',
  'payout.signed',
  'payout.submitted',
  'payout.in_block',
  'payout.confirmed',
  'payout.expired',
  'payout.failed',
  'payout.cancelled',
  'payout.rejected',
] as const;
export type PayoutEventType = (typeof PAYOUT_EVENT_TYPES)[number];

export function payoutEventType(status: PayoutStatus): PayoutEventType {
  return `payout.${status}`;
}

/** The audit_log action of a payout's creation (the tutorial's) and of each later transition. */
export const PAYOUT_REQUEST_AUDIT_ACTION = 'create_payment';
export const PAYOUT_AUDIT_ENTITY = 'outbound_payment';
export function payoutAuditAction(to: PayoutStatus): string {
  return to === 'requested' ? PAYOUT_REQUEST_AUDIT_ACTION : `payout_${to}`;
}

// ---- actors ---------------------------------------------------------------------------------------------------------

/** The actor of a policy decision (a request at or below the approval threshold is approved at creation). */
export const POLICY_ACTOR = 'system:policy';
/** The actor of the processor's transitions. */
export const PROCESSOR_ACTOR = 'system:payout-processor';

export function apiKeyActor(keyId: string): string {
  return `api_key:${keyId}`;
}

export function operatorActor(name: string): string {
  return `operator:${name}`;
}

// ---- policy ---------------------------------------------------------------------------------------------------------

export interface PayoutPolicy {
  /** PAYOUT_MAX_LOVELACE: no single payout above it. */
  maxLovelace: bigint;
  /** PAYOUT_DAILY_LIMIT_LOVELACE: the lovelace of every payout requested in one UTC day that still counts. */
  dailyLimitLovelace: bigint;
  /** PAYOUT_APPROVAL_THRESHOLD_LOVELACE: above it, a second actor must approve; at or below, the policy approves. */
  approvalThresholdLovelace: bigint;
}

export type PayoutRefusalCode =
  | 'invalid_destination'
  | 'payout_limit_reached'
  | 'daily_limit_reached'
  | 'insufficient_balance'
  | 'four_eyes_required'
  | 'not_approvable'
  | 'not_rejectable'
  | 'not_cancellable';

/** A request or a move the policy or the payout's state refuses; `status` is the HTTP status the API answers with. */
export class PayoutRefusal extends Error {
  override readonly name = 'PayoutRefusal';
  constructor(
    readonly code: PayoutRefusalCode,
    message: string,
    readonly status: 409 | 422 = 409,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The request is malformed (a 422 naming each field). */
export class PayoutRequestError extends Error {
  override readonly name = 'PayoutRequestError';
  constructor(
    readonly problems: readonly { field: string; message: string }[],
    detail = 'The payout was not requested: the request is invalid.',
  ) {
    super(detail);
  }
}

/**
 * The least an ADA-only payout may send. Every ledger output must carry a minimum of ADA for its size (about 0.85–1
 * ADA for a plain one); a smaller payout would be raised to it, so the business would pay out far more than the user
 * is debited and the limits count.
 */
export const MIN_ADA_ONLY_PAYOUT_LOVELACE = 1_000_000n;

/** Refuses an ADA-only payout below MIN_ADA_ONLY_PAYOUT_LOVELACE. */
export function checkPayoutMinimum(amount: ReadonlyMap<Asset, bigint>): void {
  const carriesTokens = [...amount.keys()].some((asset) => asset !== LOVELACE);
  const lovelace = amount.get(LOVELACE) ?? 0n;
  if (!carriesTokens && lovelace < MIN_ADA_ONLY_PAYOUT_LOVELACE) {
    throw new PayoutRequestError(
      [
        {
          field: 'amount.lovelace',
          message: `an ADA-only payout sends at least ${MIN_ADA_ONLY_PAYOUT_LOVELACE} lovelace (1 ADA), the ledger's minimum for an output; got ${lovelace}`,
        },
      ],
      'The payout was not requested: its amount is below what a ledger output must carry.',
    );
  }
}

/** The first day boundary (UTC midnight) at or before `at`, and the next one. */
export function utcDay(at: Date): { start: Date; end: Date } {
  const start = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  return { start, end: new Date(start.getTime() + 86_400_000) };
}

/** The per-payout limit: refused above PAYOUT_MAX_LOVELACE. */
export function checkPayoutLimit(lovelace: bigint, policy: PayoutPolicy): void {
  if (lovelace > policy.maxLovelace) {
    throw new PayoutRefusal(
      'payout_limit_reached',
      `${lovelace} lovelace is above the per-payout limit of ${policy.maxLovelace} lovelace (PAYOUT_MAX_LOVELACE).`,
      409,
      'amount.lovelace',
    );
  }
}

/** The daily limit: refused when today's counted payouts and this one together exceed PAYOUT_DAILY_LIMIT_LOVELACE. */
export function checkDailyLimit(lovelace: bigint, requestedToday: bigint, policy: PayoutPolicy): void {
  if (requestedToday + lovelace > policy.dailyLimitLovelace) {
    const left = policy.dailyLimitLovelace > requestedToday ? policy.dailyLimitLovelace - requestedToday : 0n;
    throw new PayoutRefusal(
      'daily_limit_reached',
      `${lovelace} lovelace would exceed today's (UTC) payout limit of ${policy.dailyLimitLovelace} lovelace ` +
        `(PAYOUT_DAILY_LIMIT_LOVELACE): ${requestedToday} already requested, ${left} left.`,
      409,
      'amount.lovelace',
    );
  }
}

/**
 * The user's available balance (balance minus open holds) per asset must cover the amount. `available` lists the
 * assets of the amount; a missing one is zero.
 */
export function checkAvailableBalance(userId: string, amount: AssetAmounts, available: ReadonlyMap<Asset, bigint>): void {
  const short = [...amount]
    .filter(([, quantity]) => quantity > 0n)
    .filter(([asset, quantity]) => (available.get(asset) ?? 0n) < quantity)
    .map(([asset, quantity]) => `${asset}: ${quantity} asked, ${available.get(asset) ?? 0n} available`);
  if (short.length > 0) {
    throw new PayoutRefusal(
      'insufficient_balance',
      `User ${userId}'s available balance (balance minus what open payouts hold) does not cover the payout: ${short.join('; ')}.`,
    );
  }
}

/** What the four-eyes rule looks at in a payout. */
export interface ApprovalSubject {
  lovelace: bigint;
  /** Whether it sends any token. */
  carriesTokens: boolean;
}

/**
 * Four eyes: a payout above the threshold needs an approver other than its requester, and so does any payout that
 * sends tokens (tokens are not valued in ADA, so no lovelace threshold can say a token payout is small).
 */
export function needsSecondActor(payout: ApprovalSubject, policy: PayoutPolicy): boolean {
  return payout.carriesTokens || payout.lovelace > policy.approvalThresholdLovelace;
}

/** Whether a request is approved at creation by the policy: ADA only, at or below the threshold. */
export function approvedByPolicy(payout: ApprovalSubject, policy: PayoutPolicy): boolean {
  return !needsSecondActor(payout, policy);
}

export function checkApproval(
  payout: ApprovalSubject & { status: PayoutStatus; requestedBy: string },
  actor: string,
  policy: PayoutPolicy,
): void {
  if (payout.status !== 'requested') {
    throw new PayoutRefusal('not_approvable', `The payout is ${payout.status}: only a requested payout can be approved.`);
  }
  if (needsSecondActor(payout, policy) && actor === payout.requestedBy) {
    const why = payout.carriesTokens
      ? 'It sends tokens, which always need a second approver'
      : `${payout.lovelace} lovelace is above the approval threshold of ${policy.approvalThresholdLovelace} lovelace (PAYOUT_APPROVAL_THRESHOLD_LOVELACE)`;
    throw new PayoutRefusal('four_eyes_required', `${why}: another actor than its requester (${actor}) must approve it.`);
  }
}

export function checkReject(status: PayoutStatus): void {
  if (status !== 'requested') {
    throw new PayoutRefusal('not_rejectable', `The payout is ${status}: only a requested payout can be rejected (cancel an approved one).`);
  }
}

/**
 * A payout can be cancelled until it is signed, and never after: one whose transaction was signed and then expired is
 * approved again, but that transaction may still land (a rollback deeper than the expiry's depth), and then it pays.
 */
export function checkCancel(status: PayoutStatus, everSigned: boolean): void {
  if (!CANCELLABLE_STATUSES.includes(status)) {
    throw new PayoutRefusal(
      'not_cancellable',
      `The payout is ${status}: a payout can be cancelled only until it is signed (${CANCELLABLE_STATUSES.join(', ')}).`,
    );
  }
  if (everSigned) {
    throw new PayoutRefusal(
      'not_cancellable',
      `The payout is ${status}, but a transaction of it was signed (it expired and may still land): it is sent again from the same coins and can no longer be cancelled.`,
    );
  }
}

// ---- policy invariants ----------------------------------------------------------------------------------------------

/**
 * Why a payout policy makes no sense, one message per broken rule, each naming its fields with `nameOf` (the
 * variables or the cdk.json fields the policy was read from); empty when it holds. A field left out (it could not be
 * read) skips the rules it is part of. The per-payout limit carries at least an ADA-only payout's minimum (below it
 * every ADA-only payout is refused; a daily limit of 0 is refused with it); it does not exceed the daily limit (a
 * payout above it would always be refused); the approval threshold does not exceed the per-payout limit (above it
 * four eyes would never apply; equal turns four eyes off for ADA-only payouts, 0 asks a second actor for every one).
 */
export function payoutPolicyProblems(
  policy: Partial<PayoutPolicy>,
  nameOf: (field: keyof PayoutPolicy) => string = (field) => field,
): string[] {
  const { maxLovelace: max, dailyLimitLovelace: daily, approvalThresholdLovelace: threshold } = policy;
  const problems: string[] = [];
  if (max !== undefined && max < MIN_ADA_ONLY_PAYOUT_LOVELACE) {
    problems.push(
      `${nameOf('maxLovelace')} (${max}) must be at least ${MIN_ADA_ONLY_PAYOUT_LOVELACE} lovelace (1 ADA, the least an ADA-only payout sends): below it every ADA-only payout would be refused`,
    );
  }
  if (max !== undefined && daily !== undefined && max > daily) {
    problems.push(
      `${nameOf('maxLovelace')} (${max}) must not exceed ${nameOf('dailyLimitLovelace')} (${daily}): a payout above the daily limit would always be refused`,
    );
  }
  if (max !== undefined && threshold !== undefined && threshold > max) {
    problems.push(
      `${nameOf('approvalThresholdLovelace')} (${threshold}) must not exceed ${nameOf('maxLovelace')} (${max}): four eyes would never apply ` +
        '(equal turns four eyes off for ADA-only payouts; a payout that sends tokens always needs a second actor)',
    );
  }
  return problems;
}
