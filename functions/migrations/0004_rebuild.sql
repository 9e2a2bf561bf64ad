-- Rebuild from chain. A rebuild resets the engine to a retained point and lets the follower re-derive what
-- follows; the payments it cleared wait here until the re-derived chain either finds them again (their row
-- gets back its id and times) or passes their confirmation depth without them (they end rolled back or, if
-- they had been credited, reversed with one debit).

CREATE TABLE rebuild_runs (
  id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  point_slot            bigint      NOT NULL,
  point_hash            text        NOT NULL,
  point_height          bigint      NOT NULL,
  -- the engine's applied height when the rebuild started: progress is measured towards it
  target_height         bigint      NOT NULL,
  requested             jsonb       NOT NULL,
  actor                 text        NOT NULL,
  status                text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'superseded')),
  payments_cleared      integer     NOT NULL,
  payments_refound      integer     NOT NULL DEFAULT 0,
  payments_reversed     integer     NOT NULL DEFAULT 0,
  payments_rolled_back  integer     NOT NULL DEFAULT 0,
  progress_height       bigint      NOT NULL,
  -- the last height a rebuild_progress line was logged for (every 1,000 blocks)
  progress_logged_height bigint     NOT NULL,
  started_at            timestamptz NOT NULL DEFAULT now(),
  completed_at          timestamptz NULL,
  CHECK ((status = 'running') = (completed_at IS NULL))
);
-- At most one rebuild runs at a time: a new one supersedes the running one and takes over what it holds.
CREATE UNIQUE INDEX rebuild_runs_one_running ON rebuild_runs ((true)) WHERE status = 'running';

-- Payments a rebuild cleared from incoming_payments, exactly as they were (same columns, same ids).
CREATE TABLE rebuild_held_payments (LIKE incoming_payments INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE rebuild_held_payments ADD UNIQUE (tx_hash, output_index, block_hash);
