/**
 * Every environment variable the product reads, declared once: name, meaning, default, who reads it, and how its
 * text is parsed. The settings groups (*-settings.ts) read them; the README's configuration table is rendered
 * from this list (a test keeps the two equal).
 */
import { IamCallers, parseIamPrincipals } from '../domain/iam-callers.js';
import { DEFAULT_LEASE_TIMINGS } from '../domain/lease.js';
import { LOG_LEVELS, parseLogLevel, type LogLevel } from '../domain/log-level.js';
import { NETWORKS, type Network } from '../domain/network.js';
import { MAX_READY_LAG_BLOCKS } from '../domain/readiness.js';
import { DEFAULT_MAX_CHUNK_UTXOS } from '../domain/reconciliation/reconciliation-runner.js';
import { DEFAULT_METRICS_INTERVAL_MS, DefaultServiceName } from '../domain/observability.js';
import { DEFAULT_RECONCILIATION_ANSWER_BYTES } from '../adapters/ogmios/reconciliation-ledger.js';
import { DEFAULT_PARTITION_MONTHS_AHEAD } from '../domain/partitions.js';
import { DEFAULT_INVOICE_MONITORING_MINUTES, MAX_INVOICE_MONITORING_MINUTES } from '../domain/invoices/invoice-creation.js';
import {
  LAMBDAS,
  milliseconds,
  optionalText,
  parsed,
  portNumber,
  positiveInteger,
  textWithDefault,
  untrimmedText,
  wholeNumber,
  type SettingsReaderName,
  type Variable,
  type VariableDeclaration,
} from './variable.js';

export const DEFAULT_CONFIRMATIONS = 15;
export const DEFAULT_HEALTH_PORT = 8080;
export const DEFAULT_SHUTDOWN_BUDGET_MS = 30_000;
/** ECS stops a task with SIGKILL at most 120 s after SIGTERM (the largest stopTimeout Fargate allows). */
export const MAX_SHUTDOWN_BUDGET_MS = 120_000;
export const DEFAULT_RECONCILIATION_CHUNK_SIZE = 1_000;
export const DEFAULT_RECONCILIATION_TIME_RESERVE_MS = 90_000;
/**
 * Below Lambda's one-minute wait before its first retry. A live invocation records a chunk every few seconds; one
 * quiet for longer (a slow chunk, the balance check) may be taken over by a start, which is safe (every write is
 * guarded by the cursor it started from) and only costs the duplicated chunk.
 */
export const DEFAULT_STALE_AFTER_MS = 45_000;
/** Lambda's asynchronous invocation tries an event three times: the last retry's failure fails the run. */
export const DEFAULT_MAX_FAILED_ATTEMPTS = 3;
/** The simulator's pace, for `npm start` and `npm run simulator` alike: a block every 2 s, after 300 blocks of history. */
export const LOCAL_STACK_BLOCK_TIME_MS = 2_000;
export const SIMULATOR_DEFAULT_INITIAL_BLOCKS = 300;

/** The processes that open the database (every Lambda but the hot wallet's). */
const DATABASE_READERS: readonly SettingsReaderName[] = [
  'follower',
  ...LAMBDAS.filter((lambda) => lambda !== 'hot wallet'),
  'local stack',
  'CLI',
];

// Ogmios
export const OGMIOS_URL = optionalText({
  name: 'OGMIOS_URL',
  description: 'Ogmios WebSocket URL(s), comma-separated: a relay list, failed over in turn (`http(s)://` accepted)',
  shownDefault: 'the built-in simulator (required on AWS)',
  readBy: ['follower', 'health', 'reconciliation', 'hot wallet', 'payout processor', 'local stack', 'CLI'],
});
export const OGMIOS_API_KEY = optionalText({
  name: 'OGMIOS_API_KEY',
  description: 'hosted-provider key, sent as the `dmtr-api-key` header on the upgrade. Never logged.',
  shownDefault: 'none',
  readBy: ['follower', 'health', 'reconciliation', 'hot wallet', 'payout processor', 'local stack', 'CLI'],
});
export const OGMIOS_API_KEY_SECONDARY = optionalText({
  name: 'OGMIOS_API_KEY_SECONDARY',
  description: 'a second key, used when the first is refused (401/403). Never logged.',
  shownDefault: 'none',
  readBy: OGMIOS_API_KEY.readBy,
});
export const OGMIOS_API_KEYS_SECRET_ARN = optionalText({
  name: 'OGMIOS_API_KEYS_SECRET_ARN',
  description:
    'a Secrets Manager secret holding the keys (`primary`, `secondary`) instead of the two variables above (what AWS uses): read when a connection opens (cached 5 minutes) and read again after a refusal, so a rotated key needs no restart',
  shownDefault: 'none',
  readBy: ['follower', 'health', 'reconciliation', 'hot wallet', 'payout processor'],
});

