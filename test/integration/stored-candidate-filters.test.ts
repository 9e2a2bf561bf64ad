/**
 * A cold processor instance reads the candidate filters stored by the instances before it (one row each) and
 * catches up with the rows added since, instead of every registered address and unspent payment: what it then holds
 * must be what a load from the tables holds, and a stored filter that cannot be trusted (another format, another
 * generation or rollback window, a table that lost or was given back rows) must never be read.
 *
 * Whether a load read the stored filter shows in markers: values added to the instance's filter before it was stored
 * and present in no table, so only a filter read from the stored row holds them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PaymentEngine } from '../../functions/domain/payment-engine.js';
import {
  loadDueFilters,
  PaymentTransactionFilter,
  STORE_EVERY_ROWS,
  RegisteredAddressFilter,
  type TableFollowingFilter,
} from '../../functions/adapters/postgres/candidate-filters.js';
import { BloomFilter } from '../../functions/adapters/postgres/bloom-filter.js';
import { storeFilter } from '../../functions/adapters/postgres/filter-store.js';
import { PostgresPaymentStore } from '../../functions/adapters/postgres/payment-store.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { LogEvent } from '../../functions/domain/observability.js';
import { syntheticAddress, syntheticHash } from '../../functions/local/synthetic/addresses.js';
import { ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { createEngineFixture, type EngineFixture } from '../support/engine-fixture.js';
import { RecordingLogger } from '../support/recorders.js';

const RETAINED_BLOCKS = 6n;
const markers = Array.from({ length: 5 }, (_, i) => `marker-in-no-table-${i}-${'m'.repeat(40)}`);
const holdsMarkers = (filter: TableFollowingFilter) => markers.every((marker) => filter.mightContain(marker));
const address = (label: string) => syntheticAddress('mainnet', label);

let fixture: EngineFixture;

beforeEach(async () => {
  fixture = await createEngineFixture({ confirmations: 3, retainedBlocks: Number(RETAINED_BLOCKS) });
});
afterEach(async () => {
  await fixture.db.drop();
});

async function register(labels: string[]): Promise<void> {
  await fixture.registry.register(
    labels.map((label) => ({ address: address(label), referenceType: 'deposit', referenceId: label })),
    'test',
  );
}

/** Unspent, confirmed payments recorded directly (as history), one per transaction id. */
async function recordUnspent(txIds: string[]): Promise<void> {
  await fixture.db.pool.query(
    `INSERT INTO incoming_payments (tx_hash, output_index, address, amount_lovelace, reference_type, reference_id,
                                    block_height, block_slot, block_hash, block_time, status, confirmed_at)
     SELECT tx, 0, 'addr-of-history', 1000000, 'deposit', 'history', 1, 1, 'b-' || tx, now(), 'confirmed', now()
       FROM unnest($1::text[]) AS tx`,
    [txIds],
  );
}

/** A filter loaded as a cold instance loads it (before its first transaction). */
async function coldLoad<F extends TableFollowingFilter>(filter: F): Promise<F> {
  await loadDueFilters(fixture.db.pool, [filter]);
  return filter;
}

/** What an instance's engine transaction does first: the filter catches up with the rows added since. */
async function catchUp(filter: TableFollowingFilter): Promise<void> {
  const client = await fixture.db.pool.connect();
  try {
    await filter.refresh(client);
  } finally {
    client.release();
  }
}

/** An instance's filter, loaded from the tables, with the markers added, then stored. */
async function storedWithMarkers(filter: TableFollowingFilter): Promise<void> {
  await coldLoad(filter);
  for (const marker of markers) filter.include(marker);
  await filter.storeIfDue(fixture.db.pool);
}

async function storedRow(name: string): Promise<{ last_seen_id: bigint; generation: bigint | null; stored_at: Date } | undefined> {
  const { rows } = await fixture.db.pool.query(
    'SELECT last_seen_id, generation, stored_at FROM candidate_filter_snapshots WHERE name = $1',
    [name],
  );
  return rows[0];
}

