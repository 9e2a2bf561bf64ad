-- A rebuild settles its held payments as the re-derived chain passes their heights: each roll-forward reads
-- only the held rows at or below the applied height (rebuild-settlement.ts), through this index.
CREATE INDEX rebuild_held_payments_block_height ON rebuild_held_payments (block_height);

-- rebuild_held_payments is created LIKE incoming_payments, and rows move between the two with SELECT * and
-- RETURNING *: a column added to incoming_payments must be added to rebuild_held_payments in the same
-- migration, in the same position (test/integration/schema.test.ts compares the two).
COMMENT ON TABLE rebuild_held_payments IS
  'Payments a running rebuild cleared, exactly as they were. Mirrors incoming_payments column for column: add a column to both.';
