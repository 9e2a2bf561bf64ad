import type pg from 'pg';
import type { Hash } from '../../domain/chain.js';
import type {
  AppliedBlock,
  Confirmation,
  EngineTransaction,
  LockedSyncPosition,
  OutputInBlock,
  Payment,
  PaymentStore,
  RollbackOutcome,
  Spend,
  SpendOutcome,
  SyncPosition,
} from '../../domain/ports.js';
import { DEFAULT_RETAINED_BLOCKS } from '../../domain/payment-engine.js';
import { loadDueFilters, PaymentTransactionFilter, RegisteredAddressFilter, storeDueFilters } from './candidate-filters.js';
import { inTransaction } from './pool.js';
import { reversalDebitsSql } from './reversal-debits.js';
import type { HeldPaymentsSettlement, RebuildProgressUpdate, RunningRebuild } from '../../domain/ports.js';
import { inChainOrder, type Logger } from '../../domain/ports.js';
import { describeError, LogEvent } from '../../domain/observability.js';
import { heldPaymentCount, runningRebuild, saveRebuildProgress, settleHeldPayments } from './rebuild-settlement.js';
import { assetsToJson, PAYMENT_COLUMNS, paymentFromRow, type PaymentRow } from './payment-rows.js';
import { paymentEventsCte, paymentEventsCteOf } from './business-events.js';
import type { InvoiceChange, InvoiceToJudge } from '../../domain/invoices/invoice-judging.js';
import type { ChainTip } from '../../domain/invoices/invoice-rules.js';
import { invoicesToJudge, saveInvoiceJudgements } from './invoice-judging-store.js';
import { HOT_WALLET_REFERENCE_TYPE } from '../../domain/hot-wallet.js';
import type { AttemptMove, Conflict, Reservation, Revival } from '../../domain/payouts/payout-execution.js';
import type { OutputReference } from '../../domain/chain.js';
import type { PayoutTrackingTransaction, RevivalRecord, SettledAttempts } from '../../domain/payouts/payout-tracking.js';
import { hotWalletSpendFromRow, type HotWalletSpendRow, payoutTrackingOn } from './payout-attempts.js';

/**
 * A rebuild's held copy `h` as the `incoming_payments` row its settlement restores when the output is in another
 * block: rolled back, its confirmation and spend cleared (rebuild_held_payments mirrors incoming_payments' columns).
 */
const HELD_COPY_ROLLED_BACK = `jsonb_populate_record(NULL::incoming_payments, to_jsonb(h) || jsonb_build_object(
  'status', 'rolled_back', 'confirmed_at', NULL, 'spent_by_tx_hash', NULL, 'spent_at_slot', NULL, 'spent_at_height', NULL))`;

export interface PostgresPaymentStoreOptions {
  /** How deep a rollback can reach; spends within it stay in the spend filter. */
  retainedBlocks?: number;
  /** Told when storing a candidate filter fails (the next cold instance then loads it from the tables). */
  logger?: Logger;
}

/** The payment engine's store on PostgreSQL: one transaction per chain event, set-based statements. */
export class PostgresPaymentStore implements PaymentStore {
  private readonly addresses = new RegisteredAddressFilter();
  private readonly paymentTransactions: PaymentTransactionFilter;
  private readonly logger: Logger | undefined;

  constructor(
    protected readonly pool: pg.Pool,
    options: PostgresPaymentStoreOptions = {},
  ) {
    this.paymentTransactions = new PaymentTransactionFilter(BigInt(options.retainedBlocks ?? DEFAULT_RETAINED_BLOCKS));
    this.logger = options.logger;
  }

  async inTransaction<T>(work: (tx: EngineTransaction) => Promise<T>): Promise<T> {
    const filters = [this.addresses, this.paymentTransactions];
    // Filters that are due (a cold instance, a filter over capacity) load first, in a snapshot of their own, so
    // the sync position lock is not held while they read; the transaction then catches up from that snapshot.
    await loadDueFilters(this.pool, filters);
    const result = await inTransaction(this.pool, (client) => work(this.transactionOn(client)));
    // After the commit, so that the lock is not held while a filter is written; storing never fails the batch.
    await storeDueFilters(this.pool, filters, (error) =>
      this.logger?.warn(LogEvent.candidateFilterStoreFailed, { error: describeError(error) }),
    );
    return result;
  }

