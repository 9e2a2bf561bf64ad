/**
 * The Lambdas' settings, one group per function, each read once at cold start (module load) with every problem
 * reported together. The database and the logger/metrics settings are shared by all of them (lambda-handler.ts).
 */
import type { PayoutPolicy } from '../domain/payouts/payout-rules.js';
import { readPayoutPolicyWith } from './payout-settings.js';
import { parseHotWalletAddresses } from '../domain/hot-wallet.js';
import { IamCallers } from '../domain/iam-callers.js';
import type { Network } from '../domain/network.js';
import { DefaultServiceName } from '../domain/observability.js';
import type { ObservabilitySettings } from '../adapters/powertools/settings.js';
import { MIGRATIONS_DIRECTORY } from '../adapters/postgres/migrate.js';
import { readDatabaseSettingsWith, type DatabaseSettings } from './database-settings.js';
import { processEnvironment, type Environment } from './environment.js';
import { readOgmiosSettingsWith, readOptionalOgmiosSettingsWith, type OgmiosSettings } from './ogmios-settings.js';
import { readSettingsGroup } from './settings-reader.js';
import {
  API_IAM_PRINCIPALS,
  BACKUP_BUCKET,
  CHAIN_EVENT_QUEUE_URL,
  CLAIM_CHECK_BUCKET,
  CONFIRMATIONS,
  DB_POOL_MAX,
  EVENT_BUS_NAME,
  EVENT_PUBLISHER_FUNCTION_NAME,
  HOT_WALLET_ADDRESSES,
  INVOICE_MONITORING_MINUTES,
  LOG_LEVEL,
  MAX_READY_LAG_BLOCKS_SETTING,
  MIGRATIONS_DIRECTORY_SETTING,
  NETWORK,
  PARTITION_MONTHS_AHEAD,
  POWERTOOLS_SERVICE_NAME,
  RECONCILIATION_CHUNK_SIZE,
  RECONCILIATION_MAX_ANSWER_BYTES,
  RECONCILIATION_MAX_CHUNK_UTXOS,
  RECONCILIATION_MAX_FAILED_ATTEMPTS,
  RECONCILIATION_STALE_AFTER_MS,
  RECONCILIATION_TIME_RESERVE_MS,
  STAGE,
  WEBHOOK_ALLOW_PRIVATE_DESTINATIONS,
  WEBHOOK_QUEUE_URL,
  WEBHOOK_SECRETS_KEY_SECRET_ARN,
  PAYOUT_RESUBMIT_SECONDS,
  PAYOUT_SIGNER_KMS_KEY_ID,
  PAYOUT_VALIDITY_SECONDS,
} from './variables.js';

/** How every Lambda names itself in logs and metrics: STAGE (required), POWERTOOLS_SERVICE_NAME, LOG_LEVEL. */
export function readObservabilitySettings(env: Environment = processEnvironment()): ObservabilitySettings {
  return readSettingsGroup('Lambda', env, (reader) => {
    const stage = reader.required(STAGE, 'the stage name (every metric carries it as a dimension)');
    return { serviceName: reader.read(POWERTOOLS_SERVICE_NAME) ?? DefaultServiceName.lambdas, stage, logLevel: reader.read(LOG_LEVEL) };
  });
}

/** DATABASE_URL, DATABASE_SECRET_ARN or the libpq variables: every Lambda but the hot wallet's. */
export function readDatabaseSettings(env: Environment = processEnvironment()): DatabaseSettings {
  return readSettingsGroup('Lambda', env, readDatabaseSettingsWith);
}

export interface ProcessorSettings {
  network: Network;
  confirmations: number;
  /**
   * DB_POOL_MAX, default 1. A Lambda instance runs one invocation at a time and applies its records one after
   * another (FIFO order), each in one transaction on one connection: a second connection would never be used.
   * What bounds the database's load is the event source mapping's maximum concurrency: the processor opens at
   * most maximum concurrency × DB_POOL_MAX connections (and with one message group per chain SQS hands out one
   * batch at a time anyway).
   */
  dbPoolMax: number;
  /** CLAIM_CHECK_BUCKET: where the follower put messages over 1 MiB. Without it such a message fails. */
  claimCheckBucket?: string;
  /** CHAIN_EVENT_QUEUE_URL: where failed messages are postponed; derived from the event source ARN when unset. */
  chainEventQueueUrl?: string;
  /** EVENT_PUBLISHER_FUNCTION_NAME: woken after a batch that wrote business events; none: its schedule only. */
  eventPublisherFunctionName?: string;
}

export function readProcessorSettings(env: Environment = processEnvironment()): ProcessorSettings {
  return readSettingsGroup('processor', env, (reader) => {
    const claimCheckBucket = reader.read(CLAIM_CHECK_BUCKET);
    const chainEventQueueUrl = reader.read(CHAIN_EVENT_QUEUE_URL);
    const eventPublisherFunctionName = reader.read(EVENT_PUBLISHER_FUNCTION_NAME);
    return {
      network: reader.read(NETWORK),
      confirmations: reader.read(CONFIRMATIONS),
      dbPoolMax: reader.read(DB_POOL_MAX),
      ...(claimCheckBucket ? { claimCheckBucket } : {}),
      ...(chainEventQueueUrl ? { chainEventQueueUrl } : {}),
      ...(eventPublisherFunctionName ? { eventPublisherFunctionName } : {}),
    };
  });
}

