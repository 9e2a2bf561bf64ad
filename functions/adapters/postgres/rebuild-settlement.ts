/**
 * Settling a running rebuild inside the engine's roll-forward transaction (the rules: domain/rebuild.ts).
 * Each statement is set-based; when no rebuild runs, the only cost is one lookup of a tiny table.
 *
 * Cost while a rebuild runs: each settling statement reads only held rows whose block is at or below the applied
 * height (through the index on block_height, migration 0006). Those stay few whatever the rebuild's depth: such a
 * row is settled by the step that confirms it again or finds it gone (at most CONFIRMATIONS blocks later), except
 * one waiting for a payment of the same output in another block to be confirmed or rolled back, which is rare.
 * The rows above the applied height, the bulk of a deep rebuild, are not read until the chain reaches them. The
 * one read of the whole held set, the count, is made only when the chain is back at the target height (it
 * decides completion) or on a progress line.
 */
import type pg from 'pg';
import type { HeldPaymentsSettlement, RebuildProgressUpdate, RunningRebuild } from '../../domain/ports.js';
import { PAYMENT_COLUMNS, paymentFromRow, type PaymentRow } from './payment-rows.js';
import { reversalDebitsSql } from './reversal-debits.js';
import { paymentEventsCteOf } from './business-events.js';

export async function runningRebuild(client: pg.PoolClient): Promise<RunningRebuild | null> {
  const { rows } = await client.query<{ id: bigint; point_height: bigint; target_height: bigint; progress_logged_height: bigint }>({
    name: 'running_rebuild',
    text: `SELECT id, point_height, target_height, progress_logged_height FROM rebuild_runs WHERE status = 'running' FOR UPDATE`,
  });
  const row = rows[0];
  return row
    ? { runId: row.id, pointHeight: row.point_height, targetHeight: row.target_height, progressLoggedHeight: row.progress_logged_height }
    : null;
}

