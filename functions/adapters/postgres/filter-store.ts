/**
 * The candidate filters as stored in candidate_filter_snapshots (migration 0013), one row per filter: a cold
 * processor instance reads one row per filter instead of every registered address and every unspent payment.
 *
 * A stored filter is some instance's load from the tables plus every row that instance (or the ones that stored it
 * after) caught up with since, up to its watermark: it holds what a warm instance's filter holds, so it stays valid
 * for as long as the ids it covers keep their rows. What gives rows other ids removes the stored filters: a restore
 * (table-restore.ts), a TRUNCATE or a DELETE of registered addresses (the migration's triggers); a filter that
 * depends on the sync generation is only read in the generation it was loaded in.
 */
import type pg from 'pg';
import { BloomFilter, type StoredBloomFilter } from './bloom-filter.js';

/** The tables a stored filter follows (its watermark is one of their ids). */
export type FollowedTable = 'payment_addresses' | 'incoming_payments';

/** A filter to store, copied at one moment together with what it has seen. */
export interface FilterSnapshot {
  name: string;
  /** The sync generation its rows were read in; undefined for a filter that does not depend on it. */
  generation: bigint | undefined;
  lastSeenId: bigint;
  filter: StoredBloomFilter;
}

export interface StoredFilter {
  filter: BloomFilter;
  lastSeenId: bigint;
}

interface StoredRow {
  format: string;
  generation: bigint | null;
  last_seen_id: bigint;
  capacity: number;
  bit_count: number;
  hash_count: number;
  entries: number;
  bits: Buffer;
  id_sequence_value: bigint;
}

/** The sequence that gives each followed table its ids. */
export const ID_SEQUENCES: Readonly<Record<FollowedTable, string>> = {
  payment_addresses: "pg_get_serial_sequence('payment_addresses', 'id')",
  incoming_payments: "'incoming_payments_id_seq'",
};

/**
 * The stored filter `name`, if it can be used in the caller's view of the tables: stored in this code's format, for
 * `generation`, and with a watermark the table's id sequence has reached (a table put back by hand with its sequence
 * would otherwise leave ids the filter claims to have seen without their rows). The sequence, not max(id): that
 * would be planned over every partition on each cold start.
 */
export async function readStoredFilter(
  client: pg.ClientBase,
  name: string,
  table: FollowedTable,
  generation: bigint | undefined,
): Promise<StoredFilter | undefined> {
  const { rows } = await client.query<StoredRow>(
    `SELECT format, generation, last_seen_id, capacity, bit_count, hash_count, entries, bits,
            coalesce(pg_sequence_last_value(${ID_SEQUENCES[table]}::regclass), 0) AS id_sequence_value
       FROM candidate_filter_snapshots WHERE name = $1`,
    [name],
  );
  const row = rows[0];
  if (!row || row.generation !== (generation ?? null)) return undefined;
  if (row.id_sequence_value < row.last_seen_id) return undefined;
  const filter = BloomFilter.fromStored({
    format: row.format,
    capacity: row.capacity,
    bitCount: row.bit_count,
    hashCount: row.hash_count,
    entries: row.entries,
    bits: row.bits,
  });
  return filter && { filter, lastSeenId: row.last_seen_id };
}

/**
 * Stores a filter unless a newer one is stored already (a later generation, or the same one further along the
 * table, or as far but larger: one loaded again because the stored one was over capacity): instances store
 * concurrently, and the newest stored filter leaves the least for a cold one to catch up.
 */
export async function storeFilter(pool: pg.Pool, { name, generation, lastSeenId, filter }: FilterSnapshot): Promise<void> {
  await pool.query(
    `INSERT INTO candidate_filter_snapshots AS stored
            (name, format, generation, last_seen_id, capacity, bit_count, hash_count, entries, bits, stored_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
     ON CONFLICT (name) DO UPDATE
        SET format = excluded.format, generation = excluded.generation, last_seen_id = excluded.last_seen_id,
            capacity = excluded.capacity, bit_count = excluded.bit_count, hash_count = excluded.hash_count,
            entries = excluded.entries, bits = excluded.bits, stored_at = excluded.stored_at
      WHERE (coalesce(excluded.generation, -1), excluded.last_seen_id, excluded.capacity)
          > (coalesce(stored.generation, -1), stored.last_seen_id, stored.capacity)
         OR excluded.format <> stored.format`,
    [
      name,
      filter.format,
      generation?.toString() ?? null,
      lastSeenId.toString(),
      filter.capacity,
      filter.bitCount,
      filter.hashCount,
      filter.entries,
      filter.bits,
    ],
  );
}

/** Removes every stored filter: for what gives table rows other ids (a restore). */
export async function forgetStoredFilters(client: pg.ClientBase): Promise<void> {
  await client.query('DELETE FROM candidate_filter_snapshots');
}
