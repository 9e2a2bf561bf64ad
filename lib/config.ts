import { validateAddress } from '../functions/domain/address.js';
import { iamPrincipalProblems, type IamPrincipal } from '../functions/domain/iam-callers.js';
import { NETWORKS, type Network } from '../functions/domain/network.js';
import { type PayoutPolicy, payoutPolicyProblems } from '../functions/domain/payouts/payout-rules.js';
import { resolveAlarmThresholds, type AlarmThresholds } from './constructs/monitoring/alarm-thresholds.js';

/** One environment's settings, read from cdk.json context (`stages.<name>`); never from an AWS lookup. */
export interface StageConfig {
  stage: string;
  account: string;
  region: string;
  network: Network;
  ogmiosUrls: string[];
  ogmiosApiKeySecretName: string;
  confirmations: number;
  alertEmails: { warning: string[]; critical: string[] };
  database: {
    instanceClass: string;
    allocatedStorageGiB: number;
    multiAz: boolean;
    /** RDS deletion protection (and the instance kept as a snapshot when its stack goes). */
    deletionProtection: boolean;
    /** Automated backups and point-in-time recovery window, 1–35 days. */
    backupRetentionDays: number;
  };
  logRetentionDays: number;
  hotWalletAddresses: string[];
  /** IANA time zone of the EventBridge Scheduler schedules (reconciliation at 03:00 local time, …). */
  scheduleTimeZone: string;
  /** AWS Backup plan of the database: a daily recovery point kept `dailyRetentionDays`, a weekly one kept `weeklyRetentionDays`. */
  backup: { dailyRetentionDays: number; weeklyRetentionDays: number };
  /** NAT gateways of the VPC: 1 saves money, one per AZ (2) survives an AZ outage. */
  natGateways: number;
  /** Size of each of the two follower tasks (a valid Fargate cpu/memory pair). */
  follower: { cpu: number; memoryMiB: number };
  /**
   * The HTTP API's front door: API Gateway's stage throttling (requests per second, steady and burst, over all
   * callers) and AWS WAF's rate-based rule (requests per client IP in any 5 minutes before WAF blocks it);
   * `iamPrincipals`: the IAM roles that may call the IAM (SigV4) API, each with its scope. None: no IAM API.
   */
  api: {
    throttle: { rateLimit: number; burstLimit: number };
    wafRateLimitPer5Minutes: number;
    iamPrincipals: IamPrincipal[];
  };
  /** The business-event bus: how long its archive keeps events for replay (days). */
  events: { archiveRetentionDays: number };
  /**
   * Payouts (issue 16): the IAM role that alone may schedule the deletion of the hot wallet's KMS key or disable it
   * (break glass; a role of the stage's account, created outside the stage, its trust policy requiring MFA), and the
   * API's policy (decimal strings of lovelace: PAYOUT_MAX_LOVELACE, PAYOUT_DAILY_LIMIT_LOVELACE,
   * PAYOUT_APPROVAL_THRESHOLD_LOVELACE of the api function), held to payoutPolicyProblems' rules.
   */
  payouts: {
    breakGlassRoleArn: string;
    policy: { maxLovelace: string; dailyLimitLovelace: string; approvalThresholdLovelace: string };
  };
  /**
   * Alarm thresholds: the tutorial's defaults (lib/constructs/monitoring/alarm-thresholds.ts) with the stage's
   * optional overrides from cdk.json `alarms`, e.g. `{ "syncLag": { "warning": { "threshold": 100 } } }`.
   */
  alarms: AlarmThresholds;
}

/** Fargate's cpu units and the memory (MiB) each accepts (Linux, up to 4 vCPU). */
const FARGATE_MEMORY_BY_CPU: Readonly<Record<number, readonly number[]>> = {
  256: [512, 1024, 2048],
  512: [1024, 2048, 3072, 4096],
  1024: [2048, 3072, 4096, 5120, 6144, 7168, 8192],
  2048: Array.from({ length: 13 }, (_, i) => 4096 + i * 1024),
  4096: Array.from({ length: 23 }, (_, i) => 8192 + i * 1024),
};

