-- A reconciliation run survives a transient failure (Ogmios or the database briefly unreachable, a Lambda
-- timeout): the failed invocation counts the attempt and leaves the run running with its error, so that a retry
-- resumes it from its cursor; only after several failed attempts in a row (no chunk recorded in between) is it
-- failed. A recorded chunk resets the count.
ALTER TABLE reconciliation_runs ADD COLUMN failed_attempts integer NOT NULL DEFAULT 0;
