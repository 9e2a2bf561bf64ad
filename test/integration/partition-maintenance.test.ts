import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maintainPartitions } from '../../functions/handlers/partition-maintenance-core.js';
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

const whereIs = async (txHash: string) =>
  (await db.pool.query(`SELECT tableoid::regclass::text AS partition FROM incoming_payments WHERE tx_hash = $1`, [txHash])).rows[0]?.partition;

describe('partition maintenance', () => {
  it('creates the coming months once, moving rows that waited in the default partition, and is idempotent', async () => {
    // A payment in a month that has no partition yet lands in the default one.
    await db.pool.query(
      `INSERT INTO incoming_payments (tx_hash, output_index, address, amount_lovelace, reference_type, reference_id, block_height, block_slot, block_hash, block_time)
       VALUES ('early-arrival', 0, 'addr', 9007199254740993, 'invoice', 'I-1', 1, 1, 'b', $1)`,
      [monthStart(5)],
    );
    expect(await whereIs('early-arrival')).toBe('incoming_payments_default');

    const logger = new RecordingLogger();
    const first = await maintainPartitions(db.pool, { logger, monthsAhead: 5 });
    expect(first.created).toEqual([partitionName(4), partitionName(5)]);
    expect(await whereIs('early-arrival')).toBe(partitionName(5));
    expect(logger.events('partitions_ensured')[0]).toMatchObject({ fields: { created: [partitionName(4), partitionName(5)], months_ahead: 5 } });

    const again = await maintainPartitions(db.pool, { logger, monthsAhead: 5 });
    expect(again).toMatchObject({ created: [], partitions: first.partitions });
    expect((await db.pool.query(`SELECT amount_lovelace FROM incoming_payments WHERE tx_hash = 'early-arrival'`)).rows[0].amount_lovelace).toBe(9_007_199_254_740_993n);
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
});
