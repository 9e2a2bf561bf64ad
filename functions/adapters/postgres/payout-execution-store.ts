/**
 * The payout processor's store on PostgreSQL (domain/payouts/payout-processor.ts). Every write is its own short
 * transaction; a build holds the hot wallet's build lock (one builder at a time), and the reservations' primary key
 * refuses any input two transactions would share even without it.
 */
import type pg from 'pg';
import type { AssetQuantity } from '../../domain/chain.js';
import { HOT_WALLET_REFERENCE_TYPE } from '../../domain/hot-wallet.js';
import { type AttemptMove, type AttemptStatus, outputKey } from '../../domain/payouts/payout-execution.js';
import type { AttemptRecord, BuildSession, CarriedAttempt, PayoutExecutionStore } from '../../domain/payouts/payout-processor.js';
import type { BuiltTransaction, DeferredPayout, PayoutOutput, SpendableOutput } from '../../domain/payouts/transaction-builder.js';
import { assetsFromJson } from './payment-rows.js';
import { moveAttempts, payoutsOf } from './payout-attempts.js';
import { recordPayoutTransition, takeOutboxLock } from './payout-requests.js';
import { inTransaction } from './pool.js';

/** The hot wallet's build lock: class "POUT", key 1 (key 0 serialises payout requests). */
const BUILD_LOCK: [number, number] = [0x504f5554, 1];

interface AttemptRow {
  transaction_id: string;
  status: AttemptStatus;
  body_cbor: Buffer;
  signed_cbor: Buffer | null;
  valid_until_slot: string;
  submissions: number;
  first_sent_at: Date | null;
  last_submitted_at: Date | null;
}

export class PostgresPayoutExecutionStore implements PayoutExecutionStore {
  constructor(private readonly pool: pg.Pool) {}

  async confirmedSlot(confirmations: number): Promise<bigint | null> {
    const { rows } = await this.pool.query<{ slot: string | null }>(
      `SELECT max(b.slot)::text AS slot FROM blocks b, sync_state s
        WHERE s.id = 1 AND b.height = s.last_block_height - $1 + 1`,
      [confirmations],
    );
    return rows[0]?.slot == null ? null : BigInt(rows[0].slot);
  }

  async attemptsIn(statuses: readonly AttemptStatus[]): Promise<AttemptRecord[]> {
    const { rows } = await this.pool.query<AttemptRow>(
      `SELECT transaction_id, status, body_cbor, signed_cbor, valid_until_slot::text, submissions, first_sent_at,
              last_submitted_at
         FROM payout_attempts WHERE status = ANY($1::text[]) ORDER BY created_at, transaction_id`,
      [statuses],
    );
    return rows.map((row) => ({
      transactionId: row.transaction_id,
      status: row.status,
      bodyCbor: new Uint8Array(row.body_cbor),
      signedCbor: row.signed_cbor && new Uint8Array(row.signed_cbor),
      validUntilSlot: BigInt(row.valid_until_slot),
      submissions: row.submissions,
      firstSentAt: row.first_sent_at,
      lastSubmittedAt: row.last_submitted_at,
    }));
  }

  async moveAttempts(moves: readonly AttemptMove[], actor: string): Promise<AttemptMove[]> {
    const made: AttemptMove[] = [];
    for (const move of moves) made.push(...(await inTransaction(this.pool, (client) => moveAttempts(client, [move], actor))));
    return made;
  }

