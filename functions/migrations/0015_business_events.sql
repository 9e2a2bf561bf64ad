-- Business events (the transactional outbox and the event log) and webhooks (issue 14).

-- The event log. The engine writes a row in the same transaction as the change it describes; the publisher puts
-- the rows on EventBridge in seq order and marks them published; the pull API and the webhook deliverer read the
-- rows directly. seq is the order and the cursor: it must follow commit order, so that a reader that has seen seq n
-- never later finds a smaller seq committed after it. Every insert therefore takes one transaction-level advisory
-- lock first (the trigger below: the rule lives in the database, whoever writes): writers of events run one at a
-- time from their first event to their commit. The engine is serialised anyway (sync_state row lock); a writer
-- that also takes sync_state must take it before its first event.
CREATE TABLE business_events (
  seq           bigserial   PRIMARY KEY,
  -- 'evt_' || 32 hex of sha256(type, resource id, version): the consumer's idempotency key, the same on a replay
  id            text        NOT NULL UNIQUE,
  type          text        NOT NULL,
  resource_type text        NOT NULL,
  resource_id   text        NOT NULL,
  -- 1, 2, … per resource: counts the resource's events (a payment rolled back that comes back continues the count)
  version       integer     NOT NULL CHECK (version >= 1),
  data          jsonb       NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  published_at  timestamptz NULL,
  UNIQUE (resource_type, resource_id, version)
);
CREATE INDEX business_events_unpublished ON business_events (seq) WHERE published_at IS NULL;
-- (no index on type: the pull API filters a seq range; an index on type would tempt the planner away from the
-- per-resource lookups of the engine's inserts)

CREATE FUNCTION serialise_business_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- 0x6275736576656e74 = 'busevent': one key, held to the commit
  PERFORM pg_advisory_xact_lock(7094703306575900276);
  RETURN NULL;
END $$;
CREATE TRIGGER business_events_serialise
  BEFORE INSERT ON business_events
  FOR EACH STATEMENT EXECUTE FUNCTION serialise_business_events();

CREATE FUNCTION business_event_id(event_type text, resource_id text, version integer) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT 'evt_' || left(encode(sha256(convert_to(event_type || E'\n' || resource_id || E'\n' || version::text, 'UTF8')), 'hex'), 32)
$$;

CREATE FUNCTION utc_iso(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- Whether consumers were already told this about the payment output: an event of this type for the same block (and,
-- for payment.spent, the same spending transaction) with no payment.rolled_back or payment.reversed of that block
-- after it. The engine's inserts skip such events (a rebuild re-deriving unchanged payments, a replay). A function,
-- not an inline NOT EXISTS: inline, the planner turns the correlated lookup into an anti-join over every event of
-- the type (8x slower engine batches, measured); here it is one index lookup per payment.
CREATE FUNCTION payment_event_already_told(output_id text, event_type text, block_hash text, spent_by text)
RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN EXISTS (
    SELECT 1 FROM business_events e
     WHERE e.resource_type = 'payment' AND e.resource_id = output_id AND e.type = event_type
       AND e.data->'block'->>'hash' = block_hash
       AND (spent_by IS NULL OR e.data->'spent'->>'tx_hash' = spent_by)
       AND NOT EXISTS (SELECT 1 FROM business_events x
                        WHERE x.resource_type = 'payment' AND x.resource_id = output_id AND x.seq > e.seq
                          AND x.type IN ('payment.rolled_back', 'payment.reversed')
                          AND x.data->'block'->>'hash' = block_hash));
END $$;

-- Whether consumers were already told that the payment output's inclusion in this block ended: the newest event
-- about that block is a payment.rolled_back or payment.reversed. A rolled_back is then not written again (a rebuild
-- tells it as soon as the output is found in another block, before that block's payment.detected; its settlement
-- later finds it told).
CREATE FUNCTION payment_block_left_told(output_id text, block_hash text) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN coalesce((SELECT e.type IN ('payment.rolled_back', 'payment.reversed') FROM business_events e
                    WHERE e.resource_type = 'payment' AND e.resource_id = output_id
                      AND e.data->'block'->>'hash' = block_hash
                    ORDER BY e.version DESC LIMIT 1), false);
END $$;

-- The payment as the API returns it: the SQL twin of functions/domain/payment-resource.ts (a test compares them).
CREATE FUNCTION payment_resource(p incoming_payments) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object(
    'tx_hash', p.tx_hash,
    'output_index', p.output_index,
    'status', p.status,
    'address', p.address,
    'reference_type', p.reference_type,
    'reference_id', p.reference_id,
    'user_id', p.user_id,
    'amount_lovelace', p.amount_lovelace::text,
    'assets', p.assets,
    'block', jsonb_build_object('height', p.block_height, 'slot', p.block_slot, 'hash', p.block_hash,
                                'time', utc_iso(p.block_time)),
    'detected_at', utc_iso(p.detected_at),
    'confirmed_at', utc_iso(p.confirmed_at),
    'spent', CASE WHEN p.spent_by_tx_hash IS NULL THEN NULL
                  ELSE jsonb_build_object('tx_hash', p.spent_by_tx_hash, 'slot', p.spent_at_slot) END)
$$;

-- Webhook endpoints. Each has its own delivery cursor: the last seq delivered (or passed over: not matching its
-- event types), so it is served in seq order, one event at a time, whatever the other endpoints do.
CREATE TABLE webhook_endpoints (
  id                text        PRIMARY KEY, -- 'we_' || 24 hex
  url               text        NOT NULL,
  -- 'payment.*', 'payment.confirmed', '*'
  event_types       text[]      NOT NULL CHECK (cardinality(event_types) >= 1),
  status            text        NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
  disabled_reason   text        NULL,
  disabled_at       timestamptz NULL,
  cursor_seq        bigint      NOT NULL DEFAULT 0,
  -- the head event's failures so far (0 when the last attempt succeeded), since when, and when to try again
  head_attempts     integer     NOT NULL DEFAULT 0,
  failing_since     timestamptz NULL,
  next_attempt_at   timestamptz NULL,
  -- one deliverer at a time per endpoint: a lease, not a lock held across the HTTP call
  leased_until      timestamptz NULL,
  last_delivered_at timestamptz NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  created_by        text        NOT NULL,
  deleted_at        timestamptz NULL,
  CHECK ((status = 'disabled') = (disabled_at IS NOT NULL))
);
CREATE INDEX webhook_endpoints_live ON webhook_endpoints (created_at, id) WHERE deleted_at IS NULL;

-- Signing secrets, sealed (AES-256-GCM, functions/adapters/crypto/aes-gcm-sealer.ts), never in clear. Active while
-- expires_at is NULL or later than now; during a rotation two are active and a delivery carries one v1= per secret.
CREATE TABLE webhook_endpoint_secrets (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  endpoint_id text        NOT NULL REFERENCES webhook_endpoints (id),
  sealed      text        NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NULL
);
CREATE INDEX webhook_endpoint_secrets_endpoint ON webhook_endpoint_secrets (endpoint_id, created_at);

-- Manual redeliveries: an event delivered again to one endpoint, outside its ordered stream.
CREATE TABLE webhook_redeliveries (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  endpoint_id     text        NOT NULL REFERENCES webhook_endpoints (id),
  event_seq       bigint      NOT NULL REFERENCES business_events (seq),
  requested_by    text        NOT NULL,
  requested_at    timestamptz NOT NULL DEFAULT now(),
  attempts        integer     NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  finished_at     timestamptz NULL
);
CREATE INDEX webhook_redeliveries_pending ON webhook_redeliveries (endpoint_id, next_attempt_at) WHERE status = 'pending';

-- Every attempt, successful or not.
CREATE TABLE webhook_delivery_attempts (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  endpoint_id      text        NOT NULL REFERENCES webhook_endpoints (id),
  event_seq        bigint      NOT NULL REFERENCES business_events (seq),
  event_id         text        NOT NULL,
  attempt          integer     NOT NULL CHECK (attempt >= 1),
  redelivery_id    bigint      NULL REFERENCES webhook_redeliveries (id),
  started_at       timestamptz NOT NULL,
  duration_ms      integer     NOT NULL,
  status_code      integer     NULL,
  error            text        NULL,
  -- at most 1 KiB of the answer's body
  response_excerpt text        NULL CHECK (octet_length(response_excerpt) <= 1024),
  succeeded        boolean     NOT NULL
);
CREATE INDEX webhook_delivery_attempts_endpoint ON webhook_delivery_attempts (endpoint_id, id);
CREATE INDEX webhook_delivery_attempts_event ON webhook_delivery_attempts (event_seq);
