/**
 * reconciliation_runs and reconciliation_discrepancies. Every write that advances a run is guarded by the state
 * it expects (running, cursor where the chunk started, balances not yet verified), checked under the run's row
 * lock, so repeating a step or racing another invocation never counts anything twice.
 */
import type pg from 'pg';
import { isFullReconciliation, type ReconciliationTrigger } from '../../domain/reconciliation/ports.js';
import type {
  BalanceVerification,
  InvoiceVerification,
  ComparedChunk,
  ReconciliationRun,
  ReconciliationRunStore,
  StartOutcome,
} from '../../domain/reconciliation/ports.js';
import { inTransaction } from './pool.js';
import { assetsToJson } from './reconciliation-records.js';

interface RunRow {
  id: bigint;
  trigger: ReconciliationTrigger;
  status: ReconciliationRun['status'];
  started_at: Date;
  updated_at: Date;
  finished_at: Date | null;
  address_cursor: bigint;
  chunks: number;
  lagging_chunks: number;
  invocations: number;
  first_point_height: bigint | null;
  last_point_height: bigint | null;
  last_point_slot: bigint | null;
  last_point_hash: string | null;
  addresses: bigint;
  matched: bigint;
  missing_in_db: bigint;
  extra_in_db: bigint;
  amount_mismatch: bigint;
  asset_mismatch: bigint;
  too_recent: bigint;
  predates_watch: bigint;
  unjudged_addresses: bigint;
  balance_mismatches: bigint | null;
  invoice_mismatches: bigint | null;
  failed_attempts: number;
  error: string | null;
}

export class PostgresReconciliationRuns implements ReconciliationRunStore {
  constructor(private readonly pool: pg.Pool) {}

  async start(trigger: ReconciliationTrigger, staleAfterMs: number): Promise<StartOutcome> {
    return inTransaction(this.pool, async (client) => {
      let running = await lockRunning(client);
      let supersededRun: ReconciliationRun | undefined;
      if (running && running.trigger === 'reconnect' && isFullReconciliation(trigger)) {
        // A reconnect run is an extra look: it must not cost the day's full run its slot.
        const ended = await client.query<RunRow>(
          `UPDATE reconciliation_runs SET status = 'failed', finished_at = now(), updated_at = now(),
                  error = 'superseded by a ' || $2 || ' run'
            WHERE id = $1 RETURNING *`,
          [running.id.toString(), trigger],
        );
        supersededRun = runFromRow(ended.rows[0]!);
        running = undefined;
      }
      if (running) {
        // Taking a run over is safe even if its invocation is still alive: chunks are recorded against the cursor.
        // A failed attempt lets one start take over: only while nobody touched the run since the failure. The
        // takeover's clock_timestamp() (not now(), this transaction's start, which may precede a failure noted
        // while it waited for the row lock) puts updated_at past failed_at, so the next start finds it used.
        const takeOver = await client.query<RunRow & { after_failure: boolean }>(
          `UPDATE reconciliation_runs AS run SET invocations = run.invocations + 1, updated_at = clock_timestamp()
             FROM (SELECT id, (failed_attempts > 0 AND updated_at <= failed_at) AS after_failure
                     FROM reconciliation_runs WHERE id = $1) AS old_row
            WHERE run.id = old_row.id
              AND (old_row.after_failure OR run.updated_at < now() - make_interval(secs => $2::double precision / 1000))
        RETURNING run.*, old_row.after_failure`,
          [running.id.toString(), staleAfterMs],
        );
        const taken = takeOver.rows[0];
        if (taken) return { resumed: runFromRow(taken), reason: taken.after_failure ? 'failed_attempt' : 'stale' };
        return { alreadyRunning: runFromRow(running) };
      }
      const inserted = await client.query<RunRow>(
        'INSERT INTO reconciliation_runs (trigger) VALUES ($1) ON CONFLICT DO NOTHING RETURNING *',
        [trigger],
      );
      if (inserted.rows[0]) return { started: runFromRow(inserted.rows[0]), ...(supersededRun ? { supersededRun } : {}) };
      // Another start inserted its run in the meantime.
      const other = await lockRunning(client);
      if (!other) throw new Error('a reconciliation run could not be started and none is running');
      return { alreadyRunning: runFromRow(other) };
    });
  }

  async find(id: bigint): Promise<ReconciliationRun | null> {
    const { rows } = await this.pool.query<RunRow>('SELECT * FROM reconciliation_runs WHERE id = $1', [id.toString()]);
    return rows[0] ? runFromRow(rows[0]) : null;
  }

  async noteInvocation(id: bigint): Promise<void> {
    await this.pool.query(
      "UPDATE reconciliation_runs SET invocations = invocations + 1, updated_at = now() WHERE id = $1 AND status = 'running'",
      [id.toString()],
    );
  }