describe('the registered-address filter', () => {
  it('a cold instance reads the stored filter and catches up with the addresses registered since', async () => {
    await register(['before-1', 'before-2']);
    await storedWithMarkers(new RegisteredAddressFilter());
    const { rows } = await fixture.db.pool.query<{ max: bigint }>('SELECT max(id) AS max FROM payment_addresses');
    expect((await storedRow('registered_addresses'))?.last_seen_id).toBe(rows[0]!.max);
    await register(['after-1', 'after-2']);

    const cold = await coldLoad(new RegisteredAddressFilter());
    expect(holdsMarkers(cold)).toBe(true);
    for (const label of ['before-1', 'before-2', 'after-1', 'after-2']) expect(cold.mightContain(address(label))).toBe(true);
  });

  it('is stored again only once it has taken in STORE_EVERY_ROWS (10,000) rows since, and an older filter never replaces a newer one', async () => {
    await register(['first']);
    const instance = await coldLoad(new RegisteredAddressFilter());
    await instance.storeIfDue(fixture.db.pool);
    const first = await storedRow('registered_addresses');

    await register(['a-few-more-1', 'a-few-more-2']);
    await catchUp(instance);
    await instance.storeIfDue(fixture.db.pool);
    expect(await storedRow('registered_addresses')).toEqual(first);

    await fixture.db.pool.query(
      `INSERT INTO payment_addresses (address, reference_type, reference_id)
       SELECT 'addr1bulk' || md5(n::text) || md5('x' || n), 'deposit', 'bulk-' || n FROM generate_series(1, $1::int) n`,
      [STORE_EVERY_ROWS],
    );
    await catchUp(instance);
    await instance.storeIfDue(fixture.db.pool);
    const second = await storedRow('registered_addresses');
    expect(second!.last_seen_id).toBe(first!.last_seen_id + BigInt(STORE_EVERY_ROWS) + 2n);

    // An instance that loaded before the rows above stores late: the newer stored filter stays.
    await storeFilter(fixture.db.pool, {
      name: 'registered_addresses',
      generation: undefined,
      lastSeenId: first!.last_seen_id,
      filter: new BloomFilter(100_000).stored(),
    });
    expect(await storedRow('registered_addresses')).toEqual(second);
  });

  const distrusted: [string, string][] = [
    ['stored in another format (other hashing, another byte order)', `UPDATE candidate_filter_snapshots SET format = format || '-other'`],
    ['claiming ids the table has not reached (a table put back)', 'UPDATE candidate_filter_snapshots SET last_seen_id = last_seen_id + 10'],
    [
      'when registered addresses were deleted (by hand: the monitor never deletes one)',
      `DELETE FROM payment_addresses WHERE reference_id = 'gone'`,
    ],
    ['when the table was emptied', 'TRUNCATE payment_addresses'],
  ];
  it.each(distrusted)('is not read when %s: the tables are', async (_, change) => {
    await register(['kept-1', 'kept-2', 'gone']);
    await storedWithMarkers(new RegisteredAddressFilter());
    await fixture.db.pool.query(change);
    await register(['registered-after']);

    const cold = await coldLoad(new RegisteredAddressFilter());
    expect(holdsMarkers(cold)).toBe(false);
    expect(cold.mightContain(address('registered-after'))).toBe(true);
  });
});

