/**
 * Migration Lambda: the custom resource that applies the schema migrations on every deploy. The SQL files travel
 * in the bundle (the CDK copies functions/migrations/*.sql next to index.mjs); MIGRATIONS_DIRECTORY names where
 * they are, the source tree's folder when unset. The work is in migrate-core.ts.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { MIGRATIONS_DIRECTORY } from '../adapters/postgres/migrate.js';
import { createPool } from '../adapters/postgres/pool.js';
import { logger } from '../adapters/powertools/instances.js';
import { handleMigrationResourceEvent, type MigrationResourceResponse } from './migrate-core.js';
import { resolveDatabaseConnection } from './runtime-config.js';

const migrationsDirectory = process.env.MIGRATIONS_DIRECTORY?.trim() || MIGRATIONS_DIRECTORY;

export async function handler(event: CloudFormationCustomResourceEvent): Promise<MigrationResourceResponse> {
  return handleMigrationResourceEvent(event, {
    connect: async () => createPool({ ...(await resolveDatabaseConnection(process.env)), max: 1, applicationName: 'payment-monitor-migrate' }),
    migrationsDirectory,
    logger,
  });
}