  async noteFailure(
    id: bigint,
    error: string,
    maxFailedAttempts: number,
    options: { unlessUpdatedWithinMs?: number } = {},
  ): Promise<ReconciliationRun | null> {
    const { rows } = await this.pool.query<RunRow>(
      `UPDATE reconciliation_runs
          SET failed_attempts = failed_attempts + 1, error = $2, updated_at = now(), failed_at = now(),
              status = CASE WHEN failed_attempts + 1 >= $3 THEN 'failed' ELSE status END,
              finished_at = CASE WHEN failed_attempts + 1 >= $3 THEN now() END
        WHERE id = $1 AND status = 'running'
          AND ($4::double precision IS NULL OR updated_at < now() - make_interval(secs => $4::double precision / 1000))
    RETURNING *`,
      [id.toString(), error.slice(0, 2000), maxFailedAttempts, options.unlessUpdatedWithinMs ?? null],
    );
    return rows[0] ? runFromRow(rows[0]) : null;
  }

  async recordChunk(id: bigint, chunk: ComparedChunk, detailLimit: number): Promise<{ detailed: number } | 'stale'> {
    return inTransaction(this.pool, async (client) => {
      const locked = await client.query<{ address_cursor: bigint; status: string }>(
        'SELECT address_cursor, status FROM reconciliation_runs WHERE id = $1 FOR UPDATE',
        [id.toString()],
      );
      const run = locked.rows[0];
      if (run?.status !== 'running' || run.address_cursor !== chunk.fromCursor) return 'stale';

      const kept = await client.query<{ count: bigint }>(
        "SELECT count(*) FROM reconciliation_discrepancies WHERE run_id = $1 AND kind <> 'balance_mismatch'",
        [id.toString()],
      );
      const detailed = Math.min(chunk.discrepancies.length, Math.max(0, detailLimit - Number(kept.rows[0]?.count ?? 0n)));
      if (detailed > 0) {
        const details = chunk.discrepancies.slice(0, detailed).map((discrepancy) => ({
          kind: discrepancy.kind,
          address: discrepancy.address,
          tx_hash: discrepancy.txId,
          output_index: discrepancy.index,
          chain_lovelace: discrepancy.chain?.lovelace.toString() ?? null,
          db_lovelace: discrepancy.db?.lovelace.toString() ?? null,
          chain_assets: discrepancy.chain ? assetsToJson(discrepancy.chain.assets) : null,
          db_assets: discrepancy.db ? assetsToJson(discrepancy.db.assets) : null,
        }));
        await client.query(
          `INSERT INTO reconciliation_discrepancies
                  (run_id, kind, address, tx_hash, output_index, chain_lovelace, db_lovelace, chain_assets, db_assets)
           SELECT $1, d.kind, d.address, d.tx_hash, d.output_index, d.chain_lovelace, d.db_lovelace, d.chain_assets, d.db_assets
             FROM jsonb_to_recordset($2::jsonb) AS d(kind text, address text, tx_hash text, output_index integer,
                                                     chain_lovelace bigint, db_lovelace bigint, chain_assets jsonb, db_assets jsonb)`,
          [id.toString(), JSON.stringify(details)],
        );
      }
      if (chunk.unjudged.length > 0) {
        await client.query(
          `INSERT INTO reconciliation_unjudged_addresses (run_id, address, reason, recorded_unspent, detail)
           SELECT $1, u.address, u.reason, u.recorded_unspent, u.detail
             FROM jsonb_to_recordset($2::jsonb) AS u(address text, reason text, recorded_unspent bigint, detail text)`,
          [
            id.toString(),
            JSON.stringify(
              chunk.unjudged.map((entry) => ({
                address: entry.address,
                reason: entry.reason,
                recorded_unspent: entry.recordedUnspent,
                detail: entry.detail,
              })),
            ),
          ],
        );
      }
      const { counts, point } = chunk;
      await client.query(
        `UPDATE reconciliation_runs
            SET address_cursor = $2, chunks = chunks + 1, lagging_chunks = lagging_chunks + $3,
                addresses = addresses + $4, matched = matched + $5, missing_in_db = missing_in_db + $6,
                extra_in_db = extra_in_db + $7, amount_mismatch = amount_mismatch + $8,
                asset_mismatch = asset_mismatch + $9, too_recent = too_recent + $10,
                unjudged_addresses = unjudged_addresses + $14, predates_watch = predates_watch + $15,
                first_point_height = coalesce(first_point_height, $11),
                last_point_height = coalesce($11, last_point_height),
                last_point_slot = coalesce($12, last_point_slot),
                last_point_hash = coalesce($13, last_point_hash),
                failed_attempts = 0, error = NULL, updated_at = now()
          WHERE id = $1`,
        [
          id.toString(),
          chunk.toCursor.toString(),
          chunk.mode === 'lagging' ? 1 : 0,
          chunk.addresses,
          counts.matched,
          counts.missingInDb,
          counts.extraInDb,
          counts.amountMismatch,
          counts.assetMismatch,
          counts.tooRecent,
          point?.height.toString() ?? null,
          point?.slot.toString() ?? null,
          point?.hash ?? null,
          chunk.unjudged.length,
          counts.predatesWatch,
        ],
      );
      return { detailed };
    });
  }

