/** The schema-migration custom resource on a real, empty PostgreSQL database. */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createPool } from '../../functions/adapters/postgres/pool.js';
import { loadMigrations } from '../../functions/adapters/postgres/migrate.js';
import { handleMigrationResourceEvent, SCHEMA_MIGRATIONS_RESOURCE_ID } from '../../functions/handlers/migrate-core.js';
import { withDatabase } from '../support/global-setup.js';
import { RecordingLogger } from '../support/recorders.js';

const adminUrl = inject('adminDatabaseUrl');
const name = `pm_test_${randomBytes(6).toString('hex')}`;
const url = withDatabase(adminUrl, name);

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

beforeAll(() => admin(`CREATE DATABASE ${name}`));
afterAll(() => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));

function event(requestType: 'Create' | 'Update' | 'Delete'): CloudFormationCustomResourceEvent {
  const base = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
    ResponseURL: 'https://cloudformation-custom-resource-response.example/',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/pm-dev-data/1',
    RequestId: 'request-1',
    LogicalResourceId: 'SchemaMigrations',
    ResourceType: 'Custom::SchemaMigrations',
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider', MigrationsHash: 'abc' },
  };
  if (requestType === 'Create') return { ...base, RequestType: 'Create' };
  if (requestType === 'Update')
    return {
      ...base,
      RequestType: 'Update',
      PhysicalResourceId: SCHEMA_MIGRATIONS_RESOURCE_ID,
      OldResourceProperties: base.ResourceProperties,
    };
  return { ...base, RequestType: 'Delete', PhysicalResourceId: SCHEMA_MIGRATIONS_RESOURCE_ID };
}

describe('schema migrations on deploy', () => {
  let connections = 0;
  const options = (migrationsDirectory?: string) => ({
    connect: async () => {
      connections += 1;
      return createPool({ connectionString: url, max: 1 });
    },
    migrationsDirectory: migrationsDirectory ?? join(process.cwd(), 'functions/migrations'),
    logger: new RecordingLogger(),
  });

  it('applies every migration on Create, in order, and reports the newest version', async () => {
    const migrations = await loadMigrations();
    const response = await handleMigrationResourceEvent(event('Create'), options());
    expect(response).toEqual({
      PhysicalResourceId: SCHEMA_MIGRATIONS_RESOURCE_ID,
      Data: { appliedCount: migrations.length, latestVersion: migrations.at(-1)!.version },
    });
    const pool = createPool({ connectionString: url, max: 1 });
    try {
      const { rows } = await pool.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((row) => row.version)).toEqual(migrations.map((m) => m.version));
      const tables = await pool.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'incoming_payments'");
      expect(tables.rowCount).toBeGreaterThan(0);
    } finally {
      await pool.end();
    }
  });

  it('changes nothing on an Update when every migration is applied', async () => {
    const response = await handleMigrationResourceEvent(event('Update'), options());
    expect(response.PhysicalResourceId).toBe(SCHEMA_MIGRATIONS_RESOURCE_ID);
    expect(response.Data?.appliedCount).toBe(0);
  });

  it('does nothing on Delete: no connection is opened and the schema stays', async () => {
    const before = connections;
    const response = await handleMigrationResourceEvent(event('Delete'), options());
    expect(response).toEqual({ PhysicalResourceId: SCHEMA_MIGRATIONS_RESOURCE_ID });
    expect(connections).toBe(before);
  });

  it('fails the deploy when the bundle carries no SQL files, before touching the database', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'pm-no-migrations-'));
    try {
      const before = connections;
      await expect(handleMigrationResourceEvent(event('Create'), options(empty))).rejects.toThrow(
        /No migrations found in .*the bundle is missing its SQL files/,
      );
      expect(connections).toBe(before);
    } finally {
      await rm(empty, { recursive: true });
    }
  });
});
