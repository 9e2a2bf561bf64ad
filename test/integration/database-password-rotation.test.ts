/**
 * A password rotated in place (what Secrets Manager's single-user rotation does) against a real PostgreSQL: the
 * role's password is changed mid-test with ALTER ROLE … PASSWORD. The secret reader is a stub standing in for
 * Secrets Manager, which has no local implementation; it returns whatever the "secret" holds at that moment.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createPool, INVALID_PASSWORD } from '../../functions/adapters/postgres/pool.js';
import { rdsSecretConnection } from '../../functions/adapters/postgres/rds-secret-connection.js';
import type { SecretFields } from '../../functions/adapters/secrets/secret-reader.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const SECRET_ID = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:payment-monitor/test/database';
const ONE_HOUR_MS = 3_600_000;

let database: TestDatabase;
const role = `pm_rotation_${randomBytes(4).toString('hex')}`;
const pools: pg.Pool[] = [];
/** Checked out by the tests and given back in afterAll, also when a test fails halfway (or pool.end would wait). */
const clients: pg.PoolClient[] = [];

async function checkout(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  clients.push(client);
  return client;
}

beforeAll(async () => {
  database = await createTestDatabase();
  await database.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD 'initial-password'`);
});

afterAll(async () => {
  for (const client of clients) client.release(true);
  await Promise.all(pools.map((pool) => pool.end()));
  await database.pool.query(`DROP ROLE IF EXISTS ${role}`);
  await database.drop();
});

/** The RDS secret as Secrets Manager would hand it out, and how often it was read. */
function stubSecret() {
  const url = new URL(database.url);
  const secret = {
    fields: {
      host: url.hostname,
      port: Number(url.port),
      username: role,
      password: 'initial-password',
      dbname: url.pathname.slice(1),
      engine: 'postgres',
    },
    reads: 0,
  };
  const readSecret = async (secretId: string): Promise<SecretFields> => {
    expect(secretId).toBe(SECRET_ID);
    secret.reads += 1;
    return { ...secret.fields };
  };
  return { secret, readSecret };
}

async function rotatePassword(to: string): Promise<void> {
  await database.pool.query(`ALTER ROLE ${role} PASSWORD '${to}'`);
}

async function rotatingPool(readSecret: (secretId: string) => Promise<SecretFields>): Promise<pg.Pool> {
  // A TTL of an hour: within the test, only a refusal can make the pool read the secret again.
  const connection = await rdsSecretConnection({ secretId: SECRET_ID, readSecret, sslMode: 'disable', ttlMs: ONE_HOUR_MS });
  const pool = createPool({ ...connection, max: 4 });
  pools.push(pool);
  return pool;
}

describe('a database password rotated in place', () => {
  it('opens a new connection after one refresh of the secret, while open connections keep working', async () => {
    const { secret, readSecret } = stubSecret();
    await rotatePassword('initial-password');
    const pool = await rotatingPool(readSecret);
    const held = await checkout(pool);
    expect((await held.query<{ current_user: string }>('SELECT current_user')).rows[0]!.current_user).toBe(role);
    expect(secret.reads).toBe(1);

    // Rotation 1: pool.query (pg's callback path) needs a new connection, as the only one is checked out.
    await rotatePassword('second-password');
    secret.fields.password = 'second-password';
    expect((await held.query<{ n: number }>('SELECT 1 AS n')).rows[0]!.n).toBe(1);
    expect((await pool.query<{ current_user: string }>('SELECT current_user')).rows[0]!.current_user).toBe(role);
    expect(secret.reads).toBe(2);

    // Rotation 2: pool.connect (the promise path) with both connections checked out.
    await checkout(pool); // both connections are busy now
    await rotatePassword('third-password');
    secret.fields.password = 'third-password';
    const third = await checkout(pool);
    expect((await third.query<{ current_user: string }>('SELECT current_user')).rows[0]!.current_user).toBe(role);
    expect(secret.reads).toBe(3);
  });

  it('passes the refusal on after one refresh while the secret still holds the old password, then recovers', async () => {
    const { secret, readSecret } = stubSecret();
    await rotatePassword('initial-password');
    const pool = await rotatingPool(readSecret);
    await checkout(pool); // busy: the next connect must open a new connection

    // Between the rotation's setSecret (database changed) and finishSecret (AWSCURRENT moved): the secret lags.
    await rotatePassword('pending-password');
    await expect(pool.connect()).rejects.toMatchObject({ code: INVALID_PASSWORD });
    expect(secret.reads).toBe(2);

    secret.fields.password = 'pending-password';
    const next = await checkout(pool);
    expect((await next.query<{ current_user: string }>('SELECT current_user')).rows[0]!.current_user).toBe(role);
    expect(secret.reads).toBe(3);
  });

  it('breaks a pool with a fixed password (the failure the refresh prevents)', async () => {
    await rotatePassword('initial-password');
    const url = new URL(database.url);
    url.username = role;
    url.password = 'initial-password';
    const pool = createPool({ connectionString: url.toString(), max: 2 });
    pools.push(pool);
    await checkout(pool);
    await rotatePassword('rotated-password');
    await expect(pool.connect()).rejects.toMatchObject({ code: INVALID_PASSWORD });
  });
});
