/**
 * Partition maintenance Lambda (EventBridge Scheduler, daily; any payload). Env: DATABASE_URL or
 * DATABASE_SECRET_ARN, PARTITION_MONTHS_AHEAD (default 3). The work is in partition-maintenance-core.ts.
 */
import type { Context } from 'aws-lambda';
import { createPool } from '../adapters/postgres/pool.js';
import { logger, metrics } from '../adapters/powertools/instances.js';
import { once } from './lazy.js';
import { DEFAULT_PARTITION_MONTHS_AHEAD, maintainPartitions } from './partition-maintenance-core.js';
import { readPositiveInteger, resolveDatabaseConnection } from './runtime-config.js';

const monthsAhead = readPositiveInteger(process.env, 'PARTITION_MONTHS_AHEAD', DEFAULT_PARTITION_MONTHS_AHEAD);
const pool = once(async () => createPool({ ...(await resolveDatabaseConnection(process.env)), max: 1, applicationName: 'payment-monitor-partitions' }));

export async function handler(_event: unknown, context: Context): Promise<Record<string, unknown>> {
  logger.addContext(context);
  metrics.captureColdStart(context.functionName);
  try {
    return await maintainPartitions(await pool(), { logger, monthsAhead });
  } finally {
    metrics.publish();
  }
}
