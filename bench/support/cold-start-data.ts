/**
 * The history a processor's cold start meets after years of operation, generated in SQL (generate_series), for
 * `npm run bench:cold-start`: payment rows over every month since mainnet began (one partition each), most
 * confirmed and spent long ago, some rolled back or reversed, a share unspent (the few in the last blocks pending),
 * some spent within the rollback window; the retained blocks, the hourly checkpoints, the sync position; and the
 * registered addresses. The indexes of incoming_payments are dropped while it fills and built again afterwards
 * (from their own definitions), then the tables are vacuumed and analysed, as autovacuum leaves a mature table.
 */
import type pg from 'pg';
import { slotToTime } from '../../functions/domain/network.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';

export interface HistoryShape {
  payments: number;
  /** One payment row in `unspentEvery` is live and unspent (10: a tenth). */
  unspentEvery: number;
  /** One in `rolledBackEvery` is rolled back or reversed. */
  rolledBackEvery: number;
  addresses: number;
  tipHeight: bigint;
  tipSlot: bigint;
  retainedBlocks: number;
}

export interface HistoryFigures {
  payments: bigint;
  unspent: bigint;
  spentWithinWindow: bigint;
  rolledBack: bigint;
  partitions: bigint;
  addresses: bigint;
  tableMiB: number;
  indexMiB: number;
}

const HISTORY_START = new Date('2017-10-01T00:00:00Z');
const CHUNK = 1_000_000;
/** Blocks per hourly checkpoint at 20 s a block. */
const BLOCKS_PER_HOUR = 180;

export async function generateHistory(pool: pg.Pool, shape: HistoryShape, log: (line: string) => void): Promise<HistoryFigures> {
  const client = await pool.connect();
  try {
    await client.query(`SET maintenance_work_mem = '512MB'`);
    await client.query('SET synchronous_commit = off');
    const tipTime = slotToTime('mainnet', shape.tipSlot);
    await client.query('SELECT ensure_incoming_payment_partitions(3, $1::date)', [HISTORY_START]);

    const indexes = await dropIndexes(client);
    let phase = performance.now();
    for (let from = 1; from <= shape.payments; from += CHUNK) {
      const to = Math.min(shape.payments, from + CHUNK - 1);
      await client.query(paymentsSql, [
        from,
        to,
        shape.payments,
        shape.tipHeight.toString(),
        shape.tipSlot.toString(),
        HISTORY_START,
        tipTime,
        shape.unspentEvery,
        shape.rolledBackEvery,
      ]);
      log(`  payments ${to.toLocaleString('en')} / ${shape.payments.toLocaleString('en')} (${seconds(phase)} s)`);
    }
    phase = performance.now();
    await restoreIndexes(client, indexes);
    log(`  indexes of incoming_payments built again in ${seconds(phase)} s`);

    const tipHeight = shape.tipHeight;
    const slotAt = (height: string) => `(${height} * ${shape.tipSlot}::numeric / ${tipHeight}::numeric)::bigint`;
    const timeAt = (height: string) => `$1::timestamptz + ($2::timestamptz - $1::timestamptz) * (${height}::float8 / ${tipHeight}::float8)`;
    // The tip block's slot and time are the engine's own (slotToTime), so that the next block extends it exactly.
    await client.query(
      `INSERT INTO blocks (hash, height, slot, ancestor, block_time)
       SELECT ${blockHash('h')}, h, CASE WHEN h = ${tipHeight} THEN ${shape.tipSlot} ELSE ${slotAt('h')} END,
              ${blockHash('h - 1')}, CASE WHEN h = ${tipHeight} THEN $2 ELSE ${timeAt('h')} END
         FROM generate_series(${tipHeight - BigInt(shape.retainedBlocks)}, ${tipHeight}) AS h`,
      [HISTORY_START, tipTime],
    );
    await client.query(
      `INSERT INTO checkpoints (hash, height, slot, block_time)
       SELECT ${blockHash('h')}, h, ${slotAt('h')}, ${timeAt('h')}
         FROM generate_series(1, ${tipHeight - 1n}, ${BLOCKS_PER_HOUR}) AS h`,
      [HISTORY_START, tipTime],
    );
    await client.query(
      `UPDATE sync_state SET last_block_height = $1, last_block_slot = $2, last_block_hash = ${blockHash('$1::bigint')},
                             network_tip_height = $1`,
      [tipHeight.toString(), shape.tipSlot.toString()],
    );

    phase = performance.now();
    for (let from = 0; from < shape.addresses; from += 50_000) {
      const batch = Array.from({ length: Math.min(50_000, shape.addresses - from) }, (_, i) => syntheticAddress('mainnet', from + i));
      await client.query(
        `INSERT INTO payment_addresses (address, reference_type, reference_id, user_id)
         SELECT address, CASE WHEN n % 3 = 0 THEN 'invoice' ELSE 'deposit' END, 'ref-' || n,
                CASE WHEN n % 3 = 0 THEN NULL ELSE 'user-' || (n % 50000) END
           FROM unnest($1::text[]) WITH ORDINALITY AS a(address, n)`,
        [batch],
      );
    }
    log(`  ${shape.addresses.toLocaleString('en')} addresses registered in ${seconds(phase)} s`);

    phase = performance.now();
    await client.query('VACUUM (ANALYZE) incoming_payments');
    await client.query('VACUUM (ANALYZE) payment_addresses');
    await client.query('ANALYZE');
    await client.query('CHECKPOINT');
    log(`  vacuumed and analysed in ${seconds(phase)} s`);

    const { rows } = await client.query<HistoryFigures & { table_bytes: bigint; index_bytes: bigint }>(
      `SELECT count(*) AS payments,
              count(*) FILTER (WHERE status IN ('pending', 'confirmed') AND spent_at_slot IS NULL) AS unspent,
              count(*) FILTER (WHERE status IN ('pending', 'confirmed') AND spent_at_height > $1::bigint - $2::bigint) AS "spentWithinWindow",
              count(*) FILTER (WHERE status IN ('rolled_back', 'reversed')) AS "rolledBack",
              (SELECT count(*) FROM pg_inherits WHERE inhparent = 'incoming_payments'::regclass) AS partitions,
              (SELECT count(*) FROM payment_addresses) AS addresses,
              (SELECT sum(pg_table_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'incoming_payments'::regclass) AS table_bytes,
              (SELECT sum(pg_indexes_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'incoming_payments'::regclass) AS index_bytes
         FROM incoming_payments`,
      [tipHeight.toString(), shape.retainedBlocks],
    );
    const figures = rows[0]!;
    return { ...figures, tableMiB: Number(figures.table_bytes) / 2 ** 20, indexMiB: Number(figures.index_bytes) / 2 ** 20 };
  } finally {
    client.release();
  }
}

