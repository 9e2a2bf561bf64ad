-- What the engine's spend filter loads (adapters/postgres/candidate-filters.ts, PaymentTransactionFilter), read
-- through indexes so that a processor's cold start does not grow with the payment history: before these, its load
-- read every row of every partition. Declared on the partitioned table, so every partition (present or created
-- later, attached or moved out of the default) gets them.

-- The live, unspent payments (the bulk of the filter), read in id order a page at a time; tx_hash is included so
-- that the pages are read from the index alone once the visibility map is set (autovacuum).
CREATE INDEX incoming_payments_unspent ON incoming_payments (id) INCLUDE (tx_hash)
  WHERE status IN ('pending', 'confirmed') AND spent_at_slot IS NULL;

-- Rolled back and reversed rows whose block may still come back (within the rollback window of the tip).
CREATE INDEX incoming_payments_rolled_back ON incoming_payments (block_height)
  WHERE status IN ('rolled_back', 'reversed');

-- (Spends within the window are read through incoming_payments_spent_position, 0001.)
