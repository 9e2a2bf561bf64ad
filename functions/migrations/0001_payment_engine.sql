-- The payment engine's schema. Table names and meanings follow the integration tutorial: business systems
-- read these tables directly, so they are a contract. Money is BIGINT lovelace; token quantities are exact
-- decimal strings inside JSONB (JSON numbers would be corrupted by most JSON readers above 2^53).

-- Addresses the business watches, each tied to a reference (invoice, order, deposit account).
CREATE TABLE payment_addresses (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  address        text        NOT NULL UNIQUE,
  reference_type text        NOT NULL,
  reference_id   text        NOT NULL,
  user_id        text        NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_addresses_reference ON payment_addresses (reference_type, reference_id);

-- Registrations are serialised on one row so that ids become visible in commit order. The engine keeps an
-- in-memory filter of registered addresses and refreshes it with "id > last seen": without this, a
-- registration that committed after a later id could be skipped and its payments missed.
CREATE TABLE payment_address_registration_lock (singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton));
INSERT INTO payment_address_registration_lock DEFAULT VALUES;

CREATE FUNCTION serialise_payment_address_registrations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM payment_address_registration_lock FOR UPDATE;
  RETURN NULL;
END $$;
CREATE TRIGGER payment_addresses_serialise_registrations
  BEFORE INSERT ON payment_addresses
  FOR EACH STATEMENT EXECUTE FUNCTION serialise_payment_address_registrations();

-- Every output paying a registered address, one row per (output, block that carried it). A transaction that
-- leaves the chain keeps its row (rolled_back or reversed); included again in another block, it gets a new
-- row; if the very same block comes back (the chain switched away and back), its row becomes pending again.
CREATE SEQUENCE incoming_payments_id_seq AS bigint;
CREATE TABLE incoming_payments (
  id               bigint      NOT NULL DEFAULT nextval('incoming_payments_id_seq'),
  tx_hash          text        NOT NULL,
  output_index     integer     NOT NULL CHECK (output_index >= 0),
  address          text        NOT NULL,
  amount_lovelace  bigint      NOT NULL CHECK (amount_lovelace >= 0),
  -- {"<policy id hex>": {"<asset name hex>": "<quantity as decimal string>"}}
  assets           jsonb       NOT NULL DEFAULT '{}'::jsonb,
  reference_type   text        NOT NULL,
  reference_id     text        NOT NULL,
  user_id          text        NULL,
  block_height     bigint      NOT NULL,
  block_slot       bigint      NOT NULL,
  block_hash       text        NOT NULL,
  block_time       timestamptz NOT NULL,
  status           text        NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'confirmed', 'rolled_back', 'reversed')),
  detected_at      timestamptz NOT NULL DEFAULT now(),
  confirmed_at     timestamptz NULL,
  spent_by_tx_hash text        NULL,
  spent_at_slot    bigint      NULL,
  -- with spent_at_slot, orders the spend on the chain exactly (Byron slots are not unique per block)
  spent_at_height  bigint      NULL,
  CHECK ((status = 'confirmed' OR status = 'reversed') = (confirmed_at IS NOT NULL)),
  CHECK ((spent_by_tx_hash IS NULL) = (spent_at_slot IS NULL) AND (spent_at_slot IS NULL) = (spent_at_height IS NULL)),
  PRIMARY KEY (id, block_time),
  UNIQUE (tx_hash, output_index, block_hash, block_time)
) PARTITION BY RANGE (block_time);
ALTER SEQUENCE incoming_payments_id_seq OWNED BY incoming_payments.id;

-- An insert never fails for want of a partition: months without one land here until maintenance splits them out.
CREATE TABLE incoming_payments_default PARTITION OF incoming_payments DEFAULT;

CREATE INDEX incoming_payments_pending ON incoming_payments (block_height) WHERE status = 'pending';
CREATE INDEX incoming_payments_output ON incoming_payments (tx_hash, output_index);
CREATE INDEX incoming_payments_chain_position ON incoming_payments (block_slot, block_height)
  WHERE status IN ('pending', 'confirmed');
CREATE INDEX incoming_payments_spent_position ON incoming_payments (spent_at_slot, spent_at_height)
  WHERE spent_at_slot IS NOT NULL;
CREATE INDEX incoming_payments_address ON incoming_payments (address);
CREATE INDEX incoming_payments_reference ON incoming_payments (reference_type, reference_id);
CREATE INDEX incoming_payments_user ON incoming_payments (user_id) WHERE user_id IS NOT NULL;

