/** GET /v1/status: applied height, tip, lag, the last reconciliation, and the outbox and webhook backlogs. */
import { outboxBacklog } from '../../adapters/postgres/business-events.js';
import { webhookBacklog } from '../../adapters/postgres/webhook-endpoints.js';
import { json, type RouteModule } from '../context.js';

interface SyncRow {
  network: string | null;
  last_block_height: bigint | null;
  network_tip_height: bigint | null;
  updated_at: Date;
  halted_at: Date | null;
}

interface RunRow {
  id: bigint;
  trigger: string;
  status: string;
  started_at: Date;
  finished_at: Date | null;
  discrepancies: bigint;
}

export const statusRoutes: RouteModule = {
  getStatus: {
    kind: 'read',
    async handle(_request, context) {
      const { pool, clock } = context;
      const now = clock.now();
      const [sync, run, outbox, webhooks] = await Promise.all([
        pool.query<SyncRow>('SELECT network, last_block_height, network_tip_height, updated_at, halted_at FROM sync_state WHERE id = 1'),
        pool.query<RunRow>(
          `SELECT id, trigger, status, started_at, finished_at,
                  missing_in_db + extra_in_db + amount_mismatch + asset_mismatch + coalesce(balance_mismatches, 0)
                  + coalesce(invoice_mismatches, 0) AS discrepancies
             FROM reconciliation_runs ORDER BY started_at DESC, id DESC LIMIT 1`,
        ),
        outboxBacklog(pool, now),
        webhookBacklog(pool, now),
      ]);
      const state = sync.rows[0];
      const applied = state?.last_block_height ?? null;
      const tip = state?.network_tip_height ?? null;
      const last = run.rows[0];
      return json(200, {
        network: state?.network ?? null,
        applied_height: applied === null ? null : Number(applied),
        tip_height: tip === null ? null : Number(tip),
        lag_blocks: applied === null || tip === null ? null : Math.max(0, Number(tip - applied)),
        updated_at: state?.updated_at.toISOString() ?? null,
        halted: state?.halted_at != null,
        last_reconciliation: last
          ? {
              id: last.id.toString(),
              trigger: last.trigger,
              status: last.status,
              started_at: last.started_at.toISOString(),
              finished_at: last.finished_at?.toISOString() ?? null,
              discrepancies: Number(last.discrepancies),
            }
          : null,
        outbox_backlog: outbox,
        webhook_backlog: webhooks,
      });
    },
  },
};
