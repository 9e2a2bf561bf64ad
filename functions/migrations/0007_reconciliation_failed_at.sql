-- When a running reconciliation's last attempt failed. A start takes the run over for a failed attempt only while
-- nobody touched the run since (updated_at <= failed_at); the takeover moves updated_at past it, so each failure
-- lets exactly one start take the run over, not every start until a chunk is recorded.
ALTER TABLE reconciliation_runs ADD COLUMN failed_at timestamptz NULL;
