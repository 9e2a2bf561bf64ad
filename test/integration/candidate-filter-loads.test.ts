/**
 * What a processor instance's filter loads must take in, whatever the rows look like and wherever they are: every
 * registered address over several load pages (the page boundaries included), addresses the packed pages cannot carry
 * (short, not ASCII), and unspent payments in every partition, read both ways (in a snapshot of the load's own,
 * partition by partition; and inside the engine transaction after a new sync generation, through the partitioned
 * table). A cold instance then applies one block that pays or spends each of them.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PaymentEngine } from '../../functions/domain/payment-engine.js';
import { PostgresPaymentStore } from '../../functions/adapters/postgres/payment-store.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { syntheticAddress, syntheticHash } from '../../functions/local/synthetic/addresses.js';
import { ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { createEngineFixture, type EngineFixture } from '../support/engine-fixture.js';
import { RecordingLogger } from '../support/recorders.js';

/** More than two load pages (10,000 values each). */
const ADDRESSES = 25_001;
const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const bulkAddress = (i: number) => `addr1${md5(`bulk${i}`)}${md5(`bulk.${i}`)}`;
/**
 * Two values that a packed page cannot carry, and whose prefixes still add up to 64 UTF-16 units (31 + 33): they end
 * the second page, so that only the bytes tell that page apart.
 */
const compensatingPair = [`addr_pair_${'x'.repeat(21)}`, `${'q'.repeat(31)}😀`];
/** Other values a packed page cannot carry (short, not ASCII), registered directly, as a business system might. */
const oddAddresses = ['short-address', 'é'.repeat(40), `addr1ü${'x'.repeat(60)}`];

let fixture: EngineFixture;
let chain: ChainBuilder;

beforeEach(async () => {
  fixture = await createEngineFixture({ confirmations: 3 });
  chain = new ChainBuilder('main');
  const register = (addresses: string[]) =>
    fixture.db.pool.query(
      `INSERT INTO payment_addresses (address, reference_type, reference_id)
       SELECT a, 'deposit', 'ref-' || n FROM unnest($1::text[]) WITH ORDINALITY AS r(a, n) ORDER BY n`,
      [addresses],
    );
  const bulk = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => bulkAddress(from + i));
  await register(bulk(0, 19_998)); // ids 1 to 19,998
  await register(compensatingPair); // 19,999 and 20,000: the end of the second page
  await register(bulk(19_998, ADDRESSES));
  await register(oddAddresses);
  await fixture.registry.register(
    [{ address: syntheticAddress('mainnet', 'valid'), referenceType: 'deposit', referenceId: 'V-1', userId: 'user-1' }],
    'test',
  );
});
afterEach(async () => {
  await fixture.db.drop();
});

function coldInstance(): PaymentEngine {
  return new PaymentEngine({
    store: new PostgresPaymentStore(fixture.db.pool),
    logger: new RecordingLogger(),
    metrics: new InMemoryMetrics(),
    clock: fixture.clock,
    network: 'mainnet',
    confirmations: 3,
  });
}

/** Unspent payments recorded directly in every partition (each month that has one, and the default), two each. */
async function unspentPaymentsInEveryPartition(txIds: (i: number) => string): Promise<{ txId: string; index: number }[]> {
  const { rows: months } = await fixture.db.pool.query<{ month: Date }>(
    `SELECT to_date(substring(relid::regclass::text from 'y(\\d{4}m\\d{2})'), 'YYYY"m"MM') AS month
       FROM pg_partition_tree('incoming_payments') WHERE isleaf`,
  );
  const times = months.map(({ month }) => month ?? new Date('2001-06-15T00:00:00Z')); // null: the default partition
  expect(times.length).toBeGreaterThan(2);
  const payments = times.flatMap((time, p) => [0, 1].map((k) => ({ txId: txIds(2 * p + k), index: k, time })));
  await fixture.db.pool.query(
    `INSERT INTO incoming_payments (tx_hash, output_index, address, amount_lovelace, reference_type, reference_id,
                                    block_height, block_slot, block_hash, block_time, status, confirmed_at)
     SELECT tx, idx, 'addr-of-history', 1000000, 'deposit', 'history', 1, 1, 'b-' || tx, t + interval '1 day', 'confirmed', now()
       FROM unnest($1::text[], $2::int[], $3::timestamptz[]) AS p(tx, idx, t)`,
    [payments.map((p) => p.txId), payments.map((p) => p.index), payments.map((p) => p.time)],
  );
  const { rows } = await fixture.db.pool.query<{ partitions: number }>(
    `SELECT count(DISTINCT tableoid)::int AS partitions FROM incoming_payments WHERE tx_hash = ANY($1)`,
    [payments.map((p) => p.txId)],
  );
  expect(rows[0]!.partitions).toBe(times.length);
  return payments.map(({ txId, index }) => ({ txId, index }));
}

const paidAddresses = [
  ...[0, 9_998, 9_999, 10_000, 19_997, 19_998, ADDRESSES - 1].map(bulkAddress), // around the page boundaries
  ...compensatingPair,
  ...oddAddresses,
  syntheticAddress('mainnet', 'valid'),
];

describe('a cold instance loads every registered address and every spendable payment', () => {
  it('loaded in a snapshot of its own: every address paid is detected, every payment spent is marked', async () => {
    const spent = await unspentPaymentsInEveryPartition((i) => (i % 3 === 0 ? `odd-tx-é-${i}` : syntheticHash(`spendable:${i}`)));
    const paying = transaction(paidAddresses.map((address) => output(address, 1_000_000n)));
    const spending = transaction([output(syntheticAddress('mainnet', 'elsewhere'), 1_000_000n)], spent);
    chain.next([paying, spending]);

    const outcome = await coldInstance().apply(chain.forward([chain.tip!]));
    expect(outcome).toMatchObject({ kind: 'applied', spent: spent.length });
    expect(outcome.kind === 'applied' && outcome.detected.map((p) => p.address).sort()).toEqual([...paidAddresses].sort());
  });

  it('loaded again inside the engine transaction after a new sync generation: the same', async () => {
    const engine = coldInstance();
    chain.next([]);
    await engine.apply(chain.forward([chain.tip!])); // loads its filters
    const spent = await unspentPaymentsInEveryPartition((i) => (i % 3 === 0 ? `odd-tx-ü-${i}` : syntheticHash(`later:${i}`)));
    // Rows below the instance's watermark, as a rebuild gives back, in a new generation: the spend filter loads again.
    await fixture.db.pool.query(`UPDATE incoming_payments SET id = -id WHERE tx_hash = ANY($1)`, [spent.map((s) => s.txId)]);
    await fixture.db.pool.query('UPDATE sync_state SET sync_generation = sync_generation + 1');
    chain.next([transaction([output(syntheticAddress('mainnet', 'elsewhere'), 1_000_000n)], spent)]);
    expect(await engine.apply(chain.forward([chain.tip!]))).toMatchObject({ kind: 'applied', spent: spent.length });
  });
});
