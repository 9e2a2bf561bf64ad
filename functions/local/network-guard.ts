/**
 * The local processes' network guard: npm start and the CLI refuse a database that holds another network's data
 * (adapters/postgres/network-record.ts), saying what to do in local terms.
 */
import type pg from 'pg';
import type { Network } from '../domain/network.js';
import { checkNetwork, claimNetwork } from '../adapters/postgres/network-record.js';
import type { LocalDatabase } from './local-database.js';

/** What to do instead of switching NETWORK on this database. */
export function localNetworkAdvice(database: Pick<LocalDatabase, 'embedded'>, network: Network): string {
  return database.embedded
    ? `start afresh on ${network} by moving the .data folder away (it holds the embedded database and the simulated chain)`
    : `point DATABASE_URL at a database of its own for ${network}`;
}

/**
 * Throws NetworkMismatchError when the database holds another network's data. `record`: the caller follows the
 * chain or registers addresses, so a database without a record is recorded as this network's.
 */
export async function guardLocalNetwork(
  pool: pg.Pool,
  database: Pick<LocalDatabase, 'embedded'>,
  network: Network,
  { record }: { record: boolean },
): Promise<void> {
  const options = { advice: localNetworkAdvice(database, network) };
  if (record) await claimNetwork(pool, network, options);
  else await checkNetwork(pool, network, options);
}
