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
-- Payouts written before this migration may already share a reference while live: the index cannot be built then.
-- The migration changes no payout itself (which of them should still pay, and which keeps the business's reference,
-- is the operator's call): it stops, so that nothing is applied, with a message that names each shared reference and
-- its live payouts with their statuses (the first ten references), and the steps: cancel those that should not pay
-- and still can be (requested, approved, built); then keep the reference on the oldest payout still live and rename
-- the others' to '<reference> (duplicate <payout id>)' with the statement below, which writes an audit_log row
-- (payout.reference_renamed, actor operator:<database user>) per payout renamed; then migrate again. Only the message
-- is read by the operator (npm run migrate prints it, the deploy's custom resource fails with it): not a HINT.
DO $$
DECLARE
  shared text;
  shared_count integer;
  step constant text := $step$WITH later AS (SELECT p.id, p.reference_id FROM payouts p WHERE p.status NOT IN ('cancelled', 'rejected', 'failed') AND EXISTS (SELECT 1 FROM payouts o WHERE o.reference_id = p.reference_id AND o.status NOT IN ('cancelled', 'rejected', 'failed') AND (o.created_at, o.id) < (p.created_at, p.id))), renamed AS (UPDATE payouts p SET reference_id = p.reference_id || ' (duplicate ' || p.id || ')' FROM later WHERE p.id = later.id RETURNING p.id, later.reference_id AS was, p.reference_id AS renamed_to) INSERT INTO audit_log (action, entity_type, entity_id, actor, details) SELECT 'payout.reference_renamed', 'payout', id, 'operator:' || current_user, jsonb_build_object('from', was, 'to', renamed_to, 'reason', 'migration 0022: another live payout carries the reference') FROM renamed;$step$;
BEGIN
  SELECT string_agg(format('%s: %s', reference_id, payouts), '; ' ORDER BY first_created, reference_id)
           FILTER (WHERE rank <= 10),
         count(*)
    INTO shared, shared_count
    FROM (SELECT reference_id, payouts, first_created, row_number() OVER (ORDER BY first_created, reference_id) AS rank
            FROM (SELECT reference_id, min(created_at) AS first_created,
                         string_agg(id || ' ' || status, ', ' ORDER BY created_at, id) AS payouts
                    FROM payouts
                   WHERE status NOT IN ('cancelled', 'rejected', 'failed')
                   GROUP BY reference_id HAVING count(*) > 1) duplicates) ranked;
  IF shared_count > 0 THEN
    RAISE EXCEPTION 'more than one live payout per reference_id: %. Nothing was applied. Each of these withdrawals '
      'may be paid more than once. First cancel those that should not pay and still can be (requested, approved, '
      'built: POST /v1/payouts/{id}/cancel). Then, for what is still shared (signed, submitted, in_block, confirmed '
      'and expired payouts cannot be cancelled), keep each reference on its oldest live payout and rename the '
      'others'' reference by running on this database, as one statement: % Then migrate again.',
      shared || CASE WHEN shared_count > 10 THEN format(' and %s more references', shared_count - 10) ELSE '' END, step
      USING ERRCODE = 'unique_violation';
  END IF;
END $$;

CREATE UNIQUE INDEX payouts_reference_live ON payouts (reference_id) WHERE status NOT IN ('cancelled', 'rejected', 'failed');