  protected transactionOn(client: pg.PoolClient): EngineTransaction {
    return new PostgresEngineTransaction(client, this.addresses, this.paymentTransactions);
  }
}

interface BlockRow {
  hash: string;
  height: bigint;
  slot: bigint;
  ancestor: string;
  block_time: Date;
}

export class PostgresEngineTransaction implements EngineTransaction {
  /** Read with the sync position lock: a change (a rebuild) makes the spend filter load again. */
  private syncGeneration: bigint | undefined;
  /** The payouts' part of the step (payout-attempts.ts). */
  private readonly payouts: PayoutTrackingTransaction;

  constructor(
    protected readonly client: pg.PoolClient,
    private readonly addresses: RegisteredAddressFilter,
    private readonly paymentTransactions: PaymentTransactionFilter,
  ) {
    this.payouts = payoutTrackingOn(client);
  }

  /**
   * Hot statements are prepared once per connection: planning these partition-wide statements costs more
   * than running them.
   */
  protected prepared<R extends pg.QueryResultRow>(name: string, text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.client.query<R>({ name, text, values });
  }

  async lockSyncPosition(): Promise<LockedSyncPosition> {
    const { rows } = await this.prepared<
      {
        last_block_hash: string | null;
        network_tip_height: bigint | null;
        sync_generation: bigint;
        fence_token: bigint;
        applied_step: bigint;
        halted_reason: string | null;
      } & Partial<BlockRow>
    >(
      'lock_sync_position',
      `SELECT s.last_block_hash, s.network_tip_height, s.sync_generation, s.fence_token, s.applied_step, s.halted_reason,
              b.hash, b.height, b.slot, b.ancestor, b.block_time
         FROM sync_state s LEFT JOIN blocks b ON b.hash = s.last_block_hash
        WHERE s.id = 1 FOR UPDATE OF s`,
    );
    const row = rows[0];
    if (!row) throw new Error('sync_state has no row: the database is not migrated');
    this.syncGeneration = row.sync_generation;
    if (row.last_block_hash !== null && row.hash === undefined) {
      throw new Error(`sync_state names block ${row.last_block_hash}, which is missing from blocks`);
    }
    return {
      tip: row.last_block_hash === null ? null : toAppliedBlock(row as BlockRow),
      networkTipHeight: row.network_tip_height,
      session: {
        generation: row.sync_generation,
        fence: row.fence_token,
        appliedStep: row.applied_step,
        haltedReason: row.halted_reason,
      },
    };
  }

  async recordAppliedStep(step: bigint): Promise<void> {
    await this.prepared('record_applied_step', 'UPDATE sync_state SET applied_step = $1 WHERE id = 1', [step.toString()]);
  }

  async appliedBlocks(hashes: readonly Hash[]): Promise<Set<Hash>> {
    const { rows } = await this.prepared<{ hash: string }>('applied_blocks', 'SELECT hash FROM blocks WHERE hash = ANY($1::text[])', [
      hashes,
    ]);
    return new Set(rows.map((row) => row.hash));
  }

  async findBlock(hash: Hash): Promise<AppliedBlock | null> {
    const { rows } = await this.client.query<BlockRow>('SELECT hash, height, slot, ancestor, block_time FROM blocks WHERE hash = $1', [
      hash,
    ]);
    return rows[0] ? toAppliedBlock(rows[0]) : null;
  }

  async appendBlocks(blocks: readonly AppliedBlock[], checkpoints: readonly AppliedBlock[]): Promise<void> {
    await this.prepared(
      'append_blocks',
      `INSERT INTO blocks (hash, height, slot, ancestor, block_time)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::timestamptz[])`,
      blockColumns(blocks),
    );
    if (checkpoints.length === 0) return;
    await this.prepared(
      'append_checkpoints',
      `INSERT INTO checkpoints (hash, height, slot, block_time)
       SELECT hash, height, slot, block_time
         FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::timestamptz[])
           AS c(hash, height, slot, ancestor, block_time)
       ON CONFLICT DO NOTHING`,
      blockColumns(checkpoints),
    );
  }

