import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maintainPartitions, PartitionMaintenanceFailedError } from '../../functions/handlers/partition-maintenance-core.js';
import { runCli } from '../../functions/local/cli/main.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { RecordingLogger } from '../support/recorders.js';
import { captureOutput, lambdaContext } from '../support/local-aws.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

/** incoming_payments_yYYYYmMM of the month `ahead` months after the current one (UTC, as the schema's now()). */
function partitionName(ahead: number): string {
  const now = new Date();
  const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + ahead, 1));
  return `incoming_payments_y${month.getUTCFullYear()}m${String(month.getUTCMonth() + 1).padStart(2, '0')}`;
}

function monthStart(ahead: number): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + ahead, 1, 12)).toISOString();
}

async function insertPayment(txHash: string, blockTime: string): Promise<void> {
  await db.pool.query(
    `INSERT INTO incoming_payments (tx_hash, output_index, address, amount_lovelace, reference_type, reference_id, block_height, block_slot, block_hash, block_time)
     VALUES ($1, 0, 'addr', 9007199254740993, 'invoice', 'I-1', 1, 1, 'b', $2)`,
    [txHash, blockTime],
  );
}

const whereIs = async (txHash: string) =>
  (await db.pool.query(`SELECT tableoid::regclass::text AS partition FROM incoming_payments WHERE tx_hash = $1`, [txHash])).rows[0]
    ?.partition;

describe('partition maintenance', () => {
  it('creates the coming months once, moving rows that waited in the default partition, and is idempotent', async () => {
    // A payment in a month that has no partition yet lands in the default one.
    await insertPayment('early-arrival', monthStart(5));
    expect(await whereIs('early-arrival')).toBe('incoming_payments_default');

    const logger = new RecordingLogger();
    const first = await maintainPartitions(db.pool, { logger, monthsAhead: 5 });
    expect(first.created).toEqual([partitionName(4), partitionName(5)]);
    expect(await whereIs('early-arrival')).toBe(partitionName(5));
    expect(logger.events('partitions_ensured')[0]).toMatchObject({
      fields: { created: [partitionName(4), partitionName(5)], months_ahead: 5 },
    });

    const again = await maintainPartitions(db.pool, { logger, monthsAhead: 5 });
    expect(again).toMatchObject({ created: [], partitions: first.partitions });
    expect(
      (await db.pool.query(`SELECT amount_lovelace FROM incoming_payments WHERE tx_hash = 'early-arrival'`)).rows[0].amount_lovelace,
    ).toBe(9_007_199_254_740_993n);
  });

  it('the Lambda handler and the CLI run the same maintenance', async () => {
    Object.assign(process.env, { DATABASE_URL: db.url, STAGE: process.env.STAGE ?? 'test', PARTITION_MONTHS_AHEAD: '6' });
    const { handler } = await import('../../functions/handlers/partition-maintenance.js');
    const { result, lines } = await captureOutput(() => handler({}, lambdaContext('payment-monitor-partition-maintenance')));
    expect(result).toMatchObject({ created: [partitionName(6)], months_ahead: 6 });
    expect(lines.find((line) => line.message === 'partitions_ensured' || line.event === 'partitions_ensured')).toBeDefined();
    const second = await handler({}, lambdaContext('payment-monitor-partition-maintenance'));
    expect(second).toMatchObject({ created: [] });

    const output: string[] = [];
    expect(await runCli(['partitions', 'ensure', '--months-ahead', '7'], (text) => output.push(text))).toBe(0);
    expect(output).toEqual([`Created ${partitionName(7)}.`]);
  });

  it('gives every past month left in the default partition (a lapse of maintenance) its own partition', async () => {
    await insertPayment('lapse-a', monthStart(-3));
    await insertPayment('lapse-b', monthStart(-3));
    await insertPayment('lapse-c', monthStart(-2));
    expect(await whereIs('lapse-c')).toBe('incoming_payments_default');

    const summary = await maintainPartitions(db.pool, { logger: new RecordingLogger(), monthsAhead: 3 });
    expect(summary).toMatchObject({ created: [partitionName(-3), partitionName(-2)], moved_rows: 3, default_rows: 0 });
    expect([await whereIs('lapse-a'), await whereIs('lapse-b'), await whereIs('lapse-c')]).toEqual([
      partitionName(-3),
      partitionName(-3),
      partitionName(-2),
    ]);
  });

  it('a month that cannot be done leaves the others be, fails the run by name, and the next run catches up', async () => {
    // A table of the partition's name that is no partition (left by hand): the month cannot be created.
    await db.pool.query(`CREATE TABLE ${partitionName(-6)} (note text)`);
    await insertPayment('blocked-month', monthStart(-6));
    await insertPayment('free-month', monthStart(-5));
    const logger = new RecordingLogger();

    const failure = await maintainPartitions(db.pool, { logger, monthsAhead: 3 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PartitionMaintenanceFailedError);
    const { failed, summary } = failure as PartitionMaintenanceFailedError;
    expect(failed).toEqual([{ month: monthStart(-6).slice(0, 10), reason: expect.stringMatching(/already exists/) }]);
    expect(summary).toMatchObject({ created: [partitionName(-5)], moved_rows: 1, default_rows: 1 });
    expect(await whereIs('free-month')).toBe(partitionName(-5));
    expect(logger.events('partition_month_failed')).toEqual([expect.objectContaining({ level: 'error' })]);
    expect(logger.events('partitions_ensured')).toEqual([
      expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ failed_months: [failed[0]!.month] }) }),
    ]);

    await db.pool.query(`DROP TABLE ${partitionName(-6)}`);
    expect(await maintainPartitions(db.pool, { logger, monthsAhead: 3 })).toMatchObject({ created: [partitionName(-6)], default_rows: 0 });
    expect(await whereIs('blocked-month')).toBe(partitionName(-6));
  });
});