// PostgreSQL
export const DATABASE_URL = optionalText({
  name: 'DATABASE_URL',
  description: 'PostgreSQL to use; tests create and drop their own databases on it (needs CREATEDB)',
  shownDefault: 'embedded PostgreSQL (locally)',
  readBy: DATABASE_READERS,
});
export const DATABASE_SECRET_ARN = optionalText({
  name: 'DATABASE_SECRET_ARN',
  description:
    'when `DATABASE_URL` is unset: the RDS secret (what AWS uses, Lambdas and follower alike); its password is read per new connection, see [rotation](#deploy)',
  shownDefault: 'none',
  readBy: DATABASE_READERS.filter((reader) => reader !== 'local stack' && reader !== 'CLI'),
});
const LIBPQ = DATABASE_SECRET_ARN.readBy;
export const PGHOST = optionalText({
  name: 'PGHOST',
  description: 'when neither of the above is set: the libpq variables (a fixed password)',
  shownDefault: 'none',
  readBy: LIBPQ,
});
export const PGPORT = textWithDefault({ name: 'PGPORT', description: 'libpq: the port', shownDefault: '5432', readBy: LIBPQ }, '5432');
export const PGDATABASE = textWithDefault(
  { name: 'PGDATABASE', description: 'libpq: the database', shownDefault: '`postgres`', readBy: LIBPQ },
  'postgres',
);
export const PGUSER = untrimmedText({ name: 'PGUSER', description: 'libpq: the user', shownDefault: 'none', readBy: LIBPQ });
export const PGPASSWORD = untrimmedText({
  name: 'PGPASSWORD',
  description: 'libpq: the password. Never logged.',
  shownDefault: 'none',
  readBy: LIBPQ,
});
export const PGSSLMODE = optionalText({
  name: 'PGSSLMODE',
  description: '`verify-full` or `disable` (with the secret; libpq modes otherwise)',
  shownDefault: '`verify-full` with the secret',
  readBy: LIBPQ,
});

// The chain and the engine
export const NETWORK = parsed(
  {
    name: 'NETWORK',
    description: '`mainnet`, `preprod` or `preview` (addresses are validated against it)',
    shownDefault: '`mainnet` (required by the follower)',
    readBy: ['follower', 'processor', 'health', 'hot wallet', 'api', 'payout processor', 'local stack', 'CLI', 'simulator'],
  },
  (text): Network => {
    const network = text ?? 'mainnet';
    if (!(NETWORKS as readonly string[]).includes(network))
      throw new Error(`NETWORK must be one of ${NETWORKS.join(', ')}; got "${network}"`);
    return network as Network;
  },
);
export const CONFIRMATIONS = positiveInteger(
  {
    name: 'CONFIRMATIONS',
    description: 'blocks until a payment is confirmed and credited; also the depth an invoice asks when its request names none',
    shownDefault: String(DEFAULT_CONFIRMATIONS),
    readBy: ['processor', 'api', 'payout processor', 'local stack'],
  },
  DEFAULT_CONFIRMATIONS,
);
export const START_POINT = optionalText({
  name: 'START_POINT',
  description: 'where to start when the database holds no block: `origin`, `tip` or `<slot>.<blockId>`',
  shownDefault: '`tip`',
  readBy: ['follower', 'local stack'],
});
export const HOT_WALLET_ADDRESSES = optionalText({
  name: 'HOT_WALLET_ADDRESSES',
  description:
    "comma-separated hot-wallet addresses (validated against `NETWORK`): the hot-wallet Lambda, the CLI's `hot-wallet` and `status`, and the local status line report their balance",
  shownDefault: 'none',
  readBy: ['hot wallet', 'local stack', 'CLI'],
});

