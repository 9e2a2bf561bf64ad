/**
 * Payouts on PostgreSQL (migration 0019), the request side: requestPayout (policy, held balance, the payout, its holds,
 * its `payout.requested` event and its `create_payment` audit row; approved at once by the policy at or below the
 * threshold), approvePayout (four eyes), rejectPayout, cancelPayout (until signed), reads, and recordPayoutTransition,
 * the one way any payout changes status, the processor's transitions included.
 *
 * Locks, always in this order, so that nothing waits in a circle with the engine: the payout requests' lock (requests
 * only), then the outbox's (every event writer takes it; recordPayoutTransition takes it first), then row locks (the
 * payout's row, then user_balances / user_asset_balances, which the engine also takes after the outbox's lock).
 * A request never locks a balance row: the payout requests' lock alone serialises requests, so two requests can never
 * both pass the daily limit or both hold the same available balance, nor both carry the same reference_id while live
 * (migration 0022's unique index holds that one in the database too).
 */
import { randomBytes } from 'node:crypto';
import { InvalidAddressError, validateAddress } from '../../domain/address.js';
import { type AmountRequest, InvoiceRequestError, parseInvoiceAmount } from '../../domain/invoices/invoice-creation.js';
import { amountJson, amountsFromJson } from '../../domain/invoices/invoice-resource.js';
import type { Network } from '../../domain/network.js';
import { approvalSubjectOf, type PayoutRecord, type PayoutResource, payoutResource } from '../../domain/payouts/payout-resource.js';
import {
  approvedByPolicy,
  type Asset,
  balanceEffectOf,
  checkApproval,
  checkAvailableBalance,
  checkCancel,
  checkDailyLimit,
  checkPayoutLimit,
  checkPayoutMinimum,
  checkReject,
  isAllowedTransition,
  PAYOUT_AUDIT_ENTITY,
  type PayoutPolicy,
  PayoutRefusal,
  PayoutRequestError,
  type PayoutStatus,
  payoutAuditAction,
  payoutEventType,
  POLICY_ACTOR,
  UNCOUNTED_STATUSES,
  utcDay,
} from '../../domain/payouts/payout-rules.js';
import type { Queryable } from './business-events.js';
import { newestFirstPage } from './newest-first-page.js';

/** The outbox's lock (migration 0015's trigger takes it on every insert into business_events): 'busevent'. */
const OUTBOX_LOCK = '7094703306575900276';
/** The payout requests' lock: class "POUT", key 0 (one for all requests: the daily limit is global). */
const PAYOUT_REQUESTS_LOCK: [number, number] = [0x504f5554, 0];

/**
 * Takes the outbox's lock for the rest of the caller's transaction (recordPayoutTransition takes it first too). A
 * writer that locks rows the engine also locks after its first event (payout_attempts, payouts, balances) must take it
 * before them, or the two can wait on each other.
 */
export async function takeOutboxLock(client: Queryable): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [OUTBOX_LOCK]);
}

/** A new payout's id: 'po_' and 24 random hex digits (the schema's form). */
export function newPayoutId(): string {
  return `po_${randomBytes(12).toString('hex')}`;
}

export const PAYOUT_COLUMNS = `id, reference_id, user_id, destination, lovelace, assets, status, requested_by, approved_by,
  approved_at, created_at, updated_at, version, failure_reason, transaction_id`;

export interface PayoutRow {
  id: string;
  reference_id: string;
  user_id: string | null;
  destination: string;
  /** NUMERIC: a decimal string. */
  lovelace: string;
  assets: Record<Asset, string>;
  status: PayoutStatus;
  requested_by: string;
  approved_by: string | null;
  approved_at: Date | null;
  created_at: Date;
  updated_at: Date;
  version: number;
  failure_reason: string | null;
  transaction_id: string | null;
}

export function payoutFromRow(row: PayoutRow): PayoutRecord {
  return {
    id: row.id,
    referenceId: row.reference_id,
    userId: row.user_id,
    destination: row.destination,
    amount: amountsFromJson({ lovelace: row.lovelace, assets: row.assets }),
    status: row.status,
    requestedBy: row.requested_by,
    approvedBy: row.approved_by,
    approvedAt: row.approved_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
    failureReason: row.failure_reason,
    transactionId: row.transaction_id,
  };
}

export async function readPayout(db: Queryable, id: string): Promise<PayoutRecord | undefined> {
  const { rows } = await db.query<PayoutRow>(`SELECT ${PAYOUT_COLUMNS} FROM payouts WHERE id = $1`, [id]);
  return rows[0] ? payoutFromRow(rows[0]) : undefined;
}

