-- Invoices and the account keys their addresses are derived from (issue 15). The rules that judge an invoice are
-- functions/domain/invoices/invoice-rules.ts; this schema keeps what they need and what they concluded.

-- A business's CIP-1852 account public key (watch-only: the monitor never holds a private key). Invoices without an
-- address of their own take the account's external addresses (role 0) in order, within the gap limit.
CREATE TABLE account_keys (
  id          text        PRIMARY KEY CHECK (id ~ '^acct_[0-9a-f]{24}$'),
  -- the key in its canonical form (acct_xvk1…: 32-byte Ed25519 public key and 32-byte chain code)
  public_key  text        NOT NULL UNIQUE,
  name        text        NULL,
  -- how many unused addresses in a row a wallet restored from the seed scans before it stops
  gap_limit   integer     NOT NULL DEFAULT 20 CHECK (gap_limit BETWEEN 1 AND 10000),
  -- the next index never handed out
  next_index  integer     NOT NULL DEFAULT 0 CHECK (next_index >= 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_by  text        NOT NULL
);

-- Every address handed out from an account key (once: never to two invoices) and its invoice. A wallet restored from
-- the seed finds funds only within the gap limit of the highest used index (used: it holds a payment on the chain), so
-- no index beyond it is handed out. invoice_id has no foreign key: the invoice is inserted after its address is
-- chosen, in the same transaction.
CREATE TABLE account_addresses (
  account_id     text        NOT NULL REFERENCES account_keys (id),
  address_index  integer     NOT NULL CHECK (address_index >= 0),
  address        text        NOT NULL UNIQUE,
  invoice_id     text        NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, address_index)
);

CREATE TABLE invoices (
  id                text        PRIMARY KEY CHECK (id ~ '^inv_[0-9a-f]{24}$'),
  reference_id      text        NOT NULL,
  user_id           text        NULL,
  address           text        NOT NULL,
  account_id        text        NULL REFERENCES account_keys (id),
  address_index     integer     NULL,
  -- what is asked: lovelace (0 when only tokens are asked) and tokens {"<policy>.<name hex>": "<quantity>"}
  amount_lovelace   numeric(20, 0) NOT NULL CHECK (amount_lovelace >= 0 AND amount_lovelace <= 18446744073709551615),
  amount_assets     jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(amount_assets) = 'object'),
  confirmations     integer     NOT NULL CHECK (confirmations >= 1),
  created_at        timestamptz NOT NULL,
  expires_at        timestamptz NOT NULL,
  monitoring_until  timestamptz NOT NULL,
  created_by        text        NOT NULL,
  -- the last judgement
  status            text        NOT NULL DEFAULT 'new'
                      CHECK (status IN ('new', 'processing', 'settled', 'expired', 'invalid')),
  additional_status text        NOT NULL DEFAULT 'none'
                      CHECK (additional_status IN ('none', 'paid_partial', 'paid_over', 'paid_late')),
  -- every on-chain payment summed per asset, as the resource shows it: {"lovelace": "…", "assets": {"<asset>": "…"}}
  paid              jsonb       NOT NULL DEFAULT '{"lovelace": "0", "assets": {}}'::jsonb,
  -- the tip height at which the completing payment reaches the invoice's depth (NULL: not paid in full on time)
  settles_at_height bigint      NULL,
  -- sticky facts: once settled (a later loss makes it invalid), once expired (a rollback does not un-expire it)
  ever_settled      boolean     NOT NULL DEFAULT false,
  expired           boolean     NOT NULL DEFAULT false,
  settled_at        timestamptz NULL,
  updated_at        timestamptz NOT NULL,
  CHECK (expires_at > created_at AND monitoring_until >= expires_at),
  CHECK (amount_lovelace > 0 OR amount_assets <> '{}'::jsonb),
  CHECK ((account_id IS NULL) = (address_index IS NULL)),
  CHECK ((status IN ('processing', 'settled')) = (settles_at_height IS NOT NULL))
);
-- An invoice's address is never another's (payment_addresses is unique by address and names the invoice); nothing
-- looks invoices up by address, so no index on it: every change of status rewrites each index entry of the row.
-- What an engine step judges again besides the invoices its payments touched.
CREATE INDEX invoices_new_by_expiry ON invoices (expires_at) WHERE status = 'new';
-- One index per status: every settled invoice is at or below the tip, so a shared index would be read whole by the
-- processing lookup; the settled one is read only after a rollback, for the few above the new tip.
CREATE INDEX invoices_processing_by_settling_height ON invoices (settles_at_height) WHERE status = 'processing';
CREATE INDEX invoices_settled_by_settling_height ON invoices (settles_at_height) WHERE status = 'settled';
-- The API's pages (newest first, id breaks ties) and filters.
CREATE INDEX invoices_page ON invoices (created_at DESC, id DESC);
CREATE INDEX invoices_status_page ON invoices (status, created_at DESC, id DESC);
CREATE INDEX invoices_reference ON invoices (reference_id);
-- An invoice with a payment a running rebuild holds aside keeps its judgement until the settlement decides it.
CREATE INDEX rebuild_held_payments_invoice ON rebuild_held_payments (reference_id) WHERE reference_type = 'invoice';

-- Reconciliation checks every invoice against the rules' judgement of its on-chain payments: a difference is an
-- invoice_mismatch discrepancy naming the invoice and what differs; the run counts them.
ALTER TABLE reconciliation_runs ADD COLUMN invoice_mismatches bigint NULL;
ALTER TABLE reconciliation_discrepancies
  ADD COLUMN invoice_id text NULL,
  ADD COLUMN detail     text NULL,
  DROP CONSTRAINT reconciliation_discrepancies_kind_check,
  ADD CONSTRAINT reconciliation_discrepancies_kind_check
    CHECK (kind IN ('missing_in_db', 'extra_in_db', 'amount_mismatch', 'asset_mismatch', 'balance_mismatch', 'invoice_mismatch')),
  ADD CONSTRAINT reconciliation_discrepancies_invoice_check CHECK ((kind = 'invoice_mismatch') = (invoice_id IS NOT NULL));
