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
  type HotWalletSpend,
  payoutPathOf,
  type Reservation,
} from '../../domain/payouts/payout-execution.js';
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
  const { rows } = await client.query<{ tx_hash: string; output_index: number; transaction_id: string; status: AttemptStatus }>(
    `SELECT r.tx_hash, r.output_index, r.transaction_id, a.status
       FROM unnest($1::text[], $2::int[]) AS o(tx_hash, output_index)
       JOIN hot_wallet_reservations r USING (tx_hash, output_index)
       JOIN payout_attempts a ON a.transaction_id = r.transaction_id`,
    [outputs.map((output) => output.txId), outputs.map((output) => output.index)],
  );
  return rows.map((row) => ({
    output: { txId: row.tx_hash, index: row.output_index },
    transactionId: row.transaction_id,
    attemptStatus: row.status,
  }));
}

export async function attemptsInBlockAtOrBelow(client: pg.ClientBase, height: bigint): Promise<Hash[]> {
  const { rows } = await client.query<{ transaction_id: string }>({
    name: 'payout_attempts_deep_enough',
    text: `SELECT transaction_id FROM payout_attempts WHERE status = 'in_block' AND block_height <= $1 ORDER BY block_height, transaction_id`,
    values: [height.toString()],
  });
  return rows.map((row) => row.transaction_id);
}

export async function attemptsInBlockAbove(client: pg.ClientBase, height: bigint): Promise<Hash[]> {
  const { rows } = await client.query<{ transaction_id: string }>(
    `SELECT transaction_id FROM payout_attempts WHERE status = 'in_block' AND block_height > $1 ORDER BY block_height, transaction_id`,
    [height.toString()],
  );
  return rows.map((row) => row.transaction_id);
}

/** Statuses in which an attempt's inputs are no longer ours to hold: it can never reach the chain, or it is final. */
const RELEASES_INPUTS: ReadonlySet<AttemptStatus> = new Set(['confirmed', 'expired', 'failed', 'abandoned']);
/** Statuses after which the attempt's payouts may be built again. */
const FREES_PAYOUTS: ReadonlySet<AttemptStatus> = new Set(['expired', 'abandoned']);

/**
 * Writes each move: the attempt only from the status the move names (a repeated step, or a processor that got
 * there first, changes nothing), then its inputs and payouts, then every payout through its path. Returns the
 * moves made.
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
    if (RELEASES_INPUTS.has(move.to)) {
      await client.query('DELETE FROM hot_wallet_reservations WHERE transaction_id = $1', [move.transactionId]);
    }
    if (FREES_PAYOUTS.has(move.to)) {
      await client.query('UPDATE payout_attempt_payouts SET live = false WHERE transaction_id = $1', [move.transactionId]);
    }
    await walkPayouts(client, move, actor);
    made.push(move);
  }
  return made;
}

async function walkPayouts(client: pg.ClientBase, move: AttemptMove, actor: string): Promise<void> {
  for (const payoutId of await payoutsOf(client, move.transactionId)) {
    let from: PayoutStatus = payoutStatusCarriedBy(move.from);
    for (const to of payoutPathOf(move)) {
      await recordPayoutTransition(client, { payoutId, from, to, actor, reason: move.reason, transactionId: move.transactionId });
      from = to;
    }
  }
}

/** The payouts a transaction carries. */
export async function payoutsOf(client: pg.ClientBase, transactionId: string): Promise<string[]> {
  const { rows } = await client.query<{ payout_id: string }>(
    'SELECT payout_id FROM payout_attempt_payouts WHERE transaction_id = $1 ORDER BY payout_id',
    [transactionId],
  );
  return rows.map((row) => row.payout_id);
}

/** A live transaction's payouts are in the status of the same name. */
function payoutStatusCarriedBy(status: AttemptStatus): PayoutStatus {
  if (status === 'abandoned') throw new Error('an abandoned payout transaction moves no further');
  return status;
}
