-- Payouts (issue 16), the request side: the payout itself, the balance it holds while it is under way, and its
-- debit from the user's ledger once it is confirmed. The states and who may move them are
-- functions/domain/payouts/payout-rules.ts; every move goes through recordPayoutTransition
-- (functions/adapters/postgres/payout-requests.ts), which writes its business event and audit row with it. The
-- attempts (transactions) and the reservations of the hot wallet's outputs are migration 0020's.

CREATE TABLE payouts (
  id              text        PRIMARY KEY CHECK (id ~ '^po_[0-9a-f]{24}$'),
  reference_id    text        NOT NULL,
  user_id         text        NULL,
  -- canonical bech32 (or Byron base58), validated for the network when requested
  destination     text        NOT NULL,
  lovelace        numeric(20, 0) NOT NULL CHECK (lovelace >= 0 AND lovelace <= 18446744073709551615),
  -- {"<policy hex>.<asset name hex>": "<decimal string>"}, each 1 .. 2^64 - 1 (checked by the API)
  assets          jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(assets) = 'object'),
  status          text        NOT NULL CHECK (status IN ('requested', 'approved', 'built', 'signed', 'submitted', 'in_block',
                                                         'confirmed', 'expired', 'failed', 'cancelled', 'rejected')),
  requested_by    text        NOT NULL,
  approved_by     text        NULL,
  approved_at     timestamptz NULL,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  -- 1 at creation, one more per transition: the version of the payout's business event
  version         integer     NOT NULL CHECK (version >= 1),
  failure_reason  text        NULL,
  -- the attempt that confirmed or is current (set by the processor)
  transaction_id  text        NULL,
  CHECK (lovelace > 0 OR assets <> '{}'::jsonb),
  CHECK ((approved_by IS NULL) = (approved_at IS NULL))
);
-- The API's pages (newest first, id breaks ties) and filters.
CREATE INDEX payouts_page ON payouts (created_at DESC, id DESC);
CREATE INDEX payouts_status_page ON payouts (status, created_at DESC, id DESC);
CREATE INDEX payouts_reference ON payouts (reference_id, created_at DESC, id DESC);
CREATE INDEX payouts_user_page ON payouts (user_id, created_at DESC, id DESC) WHERE user_id IS NOT NULL;
-- The daily limit: lovelace of the payouts requested in a UTC day that still count (an index-only sum).
CREATE INDEX payouts_daily_limit ON payouts (created_at) INCLUDE (lovelace)
  WHERE status NOT IN ('cancelled', 'rejected', 'failed');

-- What a payout of a user holds of that user's balance, per asset ('lovelace' or '<policy>.<name hex>'): open from
-- the request until it is debited (confirmed) or released (cancelled, rejected, failed). The user's available
-- balance of an asset is the balance minus the open holds. A hold closes once: the trigger below refuses any change
-- to a closed hold, and any change but closing to an open one; holds are never deleted.
CREATE TABLE payout_holds (
  payout_id  text        NOT NULL REFERENCES payouts (id),
  user_id    text        NOT NULL,
  asset      text        NOT NULL CHECK (asset = 'lovelace' OR asset ~ '^[0-9a-f]{56}\.([0-9a-f]{2}){0,32}$'),
  quantity   numeric(20, 0) NOT NULL CHECK (quantity > 0 AND quantity <= 18446744073709551615),
  created_at timestamptz NOT NULL,
  closed_as  text        NULL CHECK (closed_as IN ('debited', 'released')),
  closed_at  timestamptz NULL,
  CHECK ((closed_as IS NULL) = (closed_at IS NULL)),
  PRIMARY KEY (payout_id, asset)
);
CREATE INDEX payout_holds_open ON payout_holds (user_id, asset) INCLUDE (quantity) WHERE closed_as IS NULL;

CREATE FUNCTION payout_hold_closes_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    RAISE EXCEPTION 'payout holds are never deleted' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'payout holds are never deleted (payout %, %)', OLD.payout_id, OLD.asset USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF OLD.closed_as IS NOT NULL THEN
    RAISE EXCEPTION 'the hold of payout % on % is already %', OLD.payout_id, OLD.asset, OLD.closed_as
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF (NEW.payout_id, NEW.user_id, NEW.asset, NEW.quantity, NEW.created_at)
     IS DISTINCT FROM (OLD.payout_id, OLD.user_id, OLD.asset, OLD.quantity, OLD.created_at) THEN
    RAISE EXCEPTION 'a payout hold only closes (payout %, %)', OLD.payout_id, OLD.asset USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER payout_holds_close_once
  BEFORE UPDATE OR DELETE ON payout_holds FOR EACH ROW EXECUTE FUNCTION payout_hold_closes_once();
CREATE TRIGGER payout_holds_no_truncate
  BEFORE TRUNCATE ON payout_holds FOR EACH STATEMENT EXECUTE FUNCTION payout_hold_closes_once();

-- The ledger debit of a confirmed payout: one balance_transactions row per (payout, asset) it held, at most once by
-- the unique index, and only of a hold (the foreign key). user_balances.balance_lovelace keeps its meaning (the sum of
-- the user's lovelace ledger rows, credits minus debits: reconciliation's balance check counts these debits too), as
-- does user_asset_balances.quantity for tokens.
ALTER TABLE balance_transactions
  ADD COLUMN payout_id text NULL,
  ADD CONSTRAINT balance_transactions_payout_hold FOREIGN KEY (payout_id, asset) REFERENCES payout_holds (payout_id, asset),
  ADD CONSTRAINT balance_transactions_payout_debit
    CHECK (payout_id IS NULL OR (type = 'debit' AND payment_tx_hash IS NULL AND occurrence = 1));
CREATE UNIQUE INDEX balance_transactions_payout_once ON balance_transactions (payout_id, asset) WHERE payout_id IS NOT NULL;
