import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { secretsManagerReader, type SecretReader } from '../../functions/adapters/secrets/secret-reader.js';
import type { ApiKeySource } from '../../functions/adapters/ogmios/endpoints.js';
import { resolveDatabaseConnection } from '../../functions/config/database-settings.js';
import { ogmiosEndpoints, readOgmiosSettings } from '../../functions/config/ogmios-settings.js';
import { RelayRotation } from '../../functions/adapters/ogmios/relays.js';
import { OgmiosConnectError } from '../../functions/adapters/ogmios/errors.js';

/** OGMIOS_URL and its keys as the Lambdas and the follower resolve them (undefined without OGMIOS_URL). */
async function resolveOgmiosEndpoints(env: Record<string, string>, reader: SecretReader) {
  if (!env.OGMIOS_URL) return undefined;
  const endpoints = ogmiosEndpoints(readOgmiosSettings(env), reader);
  const keys = endpoints.apiKeys;
  return { urls: endpoints.urls, apiKeys: Array.isArray(keys) ? keys : await (keys as ApiKeySource).read() };
}

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
  it('takes host, port, user and database from an RDS-managed secret, verify-full TLS, and the password when a connection opens', async () => {
    const reader = secrets({
      [DATABASE_SECRET]: {
        host: 'db.internal',
        port: 5432,
        username: 'monitor',
        password: 'a/b@c:d?e#',
        dbname: 'payments',
        engine: 'postgres',
      },
    });
    const connection = await resolveDatabaseConnection({ DATABASE_SECRET_ARN: DATABASE_SECRET }, reader);
    expect(connection).toMatchObject({ host: 'db.internal', port: 5432, user: 'monitor', database: 'payments', tls: 'verify-full' });
    expect('connectionString' in connection).toBe(false);
    if ('connectionString' in connection) return;
    // The password is never part of the configuration: pg asks for it per connection (a generated one needs no encoding).
    expect(JSON.stringify(connection)).not.toContain('a/b@c:d?e#');
    expect(await connection.password.current()).toBe('a/b@c:d?e#');
    expect(reader.reads).toEqual([DATABASE_SECRET]);
    await connection.password.refresh();
    expect(reader.reads).toEqual([DATABASE_SECRET, DATABASE_SECRET]);
  });

  it('prefers DATABASE_URL and then never reads the secret', async () => {
    const reader = secrets({});
    expect(await resolveDatabaseConnection({ DATABASE_URL: 'postgres://u:p@h/d', DATABASE_SECRET_ARN: DATABASE_SECRET }, reader)).toEqual({
      connectionString: 'postgres://u:p@h/d',
    });
    expect(reader.reads).toEqual([]);
  });

  it('names the missing field and the secret, never a value', async () => {
    const reader = secrets({ [DATABASE_SECRET]: { host: 'db.internal', port: 5432, password: 'hunter2' } });
    const failure = resolveDatabaseConnection({ DATABASE_SECRET_ARN: DATABASE_SECRET }, reader);
    await expect(failure).rejects.toThrow(`Secret ${DATABASE_SECRET} has no "username" field`);
    await expect(failure).rejects.not.toThrow(/hunter2/);
    const withoutPassword = secrets({ [DATABASE_SECRET]: { host: 'db.internal', port: 5432, username: 'monitor' } });
    await expect(resolveDatabaseConnection({ DATABASE_SECRET_ARN: DATABASE_SECRET }, withoutPassword)).rejects.toThrow(
      `Secret ${DATABASE_SECRET} has no "password" field`,
    );
  });

  it('accepts verify-full or disable as PGSSLMODE with a secret, nothing weaker in between', async () => {
    const reader = secrets({ [DATABASE_SECRET]: { host: '127.0.0.1', port: '5432', username: 'monitor', password: 'p' } });
    expect(await resolveDatabaseConnection({ DATABASE_SECRET_ARN: DATABASE_SECRET, PGSSLMODE: 'disable' }, reader)).toMatchObject({
      tls: 'disable',
      port: 5432,
      database: 'postgres',
    });
    await expect(resolveDatabaseConnection({ DATABASE_SECRET_ARN: DATABASE_SECRET, PGSSLMODE: 'require' }, reader)).rejects.toThrow(
      'PGSSLMODE must be verify-full or disable with a database secret; got "require"',
    );
  });
});

describe('Ogmios API keys from Secrets Manager', () => {
  it('takes the primary and secondary keys from the secret when its ARN is set', async () => {
    const reader = secrets({ [OGMIOS_SECRET]: { primary: 'key-1', secondary: 'key-2' } });
    const endpoints = await resolveOgmiosEndpoints(
      { OGMIOS_URL: 'wss://a.example,wss://b.example', OGMIOS_API_KEY: 'ignored', OGMIOS_API_KEYS_SECRET_ARN: OGMIOS_SECRET },
      reader,
    );
    expect(endpoints).toEqual({ urls: ['wss://a.example', 'wss://b.example'], apiKeys: ['key-1', 'key-2'] });
  });

  it('accepts a secret with only a primary key, and reads keys from the environment without one', async () => {
    const reader = secrets({ [OGMIOS_SECRET]: { primary: 'key-1' } });
    expect(await resolveOgmiosEndpoints({ OGMIOS_URL: 'wss://a.example', OGMIOS_API_KEYS_SECRET_ARN: OGMIOS_SECRET }, reader)).toEqual({
      urls: ['wss://a.example'],
      apiKeys: ['key-1'],
    });
    expect(await resolveOgmiosEndpoints({ OGMIOS_URL: 'wss://a.example', OGMIOS_API_KEY: 'env-key' }, reader)).toEqual({
      urls: ['wss://a.example'],
      apiKeys: ['env-key'],
    });
    expect(await resolveOgmiosEndpoints({}, reader)).toBeUndefined();
  });

  it('reads the secret when a connection opens, not before, and again once every key was refused (a rotation)', async () => {
    const values: Record<string, Record<string, unknown>> = { [OGMIOS_SECRET]: { primary: 'old-1', secondary: 'old-2' } };
    const reader = secrets(values);
    const relays = new RelayRotation(
      ogmiosEndpoints(readOgmiosSettings({ OGMIOS_URL: 'wss://a.example', OGMIOS_API_KEYS_SECRET_ARN: OGMIOS_SECRET }), reader),
    );
    expect(reader.reads).toEqual([]);
    expect((await relays.connectTo()).headers).toEqual({ 'dmtr-api-key': 'old-1' });
    const refused = new OgmiosConnectError('unauthorized', 'HTTP 401', 401);
    relays.afterFailure(refused);
    expect((await relays.connectTo()).headers).toEqual({ 'dmtr-api-key': 'old-2' });
    expect(reader.reads).toEqual([OGMIOS_SECRET]); // from the cache
    values[OGMIOS_SECRET] = { primary: 'new-1' };
    relays.afterFailure(refused);
    expect((await relays.connectTo()).headers).toEqual({ 'dmtr-api-key': 'new-1' });
    expect(reader.reads).toEqual([OGMIOS_SECRET, OGMIOS_SECRET]);
    // The new key is masked like the old ones.
    expect(relays.redactor.text('new-1 old-2')).toBe('*** ***');
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