  build<T>(work: (session: BuildSession) => Promise<T>): Promise<T | undefined> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1, $2) AS locked', BUILD_LOCK);
      if (!rows[0]?.locked) return undefined;
      return work(new PostgresBuildSession(client));
    });
  }

  /**
   * built → signed, only if every payout of the transaction is still built: one cancelled meanwhile (cancel is
   * allowed until signed) must not be paid, so the transaction is abandoned instead and the others built again.
   */
  async recordSigned(transactionId: string, signedCbor: Uint8Array, actor: string, at: Date): Promise<boolean> {
    try {
      return await inTransaction(this.pool, async (client) => {
        await takeOutboxLock(client);
        const { rowCount } = await client.query(
          `UPDATE payout_attempts SET status = 'signed', signed_cbor = $2, updated_at = $3
            WHERE transaction_id = $1 AND status = 'built'`,
          [transactionId, Buffer.from(signedCbor), at],
        );
        if (rowCount !== 1) return false;
        for (const payoutId of await payoutsOf(client, transactionId)) {
          const moved = await recordPayoutTransition(client, { payoutId, from: 'built', to: 'signed', actor, transactionId, at });
          if (!moved) throw new PayoutLeftBuilt(payoutId);
        }
        return true;
      });
    } catch (error) {
      if (!(error instanceof PayoutLeftBuilt)) throw error;
      await this.moveAttempts([{ transactionId, from: 'built', to: 'abandoned', reason: error.message }], actor);
      return false;
    }
  }

  async oldestApprovedAt(): Promise<Date | null> {
    const { rows } = await this.pool.query<{ at: Date | null }>(
      `SELECT min(p.approved_at) AS at FROM payouts p
        WHERE p.status = 'approved'
          AND NOT EXISTS (SELECT 1 FROM payout_attempt_payouts x WHERE x.payout_id = p.id AND x.live)`,
    );
    return rows[0]?.at ?? null;
  }

  async recordSend(transactionId: string, at: Date): Promise<number> {
    const { rows } = await this.pool.query<{ sends: number }>(
      `UPDATE payout_attempts SET sends = sends + 1, first_sent_at = coalesce(first_sent_at, $2) WHERE transaction_id = $1
       RETURNING sends`,
      [transactionId, at],
    );
    return rows[0]?.sends ?? 0;
  }

  async hotWalletBalance(): Promise<{ recorded: bigint; spendable: bigint }> {
    const { rows } = await this.pool.query<{ recorded: string; spendable: string }>(
      `SELECT coalesce(sum(p.amount_lovelace), 0)::text AS recorded,
              coalesce(sum(p.amount_lovelace) FILTER (
                WHERE p.status = 'confirmed' AND NOT EXISTS (
                  SELECT 1 FROM hot_wallet_reservations r WHERE r.tx_hash = p.tx_hash AND r.output_index = p.output_index)), 0)::text AS spendable
         FROM incoming_payments p
        WHERE p.reference_type = $1 AND p.spent_by_tx_hash IS NULL AND p.status IN ('pending', 'confirmed')`,
      [HOT_WALLET_REFERENCE_TYPE],
    );
    return { recorded: BigInt(rows[0]!.recorded), spendable: BigInt(rows[0]!.spendable) };
  }

  recordSubmission(transactionId: string, refusal: string | null, actor: string, at: Date): Promise<void> {
    return inTransaction(this.pool, async (client) => {
      await takeOutboxLock(client);
      const { rows } = await client.query<{ status: AttemptStatus }>(
        `UPDATE payout_attempts SET submissions = submissions + 1, last_submitted_at = $3, last_submit_error = $2
          WHERE transaction_id = $1
          RETURNING status`,
        [transactionId, refusal, at],
      );
      if (refusal === null && rows[0]?.status === 'signed') {
        await moveAttempts(client, [{ transactionId, from: 'signed', to: 'submitted' }], actor);
      }
    });
  }
}

class PayoutLeftBuilt extends Error {
  constructor(payoutId: string) {
    super(`payout ${payoutId} left built (cancelled) before its transaction was signed`);
  }
}

/** The payouts a carried attempt holds inputs for: never in an ordinary build (payout-execution.ts `inputsAfter`). */
const CARRIED_PAYOUT_IDS = `SELECT x.payout_id FROM hot_wallet_reservations r
                             JOIN payout_attempt_payouts x ON x.transaction_id = r.transaction_id AND NOT x.live`;

interface PayoutRow {
  id: string;
  destination: string;
  lovelace: string;
  assets: Record<string, string>;
}

function payoutOutputFromRow(row: PayoutRow): PayoutOutput {
  return {
    payoutId: row.id,
    address: row.destination,
    lovelace: BigInt(row.lovelace),
    assets: Object.entries(row.assets).map(([asset, quantity]): AssetQuantity => {
      const [policyId, assetName = ''] = asset.split('.');
      return { policyId: policyId!, assetName, quantity: BigInt(quantity) };
    }),
  };
}

interface OutputRow {
  tx_hash: string;
  output_index: number;
  address: string;
  amount_lovelace: string;
  assets: Record<string, Record<string, string>>;
}

function spendableFromRow(row: OutputRow): SpendableOutput {
  return {
    txId: row.tx_hash,
    index: row.output_index,
    address: row.address,
    lovelace: BigInt(row.amount_lovelace),
    assets: assetsFromJson(row.assets),
  };
}

class PostgresBuildSession implements BuildSession {
  constructor(private readonly client: pg.ClientBase) {}

  async approvedPayouts(limit: number, retryAfter: Date): Promise<PayoutOutput[]> {
    const { rows } = await this.client.query<PayoutRow>(
      `SELECT p.id, p.destination, p.lovelace::text, p.assets
         FROM payouts p
        WHERE p.status = 'approved'
          AND NOT EXISTS (SELECT 1 FROM payout_attempt_payouts x WHERE x.payout_id = p.id AND x.live)
          AND p.id NOT IN (${CARRIED_PAYOUT_IDS})
          AND NOT EXISTS (SELECT 1 FROM payout_deferrals d WHERE d.payout_id = p.id AND d.deferred_at > $2)
        ORDER BY p.created_at, p.id
        LIMIT $1`,
      [limit, retryAfter],
    );
    return rows.map(payoutOutputFromRow);
  }