  async recordBalances(id: bigint, verification: BalanceVerification): Promise<'recorded' | 'stale'> {
    return this.recordCheck(id, 'balance_mismatches', verification.mismatchCount, async (client) => {
      if (verification.mismatches.length === 0) return;
      await client.query(
        `INSERT INTO reconciliation_discrepancies (run_id, kind, user_id, asset, stored_quantity, calculated_quantity,
                                                  stored_lovelace, calculated_lovelace)
         SELECT $1, 'balance_mismatch', m.user_id, m.asset, m.stored, m.calculated,
                CASE WHEN m.asset = 'lovelace' THEN m.stored::bigint END,
                CASE WHEN m.asset = 'lovelace' THEN m.calculated END
           FROM jsonb_to_recordset($2::jsonb) AS m(user_id text, asset text, stored numeric, calculated numeric)`,
        [
          id.toString(),
          JSON.stringify(
            verification.mismatches.map((mismatch) => ({
              user_id: mismatch.userId,
              asset: mismatch.asset,
              stored: mismatch.stored.toString(),
              calculated: mismatch.calculated.toString(),
            })),
          ),
        ],
      );
    });
  }

  async recordInvoices(id: bigint, verification: InvoiceVerification): Promise<'recorded' | 'stale'> {
    return this.recordCheck(id, 'invoice_mismatches', verification.mismatchCount, async (client) => {
      if (verification.mismatches.length === 0) return;
      await client.query(
        `INSERT INTO reconciliation_discrepancies (run_id, kind, invoice_id, detail)
         SELECT $1, 'invoice_mismatch', m.invoice_id, m.detail FROM unnest($2::text[], $3::text[]) AS m(invoice_id, detail)`,
        [
          id.toString(),
          verification.mismatches.map((mismatch) => mismatch.invoiceId),
          verification.mismatches.map((mismatch) => mismatch.differences.join('; ')),
        ],
      );
    });
  }

  /**
   * Records one check of a running run once: its count in `column` (still NULL: a repeated step is 'stale' and writes
   * nothing) and its detail rows, in one transaction.
   */
  private recordCheck(
    id: bigint,
    column: 'balance_mismatches' | 'invoice_mismatches',
    count: number,
    recordDetail: (client: pg.PoolClient) => Promise<void>,
  ): Promise<'recorded' | 'stale'> {
    return inTransaction(this.pool, async (client) => {
      const updated = await client.query(
        `UPDATE reconciliation_runs SET ${column} = $2, updated_at = now()
          WHERE id = $1 AND status = 'running' AND ${column} IS NULL`,
        [id.toString(), count],
      );
      if (updated.rowCount !== 1) return 'stale';
      await recordDetail(client);
      return 'recorded';
    });
  }

  async finish(id: bigint, outcome: { status: 'completed' } | { status: 'failed'; error: string }): Promise<ReconciliationRun | null> {
    const { rows } = await this.pool.query<RunRow>(
      `UPDATE reconciliation_runs SET status = $2, error = $3, finished_at = now(), updated_at = now(),
              failed_attempts = CASE WHEN $2 = 'completed' THEN 0 ELSE failed_attempts END
        WHERE id = $1 AND status = 'running' RETURNING *`,
      [id.toString(), outcome.status, outcome.status === 'failed' ? outcome.error.slice(0, 2000) : null],
    );
    return rows[0] ? runFromRow(rows[0]) : null;
  }

  async recent(limit: number): Promise<ReconciliationRun[]> {
    const { rows } = await this.pool.query<RunRow>('SELECT * FROM reconciliation_runs ORDER BY id DESC LIMIT $1', [limit]);
    return rows.map(runFromRow);
  }
}

async function lockRunning(client: pg.PoolClient): Promise<RunRow | undefined> {
  const { rows } = await client.query<RunRow>("SELECT * FROM reconciliation_runs WHERE status = 'running' FOR UPDATE");
  return rows[0];
}

function runFromRow(row: RunRow): ReconciliationRun {
  return {
    id: row.id,
    trigger: row.trigger,
    status: row.status,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
    addressCursor: row.address_cursor,
    invocations: row.invocations,
    firstPointHeight: row.first_point_height,
    lastPoint:
      row.last_point_height !== null && row.last_point_slot !== null && row.last_point_hash !== null
        ? { height: row.last_point_height, slot: row.last_point_slot, hash: row.last_point_hash }
        : null,
    counts: {
      addresses: Number(row.addresses),
      chunks: row.chunks,
      laggingChunks: row.lagging_chunks,
      matched: Number(row.matched),
      missingInDb: Number(row.missing_in_db),
      extraInDb: Number(row.extra_in_db),
      amountMismatch: Number(row.amount_mismatch),
      assetMismatch: Number(row.asset_mismatch),
      tooRecent: Number(row.too_recent),
      predatesWatch: Number(row.predates_watch),
      unjudgedAddresses: Number(row.unjudged_addresses),
      balanceMismatches: row.balance_mismatches === null ? null : Number(row.balance_mismatches),
      invoiceMismatches: row.invoice_mismatches === null ? null : Number(row.invoice_mismatches),
    },
    failedAttempts: row.failed_attempts,
    error: row.error,
  };
}
