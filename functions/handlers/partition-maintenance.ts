/**
 * Partition maintenance Lambda (EventBridge Scheduler, daily; any payload). Env: DATABASE_URL or
 * DATABASE_SECRET_ARN, PARTITION_MONTHS_AHEAD (default 3). The work is in partition-maintenance-core.ts.
 */
import { readPartitionMaintenanceSettings } from '../config/lambda-settings.js';
import { lambdaHandler, lambdaPool, logger } from './lambda-handler.js';
import { maintainPartitions } from './partition-maintenance-core.js';

const { monthsAhead } = readPartitionMaintenanceSettings();
const pool = lambdaPool({ max: 1, applicationName: 'payment-monitor-partitions' });

export const handler = lambdaHandler<unknown, Record<string, unknown>>(async () =>
  maintainPartitions(await pool(), { logger, monthsAhead }),
);
