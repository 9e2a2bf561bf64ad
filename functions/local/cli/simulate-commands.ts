/**
 * `npm run cli -- simulate …`: drives the running local stack's simulated chain, so that a walkthrough can pay an
 * address it registered and make a fork deep enough to reverse a confirmed payment. Only the simulator answers
 * these (a real Ogmios does not know them), so pointed at a real node they fail and change nothing.
 */
import type { OgmiosEndpoints } from '../../adapters/ogmios/endpoints.js';
import { parseAda } from '../../domain/money.js';
import { findOgmios } from '../local-ogmios.js';
import { CliUsageError } from './cli-usage-error.js';

export const SIMULATE_USAGE = `  simulate pay <address> --ada <amount> [--asset <policy id>.<asset name hex>=<quantity>]…
  simulate fork --depth <blocks> | --before <tx hash> [--drop-transactions]`;

export interface SimulateOptions {
  ada?: string;
  asset?: string[];
  depth?: string;
  before?: string;
  'drop-transactions'?: boolean;
}

export async function simulateCommand(
  positionals: string[],
  options: SimulateOptions,
  io: { write: (text: string) => void; json: boolean; ogmios?: () => OgmiosEndpoints },
): Promise<number> {
  const call = (method: string, params: unknown) => callSimulator((io.ogmios ?? findOgmios)(), method, params);
  const subcommand = positionals[1];
  if (subcommand === 'pay') {
    const address = positionals[2];
    if (!address || options.ada === undefined) throw new CliUsageError('simulate pay needs an address and --ada <amount>');
    const lovelace = parseAda(options.ada);
    if (lovelace === undefined || lovelace === 0n) throw new CliUsageError('--ada must be a positive amount with at most 6 decimals');
    const assets = (options.asset ?? []).map(readAssetFlag);
    const result = (await call('simulator/queuePayment', { address, lovelace: String(lovelace), assets })) as {
      transaction: { id: string };
      index: number;
    };
    if (io.json) io.write(JSON.stringify({ tx_hash: result.transaction.id, output_index: result.index, lovelace: String(lovelace) }));
    else io.write(`Queued ${result.transaction.id}#${result.index} (${options.ada} ADA to ${address}): it lands in the next block.`);
    return 0;
  }
  if (subcommand === 'fork') {
    const requeueTransactions = !options['drop-transactions'];
    let target: { depth: number } | { beforeTransaction: string };
    if (options.before !== undefined) {
      if (!/^[0-9a-f]{64}$/.test(options.before)) throw new CliUsageError('--before must be a transaction id (64 hex digits)');
      target = { beforeTransaction: options.before };
    } else {
      const depth = Number(options.depth);
      if (options.depth === undefined || !Number.isInteger(depth) || depth < 1)
        throw new CliUsageError('simulate fork needs --depth <blocks> (at least 1) or --before <tx hash>');
      target = { depth };
    }
    const result = (await call('simulator/rollBack', { ...target, requeueTransactions })) as { depth: number; tip_height: number };
    if (io.json) io.write(JSON.stringify(result));
    else
      io.write(
        `Forked: the newest ${result.depth} blocks were replaced by a longer branch (tip ${result.tip_height})${requeueTransactions ? '' : ', without their transactions'}.`,
      );
    return 0;
  }
  throw new CliUsageError(`unknown command "simulate ${subcommand ?? ''}"`.trimEnd());
}

/** `--asset <policy id>.<asset name hex>=<quantity>`, as every command that takes tokens reads it. */
export function readAssetFlag(text: string): { policyId: string; assetName: string; quantity: string } {
  const match = /^([0-9a-f]{56})\.((?:[0-9a-f]{2}){0,32})=([0-9]{1,20})$/.exec(text);
  if (!match) throw new CliUsageError(`--asset must be <policy id>.<asset name hex>=<quantity>, got "${text}"`);
  return { policyId: match[1] as string, assetName: match[2] as string, quantity: match[3] as string };
}

/** One JSON-RPC request over the simulator's HTTP endpoint (POST /). */
async function callSimulator(ogmios: OgmiosEndpoints, method: string, params: unknown): Promise<unknown> {
  const url = (ogmios.urls[0] as string).replace(/^ws/, 'http');
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method, params }),
  });
  const answer = (await response.json()) as { result?: unknown; error?: { code: number; message: string } };
  if (answer.error?.code === -32601)
    throw new Error(`${url} is not the local simulator: simulate works only with npm start's simulated chain`);
  if (answer.error) throw new Error(answer.error.message);
  return answer.result;
}
