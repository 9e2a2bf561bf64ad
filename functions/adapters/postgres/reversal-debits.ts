/**
 * The ledger side of reversing confirmed payments, shared by a rollback (payment-store.ts) and a rebuild's
 * settlement (rebuild-settlement.ts): common-table expressions to append to a statement whose earlier CTEs
 * produced the reversed outputs.
 *
 * Each asset of a reversed output (lovelace and each token, payment_assets, migration 0017) that was credited and
 * is not yet debited gets one debit whose occurrence is its number of credits of that asset, so the unique key
 * (payment_tx_hash, payment_output_index, asset, type, occurrence) refuses a second debit of the same credit; the
 * user's balances (user_balances for lovelace, user_asset_balances for tokens) move by what was actually inserted.
 * Outputs are taken once each: two rows of one output must not count its ledger rows twice, or the debit would get
 * the wrong occurrence.
 *
 * `reversedOutputs` is a SELECT returning tx_hash, output_index, user_id, amount_lovelace and assets.
 */
export function reversalDebitsSql(reversedOutputs: string): string {
  return `ledger AS (
       SELECT r.tx_hash, r.output_index, r.user_id, a.asset, a.quantity,
              count(*) FILTER (WHERE t.type = 'credit') AS credits,
              count(*) FILTER (WHERE t.type = 'debit') AS debits
         FROM (SELECT DISTINCT tx_hash, output_index, user_id, amount_lovelace, assets
                 FROM (${reversedOutputs}) outputs WHERE user_id IS NOT NULL) r
        CROSS JOIN LATERAL payment_assets(r.amount_lovelace, r.assets) a
         JOIN balance_transactions t ON t.payment_tx_hash = r.tx_hash AND t.payment_output_index = r.output_index
                                    AND t.asset = a.asset
        GROUP BY r.tx_hash, r.output_index, r.user_id, a.asset, a.quantity
     ), debited AS (
       INSERT INTO balance_transactions (user_id, type, asset, quantity, payment_tx_hash, payment_output_index,
                                         occurrence, reason)
       SELECT user_id, 'debit', asset, quantity, tx_hash, output_index, credits, 'payment_reversed'
         FROM ledger WHERE credits > debits
       ON CONFLICT (payment_tx_hash, payment_output_index, asset, type, occurrence) DO NOTHING
       RETURNING user_id, asset, quantity
     ), balances AS (
       UPDATE user_balances b SET balance_lovelace = b.balance_lovelace - d.total, updated_at = now()
         FROM (SELECT user_id, sum(quantity)::bigint AS total FROM debited WHERE asset = 'lovelace' GROUP BY user_id) d
        WHERE b.user_id = d.user_id
     ), asset_balances AS (
       UPDATE user_asset_balances b SET quantity = b.quantity - d.total, updated_at = now()
         FROM (SELECT user_id, asset, sum(quantity) AS total FROM debited WHERE asset <> 'lovelace'
                GROUP BY user_id, asset) d
        WHERE b.user_id = d.user_id AND b.asset = d.asset
     )`;
}