// Observability
export const STAGE = optionalText({
  name: 'STAGE',
  description: 'the stage: a dimension of every metric and a field of every log line (required on AWS)',
  shownDefault: 'required (`local` for the CLI)',
  readBy: ['follower', ...LAMBDAS, 'CLI'],
});
export const LOG_LEVEL = parsed(
  {
    name: 'LOG_LEVEL',
    description: LOG_LEVELS.map((level) => `\`${level}\``).join(', '),
    shownDefault: '`info`',
    readBy: ['follower', ...LAMBDAS, 'local stack'],
  },
  (text): LogLevel => (text === undefined ? 'info' : parseLogLevel(text)),
);
export const POWERTOOLS_SERVICE_NAME = optionalText({
  name: 'POWERTOOLS_SERVICE_NAME',
  description: 'the `service` log field and metric dimension',
  shownDefault: `\`${DefaultServiceName.lambdas}\`, the follower \`${DefaultServiceName.follower}\``,
  readBy: ['follower', ...LAMBDAS],
});
export const METRICS_INTERVAL_MS = milliseconds(
  {
    name: 'METRICS_INTERVAL_MS',
    description: 'how often the follower writes its EMF metrics summary',
    shownDefault: String(DEFAULT_METRICS_INTERVAL_MS),
    readBy: ['follower'],
  },
  DEFAULT_METRICS_INTERVAL_MS,
);
export const HEALTH_PORT = portNumber(
  {
    name: 'HEALTH_PORT',
    description: 'port of `/health/live` and `/health/ready`',
    shownDefault: String(DEFAULT_HEALTH_PORT),
    readBy: ['follower', 'health check', 'local stack'],
  },
  DEFAULT_HEALTH_PORT,
);
export const MAX_READY_LAG_BLOCKS_SETTING = positiveInteger(
  {
    name: 'MAX_READY_LAG_BLOCKS',
    description: 'the health Lambda answers not ready beyond this lag',
    shownDefault: String(MAX_READY_LAG_BLOCKS),
    readBy: ['health'],
  },
  MAX_READY_LAG_BLOCKS,
);

// The follower on AWS
export const LEASE_TABLE = optionalText({
  name: 'LEASE_TABLE',
  description: 'the DynamoDB lease table',
  shownDefault: 'required',
  readBy: ['follower'],
});
export const LEASE_DURATION_MS = milliseconds(
  {
    name: 'LEASE_DURATION_MS',
    description: 'how long a lease lasts unrenewed',
    shownDefault: String(DEFAULT_LEASE_TIMINGS.leaseDurationMs),
    readBy: ['follower'],
  },
  DEFAULT_LEASE_TIMINGS.leaseDurationMs,
);
export const LEASE_RENEW_INTERVAL_MS = milliseconds(
  {
    name: 'LEASE_RENEW_INTERVAL_MS',
    description: 'how often the leader renews',
    shownDefault: String(DEFAULT_LEASE_TIMINGS.renewIntervalMs),
    readBy: ['follower'],
  },
  DEFAULT_LEASE_TIMINGS.renewIntervalMs,
);
export const LEASE_SAFETY_MARGIN_MS = milliseconds(
  {
    name: 'LEASE_SAFETY_MARGIN_MS',
    description: 'the leader stops this long before its lease could lapse',
    shownDefault: String(DEFAULT_LEASE_TIMINGS.safetyMarginMs),
    readBy: ['follower'],
  },
  DEFAULT_LEASE_TIMINGS.safetyMarginMs,
);
export const LEASE_ACQUIRE_INTERVAL_MS = milliseconds(
  {
    name: 'LEASE_ACQUIRE_INTERVAL_MS',
    description: 'how often a standby looks',
    shownDefault: String(DEFAULT_LEASE_TIMINGS.acquireIntervalMs),
    readBy: ['follower'],
  },
  DEFAULT_LEASE_TIMINGS.acquireIntervalMs,
);
export const SHUTDOWN_BUDGET_MS = milliseconds(
  {
    name: 'SHUTDOWN_BUDGET_MS',
    description: `time to stop cleanly after SIGTERM, at most ${MAX_SHUTDOWN_BUDGET_MS}; the task's stopTimeout must be at least this`,
    shownDefault: String(DEFAULT_SHUTDOWN_BUDGET_MS),
    readBy: ['follower'],
  },
  DEFAULT_SHUTDOWN_BUDGET_MS,
  MAX_SHUTDOWN_BUDGET_MS,
);
export const CHAIN_EVENT_QUEUE_URL = optionalText({
  name: 'CHAIN_EVENT_QUEUE_URL',
  description:
    'the chain-event FIFO queue: the follower emits to it; the processor postpones failed messages on it (derived from the event source when unset)',
  shownDefault: 'required by the follower',
  readBy: ['follower', 'processor'],
});
export const CLAIM_CHECK_BUCKET = optionalText({
  name: 'CLAIM_CHECK_BUCKET',
  description: 'where messages over the SQS size limit go (follower) and are read from (processor)',
  shownDefault: 'required by the follower',
  readBy: ['follower', 'processor'],
});
export const CLAIM_CHECK_KMS_KEY_ID = optionalText({
  name: 'CLAIM_CHECK_KMS_KEY_ID',
  description: 'SSE-KMS key for claim-check objects',
  shownDefault: 'SSE-S3',
  readBy: ['follower'],
});
export const RECONCILIATION_FUNCTION_NAME = optionalText({
  name: 'RECONCILIATION_FUNCTION_NAME',
  description: 'the reconciliation Lambda the follower invokes after an Ogmios outage',
  shownDefault: 'none',
  readBy: ['follower'],
});

