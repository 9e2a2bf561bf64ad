/**
 * The network a database's data belongs to, in sync_state.network (migration 0012). `claimNetwork` records it on
 * first use and refuses another network from then on; `checkNetwork` only refuses (for commands that only read, so
 * that an operator's `status` with the wrong NETWORK never records it). Both judge a database without a record by
 * its oldest registered address (domain/network-record.ts): data from before the record is not taken for another
 * network's. One read by primary key per call; the write happens once in the database's life.
 *
 * A database not yet migrated to 0012 (a CLI run against a configured database before its deploy) has no record
 * and gets none: it is judged by its addresses alone (the column is read through to_jsonb, which tolerates its
 * absence, so the call never aborts the caller's transaction).
 */
import type pg from 'pg';
import type { Network } from '../../domain/network.js';
import { networkMismatch } from '../../domain/network-record.js';

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export interface NetworkCheckOptions {
  /** What to do instead, for the refusal's message (the local stack names its .data folder). */
  advice?: string;
}

/** Throws NetworkMismatchError when the database holds another network's data; returns the recorded network. */
export async function checkNetwork(db: Queryable, network: Network, options: NetworkCheckOptions = {}): Promise<Network | null> {
  return (await judge(db, network, options)).recorded;
}

/** As checkNetwork, then records the network if none is yet (of two first uses at once, the later is judged by the earlier's record). */
export async function claimNetwork(db: Queryable, network: Network, options: NetworkCheckOptions = {}): Promise<void> {
  const { recorded, recordable } = await judge(db, network, options);
  if (recorded !== null || !recordable) return;
  const { rows } = await db.query<{ network: Network }>(
    'UPDATE sync_state SET network = coalesce(network, $1) WHERE id = 1 RETURNING network',
    [network],
  );
  const mismatch = networkMismatch({ recorded: rows[0]?.network ?? null, firstAddress: null }, network, options.advice);
  if (mismatch) throw mismatch;
}

async function judge(
  db: Queryable,
  network: Network,
  { advice }: NetworkCheckOptions,
): Promise<{ recorded: Network | null; recordable: boolean }> {
  const { rows } = await db.query<{ network: Network | null; recordable: boolean; first_address: string | null }>(
    `SELECT to_jsonb(s) ->> 'network' AS network, to_jsonb(s) ? 'network' AS recordable,
            CASE WHEN to_jsonb(s) ->> 'network' IS NULL THEN (SELECT address FROM payment_addresses ORDER BY id LIMIT 1) END AS first_address
       FROM sync_state s WHERE s.id = 1`,
  );
  const row = rows[0];
  if (!row) throw new Error('sync_state has no row: run the migrations first');
  const mismatch = networkMismatch({ recorded: row.network, firstAddress: row.first_address }, network, advice);
  if (mismatch) throw mismatch;
  return { recorded: row.network, recordable: row.recordable };
}
