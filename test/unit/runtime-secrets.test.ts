import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { secretsManagerReader, type SecretReader } from '../../functions/adapters/secrets/secret-reader.js';
import { resolveDatabaseUrl, resolveOgmiosEndpoints } from '../../functions/handlers/runtime-config.js';

const DATABASE_SECRET = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:db';
const OGMIOS_SECRET = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:ogmios';

function secrets(values: Record<string, Record<string, unknown>>): SecretReader & { reads: string[] } {
  const reads: string[] = [];
  const reader = async (secretId: string) => {
    reads.push(secretId);
    const value = values[secretId];
    if (!value) throw new Error(`no secret ${secretId}`);
    return value;
  };
  return Object.assign(reader, { reads });
}

describe('database credentials from Secrets Manager', () => {
  it('composes a verify-full URL from an RDS-managed secret, encoding the generated password', async () => {
    const reader = secrets({ [DATABASE_SECRET]: { host: 'db.internal', port: 5432, username: 'monitor', password: 'a/b@c:d?e#', dbname: 'payments', engine: 'postgres' } });
    const url = await resolveDatabaseUrl({ DATABASE_SECRET_ARN: DATABASE_SECRET }, reader);
    expect(url).toBe('postgres://monitor:a%2Fb%40c%3Ad%3Fe%23@db.internal:5432/payments?sslmode=verify-full');
    expect(decodeURIComponent(new URL(url).password)).toBe('a/b@c:d?e#');
    expect(reader.reads).toEqual([DATABASE_SECRET]);
  });

  it('prefers DATABASE_URL and then never reads the secret', async () => {
    const reader = secrets({});
    expect(await resolveDatabaseUrl({ DATABASE_URL: 'postgres://u:p@h/d', DATABASE_SECRET_ARN: DATABASE_SECRET }, reader)).toBe('postgres://u:p@h/d');
    expect(reader.reads).toEqual([]);
  });

  it('names the missing field and the secret, never a value', async () => {
    const reader = secrets({ [DATABASE_SECRET]: { host: 'db.internal', port: 5432, password: 'hunter2' } });
    const failure = resolveDatabaseUrl({ DATABASE_SECRET_ARN: DATABASE_SECRET }, reader);
    await expect(failure).rejects.toThrow(`Secret ${DATABASE_SECRET} has no "username" field`);
    await expect(failure).rejects.not.toThrow(/hunter2/);
  });
});

describe('Ogmios API keys from Secrets Manager', () => {
  it('takes the primary and secondary keys from the secret when its ARN is set', async () => {
    const reader = secrets({ [OGMIOS_SECRET]: { primary: 'key-1', secondary: 'key-2' } });
    const endpoints = await resolveOgmiosEndpoints({ OGMIOS_URL: 'wss://a.example,wss://b.example', OGMIOS_API_KEY: 'ignored', OGMIOS_API_KEYS_SECRET_ARN: OGMIOS_SECRET }, reader);
    expect(endpoints).toEqual({ urls: ['wss://a.example', 'wss://b.example'], apiKeys: ['key-1', 'key-2'] });
  });

  it('accepts a secret with only a primary key, and reads keys from the environment without one', async () => {
    const reader = secrets({ [OGMIOS_SECRET]: { primary: 'key-1' } });
    expect(await resolveOgmiosEndpoints({ OGMIOS_URL: 'wss://a.example', OGMIOS_API_KEYS_SECRET_ARN: OGMIOS_SECRET }, reader)).toEqual({ urls: ['wss://a.example'], apiKeys: ['key-1'] });
    expect(await resolveOgmiosEndpoints({ OGMIOS_URL: 'wss://a.example', OGMIOS_API_KEY: 'env-key' }, reader)).toEqual({ urls: ['wss://a.example'], apiKeys: ['env-key'] });
    expect(await resolveOgmiosEndpoints({}, reader)).toBeUndefined();
  });
});

describe('secretsManagerReader', () => {
  // Mocked AWS SDK call: no local implementation of Secrets Manager is available in this project's tests.
  const client = (SecretString: string | undefined) => ({ send: async () => ({ SecretString }) }) as unknown as SecretsManagerClient;

  it('parses a JSON secret and refuses anything else without quoting it', async () => {
    expect(await secretsManagerReader(client('{"primary":"k"}'))('s')).toEqual({ primary: 'k' });
    await expect(secretsManagerReader(client('not-json-secret'))('s')).rejects.toThrow(/^Secret s is not a JSON object$/);
    await expect(secretsManagerReader(client('["a"]'))('s')).rejects.toThrow('Secret s is not a JSON object');
    await expect(secretsManagerReader(client(undefined))('s')).rejects.toThrow('Secret s has no string value');
  });
});
