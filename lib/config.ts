import { NETWORKS, type Network } from '../functions/domain/network.js';

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
  database: { instanceClass: string; allocatedStorageGiB: number; multiAz: boolean };
  logRetentionDays: number;
  hotWalletAddresses: string[];
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
    Array.isArray(value.ogmiosUrls) && value.ogmiosUrls.length > 0 && value.ogmiosUrls.every((url) => typeof url === 'string' && /^wss?:\/\//.test(url)),
    'ogmiosUrls must be a non-empty list of ws:// or wss:// URLs',
  );
  check(typeof value.ogmiosApiKeySecretName === 'string' && value.ogmiosApiKeySecretName.length > 0, 'ogmiosApiKeySecretName must name a secret');
  check(Number.isInteger(value.confirmations) && (value.confirmations as number) >= 1, 'confirmations must be a whole number ≥ 1');
  const emails = value.alertEmails as Record<string, unknown> | undefined;
  for (const severity of ['warning', 'critical']) {
    const list = emails?.[severity];
    check(Array.isArray(list) && list.every((email) => typeof email === 'string' && /^[^@\s]+@[^@\s]+$/.test(email)), `alertEmails.${severity} must be a list of e-mail addresses`);
  }
  const database = value.database as Record<string, unknown> | undefined;
  check(typeof database?.instanceClass === 'string', 'database.instanceClass must be set (e.g. t4g.micro)');
  check(Number.isInteger(database?.allocatedStorageGiB) && (database!.allocatedStorageGiB as number) >= 20, 'database.allocatedStorageGiB must be ≥ 20');
  check(typeof database?.multiAz === 'boolean', 'database.multiAz must be true or false');
  check(Number.isInteger(value.logRetentionDays) && (value.logRetentionDays as number) > 0, 'logRetentionDays must be a positive whole number');
  check(Array.isArray(value.hotWalletAddresses) && value.hotWalletAddresses.every((a) => typeof a === 'string'), 'hotWalletAddresses must be a list of addresses');

  if (problems.length > 0) {
    throw new StageConfigError(`Stage "${stage}" in cdk.json is invalid:\n- ${problems.join('\n- ')}`);
  }
  return { stage, ...(value as Omit<StageConfig, 'stage'>) };
}