/** The payout no longer exists under that id (a 404). */
export class PayoutNotFoundError extends Error {
  override readonly name = 'PayoutNotFoundError';
  constructor(readonly payoutId: string) {
    super(`No payout ${payoutId}.`);
  }
}

// ---- transitions ----------------------------------------------------------------------------------------------------

export interface PayoutTransition {
  payoutId: string;
  /** The status the caller saw: the payout moves only if it is still in it. */
  from: PayoutStatus;
  to: PayoutStatus;
  /** `api_key:<id>`, `operator:<name>`, `system:policy`, `system:payout-processor`. */
  actor: string;
  /** Why (kept as failure_reason when the payout moves to failed, rejected, cancelled or expired; in the audit row). */
  reason?: string;
  /** The current attempt's transaction id; null clears it; absent leaves it. */
  transactionId?: string | null;
  /** The payout's updated_at (and a hold's closed_at); default: now. */
  at?: Date;
}

/**
 * Moves the payout `from` → `to` in the caller's transaction (`client` must be inside one: the outbox's lock is held to
 * its commit). Nothing changes and false is returned when the payout is no longer in `from` (someone else moved it);
 * of two concurrent calls from the same `from`, exactly one returns true. A move writes, in one statement: the payout
 * (version + 1), its `payout.<to>` event (version = the payout's), its audit row (`payout_<to>`, entity
 * `outbound_payment`), and the balance effect of `to`: at `confirmed` the user's holds are closed as debited and one
 * ledger debit per (payout, asset) is written (balance_transactions, at most once by its unique index; user_balances
 * and user_asset_balances move by what was inserted); at `cancelled`, `rejected`, `failed` the holds are released.
 * A hold closes once (the table's trigger). Throws on a move the rules do not allow or an unknown payout.
 */
export async function recordPayoutTransition(client: Queryable, transition: PayoutTransition): Promise<boolean> {
  const { payoutId, from, to, actor } = transition;
  if (!isAllowedTransition(from, to)) throw new Error(`A payout cannot move from ${from} to ${to}`);
  await takeOutboxLock(client);
  // The version guards the update, so that the event carries exactly the row written. A payout back in `from` after
  // other moves (built → approved → built) has another version: read it again.
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const current = await readPayout(client, payoutId);
    if (!current) throw new PayoutNotFoundError(payoutId);
    if (current.status !== from) return false;
    const at = transition.at ?? new Date();
    const next: PayoutRecord = {
      ...current,
      status: to,
      version: current.version + 1,
      updatedAt: at,
      ...(from === 'requested' && to === 'approved' ? { approvedBy: actor, approvedAt: at } : {}),
      failureReason:
        to === 'failed' || to === 'rejected' || to === 'cancelled' || to === 'expired'
          ? (transition.reason ?? current.failureReason)
          : to === 'approved'
            ? null
            : current.failureReason,
      transactionId: transition.transactionId === undefined ? current.transactionId : transition.transactionId,
    };
    const effect = balanceEffectOf(to);
    const { rows } = await client.query<{ moved: number }>({
      name: 'record_payout_transition',
      text: `WITH moved AS (
         UPDATE payouts SET status = $3, version = $4, updated_at = $5, approved_by = $6, approved_at = $7,
                            failure_reason = $8, transaction_id = $9
          WHERE id = $1 AND status = $2 AND version = $4 - 1
          RETURNING id, version
       ), event AS (
         INSERT INTO business_events (id, type, resource_type, resource_id, version, data)
         SELECT business_event_id($10, id, version), $10, 'payout', id, version, $11::jsonb FROM moved
       ), audit AS (
         INSERT INTO audit_log (action, entity_type, entity_id, actor, details)
         SELECT $12, $13, id, $14, $15::jsonb FROM moved
       ), closed AS (
         UPDATE payout_holds h SET closed_as = $16, closed_at = $5
           FROM moved WHERE $16::text IS NOT NULL AND h.payout_id = moved.id AND h.closed_as IS NULL
          RETURNING h.payout_id, h.user_id, h.asset, h.quantity, h.closed_as
       ), debited AS (
         INSERT INTO balance_transactions (user_id, type, asset, quantity, payout_id, reason)
         SELECT user_id, 'debit', asset, quantity, payout_id, 'payout_confirmed' FROM closed WHERE closed_as = 'debited'
         ON CONFLICT (payout_id, asset) WHERE payout_id IS NOT NULL DO NOTHING
         RETURNING user_id, asset, quantity
       ), balances AS (
         INSERT INTO user_balances AS b (user_id, balance_lovelace, updated_at)
         SELECT user_id, -sum(quantity)::bigint, $5 FROM debited WHERE asset = 'lovelace' GROUP BY user_id
         ON CONFLICT (user_id) DO UPDATE
           SET balance_lovelace = b.balance_lovelace + EXCLUDED.balance_lovelace, updated_at = EXCLUDED.updated_at
       ), asset_balances AS (
         INSERT INTO user_asset_balances AS b (user_id, asset, quantity, updated_at)
         SELECT user_id, asset, -sum(quantity), $5 FROM debited WHERE asset <> 'lovelace' GROUP BY user_id, asset
         ON CONFLICT (user_id, asset) DO UPDATE SET quantity = b.quantity + EXCLUDED.quantity, updated_at = EXCLUDED.updated_at
       )
       SELECT count(*)::int AS moved FROM moved`,
      values: [
        payoutId,
        from,
        to,
        next.version,
        at,
        next.approvedBy,
        next.approvedAt,
        next.failureReason,
        next.transactionId,
        payoutEventType(to),
        JSON.stringify(payoutResource(next)),
        payoutAuditAction(to),
        PAYOUT_AUDIT_ENTITY,
        actor,
        JSON.stringify(auditDetails(next, { from, to, reason: transition.reason })),
        effect === 'debit' ? 'debited' : effect === 'release' ? 'released' : null,
      ],
    });
    if (rows[0]?.moved === 1) return true;
  }
  return false;
}