// Business events and webhooks (issue 14)
export const EVENT_PUBLISHER_FUNCTION_NAME = optionalText({
  name: 'EVENT_PUBLISHER_FUNCTION_NAME',
  description: 'the event publisher Lambda the processor wakes (asynchronously) after a batch that wrote business events',
  shownDefault: 'none (the publisher runs on its schedule only)',
  readBy: ['processor'],
});
export const EVENT_BUS_NAME = optionalText({
  name: 'EVENT_BUS_NAME',
  description: 'the EventBridge bus the publisher puts business events on (source `payment-monitor`, detail-type the event type)',
  shownDefault: 'required by the publisher',
  readBy: ['event publisher'],
});
export const WEBHOOK_QUEUE_URL = optionalText({
  name: 'WEBHOOK_QUEUE_URL',
  description: 'the webhook deliverer FIFO queue: one message per endpoint with work (message group = endpoint)',
  shownDefault: 'required by the scheduler',
  readBy: ['event publisher', 'webhook scheduler', 'webhook deliverer'],
});
export const WEBHOOK_SECRETS_KEY_SECRET_ARN = optionalText({
  name: 'WEBHOOK_SECRETS_KEY_SECRET_ARN',
  description:
    'a Secrets Manager secret whose `key` field (32+ characters) seals the webhook signing secrets (AES-256-GCM); locally a 0600 file `.data/webhook-secrets.key`, made on first use. Never logged.',
  shownDefault: 'required on AWS',
  readBy: ['webhook deliverer', 'api'],
});
export const WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = parsed(
  {
    name: 'WEBHOOK_ALLOW_PRIVATE_DESTINATIONS',
    description:
      '`true`: webhooks may go to private and loopback addresses, plain http to loopback (the local stack always allows this); `false`: public https destinations only, checked on the address connected to',
    shownDefault: '`false`',
    readBy: ['webhook deliverer', 'api'],
  },
  (text) => {
    if (text === undefined || text === 'false') return false;
    if (text === 'true') return true;
    throw new Error(`WEBHOOK_ALLOW_PRIVATE_DESTINATIONS must be true or false; got ${JSON.stringify(text)}`);
  },
);

export const API_IAM_PRINCIPALS = parsed(
  {
    name: 'API_IAM_PRINCIPALS',
    description:
      "the IAM roles that may call the IAM (SigV4) API and their scope (read, write or admin), `<role ARN>=<scope>` comma-separated (from cdk.json `api.iamPrincipals`; not secret); a caller's session is mapped to its role; a caller not listed is refused (403)",
    shownDefault: 'none: every IAM caller refused',
    readBy: ['api'],
  },
  (text) => new IamCallers(parseIamPrincipals(text)),
);

