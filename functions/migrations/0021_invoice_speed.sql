-- The invoices an engine step judges again because the chain's tip moved (invoice-judging-store.ts), behind a function
-- so that the engine's prepared statement that reads them keeps one generic plan. Inline, their comparisons with the
-- tip were estimated at a third of the table each (the planner cannot see that the tip finds only the few due
-- invoices), so PostgreSQL judged the generic plan costly and planned the statement afresh at every step, over every
-- monthly partition of incoming_payments (about 1.3 ms a step, more than running it).
--
-- Which invoices, as before: `new` ones whose deadline the tip's time has passed, `processing` ones whose settling
-- height the tip has reached, and after a rollback `settled` ones whose settling height is above the tip (at origin,
-- tip NULL: every settled one). The function's own plan is generic too (planned once per connection, not at every
-- step): each lookup is bounded on both sides, the bound that is always true (no timestamp before -infinity, no
-- bigint outside its range) making the planner estimate a narrow range rather than a third of the partial index, so
-- that the generic plan reads each partial index by range whatever the tip.
CREATE FUNCTION invoices_due(tip_time timestamptz, tip_height bigint, after_rollback boolean) RETURNS SETOF text
LANGUAGE plpgsql STABLE ROWS 10 SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  RETURN QUERY
    SELECT i.id FROM invoices i
     WHERE i.status = 'new' AND i.expires_at < tip_time AND i.expires_at >= '-infinity'::timestamptz
    UNION ALL
    SELECT i.id FROM invoices i
     WHERE i.status = 'processing' AND i.settles_at_height <= tip_height
       AND i.settles_at_height >= -9223372036854775808
    UNION ALL
    SELECT i.id FROM invoices i
     WHERE after_rollback AND i.status = 'settled' AND i.settles_at_height > coalesce(tip_height, -1)
       AND i.settles_at_height <= 9223372036854775807;
END $$;
