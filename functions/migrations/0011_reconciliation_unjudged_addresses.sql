-- Reconciliation bounded by size: an address whose outputs exceed what one comparison may hold in memory (the
-- database's unspent count, or the node's answer for it alone) is not compared. It is recorded here with its
-- reason and counted on the run, which goes on with the next addresses instead of failing on it every day.
ALTER TABLE reconciliation_runs ADD COLUMN unjudged_addresses bigint NOT NULL DEFAULT 0;

CREATE TABLE reconciliation_unjudged_addresses (
  run_id           bigint      NOT NULL REFERENCES reconciliation_runs (id) ON DELETE CASCADE,
  address          text        NOT NULL,
  reason           text        NOT NULL CHECK (reason IN ('too_many_utxos')),
  -- The unspent payments the database held at the address when its chunk was planned.
  recorded_unspent bigint      NOT NULL,
  detail           text        NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, address)
);