// The Lambdas
export const DB_POOL_MAX = positiveInteger(
  {
    name: 'DB_POOL_MAX',
    description: 'connections per processor instance (one is used: records apply one after another)',
    shownDefault: '1',
    readBy: ['processor'],
  },
  1,
);
export const RECONCILIATION_CHUNK_SIZE = positiveInteger(
  {
    name: 'RECONCILIATION_CHUNK_SIZE',
    description:
      'addresses per Ogmios UTxO query (and per database read) in a reconciliation, at most (fewer when their outputs exceed the bounds below)',
    shownDefault: String(DEFAULT_RECONCILIATION_CHUNK_SIZE),
    readBy: ['reconciliation', 'local stack', 'CLI'],
  },
  DEFAULT_RECONCILIATION_CHUNK_SIZE,
);
export const RECONCILIATION_MAX_CHUNK_UTXOS = positiveInteger(
  {
    name: 'RECONCILIATION_MAX_CHUNK_UTXOS',
    description:
      "unspent payments the database may hold at one reconciliation chunk's addresses; an address over it alone is left unjudged",
    shownDefault: String(DEFAULT_MAX_CHUNK_UTXOS),
    readBy: ['reconciliation', 'local stack', 'CLI'],
  },
  DEFAULT_MAX_CHUNK_UTXOS,
);
export const RECONCILIATION_MAX_ANSWER_BYTES = positiveInteger(
  {
    name: 'RECONCILIATION_MAX_ANSWER_BYTES',
    description:
      "the largest Ogmios UTxO answer a reconciliation reads (its connection's payload limit); a larger one halves the chunk, and an address whose answer alone is larger is left unjudged",
    shownDefault: `${DEFAULT_RECONCILIATION_ANSWER_BYTES} (16 MiB)`,
    readBy: ['reconciliation', 'local stack', 'CLI'],
  },
  DEFAULT_RECONCILIATION_ANSWER_BYTES,
);
export const RECONCILIATION_TIME_RESERVE_MS = positiveInteger(
  {
    name: 'RECONCILIATION_TIME_RESERVE_MS',
    description: 'the reconciliation Lambda continues in a new invocation when less than this is left',
    shownDefault: String(DEFAULT_RECONCILIATION_TIME_RESERVE_MS),
    readBy: ['reconciliation'],
  },
  DEFAULT_RECONCILIATION_TIME_RESERVE_MS,
);
export const RECONCILIATION_STALE_AFTER_MS = positiveInteger(
  {
    name: 'RECONCILIATION_STALE_AFTER_MS',
    description:
      "a running reconciliation not updated for this long is taken over (continued from its cursor) by the next start; keep it below a minute, Lambda's wait before retrying a failed event (see Failures under Reconciliation)",
    shownDefault: `${DEFAULT_STALE_AFTER_MS} (45 s)`,
    readBy: ['reconciliation'],
  },
  DEFAULT_STALE_AFTER_MS,
);
export const RECONCILIATION_MAX_FAILED_ATTEMPTS = positiveInteger(
  {
    name: 'RECONCILIATION_MAX_FAILED_ATTEMPTS',
    description: 'failed invocations in a row (no chunk recorded in between) before a reconciliation run is failed',
    shownDefault: String(DEFAULT_MAX_FAILED_ATTEMPTS),
    readBy: ['reconciliation'],
  },
  DEFAULT_MAX_FAILED_ATTEMPTS,
);
export const BACKUP_BUCKET = optionalText({
  name: 'BACKUP_BUCKET',
  description: 'the bucket exports are written to',
  shownDefault: 'required',
  readBy: ['backup export'],
});
export const PARTITION_MONTHS_AHEAD = positiveInteger(
  {
    name: 'PARTITION_MONTHS_AHEAD',
    description: 'months ahead to create partitions for',
    shownDefault: String(DEFAULT_PARTITION_MONTHS_AHEAD),
    readBy: ['partition maintenance'],
  },
  DEFAULT_PARTITION_MONTHS_AHEAD,
);
export const MIGRATIONS_DIRECTORY_SETTING = optionalText({
  name: 'MIGRATIONS_DIRECTORY',
  description: 'where the migration SQL files are (the CDK ships them next to the handler)',
  shownDefault: '`functions/migrations/`',
  readBy: ['migrate'],
});

// The CLI against a deployed stage's HTTP API
export const PAYMENT_MONITOR_API_URL = optionalText({
  name: 'PAYMENT_MONITOR_API_URL',
  description:
    "the HTTP API the CLI drives instead of the database (its `--api-url` flag overrides it): the stage's API URL, or `http://localhost:8081` for `npm start`",
  shownDefault: 'unset: the CLI works on the database',
  readBy: ['CLI'],
});
export const PAYMENT_MONITOR_API_KEY = optionalText({
  name: 'PAYMENT_MONITOR_API_KEY',
  description:
    "the API key the CLI sends to that API (an operator's shell only: never a flag, which shell history and the process list keep)",
  shownDefault: 'required with an API URL',
  readBy: ['CLI'],
});

