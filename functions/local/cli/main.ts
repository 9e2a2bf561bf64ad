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
 *   simulate pay <address> --ada <n> | simulate fork --depth <n>   the local stack's simulated chain
 *   --api-url <url> (or PAYMENT_MONITOR_API_URL; key in PAYMENT_MONITOR_API_KEY): the commands the HTTP API covers,
 *   through it (addresses, payments, status, balances, events, webhooks, api-keys, accounts, invoices, payouts): no database access needed
 * Options: --actor <name> (default cli:<os user>), --json
 *
 * Exit codes: 0 done, 1 failed (reconcile: discrepancies found), 2 a usage error, 3 (reconcile) a run already in
 * progress. A failure prints its message on stderr, or under --json one object {"error", "exit_code"} on stdout (where
 * the answer would have been). A database holding another network's data is refused (functions/local/network-guard.ts).
 */
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { readCliApi, readCliSettings } from '../../config/local-settings.js';
import { ApiClient } from './api-client.js';
import { API_USAGE, apiCommand } from './api-commands.js';
import { PostgresAddressRegistry } from '../../adapters/postgres/address-registry.js';
import { createPool } from '../../adapters/postgres/pool.js';
import { migrate } from '../../adapters/postgres/migrate.js';
import { openLocalDatabase } from '../local-database.js';
import { validateRegistrations, type RegistrationFieldNames } from '../../domain/address-registration.js';
import type { RebuildRequestNames } from '../../domain/rebuild.js';
import { guardLocalNetwork } from '../network-guard.js';
import { AddressImportError, readAddressCsv } from './address-import.js';
import { listAddresses, listAuditRows, listPayments, readStatus } from './queries.js';
import { jsonText, printRows, printStatus } from './output.js';
import { hotWalletCommand, hotWalletLine, listRunsCommand, reconcileCommand } from './reconciliation-commands.js';
import { OPERATIONS_USAGE, operationsCommand } from './operations-commands.js';
import { CliUsageError } from './cli-usage-error.js';
import { SIMULATE_USAGE, simulateCommand } from './simulate-commands.js';

export { CliUsageError };

const USAGE = `usage: npm run cli -- <command>
  addresses add <address> --reference-type <type> --reference-id <id> [--user <id>]
  addresses import <file.csv>
  addresses list [--limit n]
  payments list [--status pending|confirmed|rolled_back|reversed] [--limit n]
  audit list [--entity <id>] [--limit n]      the audit log, newest first (a payout's id: its request, approvals, moves)
  status
  reconcile [--chunk-size n]
  reconciliation list [--limit n]
  hot-wallet
${OPERATIONS_USAGE}
${SIMULATE_USAGE}
${API_USAGE}
options: --actor <name>  --json`;

/** Commands only the API serves (their data is the API's: webhooks, the event log, keys). */
const API_ONLY_COMMANDS: ReadonlySet<string> = new Set(['webhooks', 'events', 'balances', 'api-keys', 'accounts', 'invoices', 'payouts']);

/** The flags the messages name, rather than the fields behind them. */
const REGISTRATION_FLAGS: RegistrationFieldNames = { referenceType: '--reference-type', referenceId: '--reference-id', userId: '--user' };
export const REBUILD_FLAGS: RebuildRequestNames = { daysAgo: '--days-ago', slot: '--slot', point: '--point' };

