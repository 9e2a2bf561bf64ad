/**
 * Migration Lambda: the custom resource that applies the schema migrations on every deploy. The SQL files travel
 * in the bundle (the CDK copies functions/migrations/*.sql next to index.mjs); MIGRATIONS_DIRECTORY names where
 * they are, the source tree's folder when unset. The work is in migrate-core.ts.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { readMigrateSettings } from '../config/lambda-settings.js';
import { lambdaHandler, logger, poolOpener } from './lambda-handler.js';
import { handleMigrationResourceEvent, type MigrationResourceResponse } from './migrate-core.js';

const { migrationsDirectory } = readMigrateSettings();
// A pool per event: the work ends it once the migrations are applied.
const connect = poolOpener({ max: 1, applicationName: 'payment-monitor-migrate' });

export const handler = lambdaHandler<CloudFormationCustomResourceEvent, MigrationResourceResponse>(async (event) =>
  handleMigrationResourceEvent(event, { connect, migrationsDirectory, logger }),
);
