/**
 * Payout attempts on PostgreSQL (0020_payout_attempts.sql): what the engine's transaction reads and writes to follow
 * the payouts' transactions (domain/payouts/payout-tracking.ts). Moves are rare (a few per payout), so they are
 * written one attempt at a time; the reads run at every step and use the partial index on live attempts.
 */
import type pg from 'pg';
import type { Hash, OutputReference } from '../../domain/chain.js';
import {
  type AttemptMove,
  type AttemptStatus,
  type Conflict,
  type HotWalletSpend,
  inputsAfter,
  payoutPathOf,
  type Reservation,
  type Revival,
} from '../../domain/payouts/payout-execution.js';
import type { PayoutTrackingTransaction, RevivalRecord, SettledAttempts } from '../../domain/payouts/payout-tracking.js';
import type { PayoutStatus } from '../../domain/payouts/payout-rules.js';
import { recordPayoutTransition, takeOutboxLock } from './payout-requests.js';

/** A hot-wallet spend as mark_spent's json_agg writes it. */
export interface HotWalletSpendRow {
  tx_hash: string;
  output_index: number;
  spent_by: string;
  height: string;
  block_hash: string;
}

export function hotWalletSpendFromRow(row: HotWalletSpendRow): HotWalletSpend {
  return {
    output: { txId: row.tx_hash, index: row.output_index },
    spentBy: row.spent_by,
    blockHeight: BigInt(row.height),
    blockHash: row.block_hash,
  };
}

export async function reservationsAmong(client: pg.ClientBase, outputs: readonly OutputReference[]): Promise<Reservation[]> {
  // Before reading them: a build committing between this read and the moves it leads to would make them wrong.
  await takeOutboxLock(client);
  const { rows } = await client.query<{
    tx_hash: string;
    output_index: number;
    transaction_id: string;
    status: AttemptStatus;
    earlier_transactions: string[];
  }>(
    `SELECT r.tx_hash, r.output_index, r.transaction_id, a.status, r.earlier_transactions
       FROM unnest($1::text[], $2::int[]) AS o(tx_hash, output_index)
       JOIN hot_wallet_reservations r USING (tx_hash, output_index)
       JOIN payout_attempts a ON a.transaction_id = r.transaction_id`,
    [outputs.map((output) => output.txId), outputs.map((output) => output.index)],
  );
  return rows.map((row) => ({
    output: { txId: row.tx_hash, index: row.output_index },
    transactionId: row.transaction_id,
    attemptStatus: row.status,
    earlierTransactions: row.earlier_transactions,
  }));
}

/** What is final at this depth (one statement at every roll-forward, on the partial index of live attempts). */
export async function settledAtOrBelow(client: pg.ClientBase, height: bigint): Promise<SettledAttempts> {
  const { rows } = await client.query<{
    transaction_id: string;
    status: AttemptStatus;
    conflict_reason: string | null;
    carries_earlier: boolean;
  }>({
    name: 'payout_attempts_settled',
    // An attempt confirms only if its block is still the engine's (a rebuild that lost it sent it back already).
    text: `SELECT a.transaction_id, a.status, a.conflict_reason,
                  EXISTS (SELECT 1 FROM hot_wallet_reservations r
                           WHERE r.transaction_id = a.transaction_id AND cardinality(r.earlier_transactions) > 0) AS carries_earlier
             FROM payout_attempts a
            WHERE (a.status = 'in_block' AND a.block_height <= $1 AND EXISTS (SELECT 1 FROM blocks b WHERE b.hash = a.block_hash))
               OR (a.status IN ('built', 'signed', 'submitted') AND a.conflict_height <= $1)
            ORDER BY a.block_height NULLS LAST, a.conflict_height, a.transaction_id`,
    values: [height.toString()],
  });
  return {
    confirmed: rows.filter((row) => row.status === 'in_block').map((row) => row.transaction_id),
    conflicted: rows
      .filter((row) => row.status !== 'in_block')
      .map((row) => ({
        transactionId: row.transaction_id,
        status: row.status,
        reason: row.conflict_reason ?? 'another spend',
        carriesEarlier: row.carries_earlier,
      })),
  };
}