export interface HealthSettings {
  network: Network;
  /** MAX_READY_LAG_BLOCKS, default the tutorial's 100. */
  maxReadyLagBlocks: number;
  /** The live network tip; sync_state's last one when unset. */
  ogmios?: OgmiosSettings;
}

export function readHealthSettings(env: Environment = processEnvironment()): HealthSettings {
  return readSettingsGroup('health', env, (reader) => {
    const ogmios = readOptionalOgmiosSettingsWith(reader);
    return { network: reader.read(NETWORK), maxReadyLagBlocks: reader.read(MAX_READY_LAG_BLOCKS_SETTING), ...(ogmios ? { ogmios } : {}) };
  });
}

export interface ReconciliationSettings {
  /** RECONCILIATION_CHUNK_SIZE: addresses per UTxO query at most. */
  chunkSize: number;
  /** RECONCILIATION_MAX_CHUNK_UTXOS: unspent outputs the database may hold at one chunk's addresses. */
  maxChunkUtxos: number;
  /** RECONCILIATION_MAX_ANSWER_BYTES: the largest UTxO answer read; a larger one halves the chunk. */
  maxAnswerBytes: number;
  /** RECONCILIATION_TIME_RESERVE_MS: stop and continue in a new invocation when less than this is left. */
  timeReserveMs: number;
  /**
   * RECONCILIATION_STALE_AFTER_MS: a running run not updated for this long is taken over by the next start.
   * Shorter than the minute Lambda waits before retrying a failed event, so that the retry of a start whose
   * invocation could not count its failure (the database down) takes the run over instead of answering
   * already_running and ending the retries.
   */
  staleAfterMs: number;
  /** RECONCILIATION_MAX_FAILED_ATTEMPTS: failed invocations in a row (no chunk recorded) before a run is failed. */
  maxFailedAttempts: number;
}

/** The reconciliation's bounds: the Lambda's, and the CLI's and local stack's in-process runs. */
export function readReconciliationSettings(env: Environment = processEnvironment()): ReconciliationSettings {
  return readSettingsGroup('reconciliation', env, (reader) => ({
    chunkSize: reader.read(RECONCILIATION_CHUNK_SIZE),
    maxChunkUtxos: reader.read(RECONCILIATION_MAX_CHUNK_UTXOS),
    maxAnswerBytes: reader.read(RECONCILIATION_MAX_ANSWER_BYTES),
    timeReserveMs: reader.read(RECONCILIATION_TIME_RESERVE_MS),
    staleAfterMs: reader.read(RECONCILIATION_STALE_AFTER_MS),
    maxFailedAttempts: reader.read(RECONCILIATION_MAX_FAILED_ATTEMPTS),
  }));
}

/** The reconciliation Lambda: its bounds and Ogmios (required when it first runs, as the chain is half of it). */
export function readReconciliationLambdaSettings(
  env: Environment = processEnvironment(),
): ReconciliationSettings & { ogmios?: OgmiosSettings } {
  const bounds = readReconciliationSettings(env);
  const ogmios = readSettingsGroup('reconciliation', env, readOptionalOgmiosSettingsWith);
  return { ...bounds, ...(ogmios ? { ogmios } : {}) };
}

export interface HotWalletSettings {
  /** HOT_WALLET_ADDRESSES, validated against NETWORK. */
  addresses: string[];
  ogmios?: OgmiosSettings;
}

export function readHotWalletSettings(env: Environment = processEnvironment()): HotWalletSettings {
  return readSettingsGroup('hot wallet', env, (reader) => {
    const addresses = reader.attempt(() => parseHotWalletAddresses(reader.read(HOT_WALLET_ADDRESSES), reader.read(NETWORK, 'mainnet')), []);
    const ogmios = readOptionalOgmiosSettingsWith(reader);
    return { addresses, ...(ogmios ? { ogmios } : {}) };
  });
}

export interface PayoutProcessorSettings {
  network: Network;
  confirmations: number;
  /** PAYOUT_SIGNER_KMS_KEY_ID: the hot wallet's KMS key. */
  signerKeyId: string;
  validitySeconds: number;
  resubmitAfterSeconds: number;
  ogmios: OgmiosSettings;
}

export function readPayoutProcessorSettings(env: Environment = processEnvironment()): PayoutProcessorSettings {
  return readSettingsGroup('payout processor', env, (reader) => ({
    network: reader.read(NETWORK),
    confirmations: reader.read(CONFIRMATIONS),
    signerKeyId: reader.required(PAYOUT_SIGNER_KMS_KEY_ID, "the hot wallet's KMS key, which signs every payout"),
    validitySeconds: reader.read(PAYOUT_VALIDITY_SECONDS),
    resubmitAfterSeconds: reader.read(PAYOUT_RESUBMIT_SECONDS),
    ogmios: readOgmiosSettingsWith(reader),
  }));
}

