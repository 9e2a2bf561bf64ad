-- Balances per asset. The ledger carries an asset: 'lovelace', or '<policy id>.<asset name hex>' (56 hex digits, a
-- dot, 0 to 64 hex digits). A confirmed payment credits every asset its output carries, lovelace and each token, one
-- ledger row each; a reversal debits each. At most once is still the unique key's: a payment's n-th credit (or
-- debit) of an asset exists at most once. Quantities are exact integers up to 2^64 - 1 (NUMERIC, never float).
--
-- Existing ledger rows are lovelace. (Tokens of payments confirmed before this migration were never credited and
-- are not credited here: the ledger records what was credited.)

-- An output's assets as rows: lovelace (always, as the engine credits it) and each token of its assets JSON
-- ({"<policy>": {"<asset name hex>": "<quantity>"}}, as in incoming_payments).
CREATE FUNCTION payment_assets(amount_lovelace bigint, assets jsonb)
RETURNS TABLE (asset text, quantity numeric) LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT 'lovelace', amount_lovelace::numeric
  UNION ALL
  SELECT p.key || '.' || n.key, n.value::numeric
    FROM jsonb_each(coalesce(assets, '{}'::jsonb)) p, jsonb_each_text(p.value) n
$$;

ALTER TABLE balance_transactions
  ADD COLUMN asset text NOT NULL DEFAULT 'lovelace'
    CONSTRAINT balance_transactions_asset_form CHECK (asset = 'lovelace' OR asset ~ '^[0-9a-f]{56}\.([0-9a-f]{2}){0,32}$'),
  ADD COLUMN quantity numeric(20, 0) NULL;
ALTER TABLE balance_transactions ALTER COLUMN asset DROP DEFAULT;
UPDATE balance_transactions SET quantity = amount_lovelace;
ALTER TABLE balance_transactions
  ALTER COLUMN quantity SET NOT NULL,
  ADD CONSTRAINT balance_transactions_quantity_range CHECK (quantity >= 0 AND quantity <= 18446744073709551615);

-- The key now includes the asset: one credit of each asset per occurrence.
DO $$
DECLARE
  old_key text;
BEGIN
  SELECT conname INTO old_key FROM pg_constraint
   WHERE conrelid = 'balance_transactions'::regclass AND contype = 'u'
     AND conkey = ARRAY(SELECT attnum FROM pg_attribute WHERE attrelid = 'balance_transactions'::regclass
                          AND attname IN ('payment_tx_hash', 'payment_output_index', 'type', 'occurrence')
                        ORDER BY array_position(ARRAY['payment_tx_hash', 'payment_output_index', 'type', 'occurrence'], attname::text))::smallint[];
  IF old_key IS NULL THEN RAISE EXCEPTION 'the ledger''s unique key (payment, type, occurrence) is missing'; END IF;
  EXECUTE format('ALTER TABLE balance_transactions DROP CONSTRAINT %I', old_key);
END $$;
ALTER TABLE balance_transactions
  ADD CONSTRAINT balance_transactions_once UNIQUE (payment_tx_hash, payment_output_index, asset, type, occurrence);

-- amount_lovelace keeps its meaning for existing readers: the quantity of a lovelace row (NULL for a token row),
-- derived, so that the two can never disagree.
ALTER TABLE balance_transactions DROP COLUMN amount_lovelace;
ALTER TABLE balance_transactions
  ADD COLUMN amount_lovelace bigint GENERATED ALWAYS AS (CASE WHEN asset = 'lovelace' THEN quantity::bigint END) STORED;

-- Token balances; the lovelace balance stays user_balances.balance_lovelace. A balance may go below zero (a
-- payment already credited and withdrawn, reversed by a deep rollback) and above 2^64 - 1 (many payments).
CREATE TABLE user_asset_balances (
  user_id    text        NOT NULL,
  asset      text        NOT NULL CHECK (asset ~ '^[0-9a-f]{56}\.([0-9a-f]{2}){0,32}$'),
  quantity   numeric     NOT NULL CHECK (quantity = trunc(quantity)),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, asset)
);

-- A balance mismatch names its asset; token quantities exceed bigint, so stored and calculated are numeric here
-- (stored_lovelace and calculated_lovelace stay filled for lovelace mismatches).
ALTER TABLE reconciliation_discrepancies
  ADD COLUMN asset               text    NULL,
  ADD COLUMN stored_quantity     numeric NULL,
  ADD COLUMN calculated_quantity numeric NULL;
UPDATE reconciliation_discrepancies
   SET asset = 'lovelace', stored_quantity = stored_lovelace, calculated_quantity = calculated_lovelace
 WHERE kind = 'balance_mismatch';
