-- Carried inputs (issue 16, payout-execution.ts `inputsAfter`): a payout transaction that expired (or was abandoned
-- after it may have been sent) keeps its inputs reserved, and its payouts' next transaction is built from them alone,
-- so the two can never both be in the chain. Each reservation names the earlier transactions of ours that spend the
-- same output: if one of them lands after all (a rollback deeper than the expiry's depth), the engine says so instead
-- of blaming someone else's key.
ALTER TABLE hot_wallet_reservations ADD COLUMN earlier_transactions text[] NOT NULL DEFAULT '{}';