  async recordPayments(outputs: readonly OutputInBlock[], detectedAt: Date): Promise<Payment[]> {
    await this.addresses.refresh(this.client);
    const candidates = outputs.filter(({ output }) => this.addresses.mightContain(output.address));
    if (candidates.length === 0) return [];
    const { rows } = await this.prepared<PaymentRow>(
      'record_payments',
      `WITH recorded AS (
       INSERT INTO incoming_payments AS p (tx_hash, output_index, address, amount_lovelace, assets, reference_type,
                                      reference_id, user_id, block_height, block_slot, block_hash, block_time,
                                      detected_at)
       SELECT o.tx_hash, o.output_index, o.address, o.amount_lovelace, o.assets, a.reference_type, a.reference_id,
              a.user_id, o.block_height, o.block_slot, o.block_hash, o.block_time, $10
         FROM unnest($1::text[], $2::int[], $3::text[], $4::bigint[], $5::jsonb[], $6::bigint[], $7::bigint[],
                     $8::text[], $9::timestamptz[]) WITH ORDINALITY
           AS o(tx_hash, output_index, address, amount_lovelace, assets, block_height, block_slot, block_hash,
                block_time, chain_order)
         JOIN payment_addresses a ON a.address = o.address
        ORDER BY o.chain_order -- ids follow chain order
       -- the same block back on the chain: its payment row, rolled back or reversed before, is pending again
       ON CONFLICT (tx_hash, output_index, block_hash, block_time) DO UPDATE
         SET status = 'pending', confirmed_at = NULL, detected_at = EXCLUDED.detected_at,
             spent_by_tx_hash = NULL, spent_at_slot = NULL, spent_at_height = NULL
         WHERE p.status IN ('rolled_back', 'reversed')
       RETURNING p AS payment, ${PAYMENT_COLUMNS}
       ), events AS (${paymentEventsCteOf([
         // A rebuild's held copy of the output in another block: that block is no longer on the chain being
         // re-derived, so consumers are told it left (as the settlement will record it) before they are told the
         // new block, and the output's highest version is its current state.
         {
           type: 'payment.rolled_back',
           source: `(SELECT ${HELD_COPY_ROLLED_BACK} AS payment, r.payment AS recorded
                       FROM recorded r JOIN rebuild_held_payments h
                         ON h.tx_hash = r.tx_hash AND h.output_index = r.output_index AND h.block_hash <> (r.payment).block_hash)`,
           orderBy: 's.recorded',
         },
         { type: 'payment.detected', source: 'recorded' },
       ])})
       SELECT ${PAYMENT_COLUMNS} FROM recorded`,
      [
        candidates.map((o) => o.output.txId),
        candidates.map((o) => o.output.index),
        candidates.map((o) => o.output.address),
        candidates.map((o) => o.output.lovelace.toString()),
        candidates.map((o) => assetsToJson(o.output.assets)),
        candidates.map((o) => o.block.height.toString()),
        candidates.map((o) => o.block.slot.toString()),
        candidates.map((o) => o.block.hash),
        candidates.map((o) => o.block.time.toISOString()),
        detectedAt,
      ],
    );
    // A revived row keeps its id, so the spend filter's watermark would not see it.
    for (const row of rows) this.paymentTransactions.include(row.tx_hash);
    return sortedPayments(rows);
  }