export async function settleHeldPayments(
  client: pg.PoolClient,
  appliedHeight: bigint,
  confirmations: bigint,
  actor: string,
): Promise<HeldPaymentsSettlement> {
  // Found again in the very same block: the re-derived row takes back the id and times it had, so that what
  // business systems read is unchanged; the held copy goes once its status is reached again. (A row found again
  // is in an applied block, so its held copy is at or below the applied height.)
  await client.query(
    `UPDATE incoming_payments p
        SET id = h.id, detected_at = h.detected_at,
            confirmed_at = CASE WHEN p.status = 'confirmed' AND h.status = 'confirmed' THEN h.confirmed_at ELSE p.confirmed_at END
       FROM rebuild_held_payments h
      WHERE h.block_height <= $1::bigint
        AND p.tx_hash = h.tx_hash AND p.output_index = h.output_index AND p.block_hash = h.block_hash
        AND p.block_time = h.block_time AND p.status IN ('pending', 'confirmed')
        AND (p.id <> h.id OR p.detected_at <> h.detected_at OR p.confirmed_at IS DISTINCT FROM h.confirmed_at)`,
    [appliedHeight.toString()],
  );
  // The held copies let go are returned: an invoice paid by one keeps its judgement until now (invoice-judging.ts).
  const refound = await client.query<PaymentRow>(
    `DELETE FROM rebuild_held_payments h USING incoming_payments p
      WHERE h.block_height <= $1::bigint
        AND p.tx_hash = h.tx_hash AND p.output_index = h.output_index AND p.block_hash = h.block_hash
        AND p.block_time = h.block_time AND p.status IN ('pending', 'confirmed')
        AND (p.status = 'confirmed' OR h.status = 'pending')
      RETURNING h.*`,
    [appliedHeight.toString()],
  );
  // Not in its block although the chain is now as high as where it was confirmed: that block is no longer on
  // chain. Its row comes back as history. If the transaction is confirmed in another block ("moved"), the credit
  // belongs to that row now: rolled back, no debit. Otherwise a confirmed one is reversed, and if it was
  // credited it gets its one debit (occurrence = its credits: refused by the key if already there).
  const gone = await client.query<PaymentRow & { status: string; moved: boolean }>(
    `WITH deleted AS (
       DELETE FROM rebuild_held_payments h
        WHERE h.block_height <= $2::bigint - $1::bigint + 1 -- written so that the block_height index serves it
          AND NOT EXISTS (SELECT 1 FROM incoming_payments p
                           WHERE p.tx_hash = h.tx_hash AND p.output_index = h.output_index
                             AND (p.status = 'pending' OR (p.status = 'confirmed' AND p.block_hash = h.block_hash)))
        RETURNING h.* -- every column of incoming_payments: rebuild_held_payments mirrors it (0004, schema test)
     ), gone AS (
       SELECT d.*, EXISTS (SELECT 1 FROM incoming_payments p WHERE p.tx_hash = d.tx_hash
                             AND p.output_index = d.output_index AND p.status = 'confirmed') AS moved,
              (d.status = 'confirmed') AS was_confirmed
         FROM deleted d
     ), restored AS (
       INSERT INTO incoming_payments AS p (id, tx_hash, output_index, address, amount_lovelace, assets, reference_type,
                                           reference_id, user_id, block_height, block_slot, block_hash, block_time, status,
                                           detected_at, confirmed_at)
       SELECT id, tx_hash, output_index, address, amount_lovelace, assets, reference_type, reference_id, user_id,
              block_height, block_slot, block_hash, block_time,
              CASE WHEN was_confirmed AND NOT moved THEN 'reversed' ELSE 'rolled_back' END, detected_at,
              CASE WHEN was_confirmed AND NOT moved THEN confirmed_at END
         FROM gone
       ON CONFLICT (tx_hash, output_index, block_hash, block_time) DO UPDATE
         SET id = EXCLUDED.id, status = EXCLUDED.status, detected_at = EXCLUDED.detected_at,
             confirmed_at = EXCLUDED.confirmed_at, spent_by_tx_hash = NULL, spent_at_slot = NULL, spent_at_height = NULL
       RETURNING p AS payment
     ), events AS (${paymentEventsCteOf([
       { type: 'payment.reversed', source: "(SELECT payment FROM restored WHERE (payment).status = 'reversed')" },
       { type: 'payment.rolled_back', source: "(SELECT payment FROM restored WHERE (payment).status = 'rolled_back')" },
     ])}
     ), ${reversalDebitsSql(`SELECT tx_hash, output_index, user_id, amount_lovelace, assets FROM gone WHERE was_confirmed AND NOT moved`)}, audited AS (
       INSERT INTO audit_log (action, entity_type, entity_id, actor, details)
       SELECT 'payment_reversed', 'incoming_payment', tx_hash || '#' || output_index, $3,
              jsonb_build_object('block_hash', block_hash, 'block_height', block_height,
                                 'amount_lovelace', amount_lovelace::text, 'user_id', user_id,
                                 'reference_type', reference_type, 'reference_id', reference_id,
                                 'reason', 'not on chain after rebuild')
         FROM gone WHERE was_confirmed AND NOT moved
     )
     SELECT ${PAYMENT_COLUMNS}, status, moved FROM gone`,
    [confirmations.toString(), appliedHeight.toString(), actor],
  );
  return {
    refoundPayments: refound.rows.map(paymentFromRow),
    reversed: gone.rows.filter((row) => row.status === 'confirmed' && !row.moved).map(paymentFromRow),
    rolledBack: gone.rows.filter((row) => row.status !== 'confirmed' || row.moved).map(paymentFromRow),
  };
}

export async function heldPaymentCount(client: pg.PoolClient): Promise<number> {
  const { rows } = await client.query<{ held: number }>('SELECT count(*)::int AS held FROM rebuild_held_payments');
  return rows[0]!.held;
}

export async function saveRebuildProgress(client: pg.PoolClient, runId: bigint, update: RebuildProgressUpdate): Promise<void> {
  await client.query(
    `UPDATE rebuild_runs
        SET progress_height = $2, progress_logged_height = $3, payments_refound = payments_refound + $4,
            payments_reversed = payments_reversed + $5, payments_rolled_back = payments_rolled_back + $6,
            status = CASE WHEN $7 THEN 'completed' ELSE status END,
            completed_at = CASE WHEN $7 THEN now() ELSE completed_at END
      WHERE id = $1`,
    [
      runId.toString(),
      update.progressHeight.toString(),
      update.progressLoggedHeight.toString(),
      update.refound,
      update.reversed,
      update.rolledBack,
      update.completed,
    ],
  );
}