  async carriedAttempts(finalDepth: number): Promise<CarriedAttempt[]> {
    // Driven by the reservations (a few at a time), not by every attempt that ever expired.
    const { rows } = await this.client.query<{ transaction_id: string }>(
      `SELECT a.transaction_id FROM payout_attempts a
        WHERE a.transaction_id IN (SELECT r.transaction_id FROM hot_wallet_reservations r)
          AND a.status IN ('expired', 'abandoned')
        ORDER BY a.created_at, a.transaction_id`,
    );
    const carried: CarriedAttempt[] = [];
    for (const { transaction_id: transactionId } of rows) {
      const payouts = await this.client.query<PayoutRow>(
        `SELECT p.id, p.destination, p.lovelace::text, p.assets
           FROM payout_attempt_payouts x JOIN payouts p ON p.id = x.payout_id
          WHERE x.transaction_id = $1 AND p.status = 'approved'
          ORDER BY p.created_at, p.id`,
        [transactionId],
      );
      // Unspent as far as the engine saw, confirmed or not (a rollback deep enough to unconfirm one is the very case
      // the carrying is for); spent, only in a block `finalDepth` deep or deeper; anything else (spent in a block still
      // shallow, its own block rolled back, a rebuild that has not found it again) unknown.
      const inputs = await this.client.query<OutputRow & { state: 'unspent' | 'spent' | 'unknown' }>(
        `SELECT r.tx_hash, r.output_index, p.address, p.amount_lovelace::text, p.assets,
                CASE WHEN p.tx_hash IS NULL THEN 'unknown'
                     WHEN p.spent_by_tx_hash IS NULL THEN 'unspent'
                     WHEN p.spent_at_slot <= (SELECT max(b.slot) FROM blocks b, sync_state s
                                               WHERE s.id = 1 AND b.height = s.last_block_height - $3 + 1) THEN 'spent'
                     ELSE 'unknown' END AS state
           FROM hot_wallet_reservations r
           LEFT JOIN LATERAL (
             SELECT * FROM incoming_payments p
              WHERE p.tx_hash = r.tx_hash AND p.output_index = r.output_index AND p.reference_type = $2
                AND p.status IN ('pending', 'confirmed')
              LIMIT 1) p ON true
          WHERE r.transaction_id = $1
          ORDER BY r.tx_hash, r.output_index`,
        [transactionId, HOT_WALLET_REFERENCE_TYPE, finalDepth],
      );
      carried.push({
        transactionId,
        payouts: payouts.rows.map(payoutOutputFromRow),
        inputs: inputs.rows.filter((row) => row.state === 'unspent').map(spendableFromRow),
        unknownInputs: inputs.rows.filter((row) => row.state === 'unknown').length,
      });
    }
    return carried;
  }

  private async stillCarried(transactionId: string): Promise<boolean> {
    const { rows } = await this.client.query(
      `SELECT 1 FROM payout_attempts a
        WHERE a.transaction_id = $1 AND a.status IN ('expired', 'abandoned')
          AND EXISTS (SELECT 1 FROM hot_wallet_reservations r WHERE r.transaction_id = a.transaction_id)`,
      [transactionId],
    );
    return rows.length === 1;
  }

  /** Lets the carried attempt's inputs go and returns, per output, the transactions of ours that spend it so far. */
  private async takeOverCarried(carriedFrom: string, successor: string): Promise<Map<string, string[]>> {
    const { rows } = await this.client.query<{ tx_hash: string; output_index: number; earlier: string[] }>(
      `SELECT tx_hash, output_index, earlier_transactions || transaction_id AS earlier
         FROM hot_wallet_reservations WHERE transaction_id = $1`,
      [carriedFrom],
    );
    await this.releaseCarried(carriedFrom);
    return new Map(
      rows.map((row) => [outputKey({ txId: row.tx_hash, index: row.output_index }), row.earlier.filter((id) => id !== successor)]),
    );
  }

  async releaseCarried(transactionId: string): Promise<void> {
    await this.client.query(
      `DELETE FROM hot_wallet_reservations r USING payout_attempts a
        WHERE r.transaction_id = $1 AND a.transaction_id = r.transaction_id AND a.status IN ('expired', 'abandoned')`,
      [transactionId],
    );
  }