// Invoices (issue 15)
export const INVOICE_MONITORING_MINUTES = wholeNumber(
  {
    name: 'INVOICE_MONITORING_MINUTES',
    description:
      "an invoice's monitoring window after its expiry: a payment whose block time falls in it makes the invoice `paid_late` (fixed on the invoice when it is created)",
    shownDefault: String(DEFAULT_INVOICE_MONITORING_MINUTES),
    readBy: ['api', 'local stack'],
  },
  DEFAULT_INVOICE_MONITORING_MINUTES,
  { min: 0, max: MAX_INVOICE_MONITORING_MINUTES, rule: `a whole number of minutes from 0 to ${MAX_INVOICE_MONITORING_MINUTES}` },
);

// Payouts (issue 16): the request side's policy. Limits count lovelace only (tokens are not valued in ADA).
export const DEFAULT_PAYOUT_MAX_LOVELACE = 1_000_000_000n;
export const DEFAULT_PAYOUT_DAILY_LIMIT_LOVELACE = 10_000_000_000n;
export const DEFAULT_PAYOUT_APPROVAL_THRESHOLD_LOVELACE = 100_000_000n;

/** A whole number of lovelace, 0 … 2^64 − 1. */
function lovelaceSetting(declaration: Omit<VariableDeclaration, 'shownDefault'>, fallback: bigint): Variable<bigint> {
  return parsed({ ...declaration, shownDefault: `${fallback} (${fallback / 1_000_000n} ADA)` }, (text) => {
    if (text === undefined) return fallback;
    if (!/^(0|[1-9][0-9]{0,19})$/.test(text) || BigInt(text) > 18_446_744_073_709_551_615n) {
      throw new Error(`${declaration.name} must be a whole number of lovelace from 0 to 2^64 - 1; got "${text}"`);
    }
    return BigInt(text);
  });
}
export const PAYOUT_MAX_LOVELACE = lovelaceSetting(
  {
    name: 'PAYOUT_MAX_LOVELACE',
    description:
      'the most lovelace one payout may carry: a request above it is refused (409 `payout_limit_reached`). At least 1000000 (1 ADA, the least an ADA-only payout sends) and at most `PAYOUT_DAILY_LIMIT_LOVELACE`, or the process does not start',
    readBy: ['api', 'local stack'],
  },
  DEFAULT_PAYOUT_MAX_LOVELACE,
);
export const PAYOUT_DAILY_LIMIT_LOVELACE = lovelaceSetting(
  {
    name: 'PAYOUT_DAILY_LIMIT_LOVELACE',
    description:
      'the most lovelace the payouts requested in one UTC day may carry together (cancelled, rejected and failed ones do not count): a request beyond it is refused (409 `daily_limit_reached`). At least `PAYOUT_MAX_LOVELACE`',
    readBy: ['api', 'local stack'],
  },
  DEFAULT_PAYOUT_DAILY_LIMIT_LOVELACE,
);
export const PAYOUT_APPROVAL_THRESHOLD_LOVELACE = lovelaceSetting(
  {
    name: 'PAYOUT_APPROVAL_THRESHOLD_LOVELACE',
    description:
      'a payout of at most this many lovelace is approved when requested (actor `system:policy`); above it, another actor than its requester must approve it (four eyes). At most `PAYOUT_MAX_LOVELACE`: equal turns four eyes off for ADA-only payouts (a payout that sends tokens always needs a second actor), 0 asks it for every payout',
    readBy: ['api', 'local stack'],
  },
  DEFAULT_PAYOUT_APPROVAL_THRESHOLD_LOVELACE,
);

