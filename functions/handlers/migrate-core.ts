/**
 * The schema-migration custom resource (CloudFormation, through the CDK Provider framework): on Create and Update
 * it applies the migrations not yet applied, in one transaction (adapters/postgres/migrate.ts); on Delete it does
 * nothing, since the data outlives any stack update or removal. Re-running it changes nothing.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type pg from 'pg';
import { loadMigrations, migrate } from '../adapters/postgres/migrate.js';
import { MigrationLogEvent } from '../domain/observability.js';
import type { Logger } from '../domain/ports.js';

/** One physical resource for the schema's whole life: an Update never makes CloudFormation delete an "old" one. */
export const SCHEMA_MIGRATIONS_RESOURCE_ID = 'payment-monitor-schema-migrations';

export interface MigrationResourceOptions {
  /** Opens a pool on the target database; called only on Create and Update. */
  connect: () => Promise<pg.Pool>;
  migrationsDirectory: string;
  logger: Logger;
}

export interface MigrationResourceResponse {
  PhysicalResourceId: string;
  Data?: { appliedCount: number; latestVersion: string };
}

export async function handleMigrationResourceEvent(
  event: CloudFormationCustomResourceEvent,
  options: MigrationResourceOptions,
): Promise<MigrationResourceResponse> {
  if (event.RequestType === 'Delete') {
    options.logger.info(MigrationLogEvent.kept, { reason: 'delete_is_a_no_op' });
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  const migrations = await loadMigrations(options.migrationsDirectory);
  if (migrations.length === 0)
    throw new Error(`No migrations found in ${options.migrationsDirectory}: the bundle is missing its SQL files`);
  const pool = await options.connect();
  try {
    const { applied } = await migrate(pool, migrations);
    const latestVersion = migrations.at(-1)!.version;
    options.logger.info(MigrationLogEvent.migrated, { requestType: event.RequestType, applied, latestVersion });
    return { PhysicalResourceId: SCHEMA_MIGRATIONS_RESOURCE_ID, Data: { appliedCount: applied.length, latestVersion } };
  } finally {
    await pool.end().catch(() => undefined);
  }
}