  async markSpent(spends: readonly Spend[]): Promise<SpendOutcome> {
    await this.paymentTransactions.refresh(this.client, this.syncGeneration);
    const candidates = spends.filter((spend) => this.paymentTransactions.mightContain(spend.output.txId));
    if (candidates.length === 0) return { marked: 0, hotWallet: [] };
    const { rows } = await this.prepared<{ spent: number; hot_wallet: HotWalletSpendRow[] | null }>(
      'mark_spent',
      `WITH spent AS (
         UPDATE incoming_payments p
            SET spent_by_tx_hash = s.spent_by, spent_at_slot = s.slot, spent_at_height = s.height
           FROM unnest($1::text[], $2::int[], $3::text[], $4::bigint[], $5::bigint[], $6::text[])
             AS s(tx_hash, output_index, spent_by, slot, height, block_hash)
          WHERE p.tx_hash = s.tx_hash AND p.output_index = s.output_index
            AND p.status IN ('pending', 'confirmed') AND p.spent_by_tx_hash IS NULL
          RETURNING p AS payment, s.block_hash
       ), events AS (${paymentEventsCte('payment.spent', 'spent')})
       SELECT count(*)::int AS spent,
              json_agg(json_build_object('tx_hash', (payment).tx_hash, 'output_index', (payment).output_index,
                                         'spent_by', (payment).spent_by_tx_hash, 'height', (payment).spent_at_height::text,
                                         'block_hash', block_hash))
                FILTER (WHERE (payment).reference_type = '${HOT_WALLET_REFERENCE_TYPE}') AS hot_wallet
         FROM spent`,
      [
        candidates.map((s) => s.output.txId),
        candidates.map((s) => s.output.index),
        candidates.map((s) => s.spentBy),
        candidates.map((s) => s.block.slot.toString()),
        candidates.map((s) => s.block.height.toString()),
        candidates.map((s) => s.block.hash),
      ],
    );
    return { marked: rows[0]?.spent ?? 0, hotWallet: (rows[0]?.hot_wallet ?? []).map(hotWalletSpendFromRow) };
  }

  async setApartHotWalletChange(change: readonly Payment[]): Promise<void> {
    // Each output is listed once (being change is the output's, whatever block carries it). The events this very
    // transaction wrote about one listed now (xmin: not committed, so nobody has seen them) are withdrawn; one listed
    // before has none. Rare: only a step recording hot-wallet outputs of a transaction that spends the hot wallet.
    await this.client.query(
      `WITH listed AS (
         INSERT INTO hot_wallet_change (tx_hash, output_index)
         SELECT * FROM unnest($1::text[], $2::int[])
         ON CONFLICT DO NOTHING
         RETURNING tx_hash || '#' || output_index AS resource_id
       )
       DELETE FROM business_events e USING listed l
        WHERE e.resource_type = 'payment' AND e.resource_id = l.resource_id AND e.xmin = pg_current_xact_id()::xid`,
      [change.map((p) => p.txId), change.map((p) => p.index)],
    );
  }

  async confirmPayments(maxBlockHeight: bigint, confirmedAt: Date): Promise<Confirmation> {
    // Every asset of the output (lovelace and each token) is credited, one ledger row each. A credit's occurrence is
    // one more than the payment's reversals of that asset so far: the unique key then refuses any credit of a
    // payment that is credited and not reversed, whoever attempts it.
    const { rows } = await this.prepared<PaymentRow & { credited: boolean }>(
      'confirm_payments',
      `WITH confirmed AS (
         UPDATE incoming_payments p SET status = 'confirmed', confirmed_at = $2
          WHERE status = 'pending' AND block_height <= $1
          RETURNING p AS payment, ${PAYMENT_COLUMNS}
       ), events AS (${paymentEventsCte('payment.confirmed', 'confirmed')}), credited AS (
         INSERT INTO balance_transactions (user_id, type, asset, quantity, payment_tx_hash, payment_output_index,
                                           occurrence, reason)
         SELECT c.user_id, 'credit', a.asset, a.quantity, c.tx_hash, c.output_index,
                1 + (SELECT count(*) FROM balance_transactions d
                      WHERE d.payment_tx_hash = c.tx_hash AND d.payment_output_index = c.output_index
                        AND d.asset = a.asset AND d.type = 'debit'),
                'payment_confirmed'
           FROM confirmed c CROSS JOIN LATERAL payment_assets(c.amount_lovelace, c.assets) a
          WHERE c.user_id IS NOT NULL
         ON CONFLICT (payment_tx_hash, payment_output_index, asset, type, occurrence) DO NOTHING
         RETURNING user_id, asset, quantity, payment_tx_hash, payment_output_index
       ), balances AS (
         INSERT INTO user_balances AS b (user_id, balance_lovelace, updated_at)
         SELECT user_id, sum(quantity)::bigint, $2 FROM credited WHERE asset = 'lovelace' GROUP BY user_id
         ON CONFLICT (user_id) DO UPDATE
           SET balance_lovelace = b.balance_lovelace + EXCLUDED.balance_lovelace, updated_at = EXCLUDED.updated_at
       ), asset_balances AS (
         INSERT INTO user_asset_balances AS b (user_id, asset, quantity, updated_at)
         SELECT user_id, asset, sum(quantity), $2 FROM credited WHERE asset <> 'lovelace' GROUP BY user_id, asset
         ON CONFLICT (user_id, asset) DO UPDATE
           SET quantity = b.quantity + EXCLUDED.quantity, updated_at = EXCLUDED.updated_at
       )
       SELECT c.tx_hash, c.output_index, c.address, c.amount_lovelace, c.assets, c.reference_type, c.reference_id,
              c.user_id, c.block_height, c.block_slot, c.block_time, (k.payment_tx_hash IS NOT NULL) AS credited
         FROM confirmed c
         LEFT JOIN credited k ON k.payment_tx_hash = c.tx_hash AND k.payment_output_index = c.output_index
                             AND k.asset = 'lovelace'`,
      [maxBlockHeight.toString(), confirmedAt],
    );
    const alreadyCredited = rows.filter((row) => row.user_id !== null && !row.credited).length;
    return { confirmed: sortedPayments(rows), alreadyCredited };
  }