// Payouts (issue 16): the execution side (the payout processor).
export const DEFAULT_PAYOUT_VALIDITY_SECONDS = 3600;
export const DEFAULT_PAYOUT_RESUBMIT_SECONDS = 120;
export const PAYOUT_SIGNER_KMS_KEY_ID = optionalText({
  name: 'PAYOUT_SIGNER_KMS_KEY_ID',
  description:
    "the hot wallet's AWS KMS key (`ECC_NIST_EDWARDS25519`, ARN): it signs every payout transaction and its public key gives the hot wallet's address; the private key never leaves KMS (set by the stack)",
  shownDefault: 'required on AWS',
  readBy: ['payout processor'],
});
export const PAYOUT_SIGNER_KEY_FILE = optionalText({
  name: 'PAYOUT_SIGNER_KEY_FILE',
  description: "the local stack's hot-wallet key: an Ed25519 PKCS#8 file, made 0600 on first use (not for mainnet funds: on disk in clear)",
  shownDefault: '`.data/payout-signer.key`',
  readBy: ['local stack'],
});
export const PAYOUT_VALIDITY_SECONDS = positiveInteger(
  {
    name: 'PAYOUT_VALIDITY_SECONDS',
    description:
      'how long a payout transaction stays valid after it is built; once a confirmed block is past it, the transaction expires and its payouts are built again',
    shownDefault: String(DEFAULT_PAYOUT_VALIDITY_SECONDS),
    readBy: ['payout processor', 'local stack'],
  },
  DEFAULT_PAYOUT_VALIDITY_SECONDS,
);
export const PAYOUT_RESUBMIT_SECONDS = positiveInteger(
  {
    name: 'PAYOUT_RESUBMIT_SECONDS',
    description: 'a submitted payout transaction not yet in a block is submitted again after this long (mempools forget)',
    shownDefault: String(DEFAULT_PAYOUT_RESUBMIT_SECONDS),
    readBy: ['payout processor', 'local stack'],
  },
  DEFAULT_PAYOUT_RESUBMIT_SECONDS,
);

// The HTTP API in the local stack
export const DEFAULT_API_PORT = 8081;
export const API_PORT = portNumber(
  {
    name: 'API_PORT',
    description: "port of the HTTP API `/v1` that `npm start` serves on 127.0.0.1 (the same handlers as the stage's API Gateway)",
    shownDefault: String(DEFAULT_API_PORT),
    readBy: ['local stack'],
  },
  DEFAULT_API_PORT,
);
export const BOOTSTRAP_API_KEY = optionalText({
  name: 'BOOTSTRAP_API_KEY',
  description:
    '`npm start` creates an admin API key with this value (24+ characters) when no admin key is active, and logs its id (`api_bootstrap_key_created`). Never logged.',
  shownDefault: 'none: no key is created',
  readBy: ['local stack'],
});

// Local runs
export const LOCAL_POSTGRES_PORT = portNumber(
  {
    name: 'LOCAL_POSTGRES_PORT',
    description: 'port of the local embedded PostgreSQL',
    shownDefault: 'a free port',
    readBy: ['local stack', 'CLI'],
  },
  undefined,
);
export const SIMULATOR_BLOCK_TIME_MS = wholeNumber(
  {
    name: 'SIMULATOR_BLOCK_TIME_MS',
    description:
      "a block of the Ogmios simulator every this many milliseconds (the slot advances one a second, as on Cardano's networks; mainnet averages a block every 20 s); 0: none",
    shownDefault: `${LOCAL_STACK_BLOCK_TIME_MS}`,
    readBy: ['local stack', 'simulator'],
  },
  undefined,
  { min: 0, rule: 'a whole number' },
);
export const SIMULATOR_PORT = wholeNumber(
  {
    name: 'SIMULATOR_PORT',
    description: 'port of `npm run simulator` (its `--port` flag overrides it; 0: a free one, shown on its `ready` line)',
    shownDefault: '1337',
    readBy: ['simulator'],
  },
  1337,
  { min: 0, max: 65_535, rule: 'a port number from 0 to 65535' },
);
export const SIMULATOR_INITIAL_BLOCKS = wholeNumber(
  {
    name: 'SIMULATOR_INITIAL_BLOCKS',
    description: 'blocks of history `npm run simulator` starts with (about 20 s apart, ending now)',
    shownDefault: `${SIMULATOR_DEFAULT_INITIAL_BLOCKS}`,
    readBy: ['simulator'],
  },
  SIMULATOR_DEFAULT_INITIAL_BLOCKS,
  { min: 0, rule: 'a whole number' },
);
export const SIMULATOR_RETAINED_BLOCKS = wholeNumber(
  {
    name: 'SIMULATOR_RETAINED_BLOCKS',
    description:
      'newest blocks `npm run simulator` keeps and serves (about 165 KB of memory each with its mainnet-like blocks: 10,000 take ≈ 1.6 GB, reached after 5½ h at a block every 2 s)',
    shownDefault: '10000',
    readBy: ['simulator'],
  },
  10_000,
  { min: 1, rule: 'a whole number ≥ 1' },
);
export const SIMULATOR_SOURCE = parsed(
  {
    name: 'SIMULATOR_SOURCE',
    description:
      "`npm run simulator`'s blocks: `synthetic` (mainnet-like, made up) or `fixtures` (real recorded blocks from `CHAIN_FIXTURES_DIR`, re-linked into one chain)",
    shownDefault: '`synthetic`',
    readBy: ['simulator'],
  },
  (text): 'synthetic' | 'fixtures' => {
    const source = text ?? 'synthetic';
    if (source !== 'synthetic' && source !== 'fixtures') throw new Error('SIMULATOR_SOURCE must be synthetic or fixtures');
    return source;
  },
);
export const SIMULATOR_SEED = textWithDefault(
  { name: 'SIMULATOR_SEED', description: "seed of `npm run simulator`'s chain", shownDefault: '`simulator`', readBy: ['simulator'] },
  'simulator',
);
export const CHAIN_FIXTURES_DIR = optionalText({
  name: 'CHAIN_FIXTURES_DIR',
  description:
    "the recorded blocks the simulator's `fixtures` source serves (a folder with `index.json`; not part of this repository: without it, `fixtures` is refused with a message)",
  shownDefault: '`../shared/chain-fixtures/` beside the repository',
  readBy: ['simulator', 'local stack'],
});

