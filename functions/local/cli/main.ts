/**
 * Operator CLI: `npm run cli -- <command>` (or the `payment-monitor` bin). Works on DATABASE_URL, or on the
 * local embedded database. Every change it makes is written to audit_log with the actor.
 *
 *   addresses add <address> --reference-type <t> --reference-id <id> [--user <id>]
 *   addresses import <file.csv>        header: address,reference_type,reference_id,user_id (all or nothing)
 *   addresses list [--limit n]
 *   payments list [--status pending|confirmed|rolled_back|reversed] [--limit n]
 *   status
 *   reconcile [--chunk-size n]         one reconciliation now (exit code 1 when it finds discrepancies)
 *   reconciliation list [--limit n]
 *   hot-wallet                         balance of HOT_WALLET_ADDRESSES
 * Options: --actor <name> (default cli:<os user>), --json
 */
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { readCliSettings } from '../../config/local-settings.js';
import { PostgresAddressRegistry } from '../../adapters/postgres/address-registry.js';
import { createPool } from '../../adapters/postgres/pool.js';
import { migrate } from '../../adapters/postgres/migrate.js';
import { openLocalDatabase } from '../local-database.js';
import { readAddressCsv } from './address-import.js';
import { listAddresses, listPayments, readStatus } from './queries.js';
import { printRows, printStatus } from './output.js';
import { hotWalletCommand, hotWalletLine, listRunsCommand, reconcileCommand } from './reconciliation-commands.js';
import { OPERATIONS_USAGE, operationsCommand } from './operations-commands.js';

const USAGE = `usage: npm run cli -- <command>
  addresses add <address> --reference-type <type> --reference-id <id> [--user <id>]
  addresses import <file.csv>
  addresses list [--limit n]
  payments list [--status pending|confirmed|rolled_back|reversed] [--limit n]
  status
  reconcile [--chunk-size n]
  reconciliation list [--limit n]
  hot-wallet
${OPERATIONS_USAGE}
options: --actor <name>  --json`;

export async function runCli(argv: string[], write: (text: string) => void = (text) => process.stdout.write(`${text}\n`)): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'reference-type': { type: 'string' },
      'reference-id': { type: 'string' },
      user: { type: 'string' },
      status: { type: 'string' },
      limit: { type: 'string', default: '50' },
      'chunk-size': { type: 'string' },
      'days-ago': { type: 'string' },
      slot: { type: 'string' },
      point: { type: 'string' },
      out: { type: 'string' },
      'months-ahead': { type: 'string' },
      forensic: { type: 'boolean', default: false },
      actor: { type: 'string', default: `cli:${userInfo().username}` },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals.slice(0, 2).join(' ');
  if (values.help || positionals.length === 0) {
    write(USAGE);
    return values.help ? 0 : 2;
  }
  const { network, stage } = readCliSettings();
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new Error('--limit must be a positive whole number');

  // Next to a running `npm start`, the CLI uses its database server rather than refusing to start a second one.
  const database = await openLocalDatabase({ attachToRunning: true });
  const pool = createPool({ connectionString: database.url, max: 1, applicationName: 'payment-monitor-cli' });
  try {
    // The local embedded database is brought up to date here; a configured one is migrated by its deploy
    // (npm run migrate), never as a side effect of an operator's query.
    if (database.embedded) await migrate(pool);
    const operation = await operationsCommand(positionals, { pool, write, json: values.json, actor: values.actor, options: values, stage });
    if (operation !== undefined) return operation;
    switch (command) {
      case 'addresses add': {
        const address = positionals[2];
        if (!address) throw new Error('addresses add needs an address');
        const result = await new PostgresAddressRegistry(pool, network).register(
          [
            {
              address,
              referenceType: values['reference-type'] ?? '',
              referenceId: values['reference-id'] ?? '',
              userId: values.user ?? null,
            },
          ],
          values.actor,
        );
        write(result.registered === 1 ? `Registered ${address}.` : `${address} was already registered with this reference.`);
        return 0;
      }
      case 'addresses import': {
        const file = positionals[2];
        if (!file) throw new Error('addresses import needs a CSV file');
        const registrations = readAddressCsv(await readFile(file, 'utf8'), network);
        const result = await new PostgresAddressRegistry(pool, network).register(registrations, values.actor);
        write(`Imported ${file}: ${result.registered} registered, ${result.unchanged} already registered.`);
        return 0;
      }
      case 'addresses list':
        return output(await listAddresses(pool, limit));
      case 'payments list':
        return output(await listPayments(pool, { status: values.status, limit }));
      case 'status': {
        const status = await readStatus(pool);
        if (values.json) write(JSON.stringify(status, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
        else printStatus(status, write);
        const hotWallet = values.json ? undefined : await hotWalletLine(network);
        if (hotWallet) write(hotWallet);
        return 0;
      }
      case 'reconcile': {
        const chunkSize = values['chunk-size'] === undefined ? undefined : Number(values['chunk-size']);
        if (chunkSize !== undefined && (!Number.isInteger(chunkSize) || chunkSize < 1))
          throw new Error('--chunk-size must be a positive whole number');
        return await reconcileCommand(pool, { write, json: values.json }, chunkSize);
      }
      case 'reconciliation list':
        return output(await listRunsCommand(pool, limit));
      case 'hot-wallet':
        return await hotWalletCommand(network, { write, json: values.json });
      default:
        write(`unknown command "${command}"\n${USAGE}`);
        return 2;
    }
  } finally {
    await pool.end();
    await database.stop();
  }

  function output(rows: Record<string, unknown>[]): number {
    if (values.json) write(JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
    else printRows(rows, write);
    return 0;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runCli(process.argv.slice(2))
    .then((code) => {
      process.exitCode = code;
    })
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    });
}