  async rollBackAfter(point: AppliedBlock | 'origin', actor: string): Promise<RollbackOutcome> {
    // (slot, height) orders blocks exactly, epoch boundary blocks included (they share a slot with the
    // block that follows them and a height with the one before).
    const after = point === 'origin' ? ['-1', '-1'] : [point.slot.toString(), point.height.toString()];
    const notBefore = point === 'origin' ? new Date(0) : point.time;

    const removed = await this.client.query('DELETE FROM blocks WHERE (slot, height) > ($1::bigint, $2::bigint)', after);
    await this.client.query('DELETE FROM checkpoints WHERE (slot, height) > ($1::bigint, $2::bigint)', after);
    const unspent = await this.client.query(
      `UPDATE incoming_payments SET spent_by_tx_hash = NULL, spent_at_slot = NULL, spent_at_height = NULL
        WHERE spent_at_slot IS NOT NULL AND (spent_at_slot, spent_at_height) > ($1::bigint, $2::bigint)`,
      after,
    );
    const rolledBack = await this.client.query<PaymentRow>(
      `WITH rolled_back AS (
         UPDATE incoming_payments p SET status = 'rolled_back'
          WHERE status = 'pending' AND block_time >= $3
            AND (block_slot, block_height) > ($1::bigint, $2::bigint)
          RETURNING p AS payment, ${PAYMENT_COLUMNS}
       ), events AS (${paymentEventsCte('payment.rolled_back', 'rolled_back')})
       SELECT ${PAYMENT_COLUMNS} FROM rolled_back`,
      [...after, notBefore],
    );
    // A confirmed payment that leaves the chain was credited: it is reversed with a debit, at most once (the
    // debit's occurrence is the number of credits, and only a credited, unreversed payment gets one).
    const reversed = await this.client.query<PaymentRow>(
      `WITH reversed AS (
         UPDATE incoming_payments p SET status = 'reversed'
          WHERE status = 'confirmed' AND block_time >= $3
            AND (block_slot, block_height) > ($1::bigint, $2::bigint)
          RETURNING p AS payment, ${PAYMENT_COLUMNS}, block_hash
       ), events AS (${paymentEventsCte('payment.reversed', 'reversed')}), ${reversalDebitsSql('SELECT tx_hash, output_index, user_id, amount_lovelace, assets FROM reversed')}, audited AS (
         INSERT INTO audit_log (action, entity_type, entity_id, actor, details)
         SELECT 'payment_reversed', 'incoming_payment', tx_hash || '#' || output_index, $4,
                jsonb_build_object('block_hash', block_hash, 'block_height', block_height,
                                   'amount_lovelace', amount_lovelace::text, 'user_id', user_id,
                                   'reference_type', reference_type, 'reference_id', reference_id)
           FROM reversed
       )
       SELECT ${PAYMENT_COLUMNS} FROM reversed`,
      [...after, notBefore, actor],
    );
    return {
      blocksRemoved: removed.rowCount ?? 0,
      rolledBack: sortedPayments(rolledBack.rows),
      reversed: sortedPayments(reversed.rows),
      spendsUndone: unspent.rowCount ?? 0,
    };
  }