/** In the order the README shows them. */
export const VARIABLES: readonly Variable<unknown>[] = [
  OGMIOS_URL,
  OGMIOS_API_KEY,
  OGMIOS_API_KEY_SECONDARY,
  OGMIOS_API_KEYS_SECRET_ARN,
  DATABASE_URL,
  DATABASE_SECRET_ARN,
  PGHOST,
  PGPORT,
  PGDATABASE,
  PGUSER,
  PGPASSWORD,
  PGSSLMODE,
  NETWORK,
  CONFIRMATIONS,
  START_POINT,
  HOT_WALLET_ADDRESSES,
  STAGE,
  LOG_LEVEL,
  POWERTOOLS_SERVICE_NAME,
  METRICS_INTERVAL_MS,
  HEALTH_PORT,
  MAX_READY_LAG_BLOCKS_SETTING,
  LEASE_TABLE,
  LEASE_DURATION_MS,
  LEASE_RENEW_INTERVAL_MS,
  LEASE_SAFETY_MARGIN_MS,
  LEASE_ACQUIRE_INTERVAL_MS,
  SHUTDOWN_BUDGET_MS,
  CHAIN_EVENT_QUEUE_URL,
  CLAIM_CHECK_BUCKET,
  CLAIM_CHECK_KMS_KEY_ID,
  RECONCILIATION_FUNCTION_NAME,
  EVENT_PUBLISHER_FUNCTION_NAME,
  EVENT_BUS_NAME,
  WEBHOOK_QUEUE_URL,
  WEBHOOK_SECRETS_KEY_SECRET_ARN,
  WEBHOOK_ALLOW_PRIVATE_DESTINATIONS,
  API_IAM_PRINCIPALS,
  DB_POOL_MAX,
  RECONCILIATION_CHUNK_SIZE,
  RECONCILIATION_MAX_CHUNK_UTXOS,
  RECONCILIATION_MAX_ANSWER_BYTES,
  RECONCILIATION_TIME_RESERVE_MS,
  RECONCILIATION_STALE_AFTER_MS,
  RECONCILIATION_MAX_FAILED_ATTEMPTS,
  BACKUP_BUCKET,
  PARTITION_MONTHS_AHEAD,
  MIGRATIONS_DIRECTORY_SETTING,
  PAYMENT_MONITOR_API_URL,
  PAYMENT_MONITOR_API_KEY,
  INVOICE_MONITORING_MINUTES,
  PAYOUT_MAX_LOVELACE,
  PAYOUT_DAILY_LIMIT_LOVELACE,
  PAYOUT_APPROVAL_THRESHOLD_LOVELACE,
  PAYOUT_SIGNER_KMS_KEY_ID,
  PAYOUT_SIGNER_KEY_FILE,
  PAYOUT_VALIDITY_SECONDS,
  PAYOUT_RESUBMIT_SECONDS,
  API_PORT,
  BOOTSTRAP_API_KEY,
  LOCAL_POSTGRES_PORT,
  SIMULATOR_BLOCK_TIME_MS,
  SIMULATOR_PORT,
  SIMULATOR_INITIAL_BLOCKS,
  SIMULATOR_RETAINED_BLOCKS,
  SIMULATOR_SOURCE,
  SIMULATOR_SEED,
  CHAIN_FIXTURES_DIR,
];