-- Creates the monthly partitions from from_month up to months_ahead months after the current one. Rows that
-- already sit in the default partition for such a month are moved into the new partition, because
-- PostgreSQL refuses to create a partition whose range the default partition already holds rows for.
CREATE FUNCTION ensure_incoming_payment_partitions(months_ahead integer DEFAULT 3,
                                                   from_month date DEFAULT date_trunc('month', now())::date)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  month_start date := date_trunc('month', from_month)::date;
  last_month  date := (date_trunc('month', now()) + make_interval(months => months_ahead))::date;
  month_end   date;
  part_name   text;
  created     integer := 0;
BEGIN
  WHILE month_start <= last_month LOOP
    month_end := (month_start + interval '1 month')::date;
    part_name := format('incoming_payments_y%sm%s', to_char(month_start, 'YYYY'), to_char(month_start, 'MM'));
    IF to_regclass(part_name) IS NULL THEN
      IF EXISTS (SELECT 1 FROM incoming_payments_default
                 WHERE block_time >= month_start AND block_time < month_end) THEN
        EXECUTE format('CREATE TABLE %I (LIKE incoming_payments INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part_name);
        EXECUTE format('WITH moved AS (DELETE FROM incoming_payments_default
                                       WHERE block_time >= %L AND block_time < %L RETURNING *)
                        INSERT INTO %I SELECT * FROM moved', month_start, month_end, part_name);
        EXECUTE format('ALTER TABLE incoming_payments ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                       part_name, month_start, month_end);
      ELSE
        EXECUTE format('CREATE TABLE %I PARTITION OF incoming_payments FOR VALUES FROM (%L) TO (%L)',
                       part_name, month_start, month_end);
      END IF;
      created := created + 1;
    END IF;
    month_start := month_end;
  END LOOP;
  RETURN created;
END $$;

SELECT ensure_incoming_payment_partitions(3);

-- Recently applied blocks: the chain the engine is on, deep enough to roll back and to resume from.
CREATE TABLE blocks (
  hash       text        PRIMARY KEY,
  height     bigint      NOT NULL,
  slot       bigint      NOT NULL,
  ancestor   text        NOT NULL,
  block_time timestamptz NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX blocks_chain_position ON blocks (slot, height);
CREATE INDEX blocks_height ON blocks (height);

-- The engine's position. One row; NULL block columns mean "at origin".
CREATE TABLE sync_state (
  id                 smallint    PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  last_block_height  bigint      NULL,
  last_block_slot    bigint      NULL,
  last_block_hash    text        NULL,
  network_tip_height bigint      NULL,
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CHECK ((last_block_hash IS NULL) = (last_block_height IS NULL)
     AND (last_block_hash IS NULL) = (last_block_slot IS NULL))
);
INSERT INTO sync_state DEFAULT VALUES;

-- Sparse points kept forever (the first block of every hour), so a rebuild can start from any day.
CREATE TABLE checkpoints (
  slot       bigint      PRIMARY KEY,
  hash       text        NOT NULL UNIQUE,
  height     bigint      NOT NULL,
  block_time timestamptz NOT NULL
);
CREATE INDEX checkpoints_block_time ON checkpoints (block_time);

-- The ledger. A payment's n-th credit and n-th reversal each exist at most once: the unique key makes a
-- second credit of a payment that was never reversed (or a second reversal) impossible, whatever the code
-- does. occurrence only exceeds 1 when a reversed payment comes back on chain and is confirmed again.
CREATE TABLE balance_transactions (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id              text        NOT NULL,
  type                 text        NOT NULL CHECK (type IN ('credit', 'debit')),
  amount_lovelace      bigint      NOT NULL CHECK (amount_lovelace >= 0),
  payment_tx_hash      text        NULL,
  payment_output_index integer     NULL,
  occurrence           integer     NOT NULL DEFAULT 1 CHECK (occurrence >= 1),
  reason               text        NOT NULL,
  created_at           timestamptz NOT NULL DEFAULT now(),
  CHECK ((payment_tx_hash IS NULL) = (payment_output_index IS NULL)),
  UNIQUE (payment_tx_hash, payment_output_index, type, occurrence)
);
CREATE INDEX balance_transactions_user ON balance_transactions (user_id);

CREATE TABLE user_balances (
  user_id          text        PRIMARY KEY,
  -- may go below zero when a payment already credited (and withdrawn) is reversed by a deep rollback
  balance_lovelace bigint      NOT NULL DEFAULT 0,
  updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Append-only record of what happened and who did it.
CREATE TABLE audit_log (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  action      text        NOT NULL,
  entity_type text        NOT NULL,
  entity_id   text        NOT NULL,
  actor       text        NOT NULL,
  details     jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id);

CREATE FUNCTION refuse_audit_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only
  BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit_log_change();
CREATE TRIGGER audit_log_no_truncate
  BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_log_change();
