-- Where the monitor began watching each address, and what the address already held then.
--
-- The engine records payments to an address from the block after the one it had applied when the address was
-- registered (from its first block, for addresses registered before it applied any). Outputs the address held
-- before that are not payments the monitor saw arrive: a business that registers an address that already holds
-- funds must not see them as missing. Ogmios' UTxO answers say nothing about when an output was created, so the
-- outputs an address held when watching began (its opening) are read once, from the node's ledger state at that
-- block, and kept here; reconciliation counts them as predates_watch, apart from the discrepancies.
CREATE TABLE address_watch (
  address             text        PRIMARY KEY,
  -- sync_state's applied height when the address was registered; NULL: before the engine applied any block.
  watched_from_height bigint      NULL,
  -- The block whose ledger state the opening was read from (NULL until read; height -1: origin, nothing held),
  -- and whether that was the watch start itself (false: the start was no longer readable, a later block was used).
  opening_height      bigint      NULL,
  opening_slot        bigint      NULL,
  opening_hash        text        NULL,
  opening_exact       boolean     NULL,
  opening_outputs     integer     NULL,
  opening_read_at     timestamptz NULL,
  CHECK ((opening_read_at IS NULL) = (opening_height IS NULL))
);
CREATE INDEX address_watch_unread ON address_watch (address) WHERE opening_read_at IS NULL;

-- The outputs each address held at its opening (an output is at one address only).
CREATE TABLE address_opening_outputs (
  tx_hash         text    NOT NULL,
  output_index    integer NOT NULL CHECK (output_index >= 0),
  address         text    NOT NULL,
  amount_lovelace bigint  NOT NULL,
  assets          jsonb   NOT NULL,
  PRIMARY KEY (tx_hash, output_index)
);
CREATE INDEX address_opening_outputs_address ON address_opening_outputs (address);

-- Every way an address gets registered (the registry, a CSV import, a restore, a direct INSERT) notes where
-- watching began. FOR SHARE waits for a batch being applied and keeps the next one from starting until this
-- registration commits, so the engine matches the address from exactly the block after the height noted.
CREATE FUNCTION note_address_watch_start() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  applied bigint;
BEGIN
  SELECT last_block_height INTO applied FROM sync_state WHERE id = 1 FOR SHARE;
  INSERT INTO address_watch (address, watched_from_height)
  SELECT address, applied FROM new_addresses
  ON CONFLICT (address) DO UPDATE
    SET watched_from_height = EXCLUDED.watched_from_height, opening_height = NULL, opening_slot = NULL,
        opening_hash = NULL, opening_exact = NULL, opening_outputs = NULL, opening_read_at = NULL;
  RETURN NULL;
END $$;
CREATE TRIGGER payment_addresses_note_watch_start AFTER INSERT ON payment_addresses
  REFERENCING NEW TABLE AS new_addresses FOR EACH STATEMENT EXECUTE FUNCTION note_address_watch_start();

-- Addresses registered before this migration: watching is taken to begin now (their registration point was not
-- kept), so nothing they received since registration can be mistaken for an output held before.
INSERT INTO address_watch (address, watched_from_height)
SELECT address, (SELECT last_block_height FROM sync_state WHERE id = 1) FROM payment_addresses;

ALTER TABLE reconciliation_runs ADD COLUMN predates_watch bigint NOT NULL DEFAULT 0;