export async function recordConflicts(client: pg.ClientBase, conflicts: readonly Conflict[]): Promise<void> {
  await client.query(
    `UPDATE payout_attempts a SET conflict_height = c.height, conflict_reason = c.reason, updated_at = now()
       FROM unnest($1::text[], $2::bigint[], $3::text[]) AS c(transaction_id, height, reason)
      WHERE a.transaction_id = c.transaction_id AND a.conflict_height IS NULL AND a.status IN ('built', 'signed', 'submitted')`,
    [conflicts.map((c) => c.transactionId), conflicts.map((c) => c.height.toString()), conflicts.map((c) => c.reason)],
  );
}

export async function clearConflictsAbove(client: pg.ClientBase, height: bigint): Promise<void> {
  await client.query(
    `UPDATE payout_attempts SET conflict_height = NULL, conflict_reason = NULL, updated_at = now()
      WHERE conflict_height > $1 AND status IN ('built', 'signed', 'submitted')`,
    [height.toString()],
  );
}

export async function attemptsInBlockAbove(client: pg.ClientBase, height: bigint): Promise<Hash[]> {
  const { rows } = await client.query<{ transaction_id: string }>(
    `SELECT transaction_id FROM payout_attempts WHERE status = 'in_block' AND block_height > $1 ORDER BY block_height, transaction_id`,
    [height.toString()],
  );
  return rows.map((row) => row.transaction_id);
}

/** Statuses after which the attempt's payouts may be built again. */
const FREES_PAYOUTS: ReadonlySet<AttemptStatus> = new Set(['expired', 'abandoned']);

/**
 * Writes each move: the attempt only from the status the move names (a repeated step, or a processor that got
 * there first, changes nothing), then every payout it carries through its path, then its inputs let go (or carried,
 * `inputsAfter`) and its payouts freed for another build when it can no longer land. Returns the moves made.
 */
export async function moveAttempts(client: pg.ClientBase, moves: readonly AttemptMove[], actor: string): Promise<AttemptMove[]> {
  const made: AttemptMove[] = [];
  if (moves.length === 0) return made;
  // Every payout writer takes the outbox's lock before any row (the engine holds it already): no waiting in a circle.
  await takeOutboxLock(client);
  for (const move of moves) {
    const { rowCount } = await client.query(
      `UPDATE payout_attempts
          SET status = $3,
              -- the block is kept while the transaction is in it (confirmed: the same block), cleared otherwise
              block_height = CASE WHEN $3 IN ('in_block', 'confirmed') THEN coalesce($4, block_height) END,
              block_hash = CASE WHEN $3 IN ('in_block', 'confirmed') THEN coalesce($5, block_hash) END,
              updated_at = now(),
              -- back from a block that left the chain: submitted again at the next run, not after the interval
              last_submitted_at = CASE WHEN $2 = 'in_block' AND $3 = 'submitted' THEN NULL ELSE last_submitted_at END,
              failure_reason = coalesce($6, failure_reason)
        WHERE transaction_id = $1 AND status = $2`,
      [
        move.transactionId,
        move.from,
        move.to,
        move.block?.height.toString() ?? null,
        move.block?.hash ?? null,
        move.to === 'failed' || move.to === 'abandoned' ? (move.reason ?? null) : null,
      ],
    );
    if (rowCount !== 1) continue;
    await walkPayouts(client, move, actor);
    // Carried inputs stay reserved under the attempt until its payouts' next transaction takes them over.
    const inputs = inputsAfter(move);
    if (inputs === 'release' || inputs === 'releaseOwn') {
      await client.query(
        `DELETE FROM hot_wallet_reservations WHERE transaction_id = $1 AND ($2 OR cardinality(earlier_transactions) = 0)`,
        [move.transactionId, inputs === 'release'],
      );
    }
    if (FREES_PAYOUTS.has(move.to)) {
      await client.query('UPDATE payout_attempt_payouts SET live = false WHERE transaction_id = $1', [move.transactionId]);
    }
    made.push(move);
  }
  return made;
}

/** The payout statuses from which a revived transaction takes its payouts back into its block (payoutPathOf's order). */
const ON_THEIR_WAY: readonly PayoutStatus[] = ['approved', 'built', 'signed', 'submitted', 'in_block'];

/**
 * Writes each revival (payout-execution.ts): the landed transaction from expired or abandoned to in_block (a repeated
 * step changes nothing), the transaction built after it abandoned with its payouts and reservations handed to it, and
 * each of its payouts still on its way walked to in_block with it (an event per status). A payout closed since
 * (cancelled after the expiry) was paid all the same: returned for a critical line, its status left as it is.
 */
