-- The HTTP API (/v1): API keys, stored responses of idempotent POSTs, and the payment indexes its lists read.

-- A key is 32 random bytes (base64url) after a prefix naming the network (pm_live_ on mainnet, pm_test_ on the test
-- networks); only its SHA-256 is stored, with a short visible prefix to recognise it. A key has one scope, and
-- scopes nest: admin implies write, write implies read.
-- At most two keys per scope are active, so a key can be rotated without downtime (create the second, move the
-- callers, revoke the first): an active key holds one of its scope's two slots, and the unique index refuses a third.
CREATE TABLE api_keys (
  id             text        PRIMARY KEY CHECK (id ~ '^key_[A-Za-z0-9_-]{8,64}$'),
  name           text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  scope          text        NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
  key_hash       bytea       NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
  display_prefix text        NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  created_by     text        NOT NULL,
  revoked_at     timestamptz NULL,
  revoked_by     text        NULL,
  -- written at most once a minute per key (the lookup skips the write while the last one is recent)
  last_used_at   timestamptz NULL,
  active_slot    smallint    NULL CHECK (active_slot IN (1, 2)),
  CHECK ((revoked_at IS NULL) = (active_slot IS NOT NULL)),
  CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE UNIQUE INDEX api_keys_two_active_per_scope ON api_keys (scope, active_slot) WHERE active_slot IS NOT NULL;

-- The first response to a POST with an Idempotency-Key, replayed for 24 hours to the same principal (an API key
-- id, or an IAM caller's ARN). Written in the same transaction as the write it answers. request_hash is the
-- SHA-256 of method, path and canonical body: the same key with another request is refused (422).
-- Rows older than 24 hours are deleted by the API itself, a bounded batch after each stored response.
CREATE TABLE idempotency_keys (
  principal       text        NOT NULL,
  idempotency_key text        NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  request_hash    bytea       NOT NULL,
  response_status integer     NOT NULL,
  -- the response body as sent, except a secret shown once (an API key, a webhook secret), which is not kept
  response_body   text        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (principal, idempotency_key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- GET /v1/payments pages by id (keyset) under each filter: the filter indexes end with id, so a page is an index
-- range in each partition merged in id order, whatever the number of payments. Same names, one more column.
DROP INDEX incoming_payments_address;
CREATE INDEX incoming_payments_address ON incoming_payments (address, id);
DROP INDEX incoming_payments_reference;
CREATE INDEX incoming_payments_reference ON incoming_payments (reference_type, reference_id, id);
DROP INDEX incoming_payments_user;
CREATE INDEX incoming_payments_user ON incoming_payments (user_id, id) WHERE user_id IS NOT NULL;
CREATE INDEX incoming_payments_status_id ON incoming_payments (status, id);