/** What an audit row of a payout says besides action, entity and actor: amount, destination, reference (the tutorial's). */
function auditDetails(payout: PayoutRecord, move: { from?: PayoutStatus; to: PayoutStatus; reason?: string | undefined }) {
  return {
    amount: amountJson(payout.amount),
    destination: payout.destination,
    reference_id: payout.referenceId,
    user_id: payout.userId,
    ...(move.from === undefined ? {} : { from: move.from }),
    to: move.to,
    ...(move.reason === undefined ? {} : { reason: move.reason }),
    ...(payout.transactionId === null ? {} : { transaction_id: payout.transactionId }),
  };
}

// ---- requests -------------------------------------------------------------------------------------------------------

export interface PayoutRequest {
  referenceId: string;
  userId: string | null;
  destination: string;
  amount: AmountRequest;
  actor: string;
}

export interface PayoutRequestOptions {
  network: Network;
  policy: PayoutPolicy;
  now: Date;
  newId?: () => string;
}

/**
 * Which payouts carry their reference_id: all but those that will never pay (cancelled, rejected, failed: final
 * statuses). Word for word the predicate of migration 0022's unique index payouts_reference_live, which the insert
 * names in its ON CONFLICT (a predicate that differs makes every request fail, so the tests would tell).
 */
const LIVE_PAYOUT = `status NOT IN (${UNCOUNTED_STATUSES.map((status) => `'${status}'`).join(', ')})`;

/** The reference_id is carried by another live payout (the API's 409 `reference_in_use`, naming it). */
export class PayoutReferenceInUseError extends Error {
  override readonly name = 'PayoutReferenceInUseError';
  constructor(
    readonly referenceId: string,
    readonly payoutId: string,
    readonly status: PayoutStatus,
  ) {
    super(
      `The reference_id ${referenceId} is already carried by payout ${payoutId} (${status}): a reference is used again ` +
        'only once its payout is cancelled, rejected or failed.',
    );
  }
}

/** The live payout that carries the reference, if any (the unique index finds it). */
async function livePayoutOf(db: Queryable, referenceId: string): Promise<{ id: string; status: PayoutStatus } | undefined> {
  const { rows } = await db.query<{ id: string; status: PayoutStatus }>(
    `SELECT id, status FROM payouts WHERE reference_id = $1 AND ${LIVE_PAYOUT}`,
    [referenceId],
  );
  return rows[0];
}

/**
 * Requests a payout in the caller's transaction. Refuses (PayoutRequestError: a malformed amount; PayoutRefusal:
 * invalid_destination, payout_limit_reached, daily_limit_reached, insufficient_balance; PayoutReferenceInUseError:
 * another live payout carries the reference_id) before writing anything. Returns the payout as it is at the end:
 * `approved` by `system:policy` at or below the approval threshold.
 */