/** Payment rows number $1 to $2 of $3, in chain order (ids follow it), one height per row spread to the tip. */
const paymentsSql = `
  WITH rows AS (
    SELECT i, (i::numeric * $4::bigint / $3::int)::bigint AS h,
           CASE WHEN i % $8::int = 3 THEN 'unspent'
                WHEN i % $9::int = 1 THEN CASE WHEN i % 2 = 0 THEN 'rolled_back' ELSE 'reversed' END
                ELSE 'spent' END AS kind
      FROM generate_series($1::int, $2::int) AS i
  ), placed AS (
    SELECT i, h, kind, (h::numeric * $5::bigint / $4::bigint)::bigint AS slot,
           $6::timestamptz + ($7::timestamptz - $6::timestamptz) * (h::float8 / $4::bigint::float8) AS block_time,
           least(h + 20 + (i::bigint * 7919) % 20000, $4::bigint) AS spent_height
      FROM rows
  )
  INSERT INTO incoming_payments (id, tx_hash, output_index, address, amount_lovelace, assets, reference_type, reference_id,
                                 user_id, block_height, block_slot, block_hash, block_time, status, detected_at,
                                 confirmed_at, spent_by_tx_hash, spent_at_slot, spent_at_height)
  SELECT nextval('incoming_payments_id_seq'), md5('tx' || i) || md5('tx.' || i), (i % 3)::int,
         'addr1v' || left(md5('address' || (i % 1000000)) || md5('address.' || (i % 1000000)), 53),
         1000000 + (i::bigint * 7919) % 1000000000000,
         CASE WHEN i % 5 = 0 THEN '{"${'b1'.repeat(28)}": {"746f6b656e": "1000"}}'::jsonb ELSE '{}'::jsonb END,
         CASE WHEN i % 3 = 0 THEN 'invoice' ELSE 'deposit' END, 'ref-' || (i % 1000000),
         CASE WHEN i % 3 = 0 THEN NULL ELSE 'user-' || (i % 50000) END,
         h, slot, ${blockHash('h')}, block_time,
         CASE WHEN kind = 'unspent' THEN CASE WHEN h > $4::bigint - 15 THEN 'pending' ELSE 'confirmed' END
              WHEN kind = 'spent' THEN 'confirmed' ELSE kind END,
         block_time,
         CASE WHEN kind IN ('spent', 'reversed') OR (kind = 'unspent' AND h <= $4::bigint - 15) THEN block_time + interval '5 minutes' END,
         CASE WHEN kind = 'spent' THEN md5('spend' || i) || md5('spend.' || i) END,
         CASE WHEN kind = 'spent' THEN (spent_height::numeric * $5::bigint / $4::bigint)::bigint END,
         CASE WHEN kind = 'spent' THEN spent_height END
    FROM placed`;

function blockHash(height: string): string {
  return `md5('block' || (${height})) || md5('block.' || (${height}))`;
}

interface DroppedIndexes {
  constraints: { name: string; definition: string }[];
  indexes: string[];
}

/** Drops the indexes and key constraints of incoming_payments (on every partition), returning how to build them. */
async function dropIndexes(client: pg.PoolClient): Promise<DroppedIndexes> {
  const { rows: constraints } = await client.query<{ name: string; definition: string }>(
    `SELECT conname AS name, pg_get_constraintdef(oid) AS definition FROM pg_constraint
      WHERE conrelid = 'incoming_payments'::regclass AND contype IN ('p', 'u')`,
  );
  const { rows: indexes } = await client.query<{ name: string; definition: string }>(
    `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = 'incoming_payments'::regclass
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)`,
  );
  for (const { name } of indexes) await client.query(`DROP INDEX ${name}`);
  for (const { name } of constraints) await client.query(`ALTER TABLE incoming_payments DROP CONSTRAINT ${name}`);
  // pg_get_indexdef says ON ONLY for a partitioned table's index: built on the partitions too, it must not.
  return { constraints, indexes: indexes.map(({ definition }) => definition.replace(' ON ONLY ', ' ON ')) };
}

async function restoreIndexes(client: pg.PoolClient, dropped: DroppedIndexes): Promise<void> {
  for (const { name, definition } of dropped.constraints) {
    await client.query(`ALTER TABLE incoming_payments ADD CONSTRAINT ${name} ${definition}`);
  }
  for (const definition of dropped.indexes) await client.query(definition);
}

function seconds(since: number): string {
  return ((performance.now() - since) / 1000).toFixed(1);
}
