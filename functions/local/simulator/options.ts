/** Options of the Ogmios simulator, their defaults and their validation. */
import { validateAddress } from '../../domain/address.js';
import { NETWORKS, type Network } from '../../domain/network.js';
import type { ForkSettings } from './chain-producer.js';
import { securityParameter } from './network-parameters.js';
import type { FundingTarget, PaymentTarget } from './synthetic-transactions.js';
import type { TransactionCountRange } from './synthetic-blocks.js';

export interface OgmiosSimulatorOptions {
  /** Network whose addresses, slot clock and fixtures are used. Default mainnet. */
  readonly network?: Network;
  /** Interface to listen on. Default 127.0.0.1 (as Ogmios). */
  readonly host?: string;
  /** Port; 0 picks a free one. Default 0. */
  readonly port?: number;
  /** Blocks made up (`synthetic`, default) or real recorded blocks replayed (`fixtures`). */
  readonly source?: 'fixtures' | 'synthetic';
  /** Where the chain fixtures are (source `fixtures`). Default CHAIN_FIXTURES_DIR or ../shared/chain-fixtures. */
  readonly fixturesDirectory?: string;
  /** A block every this many milliseconds; 0 (default): only when asked (produceBlocks). */
  readonly blockTimeMs?: number;
  /** Blocks of history produced before the server starts, ending around the current time. Default 0. */
  readonly initialBlocks?: number;
  /**
   * Blocks served before (their `result.block` JSON, oldest first) to start from instead of new history, optionally
   * preceded by a ledger snapshot (`ledgerSnapshot()`), without which they must start at the chain's first block.
   */
  readonly history?: readonly string[];
  /** Addresses the chain pays, in ADA and native tokens. */
  readonly payTo?: readonly PaymentTarget[];
  /**
   * Outputs the chain's first block (height 0) creates, spendable by a submitted transaction signed with the key of
   * the address (e.g. a demo hot wallet's enterprise address); background traffic never spends them. Not applied
   * when `history` restores a chain (its first block already did).
   */
  readonly fund?: readonly FundingTarget[];
  /** Expected payments per block (fractions allowed: 0.25 is one every four blocks). Default 1 with payTo. */
  readonly paymentsPerBlock?: number;
  /** Expected spends of received payments per block. Default 0.1. */
  readonly paymentSpendsPerBlock?: number;
  /** Automatic forks (rollbacks) during production. Default none. */
  readonly forks?: ForkSettings;
  /** Seed of every random choice: the same seed and calls give the same chain. */
  readonly seed?: string | number;
  /** Most `nextBlock` requests of one connection waiting at the tip before reading pauses. Default 1000 (Ogmios). */
  readonly maxInFlight?: number;
  /** Most recent blocks kept and served. Default 10,000. */
  readonly retainedBlocks?: number;
  /** Most bytes of block JSON kept, a ceiling for unusually large blocks. Default 2 GiB (10,000 mainnet-like blocks are ~1.2 GB). */
  readonly retainedBytes?: number;
  /** Background transactions per synthetic block. Default 10 to 300 (mainnet-like, skewed to small blocks). */
  readonly transactionsPerBlock?: TransactionCountRange;
  /** Share of synthetic background transactions that failed phase-2 validation. Default 0.003. */
  readonly failedTransactionRate?: number;
  /** When set, every request must carry one of these keys in the `dmtr-api-key` header. */
  readonly apiKeys?: readonly string[];
  /** Clock (Unix ms) for slots and health; inject a fixed one for byte-identical runs. Default Date.now. */
  readonly clock?: () => number;
}

export type ResolvedOptions = Required<Omit<OgmiosSimulatorOptions, 'forks' | 'apiKeys' | 'fixturesDirectory' | 'history'>> &
  Pick<OgmiosSimulatorOptions, 'forks' | 'apiKeys' | 'fixturesDirectory' | 'history'>;

