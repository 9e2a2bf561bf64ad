-- Reconciliation: every run of the check of the database against the chain (and of user_balances against the
-- ledger), with its counts and the discrepancies it found. A run advances address chunk by address chunk; each
-- chunk's counts, discrepancies and the cursor move in one transaction guarded by the cursor it started from, so
-- a run resumed twice (or by two invocations at once) counts every chunk exactly once.
CREATE TABLE reconciliation_runs (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  trigger            text        NOT NULL CHECK (trigger IN ('daily', 'on_demand', 'reconnect')),
  status             text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
  started_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  finished_at        timestamptz NULL,
  -- Continuation cursor: the highest payment_addresses.id already compared (keyset pagination).
  address_cursor     bigint      NOT NULL DEFAULT 0,
  chunks             integer     NOT NULL DEFAULT 0,
  -- Chunks compared while the database lagged the node (what could not be judged counted as too_recent).
  lagging_chunks     integer     NOT NULL DEFAULT 0,
  invocations        integer     NOT NULL DEFAULT 1,
  -- The consistent points compared at: the database's applied block, equal to the node's tip, of the first and
  -- the last consistent chunk.
  first_point_height bigint      NULL,
  last_point_height  bigint      NULL,
  last_point_slot    bigint      NULL,
  last_point_hash    text        NULL,
  addresses          bigint      NOT NULL DEFAULT 0,
  matched            bigint      NOT NULL DEFAULT 0,
  missing_in_db      bigint      NOT NULL DEFAULT 0,
  extra_in_db        bigint      NOT NULL DEFAULT 0,
  amount_mismatch    bigint      NOT NULL DEFAULT 0,
  asset_mismatch     bigint      NOT NULL DEFAULT 0,
  too_recent         bigint      NOT NULL DEFAULT 0,
  -- NULL until the balances were verified (the last step of a run).
  balance_mismatches bigint      NULL,
  error              text        NULL,
  CHECK ((status = 'running') = (finished_at IS NULL))
);
CREATE INDEX reconciliation_runs_started ON reconciliation_runs (started_at DESC);
-- One run at a time: a second start meets this index and reports the run in progress instead.
CREATE UNIQUE INDEX reconciliation_runs_one_running ON reconciliation_runs ((true)) WHERE status = 'running';

-- The discrepancies of a run, the first few hundred of each run in detail (the run's counts are always exact).
CREATE TABLE reconciliation_discrepancies (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id              bigint      NOT NULL REFERENCES reconciliation_runs (id) ON DELETE CASCADE,
  kind                text        NOT NULL
                      CHECK (kind IN ('missing_in_db', 'extra_in_db', 'amount_mismatch', 'asset_mismatch', 'balance_mismatch')),
  address             text        NULL,
  tx_hash             text        NULL,
  output_index        integer     NULL,
  -- What the chain holds and what the database holds; token quantities as decimal strings, as in incoming_payments.
  chain_lovelace      bigint      NULL,
  db_lovelace         bigint      NULL,
  chain_assets        jsonb       NULL,
  db_assets           jsonb       NULL,
  -- balance_mismatch: user_balances against the sum of the user's ledger rows.
  user_id             text        NULL,
  stored_lovelace     bigint      NULL,
  calculated_lovelace numeric     NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind = 'balance_mismatch') = (user_id IS NOT NULL AND tx_hash IS NULL))
);
CREATE INDEX reconciliation_discrepancies_run ON reconciliation_discrepancies (run_id, id);