/**
 * AWS WAF's bounds of a rate-based rule's limit (requests per evaluation window). 100 is the lowest every region
 * accepts (most regions accept 10 since 2024, some still only 100), so a stage deploys in any region.
 */
export const WAF_RATE_LIMIT_MIN = 100;
export const WAF_RATE_LIMIT_MAX = 2_000_000_000;
/** EventBridge keeps an archive for ever with 0 days; a stage names a retention. 0 is refused so that it is chosen. */
export const MIN_ARCHIVE_RETENTION_DAYS = 1;

function apiConfigProblems(raw: unknown): string[] {
  const api = raw as { throttle?: { rateLimit?: unknown; burstLimit?: unknown }; wafRateLimitPer5Minutes?: unknown } | undefined;
  const problems: string[] = [];
  const rate = api?.throttle?.rateLimit;
  const burst = api?.throttle?.burstLimit;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0) {
    problems.push('api.throttle.rateLimit must be a positive number of requests per second');
  }
  if (!Number.isInteger(burst) || (burst as number) < 1) {
    problems.push('api.throttle.burstLimit must be a whole number of requests ≥ 1');
  } else if (typeof rate === 'number' && (burst as number) < rate) {
    problems.push(`api.throttle.burstLimit (${burst}) must be at least api.throttle.rateLimit (${rate})`);
  }
  const waf = api?.wafRateLimitPer5Minutes;
  if (!Number.isInteger(waf) || (waf as number) < WAF_RATE_LIMIT_MIN || (waf as number) > WAF_RATE_LIMIT_MAX) {
    problems.push(
      `api.wafRateLimitPer5Minutes must be a whole number of requests per IP between ${WAF_RATE_LIMIT_MIN} and ${WAF_RATE_LIMIT_MAX} (AWS WAF's bounds)`,
    );
  }
  problems.push(...iamPrincipalProblems((raw as { iamPrincipals?: unknown } | undefined)?.iamPrincipals ?? [], 'api.iamPrincipals'));
  return problems;
}

function eventsConfigProblems(raw: unknown): string[] {
  const days = (raw as { archiveRetentionDays?: unknown } | undefined)?.archiveRetentionDays;
  return Number.isInteger(days) && (days as number) >= MIN_ARCHIVE_RETENTION_DAYS
    ? []
    : [`events.archiveRetentionDays must be a whole number of days ≥ ${MIN_ARCHIVE_RETENTION_DAYS}`];
}

const BREAK_GLASS_ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;

/** A whole number of lovelace as the api function reads it (0 … 2^64 − 1), as a decimal string. */
const LOVELACE_TEXT = /^(0|[1-9][0-9]{0,19})$/;
const MAX_LOVELACE = 18_446_744_073_709_551_615n;

function payoutsConfigProblems(raw: unknown, account: unknown): string[] {
  const payouts = raw as { breakGlassRoleArn?: unknown; policy?: Record<string, unknown> } | undefined;
  const problems: string[] = [];
  const arn = payouts?.breakGlassRoleArn;
  const role = typeof arn === 'string' ? BREAK_GLASS_ROLE_ARN.exec(arn) : null;
  if (!role) {
    problems.push(
      "payouts.breakGlassRoleArn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>): the one principal that may schedule the hot wallet key's deletion or disable it",
    );
  } else if (typeof account === 'string' && role[1] !== account) {
    problems.push(`payouts.breakGlassRoleArn must be a role of the stage's account ${account} (got account ${role[1]})`);
  }
  const amounts: Partial<PayoutPolicy> = {};
  for (const field of ['maxLovelace', 'dailyLimitLovelace', 'approvalThresholdLovelace'] as const) {
    const text = payouts?.policy?.[field];
    if (typeof text === 'string' && LOVELACE_TEXT.test(text) && BigInt(text) <= MAX_LOVELACE) amounts[field] = BigInt(text);
    else problems.push(`payouts.policy.${field} must be a whole number of lovelace as a decimal string ("1000000000" is 1,000 ADA)`);
  }
  // The rules the api function holds its own variables to (functions/config/payout-settings.ts), checked here too so
  // that `cdk synth` fails rather than the deployed function at its first start.
  problems.push(...payoutPolicyProblems(amounts, (field) => `payouts.policy.${field}`));
  return problems;
}