/** The backup export: BACKUP_BUCKET and STAGE (the export's object names carry it). */
export function readBackupExportSettings(env: Environment = processEnvironment()): { bucket: string; stage: string } {
  return readSettingsGroup('backup export', env, (reader) => ({
    bucket: reader.required(BACKUP_BUCKET, 'the bucket exports are written to'),
    stage: reader.required(STAGE, 'the stage name'),
  }));
}

export function readPartitionMaintenanceSettings(env: Environment = processEnvironment()): { monthsAhead: number } {
  return readSettingsGroup('partition maintenance', env, (reader) => ({ monthsAhead: reader.read(PARTITION_MONTHS_AHEAD) }));
}

/** MIGRATIONS_DIRECTORY: where the bundle carries the SQL files; the source tree's folder when unset. */
export function readMigrateSettings(env: Environment = processEnvironment()): { migrationsDirectory: string } {
  return readSettingsGroup('migrate', env, (reader) => ({
    migrationsDirectory: reader.read(MIGRATIONS_DIRECTORY_SETTING) ?? MIGRATIONS_DIRECTORY,
  }));
}

/** The event publisher: the bus, and the webhook queue it tells after publishing. */
export function readEventPublisherSettings(env: Environment = processEnvironment()): { eventBusName: string; webhookQueueUrl?: string } {
  return readSettingsGroup('event publisher', env, (reader) => {
    const webhookQueueUrl = reader.read(WEBHOOK_QUEUE_URL);
    return {
      eventBusName: reader.required(EVENT_BUS_NAME, 'the EventBridge bus name'),
      ...(webhookQueueUrl ? { webhookQueueUrl } : {}),
    };
  });
}

/**
 * The webhook deliverer: where the sealing key is, whether private destinations are allowed (false on AWS), and its
 * own queue (to wake an endpoint again when a run stopped with more to do; without it the scheduler does, each minute).
 */
export function readWebhookDelivererSettings(env: Environment = processEnvironment()): {
  secretsKeySecretArn: string;
  allowPrivateDestinations: boolean;
  webhookQueueUrl?: string;
} {
  return readSettingsGroup('webhook deliverer', env, (reader) => {
    const webhookQueueUrl = reader.read(WEBHOOK_QUEUE_URL);
    return {
      secretsKeySecretArn: reader.required(WEBHOOK_SECRETS_KEY_SECRET_ARN, 'the Secrets Manager secret holding the webhook secrets key'),
      allowPrivateDestinations: reader.read(WEBHOOK_ALLOW_PRIVATE_DESTINATIONS, false),
      ...(webhookQueueUrl ? { webhookQueueUrl } : {}),
    };
  });
}

/** The webhook scheduler: the deliverer queue. */
export function readWebhookSchedulerSettings(env: Environment = processEnvironment()): { webhookQueueUrl: string } {
  return readSettingsGroup('webhook scheduler', env, (reader) => ({
    webhookQueueUrl: reader.required(WEBHOOK_QUEUE_URL, 'the webhook deliverer FIFO queue URL'),
  }));
}

/**
 * The HTTP API Lambda: the network addresses are validated against, and the webhook sealing key (without it, the
 * routes that create or rotate a webhook secret answer 501) and destination rule, as the deliverer's.
 */
export function readApiSettings(env: Environment = processEnvironment()): {
  network: Network;
  webhookSecretsKeySecretArn?: string;
  allowPrivateDestinations: boolean;
  /** API_IAM_PRINCIPALS: the roles that may call the IAM API, with their scopes (none: every IAM caller refused). */
  iamCallers: IamCallers;
  /** What an invoice takes when its request says nothing: CONFIRMATIONS, INVOICE_MONITORING_MINUTES. */
  invoices: { defaultConfirmations: number; monitoringMinutes: number };
  /** The payout policy: PAYOUT_MAX_LOVELACE, PAYOUT_DAILY_LIMIT_LOVELACE, PAYOUT_APPROVAL_THRESHOLD_LOVELACE. */
  payouts: PayoutPolicy;
} {
  return readSettingsGroup('api', env, (reader) => {
    const webhookSecretsKeySecretArn = reader.read(WEBHOOK_SECRETS_KEY_SECRET_ARN);
    return {
      network: reader.read(NETWORK),
      ...(webhookSecretsKeySecretArn ? { webhookSecretsKeySecretArn } : {}),
      allowPrivateDestinations: reader.read(WEBHOOK_ALLOW_PRIVATE_DESTINATIONS, false),
      iamCallers: reader.read(API_IAM_PRINCIPALS, new IamCallers([])),
      invoices: { defaultConfirmations: reader.read(CONFIRMATIONS), monitoringMinutes: reader.read(INVOICE_MONITORING_MINUTES) },
      payouts: readPayoutPolicyWith(reader),
    };
  });
}
