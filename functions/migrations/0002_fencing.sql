-- Fencing: every chain event from the AWS follower carries the leader's fencing token (from the DynamoDB
-- lease) and the sync generation (bumped by a rebuild). The engine applies an event only if neither is older
-- than the highest it has applied, checked in the same transaction as the write, so a deposed leader or a
-- message from before a rebuild can never change anything.
ALTER TABLE sync_state
  ADD COLUMN fence_token     bigint NOT NULL DEFAULT 0,
  ADD COLUMN sync_generation bigint NOT NULL DEFAULT 0;