  async recordDeferrals(deferrals: readonly DeferredPayout[], at: Date): Promise<void> {
    if (deferrals.length === 0) return;
    await this.client.query(
      `INSERT INTO payout_deferrals (payout_id, reason, detail, deferred_at)
       SELECT *, $4::timestamptz FROM unnest($1::text[], $2::text[], $3::text[])
       ON CONFLICT (payout_id) DO UPDATE SET reason = EXCLUDED.reason, detail = EXCLUDED.detail, deferred_at = EXCLUDED.deferred_at`,
      [deferrals.map((d) => d.payoutId), deferrals.map((d) => d.reason), deferrals.map((d) => d.detail), at],
    );
  }

  async spendableOutputs(): Promise<SpendableOutput[]> {
    // Confirmed outputs only: change of a transaction still shallow could leave the chain with it.
    const { rows } = await this.client.query<OutputRow>(
      `SELECT p.tx_hash, p.output_index, p.address, p.amount_lovelace::text, p.assets
         FROM incoming_payments p
        WHERE p.reference_type = $1 AND p.status = 'confirmed' AND p.spent_by_tx_hash IS NULL
          AND NOT EXISTS (SELECT 1 FROM hot_wallet_reservations r
                           WHERE r.tx_hash = p.tx_hash AND r.output_index = p.output_index)
        ORDER BY p.block_height, p.tx_hash, p.output_index`,
      [HOT_WALLET_REFERENCE_TYPE],
    );
    return rows.map(spendableFromRow);
  }

  async saveAttempt(built: BuiltTransaction, actor: string, at: Date, carriedFrom?: string): Promise<boolean> {
    await takeOutboxLock(this.client);
    // Read before the lock, the carried attempt may have been revived since (the engine found it in a block).
    if (carriedFrom && !(await this.stillCarried(carriedFrom))) return false;
    // First, while the carried attempt is still expired or abandoned (the same transaction may be taken up again):
    // the outputs it carried remember it (and those before it) as earlier spenders.
    const earlier = carriedFrom ? await this.takeOverCarried(carriedFrom, built.transactionId) : new Map<string, string[]>();
    // The same payouts from the same outputs in the same second make the same transaction: one abandoned before any
    // node took it is taken up again (an attempt that may still land is live, and its outputs are reserved).
    const { rowCount } = await this.client.query(
      `INSERT INTO payout_attempts (transaction_id, status, body_cbor, fee_lovelace, valid_until_slot, built_by, created_at, updated_at)
       VALUES ($1, 'built', $2, $3, $4, $5, $6, $6)
       ON CONFLICT (transaction_id) DO UPDATE
         SET status = 'built', signed_cbor = NULL, failure_reason = NULL, last_submit_error = NULL, conflict_height = NULL,
             conflict_reason = NULL, sends = 0, submissions = 0, first_sent_at = NULL, last_submitted_at = NULL, updated_at = $6
         WHERE payout_attempts.status = 'abandoned'`,
      [built.transactionId, Buffer.from(built.bodyCbor), built.fee.toString(), built.validUntilSlot.toString(), actor, at],
    );
    if (rowCount !== 1) throw new Error(`transaction ${built.transactionId} was built before and may still reach the chain`);
    await this.client.query(
      `INSERT INTO payout_attempt_payouts (transaction_id, payout_id, lovelace_sent, output_index)
       SELECT $1, * FROM unnest($2::text[], $3::numeric[], $4::int[])
       ON CONFLICT (transaction_id, payout_id) DO UPDATE SET live = true`,
      [
        built.transactionId,
        built.included.map((payout) => payout.payoutId),
        built.included.map((payout) => payout.lovelaceSent.toString()),
        built.included.map((payout) => payout.outputIndex),
      ],
    );
    // A reserved input makes the whole build fail (unique violation): the transaction rolls back, nothing is kept.
    await this.client.query(
      `INSERT INTO hot_wallet_reservations (tx_hash, output_index, transaction_id, reserved_at, earlier_transactions)
       SELECT i.tx_hash, i.output_index, $3, $4, ARRAY(SELECT jsonb_array_elements_text(i.earlier::jsonb))
         FROM unnest($1::text[], $2::int[], $5::text[]) AS i(tx_hash, output_index, earlier)`,
      [
        built.inputs.map((input) => input.txId),
        built.inputs.map((input) => input.index),
        built.transactionId,
        at,
        built.inputs.map((input) => JSON.stringify(earlier.get(outputKey(input)) ?? [])),
      ],
    );
    for (const payout of built.included) {
      const moved = await recordPayoutTransition(this.client, {
        payoutId: payout.payoutId,
        from: 'approved',
        to: 'built',
        actor,
        transactionId: built.transactionId,
        at,
      });
      if (!moved) throw new Error(`payout ${payout.payoutId} left approved while its transaction was built`);
    }
    return true;
  }
}