function isTimeZone(value: unknown): boolean {
  if (typeof value !== 'string' || value === '') return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/** The account ids cdk.json ships with (one digit twelve times): examples to replace, never a real account. */
export const PLACEHOLDER_ACCOUNT = /^(\d)\1{11}$/;

/**
 * Why a stage cannot be deployed from here, or undefined. `callerAccount` is the account of the credentials the CDK
 * CLI resolved (CDK_DEFAULT_ACCOUNT; unset when synth runs without credentials, which stays possible offline).
 */
export function placeholderAccountProblem(config: StageConfig, callerAccount: string | undefined): string | undefined {
  if (!PLACEHOLDER_ACCOUNT.test(config.account) || !callerAccount) return undefined;
  return (
    `Stage "${config.stage}" in cdk.json still has the example account ${config.account}. ` +
    `Set stages.${config.stage}.account to the account to deploy to (your credentials are for ${callerAccount}; ` +
    'aws sts get-caller-identity shows it), and region, ogmiosUrls, alertEmails, hotWalletAddresses and payouts.breakGlassRoleArn likewise (README, Deploy).'
  );
}

export class StageConfigError extends Error {
  override readonly name = 'StageConfigError';
}

/**
 * Validates `stages[stage]` from the context and returns it typed. Every problem is reported at once, so
 * `cdk synth` fails early with the whole list rather than one mistake per run.
 */
export function readStageConfig(stages: unknown, stage: string | undefined): StageConfig {
  if (!stage) throw new StageConfigError('Choose an environment: cdk synth -c stage=<dev|staging|prod>');
  if (typeof stages !== 'object' || stages === null) throw new StageConfigError('cdk.json context has no "stages" object');
  const raw = (stages as Record<string, unknown>)[stage];
  if (typeof raw !== 'object' || raw === null) {
    throw new StageConfigError(`Unknown stage "${stage}"; cdk.json defines ${Object.keys(stages).join(', ')}`);
  }
  const value = raw as Record<string, unknown>;
  const problems: string[] = [];
  const check = (ok: boolean, problem: string) => ok || problems.push(problem);

  check(typeof value.account === 'string' && /^\d{12}$/.test(value.account), 'account must be a 12-digit AWS account id');
  check(typeof value.region === 'string' && /^[a-z]{2}(-[a-z]+)+-\d$/.test(value.region), 'region must be an AWS region such as eu-west-1');
  check((NETWORKS as readonly unknown[]).includes(value.network), `network must be one of ${NETWORKS.join(', ')}`);
  check(
    Array.isArray(value.ogmiosUrls) &&
      value.ogmiosUrls.length > 0 &&
      value.ogmiosUrls.every((url) => typeof url === 'string' && /^wss?:\/\//.test(url)),
    'ogmiosUrls must be a non-empty list of ws:// or wss:// URLs',
  );
  check(
    typeof value.ogmiosApiKeySecretName === 'string' && value.ogmiosApiKeySecretName.length > 0,
    'ogmiosApiKeySecretName must name a secret',
  );
  check(Number.isInteger(value.confirmations) && (value.confirmations as number) >= 1, 'confirmations must be a whole number ≥ 1');
  const emails = value.alertEmails as Record<string, unknown> | undefined;
  for (const severity of ['warning', 'critical']) {
    const list = emails?.[severity];
    check(
      Array.isArray(list) && list.every((email) => typeof email === 'string' && /^[^@\s]+@[^@\s]+$/.test(email)),
      `alertEmails.${severity} must be a list of e-mail addresses`,
    );
  }
  const database = value.database as Record<string, unknown> | undefined;
  check(typeof database?.instanceClass === 'string', 'database.instanceClass must be set (e.g. t4g.micro)');
  check(
    Number.isInteger(database?.allocatedStorageGiB) && (database!.allocatedStorageGiB as number) >= 20,
    'database.allocatedStorageGiB must be ≥ 20',
  );
  check(typeof database?.multiAz === 'boolean', 'database.multiAz must be true or false');
  check(typeof database?.deletionProtection === 'boolean', 'database.deletionProtection must be true or false');
  const pitrDays = database?.backupRetentionDays as number;
  check(
    Number.isInteger(pitrDays) && pitrDays >= 1 && pitrDays <= 35,
    'database.backupRetentionDays must be a whole number of days between 1 and 35',
  );
  check(
    Number.isInteger(value.logRetentionDays) && (value.logRetentionDays as number) > 0,
    'logRetentionDays must be a positive whole number',
  );
  const hotWallets = value.hotWalletAddresses;
  check(Array.isArray(hotWallets) && hotWallets.every((a) => typeof a === 'string'), 'hotWalletAddresses must be a list of addresses');
  if (Array.isArray(hotWallets) && (NETWORKS as readonly unknown[]).includes(value.network)) {
    for (const address of hotWallets) {
      try {
        validateAddress(address, value.network as Network);
      } catch (error) {
        problems.push(`hotWalletAddresses: ${(error as Error).message}`);
      }
    }
  }
  check(isTimeZone(value.scheduleTimeZone), 'scheduleTimeZone must be an IANA time zone such as UTC or Europe/Paris');
  const backup = value.backup as Record<string, unknown> | undefined;
  const daily = backup?.dailyRetentionDays as number;
  const weekly = backup?.weeklyRetentionDays as number;
  check(Number.isInteger(daily) && daily >= 1, 'backup.dailyRetentionDays must be a whole number of days ≥ 1');
  check(
    Number.isInteger(weekly) && weekly >= 7 && (!Number.isInteger(daily) || weekly >= daily),
    'backup.weeklyRetentionDays must be a whole number of days ≥ 7 and ≥ backup.dailyRetentionDays',
  );
  check(
    Number.isInteger(value.natGateways) && (value.natGateways as number) >= 1 && (value.natGateways as number) <= 2,
    'natGateways must be 1 or 2 (the VPC spans two AZs)',
  );
  const follower = value.follower as Record<string, unknown> | undefined;
  const memoryChoices = FARGATE_MEMORY_BY_CPU[follower?.cpu as number];
  check(
    memoryChoices?.includes(follower?.memoryMiB as number) === true,
    `follower.cpu/memoryMiB must be a Fargate size (cpu ${Object.keys(FARGATE_MEMORY_BY_CPU).join(', ')} with a memory it allows, e.g. 512/1024)`,
  );
  problems.push(
    ...apiConfigProblems(value.api),
    ...eventsConfigProblems(value.events),
    ...payoutsConfigProblems(value.payouts, value.account),
  );
  const alarms = resolveAlarmThresholds(value.alarms);
  problems.push(...alarms.problems);
  // The tutorial's five rules include HotWalletLow and HotWalletCritical: a mainnet stage watches its hot wallet, or
  // says explicitly that it has none to watch.
  const hotWalletAlarms = alarms.thresholds.hotWalletBalance;
  if (
    value.network === 'mainnet' &&
    Array.isArray(hotWallets) &&
    hotWallets.length === 0 &&
    (hotWalletAlarms.warning.enabled || hotWalletAlarms.critical.enabled)
  ) {
    problems.push(
      'hotWalletAddresses is empty on mainnet: list the hot wallet(s) whose balance HotWalletLow/HotWalletCritical watch, ' +
        'or turn both off explicitly with "alarms": { "hotWalletBalance": { "warning": { "enabled": false }, "critical": { "enabled": false } } }',
    );
  }

  if (problems.length > 0) {
    throw new StageConfigError(`Stage "${stage}" in cdk.json is invalid:\n- ${problems.join('\n- ')}`);
  }
  const typed = value as Omit<StageConfig, 'stage' | 'alarms'>;
  return { stage, ...typed, api: { ...typed.api, iamPrincipals: typed.api.iamPrincipals ?? [] }, alarms: alarms.thresholds };
}