export async function runCli(argv: string[], write: (text: string) => void = (text) => process.stdout.write(`${text}\n`)): Promise<number> {
  const { values, positionals } = parseCommandLine(argv);
  const command = positionals.slice(0, 2).join(' ');
  if (values.help) {
    write(USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new CliUsageError('no command given');
  // The simulated chain's controls need no database.
  if (positionals[0] === 'simulate') return await simulateCommand(positionals, values, { write, json: values.json });
  const { network, stage } = readCliSettings();
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new CliUsageError('--limit must be a positive whole number');
  // With an API URL every command goes through the HTTP API: a deployed stage needs no database access.
  const api = readCliApi(values['api-url']);
  if (api) return await apiCommand(positionals, values, { client: new ApiClient(api.url, api.key), network, write, json: values.json });
  if (API_ONLY_COMMANDS.has(positionals[0] as string))
    throw new CliUsageError(`"${command}" goes through the HTTP API: give --api-url (npm start serves it on http://localhost:8081)`);

  // Next to a running `npm start`, the CLI uses its database server rather than refusing to start a second one.
  const database = await openLocalDatabase({ attachToRunning: true });
  const pool = createPool({ connectionString: database.url, max: 1, applicationName: 'payment-monitor-cli' });
  try {
    // The local embedded database is brought up to date here; a configured one is migrated by its deploy
    // (npm run migrate), never as a side effect of an operator's query.
    if (database.embedded) await migrate(pool);
    await guardLocalNetwork(pool, database, network, { record: false });
    // Registered addresses belong to NETWORK: a database without a network record is recorded as NETWORK's then.
    const recordNetwork = () => guardLocalNetwork(pool, database, network, { record: true });
    const operation = await operationsCommand(positionals, {
      pool,
      write,
      json: values.json,
      actor: values.actor,
      options: values,
      stage,
      rebuildFlags: REBUILD_FLAGS,
    });
    if (operation !== undefined) return operation;
    switch (command) {
      case 'addresses add': {
        const address = positionals[2];
        const referenceType = values['reference-type'];
        const referenceId = values['reference-id'];
        if (!address || referenceType === undefined || referenceId === undefined)
          throw new CliUsageError('addresses add needs an address, --reference-type <type> and --reference-id <id>');
        const registration = { address, referenceType, referenceId, userId: values.user ?? null };
        // Checked here first, so that a bad value is named by its flag.
        validateRegistrations([registration], network, REGISTRATION_FLAGS);
        const result = await new PostgresAddressRegistry(pool, network).register([registration], values.actor);
        await recordNetwork();
        write(result.registered === 1 ? `Registered ${address}.` : `${address} was already registered with this reference.`);
        return 0;
      }
      case 'addresses import': {
        const file = positionals[2];
        if (!file) throw new CliUsageError('addresses import needs a CSV file');
        const registrations = readAddressCsv(await readFile(file, 'utf8'), network);
        const result = await new PostgresAddressRegistry(pool, network).register(registrations, values.actor);
        await recordNetwork();
        write(`Imported ${file}: ${result.registered} registered, ${result.unchanged} already registered.`);
        return 0;
      }
      case 'addresses list':
        return output(await listAddresses(pool, limit));
      case 'payments list':
        return output(await listPayments(pool, { status: values.status, limit }));
      case 'audit list':
        return output(await listAuditRows(pool, { ...(values.entity ? { entityId: values.entity } : {}), limit }));
      case 'status': {
        const status = await readStatus(pool);
        if (values.json) write(JSON.stringify(status, jsonText, 2));
        else printStatus(status, write);
        const hotWallet = values.json ? undefined : await hotWalletLine(network);
        if (hotWallet) write(hotWallet);
        return 0;
      }
      case 'reconcile': {
        const chunkSize = values['chunk-size'] === undefined ? undefined : Number(values['chunk-size']);
        if (chunkSize !== undefined && (!Number.isInteger(chunkSize) || chunkSize < 1))
          throw new CliUsageError('--chunk-size must be a positive whole number');
        return await reconcileCommand(pool, { write, json: values.json }, chunkSize);
      }
      case 'reconciliation list':
        return output(await listRunsCommand(pool, limit));
      case 'hot-wallet':
        return await hotWalletCommand(network, { write, json: values.json });
      default:
        throw new CliUsageError(`unknown command "${command}"`);
    }
  } finally {
    await pool.end();
    await database.stop();
  }

  function output(rows: Record<string, unknown>[]): number {
    if (values.json) write(JSON.stringify(rows, jsonText, 2));
    else printRows(rows, write);
    return 0;
  }
}

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({
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
        ada: { type: 'string' },
        asset: { type: 'string', multiple: true },
        depth: { type: 'string' },
        before: { type: 'string' },
        'drop-transactions': { type: 'boolean', default: false },
        'api-url': { type: 'string' },
        'idempotency-key': { type: 'string' },
        address: { type: 'string' },
        since: { type: 'string' },
        after: { type: 'string' },
        cursor: { type: 'string' },
        endpoint: { type: 'string' },
        events: { type: 'string' },
        name: { type: 'string' },
        scope: { type: 'string' },
        'expires-in': { type: 'string' },
        confirmations: { type: 'string' },
        account: { type: 'string' },
        'gap-limit': { type: 'string' },
        reason: { type: 'string' },
        entity: { type: 'string' },
        actor: { type: 'string', default: `cli:${userInfo().username}` },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    // node:util's own errors (an unknown or incomplete option) are usage errors like ours.
    if ((error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) throw new CliUsageError((error as Error).message);
    throw error;
  }
}

/**
 * The CLI as a process: the exit code of runCli, or 1 (2 for a usage error) when it throws, with the message on
 * stderr, or under --json as one JSON object on stdout. A reader that stops early (`status | head -2`) ends the output
 * quietly: the command still finishes (and closes its database), writing nothing more.
 */
export async function runCliProcess(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  let stdoutOpen = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
      if (stream === process.stdout) stdoutOpen = false;
    });
  }
  const write = (text: string) => {
    if (stdoutOpen) process.stdout.write(`${text}\n`);
  };
  try {
    return await runCli(argv, write);
  } catch (error) {
    const usage = error instanceof CliUsageError;
    const code = usage ? 2 : 1;
    const message = error instanceof Error ? error.message : String(error);
    if (json) {
      const problems = error instanceof AddressImportError ? { problems: error.problems } : {};
      write(JSON.stringify({ error: message, ...problems, exit_code: code }));
    } else if (!process.stderr.destroyed) {
      process.stderr.write(`${message}\n${usage ? `${USAGE}\n` : ''}`);
    }
    return code;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runCliProcess(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
