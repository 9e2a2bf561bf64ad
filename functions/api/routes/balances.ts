/**
 * GET /v1/balances/{user_id}: the balances as the ledger holds them, lovelace and every token (decimal strings), what
 * the user's open payouts hold of them (payout_holds not yet closed) and what is available (balance minus held, per
 * asset: what a payout of the user may still ask), read in one statement (one snapshot).
 */
import { type AmountJson, amountJson, amountsFromJson } from '../../domain/invoices/invoice-resource.js';
import { type Asset, LOVELACE } from '../../domain/payouts/payout-rules.js';
import { json, type RouteModule } from '../context.js';
import { notFound } from '../problem.js';

/** Balance minus held, per asset of either (an asset held beyond its balance, after a reversal, is below zero). */
export function availableOf(balance: ReadonlyMap<Asset, bigint>, held: ReadonlyMap<Asset, bigint>): Map<Asset, bigint> {
  const available = new Map(balance);
  for (const [asset, quantity] of held) available.set(asset, (available.get(asset) ?? 0n) - quantity);
  return available;
}

export interface BalanceResource {
  user_id: string;
  balance_lovelace: string;
  assets: Record<Asset, string>;
  held: AmountJson;
  available: AmountJson;
  updated_at: string | null;
}

export const balanceRoutes: RouteModule = {
  getBalance: {
    kind: 'read',
    async handle(request, context) {
      const userId = String(request.pathParams.user_id);
      const { rows } = await context.pool.query<{
        balance_lovelace: bigint | null;
        updated_at: Date | null;
        assets: Record<Asset, string>;
        held: Record<Asset, string>;
        known: boolean;
      }>(
        `SELECT b.balance_lovelace, greatest(b.updated_at, a.updated_at) AS updated_at, a.assets, h.held,
                (b.user_id IS NOT NULL OR a.updated_at IS NOT NULL
                 OR EXISTS (SELECT 1 FROM payment_addresses WHERE user_id = $1)) AS known
           FROM (SELECT coalesce(jsonb_object_agg(asset, quantity::text), '{}'::jsonb) AS assets, max(updated_at) AS updated_at
                   FROM user_asset_balances WHERE user_id = $1) a
          CROSS JOIN (SELECT coalesce(jsonb_object_agg(asset, quantity::text), '{}'::jsonb) AS held
                        FROM (SELECT asset, sum(quantity) AS quantity FROM payout_holds
                               WHERE user_id = $1 AND closed_as IS NULL GROUP BY asset) o) h
           LEFT JOIN user_balances b ON b.user_id = $1`,
        [userId],
      );
      const row = rows[0];
      // A user with registered addresses but nothing credited yet has a balance of 0; an unknown user has none.
      if (!row?.known) throw notFound(`No user ${userId}: no balance and no registered address.`);
      const balanceLovelace = row.balance_lovelace ?? 0n;
      const balance = amountsFromJson({ assets: row.assets });
      balance.set(LOVELACE, balanceLovelace);
      const held = new Map(Object.entries(row.held).map(([asset, quantity]) => [asset, BigInt(quantity)]));
      const body: BalanceResource = {
        user_id: userId,
        balance_lovelace: balanceLovelace.toString(),
        assets: row.assets,
        held: amountJson(held),
        available: amountJson(availableOf(balance, held)),
        updated_at: row.updated_at?.toISOString() ?? null,
      };
      return json(200, body);
    },
  },
};