describe('the spend filter', () => {
  it('is read in the sync generation and for the rollback window it was loaded in, and catches up with new payments', async () => {
    await recordUnspent(['tx-before']);
    await storedWithMarkers(new PaymentTransactionFilter(RETAINED_BLOCKS));
    await recordUnspent(['tx-after']);

    const cold = await coldLoad(new PaymentTransactionFilter(RETAINED_BLOCKS));
    expect(holdsMarkers(cold)).toBe(true);
    expect(cold.mightContain('tx-before') && cold.mightContain('tx-after')).toBe(true);

    const deeperWindow = await coldLoad(new PaymentTransactionFilter(RETAINED_BLOCKS * 2n));
    expect(holdsMarkers(deeperWindow)).toBe(false);
    expect(deeperWindow.mightContain('tx-before')).toBe(true);
  });

  it('is not read after a new sync generation (a rebuild, a recovery), nor after a restore or a truncate', async () => {
    await recordUnspent(['tx-live']);
    await storedWithMarkers(new PaymentTransactionFilter(RETAINED_BLOCKS));
    await fixture.db.pool.query('UPDATE sync_state SET sync_generation = sync_generation + 1');
    const afterRebuild = await coldLoad(new PaymentTransactionFilter(RETAINED_BLOCKS));
    expect(holdsMarkers(afterRebuild)).toBe(false);
    expect(afterRebuild.mightContain('tx-live')).toBe(true);

    // The instance that loaded in the new generation stores its filter; emptying the table forgets it.
    await afterRebuild.storeIfDue(fixture.db.pool);
    expect((await storedRow(`payment_transactions/${RETAINED_BLOCKS}`))?.generation).toBe(1n);
    await fixture.db.pool.query('TRUNCATE incoming_payments');
    expect(await storedRow(`payment_transactions/${RETAINED_BLOCKS}`)).toBeUndefined();
  });
});

describe('a processor instance', () => {
  function instance(logger = new RecordingLogger()): PaymentEngine {
    return new PaymentEngine({
      store: new PostgresPaymentStore(fixture.db.pool, { retainedBlocks: Number(RETAINED_BLOCKS), logger }),
      logger: new RecordingLogger(),
      metrics: new InMemoryMetrics(),
      clock: fixture.clock,
      network: 'mainnet',
      confirmations: 3,
      retainedBlocks: Number(RETAINED_BLOCKS),
    });
  }

  it('stores its filters after its first batch; a cold one reading them detects and spends what was there before and after', async () => {
    const chain = new ChainBuilder('main');
    await register(['old-deposit']);
    await recordUnspent([syntheticHash('old-payment')]);
    chain.next([]);
    await instance().apply(chain.forward([chain.tip!]));
    const { rows } = await fixture.db.pool.query<{ name: string }>('SELECT name FROM candidate_filter_snapshots ORDER BY name');
    expect(rows.map((row) => row.name)).toEqual([`payment_transactions/${RETAINED_BLOCKS}`, 'registered_addresses']);

    await register(['new-deposit']);
    await recordUnspent([syntheticHash('new-payment')]);
    const spent = [syntheticHash('old-payment'), syntheticHash('new-payment')].map((txId) => ({ txId, index: 0 }));
    chain.next([
      transaction([output(address('old-deposit'), 2_000_000n), output(address('new-deposit'), 3_000_000n)]),
      transaction([output(address('elsewhere'), 1_000_000n)], spent),
    ]);
    const outcome = await instance().apply(chain.forward([chain.tip!]));
    expect(outcome).toMatchObject({ kind: 'applied', spent: 2 });
    expect(outcome.kind === 'applied' && outcome.detected.map((p) => p.address).sort()).toEqual(
      [address('old-deposit'), address('new-deposit')].sort(),
    );
  });

  it('applies its batch when its filters cannot be stored, and says so', async () => {
    await fixture.db.pool.query(`
      CREATE FUNCTION refuse_filter() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no room'; END $$;
      CREATE TRIGGER refuse BEFORE INSERT ON candidate_filter_snapshots FOR EACH ROW EXECUTE FUNCTION refuse_filter();`);
    await register(['deposit']);
    const logger = new RecordingLogger();
    const chain = new ChainBuilder('main');
    chain.next([transaction([output(address('deposit'), 2_000_000n)])]);
    expect(await instance(logger).apply(chain.forward([chain.tip!]))).toMatchObject({ kind: 'applied' });
    expect(logger.entries.filter((entry) => entry.event === LogEvent.candidateFilterStoreFailed)).toHaveLength(2);
    expect(String(logger.entries[0]!.fields.error)).toContain('no room');
  });
});
