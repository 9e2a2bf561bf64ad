import type pg from 'pg';

/**
 * Runs the schema's ensure_incoming_payment_partitions (0001) for the current month and the next monthsAhead,
 * and names the partitions it created (none when they all exist: running it again changes nothing).
 */
export async function ensureIncomingPaymentPartitions(pool: Pick<pg.Pool, 'query'>, monthsAhead: number): Promise<{ created: string[]; partitions: string[] }> {
  const list = async () =>
    (
      await pool.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'incoming_payments'::regclass ORDER BY c.relname`,
      )
    ).rows.map((row) => row.name);
  const before = new Set(await list());
  await pool.query('SELECT ensure_incoming_payment_partitions($1)', [monthsAhead]);
  const partitions = await list();
  return { created: partitions.filter((name) => !before.has(name)), partitions };
}
