-- The AWS pipeline's own bookkeeping (domain/pipeline-recovery.ts has the rules).
--
-- A leader session is identified by (sync_generation, fence_token). A new leader writes its token here before it
-- reads where to resume (the fence), so nothing an earlier leader emitted can be applied afterwards. Each message
-- carries the range of steps (a block, or a rollback) of its session that it holds; applied_step is the last
-- step applied in the current session, so a duplicate is recognised as one and a gap (a message lost) is seen at
-- once instead of as a broken chain.
ALTER TABLE sync_state
  ADD COLUMN applied_step           bigint      NOT NULL DEFAULT 0 CHECK (applied_step >= 0),
  ADD COLUMN fenced_at              timestamptz NULL,
  -- Recoveries in a row that did not let the engine move past the height where the first of them happened.
  ADD COLUMN recovery_streak        integer     NOT NULL DEFAULT 0 CHECK (recovery_streak >= 0),
  ADD COLUMN recovery_streak_height bigint      NULL,
  -- Set when recoveries keep failing: the processor applies nothing until an operator resumes the pipeline.
  ADD COLUMN halted_at              timestamptz NULL,
  ADD COLUMN halted_reason          text        NULL,
  ADD CHECK ((halted_at IS NULL) = (halted_reason IS NULL));

-- Every time the processor acknowledged a message it could not apply and made the leader follow again from the
-- database's points (a new sync generation), or halted the pipeline, or an operator resumed it. A poison
-- message is set aside here with its body, as received.
CREATE TABLE pipeline_recoveries (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind            text        NOT NULL CHECK (kind IN ('divergence', 'poison', 'halted', 'resumed')),
  reason          text        NOT NULL,
  message_id      text        NULL,
  message_body    text        NULL,
  fence_token     bigint      NULL,
  generation      bigint      NULL,
  generation_to   bigint      NULL,
  applied_height  bigint      NULL,
  actor           text        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pipeline_recoveries_created ON pipeline_recoveries (created_at);