export async function requestPayout(client: Queryable, request: PayoutRequest, options: PayoutRequestOptions): Promise<PayoutRecord> {
  let amount: Map<Asset, bigint>;
  try {
    amount = parseInvoiceAmount(request.amount);
  } catch (error) {
    if (error instanceof InvoiceRequestError) throw new PayoutRequestError(error.problems);
    throw error;
  }
  checkPayoutMinimum(amount);
  let destination: string;
  try {
    destination = validateAddress(request.destination, options.network).address;
  } catch (error) {
    if (!(error instanceof InvalidAddressError)) throw error;
    throw new PayoutRefusal(
      'invalid_destination',
      `The destination cannot receive a payout on ${options.network}: ${error.reason}.`,
      422,
      'destination',
    );
  }
  const lovelace = amount.get('lovelace') ?? 0n;
  checkPayoutLimit(lovelace, options.policy);

  await client.query('SELECT pg_advisory_xact_lock($1::int, $2::int)', PAYOUT_REQUESTS_LOCK);
  // First the reference: a second request for the same withdrawal is told so, not that the first one holds the balance.
  const live = await livePayoutOf(client, request.referenceId);
  if (live) throw new PayoutReferenceInUseError(request.referenceId, live.id, live.status);
  const day = utcDay(options.now);
  const { rows: today } = await client.query<{ total: string }>(
    `SELECT coalesce(sum(lovelace), 0)::text AS total FROM payouts
      WHERE created_at >= $1 AND created_at < $2 AND status <> ALL ($3::text[])`,
    [day.start, day.end, UNCOUNTED_STATUSES],
  );
  checkDailyLimit(lovelace, BigInt(today[0]?.total ?? '0'), options.policy);
  if (request.userId !== null) {
    checkAvailableBalance(request.userId, amount, await availableBalances(client, request.userId, [...amount.keys()]));
  }

  const payout: PayoutRecord = {
    id: (options.newId ?? newPayoutId)(),
    referenceId: request.referenceId,
    userId: request.userId,
    destination,
    amount,
    status: 'requested',
    requestedBy: request.actor,
    approvedBy: null,
    approvedAt: null,
    createdAt: options.now,
    updatedAt: options.now,
    version: 1,
    failureReason: null,
    transactionId: null,
  };
  const holds = request.userId === null ? [] : [...amount].filter(([, quantity]) => quantity > 0n);
  // The payout requests' lock makes the look-up above final; the unique index holds it whatever writes (a conflict
  // inserts nothing: no hold, no event, no audit row).
  const inserted = await client.query({
    name: 'insert_payout',
    text: `WITH payout AS (
       INSERT INTO payouts (id, reference_id, user_id, destination, lovelace, assets, status, requested_by, created_at,
                            updated_at, version)
       VALUES ($1, $2, $3, $4, $5::numeric, $6::jsonb, 'requested', $7, $8, $8, 1)
       ON CONFLICT (reference_id) WHERE ${LIVE_PAYOUT} DO NOTHING
       RETURNING id, version
     ), holds AS (
       INSERT INTO payout_holds (payout_id, user_id, asset, quantity, created_at)
       SELECT payout.id, $3, h.asset, h.quantity, $8 FROM payout, unnest($9::text[], $10::numeric[]) AS h(asset, quantity)
     ), event AS (
       INSERT INTO business_events (id, type, resource_type, resource_id, version, data)
       SELECT business_event_id('payout.requested', id, version), 'payout.requested', 'payout', id, version, $11::jsonb FROM payout
     )
     INSERT INTO audit_log (action, entity_type, entity_id, actor, details)
     SELECT $12, $13, id, $7, $14::jsonb FROM payout`,
    values: [
      payout.id,
      payout.referenceId,
      payout.userId,
      payout.destination,
      lovelace.toString(),
      JSON.stringify(amountJson(amount).assets),
      payout.requestedBy,
      options.now,
      holds.map(([asset]) => asset),
      holds.map(([, quantity]) => quantity.toString()),
      JSON.stringify(payoutResource(payout)),
      payoutAuditAction('requested'),
      PAYOUT_AUDIT_ENTITY,
      JSON.stringify(auditDetails(payout, { to: 'requested' })),
    ],
  });
  if (inserted.rowCount === 0) {
    const other = await livePayoutOf(client, request.referenceId);
    if (!other) throw new Error(`Payout ${payout.id} was not inserted, and no live payout carries ${request.referenceId}`);
    throw new PayoutReferenceInUseError(request.referenceId, other.id, other.status);
  }
  if (approvedByPolicy(approvalSubjectOf(payout), options.policy)) {
    await recordPayoutTransition(client, { payoutId: payout.id, from: 'requested', to: 'approved', actor: POLICY_ACTOR, at: options.now });
  }
  return (await readPayout(client, payout.id))!;
}

