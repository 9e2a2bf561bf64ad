/**
 * The settings of the local tools: the local stack (`npm start`), the operator CLI, the local database and the
 * standalone simulator (`npm run simulator`). Read when each starts (the CLI at every command).
 */
import type { PayoutPolicy } from '../domain/payouts/payout-rules.js';
import { readPayoutPolicyWith } from './payout-settings.js';
import { MIN_BOOTSTRAP_KEY_LENGTH } from '../domain/api-keys.js';
import { parseHotWalletAddresses } from '../domain/hot-wallet.js';
import type { LogLevel } from '../domain/log-level.js';
import type { Network } from '../domain/network.js';
import type { OgmiosEndpoints } from '../adapters/ogmios/endpoints.js';
import type { StartPoint } from '../follower/start-points.js';
import { processEnvironment, type Environment } from './environment.js';
import { ogmiosEndpoints, readOptionalOgmiosSettingsWith } from './ogmios-settings.js';
import { readSettingsGroup } from './settings-reader.js';
import { readStartPoint } from './follower-settings.js';
import {
  API_PORT,
  BOOTSTRAP_API_KEY,
  CHAIN_FIXTURES_DIR,
  CONFIRMATIONS,
  DATABASE_URL,
  HEALTH_PORT,
  HOT_WALLET_ADDRESSES,
  LOCAL_POSTGRES_PORT,
  LOCAL_STACK_BLOCK_TIME_MS,
  LOG_LEVEL,
  NETWORK,
  PAYMENT_MONITOR_API_KEY,
  PAYMENT_MONITOR_API_URL,
  SIMULATOR_BLOCK_TIME_MS,
  SIMULATOR_INITIAL_BLOCKS,
  SIMULATOR_PORT,
  SIMULATOR_RETAINED_BLOCKS,
  SIMULATOR_SEED,
  SIMULATOR_SOURCE,
  STAGE,
  INVOICE_MONITORING_MINUTES,
  PAYOUT_RESUBMIT_SECONDS,
  PAYOUT_SIGNER_KEY_FILE,
  PAYOUT_VALIDITY_SECONDS,
} from './variables.js';

export interface LocalStackSettings {
  network: Network;
  /** A real Ogmios (OGMIOS_URL), or the built-in simulator when unset. */
  ogmios: OgmiosEndpoints | 'simulator';
  confirmations: number;
  /** INVOICE_MONITORING_MINUTES: an invoice's window after expiry (the API's default). */
  invoiceMonitoringMinutes?: number;
  /** The payout policy (PAYOUT_MAX_LOVELACE, PAYOUT_DAILY_LIMIT_LOVELACE, PAYOUT_APPROVAL_THRESHOLD_LOVELACE). */
  payouts?: PayoutPolicy;
  /** Where to start when the database holds no block yet. */
  startPoint: StartPoint;
  healthPort: number;
  /** API_PORT: the HTTP API (0 or unset: a free port). */
  apiPort?: number;
  /** BOOTSTRAP_API_KEY: an admin key with this value when none is active. Never logged. */
  bootstrapApiKey?: string;
  /** HOT_WALLET_ADDRESSES: their balance every minute on the status line; none when unset. */
  hotWalletAddresses?: readonly string[];
  /** The simulator's block time (SIMULATOR_BLOCK_TIME_MS). */
  simulatorBlockTimeMs?: number;
  logLevel?: LogLevel;
  /** The payout processor: the hot wallet's key file and the transactions' validity and resubmission. */
  payoutExecution?: { keyFile: string; validitySeconds: number; resubmitAfterSeconds: number };
}

export const DEFAULT_PAYOUT_SIGNER_KEY_FILE = '.data/payout-signer.key';

export function readLocalStackSettings(env: Environment = processEnvironment()): LocalStackSettings {
  return readSettingsGroup('local stack', env, (reader) => {
    const network = reader.read(NETWORK, 'mainnet');
    const ogmios = readOptionalOgmiosSettingsWith(reader);
    return {
      network,
      ogmios: ogmios ? ogmiosEndpoints(ogmios) : 'simulator',
      confirmations: reader.read(CONFIRMATIONS),
      invoiceMonitoringMinutes: reader.read(INVOICE_MONITORING_MINUTES),
      payouts: readPayoutPolicyWith(reader),
      startPoint: reader.attempt(() => readStartPoint(env), 'tip'),
      healthPort: reader.read(HEALTH_PORT),
      apiPort: reader.read(API_PORT),
      ...reader.attempt(() => readBootstrapApiKey(reader.read(BOOTSTRAP_API_KEY)), {}),
      hotWalletAddresses: reader.attempt(() => parseHotWalletAddresses(reader.read(HOT_WALLET_ADDRESSES), network), []),
      simulatorBlockTimeMs: reader.read(SIMULATOR_BLOCK_TIME_MS) ?? LOCAL_STACK_BLOCK_TIME_MS,
      logLevel: reader.read(LOG_LEVEL),
      payoutExecution: {
        keyFile: reader.read(PAYOUT_SIGNER_KEY_FILE) ?? DEFAULT_PAYOUT_SIGNER_KEY_FILE,
        validitySeconds: reader.read(PAYOUT_VALIDITY_SECONDS),
        resubmitAfterSeconds: reader.read(PAYOUT_RESUBMIT_SECONDS),
      },
    };
  });
}

