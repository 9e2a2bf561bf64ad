import type pg from 'pg';
import { formatAda } from '../../domain/money.js';
import type { RebuildProgressView } from '../../domain/rebuild.js';
import { readRebuildProgress } from '../../adapters/postgres/rebuild-store.js';

type Queryable = Pick<pg.Pool, 'query'>;

export async function listAddresses(db: Queryable, limit: number): Promise<Record<string, unknown>[]> {
  const { rows } = await db.query(
    `SELECT address, reference_type, reference_id, user_id, created_at FROM payment_addresses ORDER BY id DESC LIMIT $1`,
    [limit],
  );
  return rows;
}

/** The audit log, newest first; `--entity` narrows it to one thing (a payout's id, an address, …). */
export async function listAuditRows(
  db: Queryable,
  { entityId, limit }: { entityId?: string; limit: number },
): Promise<Record<string, unknown>[]> {
  const { rows } = await db.query(
    `SELECT id, created_at, action, entity_type, entity_id, actor, details::text AS details
       FROM audit_log WHERE ($1::text IS NULL OR entity_id = $1) ORDER BY id DESC LIMIT $2`,
    [entityId ?? null, limit],
  );
  return rows;
}

const STATUSES = ['pending', 'confirmed', 'rolled_back', 'reversed'];

export async function listPayments(
  db: Queryable,
  { status, limit }: { status?: string; limit: number },
): Promise<Record<string, unknown>[]> {
  if (status !== undefined && !STATUSES.includes(status)) throw new Error(`--status must be one of ${STATUSES.join(', ')}`);
  const { rows } = await db.query<{ amount_lovelace: bigint; assets: Record<string, Record<string, string>> } & Record<string, unknown>>(
    `SELECT tx_hash, output_index, address, amount_lovelace, assets, status, reference_type, reference_id, user_id,
            block_height, block_time, spent_by_tx_hash
       FROM incoming_payments WHERE ($1::text IS NULL OR status = $1) ORDER BY id DESC LIMIT $2`,
    [status ?? null, limit],
  );
  return rows.map(({ amount_lovelace, assets, ...rest }) => ({
    ...rest,
    amount_ada: formatAda(amount_lovelace),
    tokens: Object.values(assets).reduce((count, names) => count + Object.keys(names).length, 0),
  }));
}

/** What `status` shows; `status --json` prints it as it is (snake_case, like every other JSON the CLI prints). */
export interface MonitorStatus {
  /** The network the database's data belongs to (migration 0012); null until a process has followed or registered on it. */
  network: string | null;
  applied_height: bigint | null;
  applied_slot: bigint | null;
  applied_hash: string | null;
  network_tip_height: bigint | null;
  lag: bigint | null;
  updated_at: Date;
  addresses: bigint;
  payments: Record<string, bigint>;
  credited_lovelace: bigint;
  credited_ada: string;
  users: bigint;
  /** The newest rebuild, running or finished; null when there never was one. */
  rebuild: RebuildProgressView | null;
  /** The AWS path's leader session and recoveries (domain/pipeline-recovery.ts). */
  pipeline: { generation: bigint; fence: bigint; halted_at: Date | null; halted_reason: string | null; recoveries_today: bigint };
}

export async function readStatus(db: Queryable): Promise<MonitorStatus> {
  const { rows } = await db.query(
    `SELECT to_jsonb(s) ->> 'network' AS network,
            s.last_block_height, s.last_block_slot, s.last_block_hash, s.network_tip_height, s.updated_at,
            s.sync_generation, s.fence_token, s.halted_at, s.halted_reason,
            (SELECT count(*) FROM pipeline_recoveries WHERE kind IN ('divergence', 'poison') AND created_at > now() - interval '1 day') AS recoveries_today,
            (SELECT count(*) FROM payment_addresses) AS addresses,
            (SELECT coalesce(jsonb_object_agg(status, n), '{}'::jsonb)
               FROM (SELECT status, count(*) AS n FROM incoming_payments GROUP BY status) p) AS payments,
            (SELECT coalesce(sum(balance_lovelace), 0)::bigint FROM user_balances) AS credited,
            (SELECT count(*) FROM user_balances) AS users
       FROM sync_state s WHERE s.id = 1`,
  );
  const row = rows[0];
  const height = row.last_block_height as bigint | null;
  const tip = row.network_tip_height as bigint | null;
  return {
    network: row.network,
    applied_height: height,
    applied_slot: row.last_block_slot,
    applied_hash: row.last_block_hash,
    network_tip_height: tip,
    lag: height !== null && tip !== null ? tip - height : null,
    updated_at: row.updated_at,
    addresses: row.addresses,
    payments: Object.fromEntries(Object.entries(row.payments as Record<string, number>).map(([k, v]) => [k, BigInt(v)])),
    credited_lovelace: row.credited,
    credited_ada: formatAda(row.credited),
    users: row.users,
    rebuild: await readRebuildProgress(db),
    pipeline: {
      generation: row.sync_generation,
      fence: row.fence_token,
      halted_at: row.halted_at,
      halted_reason: row.halted_reason,
      recoveries_today: row.recoveries_today,
    },
  };
}