export function resolveOptions(options: OgmiosSimulatorOptions): ResolvedOptions {
  const payTo = options.payTo ?? [];
  const resolved: ResolvedOptions = {
    network: options.network ?? 'mainnet',
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    source: options.source ?? 'synthetic',
    fixturesDirectory: options.fixturesDirectory,
    blockTimeMs: options.blockTimeMs ?? 0,
    initialBlocks: options.initialBlocks ?? 0,
    history: options.history,
    payTo,
    fund: options.fund ?? [],
    paymentsPerBlock: options.paymentsPerBlock ?? (payTo.length > 0 ? 1 : 0),
    paymentSpendsPerBlock: options.paymentSpendsPerBlock ?? 0.1,
    forks: options.forks,
    seed: options.seed ?? 'ogmios-simulator',
    maxInFlight: options.maxInFlight ?? 1000,
    retainedBlocks: options.retainedBlocks ?? 10_000,
    retainedBytes: options.retainedBytes ?? 2 * 1024 * 1024 * 1024,
    transactionsPerBlock: options.transactionsPerBlock ?? { min: 10, max: 300 },
    failedTransactionRate: options.failedTransactionRate ?? 0.003,
    apiKeys: options.apiKeys,
    clock: options.clock ?? Date.now,
  };
  validate(resolved);
  return resolved;
}

function validate(options: ResolvedOptions): void {
  if (!(NETWORKS as readonly string[]).includes(options.network)) throw new RangeError(`network must be one of ${NETWORKS.join(', ')}`);
  if (options.source !== 'fixtures' && options.source !== 'synthetic') throw new RangeError(`source must be 'fixtures' or 'synthetic'`);
  requireInteger('port', options.port, 0, 65_535);
  requireInteger('blockTimeMs', options.blockTimeMs, 0);
  requireInteger('initialBlocks', options.initialBlocks, 0);
  requireInteger('maxInFlight', options.maxInFlight, 1);
  requireInteger('retainedBlocks', options.retainedBlocks, 1);
  requireInteger('retainedBytes', options.retainedBytes, 1);
  requireRate('paymentsPerBlock', options.paymentsPerBlock);
  requireRate('paymentSpendsPerBlock', options.paymentSpendsPerBlock);
  requireProbability('failedTransactionRate', options.failedTransactionRate);
  const { min, max } = options.transactionsPerBlock;
  requireInteger('transactionsPerBlock.min', min, 0);
  requireInteger('transactionsPerBlock.max', max, min);
  for (const [index, target] of options.payTo.entries()) validateTarget(`payTo[${index}]`, target);
  for (const [index, target] of options.fund.entries()) {
    validateTarget(`fund[${index}]`, target);
    try {
      validateAddress(target.address, options.network);
    } catch (error) {
      throw new RangeError(
        `fund[${index}].address is not a ${options.network} address: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (typeof target.lovelace !== 'bigint' || target.lovelace <= 0n) throw new RangeError(`fund[${index}].lovelace must be positive`);
    if (target.outputs !== undefined) requireInteger(`fund[${index}].outputs`, target.outputs, 1, 1000);
  }
  const forks = options.forks;
  if (forks !== undefined) {
    requireInteger('forks.maxDepth', forks.maxDepth, 1);
    if (forks.everyBlocks !== undefined) requireInteger('forks.everyBlocks', forks.everyBlocks, 1);
    if (forks.probability !== undefined) requireProbability('forks.probability', forks.probability);
    if (forks.everyBlocks === undefined && forks.probability === undefined) throw new RangeError('forks needs everyBlocks or probability');
    const deepest = Math.min(options.retainedBlocks, securityParameter(options.network));
    if (forks.maxDepth > deepest)
      throw new RangeError(`forks.maxDepth cannot exceed ${deepest} (retainedBlocks, and the security parameter k)`);
  }
}

function validateTarget(name: string, target: PaymentTarget): void {
  if (typeof target.address !== 'string' || target.address.length === 0) throw new RangeError(`${name}.address must be an address`);
  if (target.lovelace !== undefined && target.lovelace < 0n) throw new RangeError(`${name}.lovelace must not be negative`);
  for (const asset of target.assets ?? []) {
    if (!/^[0-9a-f]{56}$/.test(asset.policyId)) throw new RangeError(`${name} has an asset with a policy id that is not 56 hex digits`);
    if (!/^(?:[0-9a-f]{2}){0,32}$/.test(asset.assetName)) throw new RangeError(`${name} has an asset name that is not hex (0 to 32 bytes)`);
    if (asset.quantity <= 0n) throw new RangeError(`${name} has an asset quantity that is not positive`);
  }
}

function requireInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
}

function requireRate(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number, got ${value}`);
}

function requireProbability(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new RangeError(`${name} must be between 0 and 1, got ${value}`);
}
