-- The candidate filters a processor instance loaded, stored so that a cold instance reads one row per filter instead
-- of every registered address and every unspent payment (adapters/postgres/filter-store.ts): a cold start then takes
-- the same time whatever the size of the history and of the unspent set.
--
-- A stored filter is valid for as long as the ids up to its watermark keep their rows. A restore removes the stored
-- filters itself (it loads rows with their ids); these triggers cover what else can give ids other rows: emptying
-- a followed table, or deleting registered addresses (the monitor never does; an operator by hand might).
CREATE TABLE candidate_filter_snapshots (
  name         text PRIMARY KEY,
  -- What the bits mean (hashing, byte order): a filter in another format is loaded from the tables instead.
  format       text        NOT NULL,
  -- The sync generation its rows were read in; NULL for a filter that does not depend on it.
  generation   bigint,
  -- The highest id of its table it holds: a cold instance catches up with the rows after it.
  last_seen_id bigint      NOT NULL,
  capacity     integer     NOT NULL CHECK (capacity > 0),
  bit_count    integer     NOT NULL CHECK (bit_count > 0),
  hash_count   integer     NOT NULL CHECK (hash_count > 0),
  entries      integer     NOT NULL CHECK (entries >= 0),
  bits         bytea       NOT NULL CHECK (octet_length(bits) * 8 = bit_count),
  stored_at    timestamptz NOT NULL
);
-- The bits are random: compressing them would only cost time.
ALTER TABLE candidate_filter_snapshots ALTER COLUMN bits SET STORAGE EXTERNAL;

CREATE FUNCTION forget_candidate_filter_snapshots() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM candidate_filter_snapshots;
  RETURN NULL;
END $$;

CREATE TRIGGER payment_addresses_forget_filters AFTER TRUNCATE OR DELETE ON payment_addresses
  FOR EACH STATEMENT EXECUTE FUNCTION forget_candidate_filter_snapshots();
CREATE TRIGGER incoming_payments_forget_filters AFTER TRUNCATE ON incoming_payments
  FOR EACH STATEMENT EXECUTE FUNCTION forget_candidate_filter_snapshots();