export async function reviveEarlierTransactions(
  client: pg.ClientBase,
  revivals: readonly Revival[],
  actor: string,
): Promise<RevivalRecord[]> {
  const made: RevivalRecord[] = [];
  if (revivals.length === 0) return made;
  await takeOutboxLock(client);
  for (const revival of revivals) {
    const { landed, holder, block } = revival;
    const { rowCount } = await client.query(
      `UPDATE payout_attempts SET status = 'in_block', block_height = $2, block_hash = $3, updated_at = now()
        WHERE transaction_id = $1 AND status IN ('expired', 'abandoned')`,
      [landed, block.height.toString(), block.hash],
    );
    if (rowCount !== 1) continue;
    const reason = `an earlier transaction of this payout, ${landed}, landed after all (a rollback deeper than the expiry depth)`;
    if (holder !== landed) {
      await client.query(
        `UPDATE payout_attempts SET status = 'abandoned', failure_reason = $2, updated_at = now()
          WHERE transaction_id = $1 AND status IN ('built', 'signed', 'submitted', 'expired', 'abandoned')`,
        [holder, reason],
      );
      await client.query('UPDATE payout_attempt_payouts SET live = false WHERE transaction_id = $1', [holder]);
      await client.query(
        `UPDATE hot_wallet_reservations SET transaction_id = $2, earlier_transactions = array_remove(earlier_transactions || $1::text, $2)
          WHERE transaction_id = $1`,
        [holder, landed],
      );
    }
    const { rows } = await client.query<{ payout_id: string; status: PayoutStatus }>(
      `SELECT x.payout_id, p.status FROM payout_attempt_payouts x JOIN payouts p ON p.id = x.payout_id
        WHERE x.transaction_id = $1 ORDER BY x.payout_id`,
      [landed],
    );
    const record: RevivalRecord = { ...revival, payouts: [], paidThoughClosed: [] };
    for (const { payout_id: payoutId, status } of rows) {
      const from = ON_THEIR_WAY.indexOf(status);
      if (from < 0) {
        record.paidThoughClosed.push({ payoutId, status });
        continue;
      }
      await client.query('UPDATE payout_attempt_payouts SET live = true WHERE transaction_id = $1 AND payout_id = $2', [landed, payoutId]);
      for (const [index, to] of ON_THEIR_WAY.entries()) {
        if (index <= from) continue;
        await recordPayoutTransition(client, { payoutId, from: ON_THEIR_WAY[index - 1]!, to, actor, reason, transactionId: landed });
      }
      record.payouts.push(payoutId);
    }
    made.push(record);
  }
  return made;
}

async function walkPayouts(client: pg.ClientBase, move: AttemptMove, actor: string): Promise<void> {
  for (const payoutId of await payoutsOf(client, move.transactionId)) {
    let from: PayoutStatus = payoutStatusCarriedBy(move.from);
    for (const to of payoutPathOf(move)) {
      // Back to approved, the payout has no transaction until the next build names one.
      const transactionId = to === 'approved' ? null : move.transactionId;
      await recordPayoutTransition(client, { payoutId, from, to, actor, reason: move.reason, transactionId });
      from = to;
    }
  }
}

/** The payouts a live transaction carries (a transaction taken up again carries only those of its new build). */
export async function payoutsOf(client: pg.ClientBase, transactionId: string): Promise<string[]> {
  const { rows } = await client.query<{ payout_id: string }>(
    'SELECT payout_id FROM payout_attempt_payouts WHERE transaction_id = $1 AND live ORDER BY payout_id',
    [transactionId],
  );
  return rows.map((row) => row.payout_id);
}

/** A live transaction's payouts are in the status of the same name. */
function payoutStatusCarriedBy(status: AttemptStatus): PayoutStatus {
  if (status === 'abandoned') throw new Error('an abandoned payout transaction moves no further');
  return status;
}

/** The payout tracking of a transaction on this client (the engine's, or a rebuild's reset). */
export function payoutTrackingOn(client: pg.ClientBase): PayoutTrackingTransaction {
  return {
    reservationsAmong: (outputs) => reservationsAmong(client, outputs),
    settledAtOrBelow: (height) => settledAtOrBelow(client, height),
    attemptsInBlockAbove: (height) => attemptsInBlockAbove(client, height),
    recordConflicts: (conflicts) => recordConflicts(client, conflicts),
    clearConflictsAbove: (height) => clearConflictsAbove(client, height),
    moveAttempts: (moves, actor) => moveAttempts(client, moves, actor),
    reviveEarlierTransactions: (revivals, actor) => reviveEarlierTransactions(client, revivals, actor),
  };
}