function readBootstrapApiKey(key: string | undefined): { bootstrapApiKey?: string } {
  if (key === undefined) return {};
  if (key.length < MIN_BOOTSTRAP_KEY_LENGTH || /\s/.test(key)) {
    throw new Error(`BOOTSTRAP_API_KEY must be at least ${MIN_BOOTSTRAP_KEY_LENGTH} characters without spaces (its value is not shown)`);
  }
  return { bootstrapApiKey: key };
}

export interface LocalDatabaseSettings {
  /** DATABASE_URL; the embedded PostgreSQL when unset. */
  url?: string;
  /** LOCAL_POSTGRES_PORT; a free port when unset. */
  embeddedPort?: number;
}

export function readLocalDatabaseSettings(env: Environment = processEnvironment()): LocalDatabaseSettings {
  return readSettingsGroup('local database', env, (reader) => {
    const url = reader.read(DATABASE_URL);
    const embeddedPort = reader.read(LOCAL_POSTGRES_PORT);
    return { ...(url ? { url } : {}), ...(embeddedPort !== undefined ? { embeddedPort } : {}) };
  });
}

export interface CliSettings {
  network: Network;
  /** STAGE, `local` when unset: the prefix of backup exports. */
  stage: string;
}

export function readCliSettings(env: Environment = processEnvironment()): CliSettings {
  return readSettingsGroup('CLI', env, (reader) => ({ network: reader.read(NETWORK, 'mainnet'), stage: reader.read(STAGE) ?? 'local' }));
}

/** The CLI's way to a deployed stage: an API URL (the flag first) and the key to send it; undefined without a URL. */
export function readCliApi(
  apiUrlFlag: string | undefined,
  env: Environment = processEnvironment(),
): { url: string; key: string } | undefined {
  return readSettingsGroup('CLI', env, (reader) => {
    const url = apiUrlFlag ?? reader.read(PAYMENT_MONITOR_API_URL);
    const key = reader.read(PAYMENT_MONITOR_API_KEY);
    if (url === undefined) return undefined;
    checkApiUrl(url);
    if (key === undefined)
      throw new Error(
        'PAYMENT_MONITOR_API_KEY is not set: the API needs a key (create one with the first admin key, or BOOTSTRAP_API_KEY locally)',
      );
    return { url, key };
  });
}

/** Hosts plain http may reach: the key then never leaves the machine. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The API URL's rule: https, or plain http to a loopback host (the local stack): anywhere else the key would cross
 * the network in clear.
 */
function checkApiUrl(url: string): void {
  let parsed: URL | undefined;
  try {
    parsed = /^\S+$/.test(url) ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.hostname === '') {
    throw new Error(`The API URL must be an http(s) URL, got "${url}"`);
  }
  if (parsed.protocol === 'http:' && !LOOPBACK_HOSTS.has(parsed.hostname)) {
    throw new Error(
      `The API URL must be https (plain http only to localhost, 127.0.0.1 or [::1]): the key would travel in clear to ${parsed.hostname}`,
    );
  }
}

/** HOT_WALLET_ADDRESSES for the commands that report it (read then: a bad one must not stop the others). */
export function readHotWalletAddresses(network: Network, env: Environment = processEnvironment()): string[] {
  return parseHotWalletAddresses(HOT_WALLET_ADDRESSES.read(env), network);
}

/** OGMIOS_URL with its keys for the commands that query the chain; undefined when unset. */
export function readLocalOgmios(env: Environment = processEnvironment()): OgmiosEndpoints | undefined {
  return readSettingsGroup('CLI', env, (reader) => {
    const settings = readOptionalOgmiosSettingsWith(reader);
    return settings && ogmiosEndpoints(settings);
  });
}

export interface SimulatorSettings {
  network: Network;
  port: number;
  source: 'synthetic' | 'fixtures';
  blockTimeMs: number;
  initialBlocks: number;
  retainedBlocks: number;
  seed: string;
}

export function readSimulatorSettings(env: Environment = processEnvironment()): SimulatorSettings {
  return readSettingsGroup('simulator', env, (reader) => ({
    network: reader.read(NETWORK, 'mainnet'),
    port: reader.read(SIMULATOR_PORT),
    source: reader.read(SIMULATOR_SOURCE),
    // The same pace as `npm start`'s simulator (what the README's quick start describes).
    blockTimeMs: reader.read(SIMULATOR_BLOCK_TIME_MS) ?? LOCAL_STACK_BLOCK_TIME_MS,
    initialBlocks: reader.read(SIMULATOR_INITIAL_BLOCKS),
    retainedBlocks: reader.read(SIMULATOR_RETAINED_BLOCKS),
    seed: reader.read(SIMULATOR_SEED),
  }));
}

/** CHAIN_FIXTURES_DIR: where the simulator's recorded blocks are; undefined for the default beside the project. */
export function readChainFixturesDirectory(env: Environment = processEnvironment()): string | undefined {
  return CHAIN_FIXTURES_DIR.read(env);
}