/** The user's available balance of each asset: the stored balance minus the open holds (missing: zero). */
export async function availableBalances(db: Queryable, userId: string, assets: readonly Asset[]): Promise<Map<Asset, bigint>> {
  const { rows } = await db.query<{ asset: string; available: string }>(
    `SELECT a.asset,
            (coalesce(CASE WHEN a.asset = 'lovelace'
                           THEN (SELECT balance_lovelace::numeric FROM user_balances WHERE user_id = $1)
                           ELSE (SELECT quantity FROM user_asset_balances WHERE user_id = $1 AND asset = a.asset) END, 0)
             - coalesce((SELECT sum(quantity) FROM payout_holds h
                          WHERE h.user_id = $1 AND h.asset = a.asset AND h.closed_as IS NULL), 0))::text AS available
       FROM unnest($2::text[]) AS a(asset)`,
    [userId, assets],
  );
  return new Map(rows.map((row) => [row.asset, BigInt(row.available)]));
}

// ---- approval, rejection, cancellation ------------------------------------------------------------------------------

/**
 * Moves a payout the way `check` allows from its current status; a concurrent move in between is read again and
 * checked again (so the refusal names the status it ended in). Returns the payout after the move.
 */
async function moveChecked(
  client: Queryable,
  payoutId: string,
  to: PayoutStatus,
  actor: string,
  check: (payout: PayoutRecord) => void,
  reason: string | undefined,
  at: Date,
): Promise<PayoutRecord> {
  for (;;) {
    const payout = await readPayout(client, payoutId);
    if (!payout) throw new PayoutNotFoundError(payoutId);
    check(payout);
    const moved = await recordPayoutTransition(client, {
      payoutId,
      from: payout.status,
      to,
      actor,
      at,
      ...(reason === undefined ? {} : { reason }),
    });
    if (moved) return (await readPayout(client, payoutId))!;
  }
}

/** Approves a requested payout; above the threshold the approver must not be its requester (four eyes). */
export function approvePayout(client: Queryable, payoutId: string, actor: string, policy: PayoutPolicy, at: Date): Promise<PayoutRecord> {
  return moveChecked(
    client,
    payoutId,
    'approved',
    actor,
    (payout) => checkApproval({ ...approvalSubjectOf(payout), status: payout.status, requestedBy: payout.requestedBy }, actor, policy),
    undefined,
    at,
  );
}

/** Rejects a requested payout (its holds released). */
export function rejectPayout(
  client: Queryable,
  payoutId: string,
  actor: string,
  reason: string | undefined,
  at: Date,
): Promise<PayoutRecord> {
  return moveChecked(client, payoutId, 'rejected', actor, (payout) => checkReject(payout.status), reason, at);
}

/** Cancels a payout until it is signed (requested, approved, built; its holds released), never once it was. */
export async function cancelPayout(
  client: Queryable,
  payoutId: string,
  actor: string,
  reason: string | undefined,
  at: Date,
): Promise<PayoutRecord> {
  // A signed transaction stays signed: read before the move, it cannot change under it.
  const { rows } = await client.query<{ signed: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM payout_attempt_payouts x JOIN payout_attempts a ON a.transaction_id = x.transaction_id
                     WHERE x.payout_id = $1 AND a.signed_cbor IS NOT NULL) AS signed`,
    [payoutId],
  );
  const everSigned = rows[0]?.signed ?? false;
  return moveChecked(client, payoutId, 'cancelled', actor, (payout) => checkCancel(payout.status, everSigned), reason, at);
}

// ---- reads ----------------------------------------------------------------------------------------------------------

export interface PayoutFilters {
  status?: PayoutStatus;
  referenceId?: string;
  userId?: string;
}

/** A page of payouts, newest first (created_at, then id), after `position`; limit + 1 rows (the extra one says more). */
export async function listPayouts(
  db: Queryable,
  filters: PayoutFilters,
  limit: number,
  position?: { createdUs: bigint; id: string },
): Promise<(PayoutRow & { created_us: bigint })[]> {
  return newestFirstPage<PayoutRow>(db, {
    table: 'payouts',
    columns: PAYOUT_COLUMNS,
    filters: { status: filters.status, reference_id: filters.referenceId, user_id: filters.userId },
    limit,
    ...(position ? { position } : {}),
  });
}

export type { PayoutResource };
