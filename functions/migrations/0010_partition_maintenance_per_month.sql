-- Partition maintenance one month at a time, under the engine's lock (adapters/postgres/partitions.ts calls it
-- once per month, each call a transaction of its own).
--
-- Moving a month's rows out of the default partition (DELETE, INSERT, ATTACH) must not interleave with the engine
-- or a rebuild: a payment of that month committed into the default partition before the ATTACH makes the ATTACH
-- fail, and a rebuild planned before the new partition is attached misses the moved rows. Both take the sync_state
-- row lock before they touch incoming_payments (payment-store.ts lockSyncPosition, rebuild-store.ts), so this
-- takes it first too: the engine waits while one month is created or moved, and nothing else.

-- Attached, not merely present: a stray table of that name must make the month fail, not be taken for done.
CREATE FUNCTION incoming_payment_partition_attached(partition_name text) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM pg_inherits
                  WHERE inhparent = 'incoming_payments'::regclass AND inhrelid = to_regclass(partition_name))
$$;

-- Creates the partition of the month holding `month` unless it is attached already; rows of that month waiting in
-- the default partition are moved into it. moved_rows: how many.
CREATE FUNCTION ensure_incoming_payment_partition(month date, OUT partition_name text, OUT created boolean,
                                                  OUT moved_rows bigint)
LANGUAGE plpgsql AS $$
DECLARE
  month_start date := date_trunc('month', month)::date;
  lower_bound timestamptz := month_start;
  upper_bound timestamptz := (month_start + interval '1 month')::date;
  range_check text;
BEGIN
  partition_name := format('incoming_payments_y%sm%s', to_char(month_start, 'YYYY'), to_char(month_start, 'MM'));
  range_check := partition_name || '_range';
  created := false;
  moved_rows := 0;
  -- Checked before the lock too, so that a month that exists (most days, every month) never waits for the engine.
  IF incoming_payment_partition_attached(partition_name) THEN RETURN; END IF;
  PERFORM 1 FROM sync_state WHERE id = 1 FOR UPDATE;
  IF incoming_payment_partition_attached(partition_name) THEN RETURN; END IF;

  IF EXISTS (SELECT 1 FROM incoming_payments_default WHERE block_time >= lower_bound AND block_time < upper_bound) THEN
    -- The range check lets ATTACH skip scanning the moved rows; it is dropped once the partition bound holds.
    EXECUTE format('CREATE TABLE %I (LIKE incoming_payments INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
                                     CONSTRAINT %I CHECK (block_time >= %L AND block_time < %L))',
                   partition_name, range_check, lower_bound, upper_bound);
    EXECUTE format('WITH moved AS (DELETE FROM incoming_payments_default
                                   WHERE block_time >= %L AND block_time < %L RETURNING *)
                    INSERT INTO %I SELECT * FROM moved', lower_bound, upper_bound, partition_name);
    GET DIAGNOSTICS moved_rows = ROW_COUNT;
    EXECUTE format('ALTER TABLE incoming_payments ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   partition_name, lower_bound, upper_bound);
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', partition_name, range_check);
  ELSE
    EXECUTE format('CREATE TABLE %I PARTITION OF incoming_payments FOR VALUES FROM (%L) TO (%L)',
                   partition_name, lower_bound, upper_bound);
  END IF;
  created := true;
END $$;

-- The months the default partition holds rows of, oldest first: each needs its partition (a lapse of maintenance
-- leaves past months there, which the coming months' creation never reaches).
CREATE FUNCTION incoming_payment_months_in_default() RETURNS SETOF date LANGUAGE sql STABLE AS $$
  SELECT DISTINCT date_trunc('month', block_time)::date FROM incoming_payments_default ORDER BY 1
$$;

-- The range form (restore, from the oldest restored month; 0001's migration) now goes month by month through the
-- function above, so it takes the engine's lock and moves rows the same way.
CREATE OR REPLACE FUNCTION ensure_incoming_payment_partitions(months_ahead integer DEFAULT 3,
                                                              from_month date DEFAULT date_trunc('month', now())::date)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  month_start date := date_trunc('month', from_month)::date;
  last_month  date := (date_trunc('month', now()) + make_interval(months => months_ahead))::date;
  created     integer := 0;
  made        boolean;
BEGIN
  WHILE month_start <= last_month LOOP
    SELECT p.created INTO made FROM ensure_incoming_payment_partition(month_start) p;
    IF made THEN
      created := created + 1;
    END IF;
    month_start := (month_start + interval '1 month')::date;
  END LOOP;
  RETURN created;
END $$;
