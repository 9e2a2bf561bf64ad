/**
 * GET /v1/balances/{user_id}: the balances as the ledger holds them, lovelace and every token (decimal strings),
 * read in one statement (one snapshot).
 */
import { json, type RouteModule } from '../context.js';
import { notFound } from '../problem.js';

export const balanceRoutes: RouteModule = {
  getBalance: {
    kind: 'read',
    async handle(request, context) {
      const userId = String(request.pathParams.user_id);
      const { rows } = await context.pool.query<{
        balance_lovelace: bigint | null;
        updated_at: Date | null;
        assets: Record<string, string>;
        known: boolean;
      }>(
        `SELECT b.balance_lovelace, greatest(b.updated_at, a.updated_at) AS updated_at, a.assets,
                (b.user_id IS NOT NULL OR a.updated_at IS NOT NULL
                 OR EXISTS (SELECT 1 FROM payment_addresses WHERE user_id = $1)) AS known
           FROM (SELECT coalesce(jsonb_object_agg(asset, quantity::text), '{}'::jsonb) AS assets, max(updated_at) AS updated_at
                   FROM user_asset_balances WHERE user_id = $1) a
           LEFT JOIN user_balances b ON b.user_id = $1`,
        [userId],
      );
      const row = rows[0];
      // A user with registered addresses but nothing credited yet has a balance of 0; an unknown user has none.
      if (!row?.known) throw notFound(`No user ${userId}: no balance and no registered address.`);
      return json(200, {
        user_id: userId,
        balance_lovelace: (row.balance_lovelace ?? 0n).toString(),
        assets: row.assets,
        updated_at: row.updated_at?.toISOString() ?? null,
      });
    },
  },
};
