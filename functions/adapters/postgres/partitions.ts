import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

/** What ensuring one month's partition did (0010's ensure_incoming_payment_partition). */
export interface MonthPartitionOutcome {
  partition: string;
  created: boolean;
  /** Rows of that month moved out of the default partition into the new one. */
  movedRows: number;
}

/**
 * The months that need a partition, oldest first: every month the default partition holds rows of (past months
 * left there by a lapse of maintenance included), and the current month and the next monthsAhead. Months already
 * attached are left out. Each is a 'YYYY-MM-01' date in the database's time zone, as the partition bounds are.
 */
export async function monthsNeedingPartitions(pool: Queryable, monthsAhead: number): Promise<string[]> {
  const { rows } = await pool.query<{ month: string }>(
    `SELECT to_char(month, 'YYYY-MM-DD') AS month FROM (
       SELECT incoming_payment_months_in_default() AS month
       UNION
       SELECT generate_series(date_trunc('month', now()), date_trunc('month', now()) + make_interval(months => $1),
                              interval '1 month')::date
     ) months
     WHERE NOT incoming_payment_partition_attached(
             format('incoming_payments_y%sm%s', to_char(month, 'YYYY'), to_char(month, 'MM')))
     ORDER BY month`,
    [monthsAhead],
  );
  return rows.map((row) => row.month);
}

/**
 * Creates one month's partition, moving that month's rows out of the default partition, in a transaction of its
 * own under the engine's lock (0010): the engine waits for this month only, and a failure leaves other months be.
 */
export async function ensureMonthPartition(pool: Queryable, month: string): Promise<MonthPartitionOutcome> {
  const { rows } = await pool.query<{ partition_name: string; created: boolean; moved_rows: bigint }>(
    'SELECT partition_name, created, moved_rows FROM ensure_incoming_payment_partition($1::date)',
    [month],
  );
  const row = rows[0]!;
  // A count of rows, far below 2^53.
  return { partition: row.partition_name, created: row.created, movedRows: Number(row.moved_rows) };
}

/** The partitions of incoming_payments by name (the default one included). */
export async function listIncomingPaymentPartitions(pool: Queryable): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'incoming_payments'::regclass ORDER BY c.relname`,
  );
  return rows.map((row) => row.name);
}

/** Rows still in the default partition: 0 once maintenance has caught up. */
export async function defaultPartitionRows(pool: Queryable): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM incoming_payments_default');
  return rows[0]!.n;
}
