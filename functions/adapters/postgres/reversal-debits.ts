/**
 * The ledger side of reversing confirmed payments, shared by a rollback (payment-store.ts) and a rebuild's
 * settlement (rebuild-settlement.ts): common-table expressions to append to a statement whose earlier CTEs
 * produced the reversed outputs.
 *
 * Each reversed output that was credited and is not yet debited gets one debit whose occurrence is its number of
 * credits, so the unique key (payment_tx_hash, payment_output_index, type, occurrence) refuses a second debit of
 * the same credit; the user's balance moves by what was actually inserted. Outputs are taken once each: two rows
 * of one output must not count its ledger rows twice, or the debit would get the wrong occurrence.
 *
 * `reversedOutputs` is a SELECT returning tx_hash, output_index, user_id and amount_lovelace.
 */
export function reversalDebitsSql(reversedOutputs: string): string {
  return `ledger AS (
       SELECT r.tx_hash, r.output_index, r.user_id, r.amount_lovelace,
              count(*) FILTER (WHERE t.type = 'credit') AS credits,
              count(*) FILTER (WHERE t.type = 'debit') AS debits
         FROM (SELECT DISTINCT tx_hash, output_index, user_id, amount_lovelace
                 FROM (${reversedOutputs}) outputs WHERE user_id IS NOT NULL) r
         JOIN balance_transactions t ON t.payment_tx_hash = r.tx_hash AND t.payment_output_index = r.output_index
        GROUP BY r.tx_hash, r.output_index, r.user_id, r.amount_lovelace
     ), debited AS (
       INSERT INTO balance_transactions (user_id, type, amount_lovelace, payment_tx_hash, payment_output_index,
                                         occurrence, reason)
       SELECT user_id, 'debit', amount_lovelace, tx_hash, output_index, credits, 'payment_reversed'
         FROM ledger WHERE credits > debits
       ON CONFLICT (payment_tx_hash, payment_output_index, type, occurrence) DO NOTHING
       RETURNING user_id, amount_lovelace
     ), balances AS (
       UPDATE user_balances b SET balance_lovelace = b.balance_lovelace - d.total, updated_at = now()
         FROM (SELECT user_id, sum(amount_lovelace)::bigint AS total FROM debited GROUP BY user_id) d
        WHERE b.user_id = d.user_id
     )`;
}
