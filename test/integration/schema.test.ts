import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { loadMigrations, migrate } from '../../functions/adapters/postgres/migrate.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

async function insertPayment(txHash: string, blockTime: string) {
  await db.pool.query(
    `INSERT INTO incoming_payments (tx_hash, output_index, address, amount_lovelace, reference_type, reference_id,
                                    block_height, block_slot, block_hash, block_time)
     VALUES ($1, 0, 'addr1', 1000000, 'invoice', 'I-1', 1, 1, $2, $3)`,
    [txHash, `block-${txHash}`, blockTime],
  );
}

async function partitionOf(txHash: string): Promise<string> {
  const { rows } = await db.pool.query('SELECT tableoid::regclass::text AS partition FROM incoming_payments WHERE tx_hash = $1', [txHash]);
  return rows[0].partition;
}

describe('schema', () => {
  it('is migrated and a second migration run applies nothing', async () => {
    expect(await migrate(db.pool)).toEqual({ applied: [] });
  });

  it('refuses a migration that was edited after it was applied', async () => {
    const [first, ...rest] = await loadMigrations();
    const edited = { ...first!, checksum: 'edited' };
    await expect(migrate(db.pool, [edited, ...rest])).rejects.toThrow(/0001_payment_engine was changed after it was applied/);
  });

  it('partitions incoming_payments by month, with partitions ahead and a default for the rest', async () => {
    const now = new Date();
    const month = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}-15T00:00:00Z`;
    await insertPayment('current', month);
    expect(await partitionOf('current')).toMatch(/^incoming_payments_y\d{4}m\d{2}$/);

    // a month with no partition (a replay of old chain history) lands in the default partition…
    await insertPayment('historic', '2019-03-10T12:00:00Z');
    expect(await partitionOf('historic')).toBe('incoming_payments_default');
    // …and maintenance moves it into its own partition once it creates one
    const { rows } = await db.pool.query(`SELECT ensure_incoming_payment_partitions(3, '2019-03-01') AS created`);
    expect(rows[0].created).toBeGreaterThan(80);
    expect(await partitionOf('historic')).toBe('incoming_payments_y2019m03');
    const again = await db.pool.query(`SELECT ensure_incoming_payment_partitions(3, '2019-03-01') AS created`);
    expect(again.rows[0].created).toBe(0);
  });

  it('keeps the audit log append-only', async () => {
    await db.pool.query(`INSERT INTO audit_log (action, entity_type, entity_id, actor) VALUES ('test', 'thing', '1', 'tester')`);
    await expect(db.pool.query(`UPDATE audit_log SET actor = 'someone else'`)).rejects.toThrow(/append-only: UPDATE/);
    await expect(db.pool.query('DELETE FROM audit_log')).rejects.toThrow(/append-only: DELETE/);
    await expect(db.pool.query('TRUNCATE audit_log')).rejects.toThrow(/append-only: TRUNCATE/);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM audit_log')).rows[0].n).toBe(1);
  });

  it('returns BIGINT columns as exact bigint', async () => {
    const { rows } = await db.pool.query(`SELECT 9223372036854775807::bigint AS max`);
    expect(rows[0].max).toBe(2n ** 63n - 1n);
  });

  it('rebuild_held_payments has the columns of incoming_payments, in the same order and of the same types', async () => {
    // A rebuild moves rows between the two with SELECT * and RETURNING *: a column added to one only would
    // shift or lose values (rebuild-store.ts, rebuild-settlement.ts).
    const columns = async (table: string) =>
      (
        await db.pool.query(
          `SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
            WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
          [table],
        )
      ).rows;
    const payments = await columns('incoming_payments');
    expect(payments.map((column) => column.attname)).toContain('spent_at_height');
    expect(await columns('rebuild_held_payments')).toEqual(payments);
  });
});