  async saveSyncPosition({ tip, networkTipHeight }: SyncPosition): Promise<void> {
    await this.prepared(
      'save_sync_position',
      `UPDATE sync_state SET last_block_height = $1, last_block_slot = $2, last_block_hash = $3,
                             network_tip_height = $4, updated_at = now()
        WHERE id = 1`,
      [tip?.height.toString() ?? null, tip?.slot.toString() ?? null, tip?.hash ?? null, networkTipHeight?.toString() ?? null],
    );
  }

  async forgetBlocksBelow(height: bigint): Promise<void> {
    await this.prepared('forget_blocks_below', 'DELETE FROM blocks WHERE height < $1', [height.toString()]);
  }

  runningRebuild(): Promise<RunningRebuild | null> {
    return runningRebuild(this.client);
  }

  settleHeldPayments(appliedHeight: bigint, confirmations: bigint, actor: string): Promise<HeldPaymentsSettlement> {
    return settleHeldPayments(this.client, appliedHeight, confirmations, actor);
  }

  heldPaymentCount(): Promise<number> {
    return heldPaymentCount(this.client);
  }

  saveRebuildProgress(runId: bigint, update: RebuildProgressUpdate): Promise<void> {
    return saveRebuildProgress(this.client, runId, update);
  }

  invoicesToJudge(touchedIds: readonly string[], tip: ChainTip | null, afterRollback: boolean): Promise<InvoiceToJudge[]> {
    return invoicesToJudge(this.client, touchedIds, tip, afterRollback);
  }

  saveInvoiceJudgements(changes: readonly InvoiceChange[], judgedAt: Date): Promise<void> {
    return saveInvoiceJudgements(this.client, changes, judgedAt);
  }

  reservationsAmong(outputs: readonly OutputReference[]): Promise<Reservation[]> {
    return this.payouts.reservationsAmong(outputs);
  }

  settledAtOrBelow(height: bigint): Promise<SettledAttempts> {
    return this.payouts.settledAtOrBelow(height);
  }

  attemptsInBlockAbove(height: bigint): Promise<Hash[]> {
    return this.payouts.attemptsInBlockAbove(height);
  }

  recordConflicts(conflicts: readonly Conflict[]): Promise<void> {
    return this.payouts.recordConflicts(conflicts);
  }

  clearConflictsAbove(height: bigint): Promise<void> {
    return this.payouts.clearConflictsAbove(height);
  }

  moveAttempts(moves: readonly AttemptMove[], actor: string): Promise<AttemptMove[]> {
    return this.payouts.moveAttempts(moves, actor);
  }

  reviveEarlierTransactions(revivals: readonly Revival[], actor: string): Promise<RevivalRecord[]> {
    return this.payouts.reviveEarlierTransactions(revivals, actor);
  }
}

function blockColumns(blocks: readonly AppliedBlock[]): unknown[] {
  return [
    blocks.map((b) => b.hash),
    blocks.map((b) => b.height.toString()),
    blocks.map((b) => b.slot.toString()),
    blocks.map((b) => b.ancestor),
    blocks.map((b) => b.time.toISOString()),
  ];
}

function toAppliedBlock(row: BlockRow): AppliedBlock {
  return { hash: row.hash, height: row.height, slot: row.slot, ancestor: row.ancestor, time: row.block_time };
}

function sortedPayments(rows: PaymentRow[]): Payment[] {
  return rows.map(paymentFromRow).sort(inChainOrder);
}
