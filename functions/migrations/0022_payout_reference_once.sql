-- A payout's reference_id is the business's withdrawal id: at most one *live* payout carries it. Live is every status
-- but cancelled, rejected and failed (the payout will never pay: its holds are released; the same set that no longer
-- counts toward the daily limit, UNCOUNTED_STATUSES in functions/domain/payouts/payout-rules.ts). An expired payout is
-- live: it is retried with a new attempt. Once a payout of a reference is cancelled, rejected or failed (final
-- statuses: nothing moves a payout out of them), the reference may be used again.
--
-- requestPayout (functions/adapters/postgres/payout-requests.ts) looks for the live payout of the reference under the
-- payout requests' lock and refuses with 409 reference_in_use naming it; this index is what makes it hold whatever
-- writes: its insert is ON CONFLICT … DO NOTHING on this index's predicate, word for word.
--
-- Payouts written before this migration may already share a reference while live: the index cannot be built then,
-- and the migration stops naming them (cancel or reject all but one, then deploy again).
DO $$
DECLARE
  shared text;
BEGIN
  SELECT string_agg(format('%s (%s)', reference_id, ids), '; ' ORDER BY reference_id) INTO shared
    FROM (SELECT reference_id, string_agg(id, ', ' ORDER BY created_at, id) AS ids FROM payouts
           WHERE status NOT IN ('cancelled', 'rejected', 'failed')
           GROUP BY reference_id HAVING count(*) > 1) duplicates;
  IF shared IS NOT NULL THEN
    RAISE EXCEPTION 'more than one live payout per reference_id: %', shared
      USING ERRCODE = 'unique_violation',
            HINT = 'cancel or reject all but one payout of each reference (POST /v1/payouts/{id}/cancel), then migrate again';
  END IF;
END $$;

CREATE UNIQUE INDEX payouts_reference_live ON payouts (reference_id) WHERE status NOT IN ('cancelled', 'rejected', 'failed');
