/** The CLI's reconciliation and hot-wallet commands: `reconcile`, `reconciliation list`, `hot-wallet`. */
import type pg from 'pg';
import { InMemoryMetrics } from '../../adapters/observability/in-memory-metrics.js';
import { PostgresReconciliationRuns } from '../../adapters/postgres/reconciliation-runs.js';
import { readHotWalletAddresses } from '../../config/local-settings.js';
import { formatAda } from '../../domain/money.js';
import type { Network } from '../../domain/network.js';
import type { Logger } from '../../domain/ports.js';
import { describeRun, runDiscrepancyTotal } from '../../domain/reconciliation/reconciliation-runner.js';
import type { HotWalletReport } from '../../handlers/hot-wallet-core.js';
import { findOgmios } from '../local-ogmios.js';
import { measureHotWalletNow, reconcileNow } from '../local-reconciliation.js';

/** The CLI prints its own summary; the run's log lines would repeat it. */
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, critical() {} };

export interface CommandOutput {
  write: (text: string) => void;
  json: boolean;
}

/** Runs a reconciliation now; exit code 1 when it found discrepancies or balance mismatches, 3 when one was already running. */
export async function reconcileCommand(pool: pg.Pool, { write, json }: CommandOutput, chunkSize?: number): Promise<number> {
  const { run, alreadyRunning } = await reconcileNow({
    pool,
    ogmios: findOgmios(),
    logger: quiet,
    metrics: new InMemoryMetrics(),
    trigger: 'on_demand',
    chunkSize,
  });
  const discrepancies = await listDiscrepancies(pool, run.id);
  const summary = describeRun(run);
  if (json) write(JSON.stringify({ ...summary, already_running: alreadyRunning, discrepancy_details: discrepancies }, jsonText, 2));
  else {
    if (alreadyRunning) write(`A reconciliation is already running (run ${run.id}); its progress so far:`);
    // Two spaces past the longest name (compared_from_height is 20 characters).
    const width = Math.max(...Object.keys(summary).map((key) => key.length)) + 2;
    for (const [key, value] of Object.entries(summary))
      write(`${key.padEnd(width)}${typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)}`);
    if (discrepancies.length > 0) {
      write('');
      write('discrepancies:');
      for (const row of discrepancies) write(`  ${describeDiscrepancyRow(row)}`);
    }
  }
  if (alreadyRunning) return 3;
  return runDiscrepancyTotal(run.counts) > 0 || (run.counts.balanceMismatches ?? 0) > 0 ? 1 : 0;
}

/** The columns `reconciliation list` shows, in order (then the error, if any). */
const LISTED_FIELDS = [
  'run_id',
  'trigger',
  'status',
  'started_at',
  'finished_at',
  'addresses',
  'unjudged_addresses',
  'matched',
  'missing_in_db',
  'extra_in_db',
  'amount_mismatch',
  'asset_mismatch',
  'too_recent',
  'predates_watch',
  'balance_mismatches',
  'invoice_mismatches',
] as const;

export async function listRunsCommand(pool: pg.Pool, limit: number): Promise<Record<string, unknown>[]> {
  const runs = await new PostgresReconciliationRuns(pool).recent(limit);
  return runs.map((run) => {
    const described = describeRun(run);
    return { ...Object.fromEntries(LISTED_FIELDS.map((field) => [field, described[field]])), error: described.error ?? '' };
  });
}

export async function hotWalletCommand(network: Network, { write, json }: CommandOutput): Promise<number> {
  const addresses = readHotWalletAddresses(network);
  if (addresses.length === 0) throw new Error('HOT_WALLET_ADDRESSES is not set (comma-separated addresses of the hot wallet)');
  const report = await readHotWallet(addresses);
  if (json) write(JSON.stringify(report, null, 2));
  else
    write(
      `hot wallet        ${formatAda(BigInt(report.lovelace))} ADA in ${report.utxos} UTxOs at ${report.addresses} addresses (${report.token_kinds} kinds of token, not counted)`,
    );
  return 0;
}

/** For `status`: the hot wallet's balance when HOT_WALLET_ADDRESSES is set, or why it could not be read. */
export async function hotWalletLine(network: Network): Promise<string | undefined> {
  const addresses = readHotWalletAddresses(network);
  if (addresses.length === 0) return undefined;
  try {
    const report = await readHotWallet(addresses);
    return `hot wallet        ${formatAda(BigInt(report.lovelace))} ADA in ${report.utxos} UTxOs`;
  } catch (error) {
    return `hot wallet        unavailable (${error instanceof Error ? error.message : String(error)})`;
  }
}

function readHotWallet(addresses: readonly string[]): Promise<HotWalletReport> {
  return measureHotWalletNow({ ogmios: findOgmios(), addresses, logger: quiet, metrics: new InMemoryMetrics() });
}

interface DiscrepancyRow {
  kind: string;
  address: string | null;
  tx_hash: string | null;
  output_index: number | null;
  chain_lovelace: bigint | null;
  db_lovelace: bigint | null;
  user_id: string | null;
  asset: string | null;
  stored_quantity: string | null;
  calculated_quantity: string | null;
  invoice_id: string | null;
  detail: string | null;
}

async function listDiscrepancies(pool: pg.Pool, runId: bigint): Promise<DiscrepancyRow[]> {
  const { rows } = await pool.query<DiscrepancyRow>(
    `SELECT kind, address, tx_hash, output_index, chain_lovelace, db_lovelace, user_id, asset,
            stored_quantity::text AS stored_quantity, calculated_quantity::text AS calculated_quantity, invoice_id, detail
       FROM reconciliation_discrepancies WHERE run_id = $1 ORDER BY id`,
    [runId.toString()],
  );
  return rows;
}

function describeDiscrepancyRow(row: DiscrepancyRow): string {
  if (row.kind === 'invoice_mismatch') return `invoice_mismatch  invoice ${row.invoice_id}: ${row.detail}`;
  if (row.kind === 'balance_mismatch') {
    const stored = BigInt(row.stored_quantity ?? '0');
    const calculated = BigInt(row.calculated_quantity ?? '0');
    if (row.asset === 'lovelace' || row.asset === null) {
      return `balance_mismatch  user ${row.user_id}: stored ${formatAda(stored)} ADA, ledger ${formatAda(calculated)} ADA`;
    }
    return `balance_mismatch  user ${row.user_id}, ${row.asset}: stored ${stored}, ledger ${calculated}`;
  }
  const chain = row.chain_lovelace === null ? 'not on chain' : `chain ${formatAda(row.chain_lovelace)} ADA`;
  const db = row.db_lovelace === null ? 'not in database' : `database ${formatAda(row.db_lovelace)} ADA`;
  return `${row.kind.padEnd(16)}  ${row.tx_hash}#${row.output_index} at ${row.address}: ${chain}, ${db}`;
}

function jsonText(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
