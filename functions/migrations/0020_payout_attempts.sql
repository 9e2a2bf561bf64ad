-- Payout execution (issue 16): the transactions that carry approved payouts (attempts) and the hot wallet's outputs
-- they spend. The rules are functions/domain/payouts/payout-execution.ts; payouts themselves are 0019.
--
-- The hot wallet's unspent outputs are the engine's own records: its addresses are registered like payment
-- addresses (reference_type 'hot_wallet', no user: nothing is credited) so incoming_payments holds every output they
-- receive and the transaction that spent it.

-- One transaction built for a batch of payouts. Its id is the blake2b-256 of body_cbor: the exact bytes signed and
-- submitted, never re-serialised.
CREATE TABLE payout_attempts (
  transaction_id    text        PRIMARY KEY CHECK (transaction_id ~ '^[0-9a-f]{64}$'),
  status            text        NOT NULL CHECK (status IN
                      ('built', 'signed', 'submitted', 'in_block', 'confirmed', 'expired', 'failed', 'abandoned')),
  body_cbor         bytea       NOT NULL,
  -- the whole signed transaction, once the signer answered and its signature verified
  signed_cbor       bytea       NULL,
  fee_lovelace      numeric(20, 0) NOT NULL CHECK (fee_lovelace > 0),
  -- the last slot in which the transaction can be in a block (its TTL is one more)
  valid_until_slot  bigint      NOT NULL,
  -- the block that carries it while in_block or confirmed
  block_height      bigint      NULL,
  block_hash        text        NULL,
  -- sends: how many times the transaction was handed to a node (counted before each try, so a crash after a node
  -- accepted it still counts); submissions: how many answers were recorded
  sends             integer     NOT NULL DEFAULT 0,
  submissions       integer     NOT NULL DEFAULT 0,
  -- the first send: how long the payout has waited for a block (alarm after 30 minutes)
  first_sent_at     timestamptz NULL,
  last_submitted_at timestamptz NULL,
  last_submit_error text        NULL,
  failure_reason    text        NULL,
  -- another transaction spent one of its inputs in the block at this height: final (failed, or abandoned) only once
  -- that block is confirmed; a rollback above it clears it
  conflict_height   bigint      NULL,
  conflict_reason   text        NULL,
  built_by          text        NOT NULL,
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  CHECK ((status IN ('in_block', 'confirmed')) = (block_height IS NOT NULL)),
  CHECK ((block_height IS NULL) = (block_hash IS NULL)),
  CHECK ((conflict_height IS NULL) = (conflict_reason IS NULL)),
  CHECK (status IN ('built', 'abandoned') OR signed_cbor IS NOT NULL)
);
-- what the processor and the engine look for: every live attempt (few at a time)
CREATE INDEX payout_attempts_live ON payout_attempts (status, block_height)
  WHERE status IN ('built', 'signed', 'submitted', 'in_block');

-- Which payouts an attempt carries. A payout has at most one live attempt: a new one is built only after the last
-- expired (its validity interval passed with its inputs unspent) or was abandoned before it was submitted, so two
-- attempts of one payout can never both reach the chain.
CREATE TABLE payout_attempt_payouts (
  transaction_id  text        NOT NULL REFERENCES payout_attempts (transaction_id),
  payout_id       text        NOT NULL REFERENCES payouts (id),
  -- what the output carries: the asked lovelace, raised to the ledger's minimum for an output with tokens
  lovelace_sent   numeric(20, 0) NOT NULL CHECK (lovelace_sent >= 0),
  output_index    integer     NOT NULL CHECK (output_index >= 0),
  live            boolean     NOT NULL DEFAULT true,
  PRIMARY KEY (transaction_id, payout_id)
);
CREATE UNIQUE INDEX payout_attempt_payouts_one_live ON payout_attempt_payouts (payout_id) WHERE live;

-- The hot wallet's outputs an attempt spends. The primary key is what keeps two builders (or two attempts) from ever
-- sharing an input: the second insert fails and its build is thrown away. A reservation is let go when its attempt
-- can no longer reach the chain (expired, abandoned, failed) or is final (confirmed).
CREATE TABLE hot_wallet_reservations (
  tx_hash         text        NOT NULL,
  output_index    integer     NOT NULL CHECK (output_index >= 0),
  transaction_id  text        NOT NULL REFERENCES payout_attempts (transaction_id),
  reserved_at     timestamptz NOT NULL,
  PRIMARY KEY (tx_hash, output_index)
);
CREATE INDEX hot_wallet_reservations_attempt ON hot_wallet_reservations (transaction_id);

-- The hot wallet's unspent outputs, read at every build.
CREATE INDEX incoming_payments_hot_wallet ON incoming_payments (address)
  WHERE reference_type = 'hot_wallet' AND spent_by_tx_hash IS NULL AND status IN ('pending', 'confirmed');

-- Approved payouts a build could not take even alone (too large for any transaction, or more than the hot wallet
-- holds): skipped by the builds of the next minutes, so that they never hold back the payouts behind them, and tried
-- again after that (the hot wallet may have been refilled).
CREATE TABLE payout_deferrals (
  payout_id    text        PRIMARY KEY REFERENCES payouts (id),
  reason       text        NOT NULL,
  detail       text        NOT NULL,
  deferred_at  timestamptz NOT NULL
);
