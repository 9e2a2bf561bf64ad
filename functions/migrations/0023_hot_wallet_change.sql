-- The hot wallet's own change (hotWalletChange, functions/domain/hot-wallet.ts): an output to a hot-wallet address
-- in a transaction that spends a hot-wallet output. Its incoming_payments rows stay (coin selection, reconciliation and
-- the hot_wallet_* gauges read it as a hot-wallet coin) but it is no payment received: the engine lists the output here
-- in the step that records it, withdraws what that step wrote about it, and writes no payment.* event for a listed
-- output ever after (the events CTE of functions/adapters/postgres/business-events.ts skips it): not detected, spent,
-- confirmed, rolled back nor reversed, in whichever block the transaction lands. Being change is the output's (its
-- transaction's inputs make it so), not one inclusion's: a row per output, kept for good.
CREATE TABLE hot_wallet_change (
  tx_hash      text        NOT NULL,
  output_index integer     NOT NULL CHECK (output_index >= 0),
  listed_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tx_hash, output_index)
);

-- Change recorded before this migration (its events so far were written then): listed from now on, so that its later
-- events are not. Its spending of a hot-wallet output is still on record unless that spend left the chain.
INSERT INTO hot_wallet_change (tx_hash, output_index)
SELECT DISTINCT p.tx_hash, p.output_index
  FROM incoming_payments p
 WHERE p.reference_type = 'hot_wallet'
   AND EXISTS (SELECT 1 FROM incoming_payments h WHERE h.reference_type = 'hot_wallet' AND h.spent_by_tx_hash = p.tx_hash)
ON CONFLICT DO NOTHING;
