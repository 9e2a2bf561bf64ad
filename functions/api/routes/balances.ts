/** GET /v1/balances/{user_id}: the balance as the ledger holds it (lovelace as a decimal string). */
import { json, type RouteModule } from '../context.js';
import { notFound } from '../problem.js';

export const balanceRoutes: RouteModule = {
  getBalance: {
    kind: 'read',
    async handle(request, context) {
      const userId = String(request.pathParams.user_id);
      const { rows } = await context.pool.query<{ balance_lovelace: bigint; updated_at: Date }>(
        'SELECT balance_lovelace, updated_at FROM user_balances WHERE user_id = $1',
        [userId],
      );
      const row = rows[0];
      if (row)
        return json(200, { user_id: userId, balance_lovelace: row.balance_lovelace.toString(), updated_at: row.updated_at.toISOString() });
      // A user with registered addresses but nothing credited yet has a balance of 0; an unknown user has none.
      const { rows: known } = await context.pool.query('SELECT 1 FROM payment_addresses WHERE user_id = $1 LIMIT 1', [userId]);
      if (known.length === 0) throw notFound(`No user ${userId}: no balance and no registered address.`);
      return json(200, { user_id: userId, balance_lovelace: '0', updated_at: null });
    },
  },
};
