-- The hot wallet's own change (hotWalletChange, functions/domain/hot-wallet.ts): an output to a hot-wallet address
-- in a transaction that spends a hot-wallet output. Its row stays (coin selection, reconciliation and the hot_wallet_*
-- gauges read it as a hot-wallet coin) but it is no payment received: the engine marks it in the step that records it,
-- withdraws what that step wrote about it, and writes no payment.* event for a marked row ever after (the events CTE
-- of functions/adapters/postgres/business-events.ts skips it): not detected, spent, confirmed, rolled back nor reversed.
ALTER TABLE incoming_payments ADD COLUMN hot_wallet_change boolean NOT NULL DEFAULT false;
-- rebuild_held_payments mirrors incoming_payments column for column (a rebuild moves rows between them with SELECT *).
ALTER TABLE rebuild_held_payments ADD COLUMN hot_wallet_change boolean NOT NULL DEFAULT false;

-- Change recorded before this migration (its events were written then): marked from now on, so that its later events
-- (confirmed, spent, rolled back) are not written. Its spending of a hot-wallet output is still on record unless that
-- spend left the chain.
UPDATE incoming_payments p SET hot_wallet_change = true
 WHERE p.reference_type = 'hot_wallet'
   AND EXISTS (SELECT 1 FROM incoming_payments h WHERE h.reference_type = 'hot_wallet' AND h.spent_by_tx_hash = p.tx_hash);
UPDATE rebuild_held_payments p SET hot_wallet_change = true
 WHERE p.reference_type = 'hot_wallet'
   AND (EXISTS (SELECT 1 FROM incoming_payments h WHERE h.reference_type = 'hot_wallet' AND h.spent_by_tx_hash = p.tx_hash)
        OR EXISTS (SELECT 1 FROM rebuild_held_payments h WHERE h.reference_type = 'hot_wallet' AND h.spent_by_tx_hash = p.tx_hash));
