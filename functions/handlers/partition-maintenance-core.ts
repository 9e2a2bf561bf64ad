/**
 * Partition maintenance (scheduled daily): creates the coming months' incoming_payments partitions before any
 * block of those months arrives, and gives every month still waiting in the default partition (a lapse of
 * maintenance) its own partition. One month at a time, each under the engine's lock for that month only: a month
 * that fails leaves the others be, and the run then fails so that the alarm sees it.
 */
import type pg from 'pg';
import { LogEvent } from '../domain/observability.js';
import { DEFAULT_PARTITION_MONTHS_AHEAD } from '../domain/partitions.js';
import type { Logger } from '../domain/ports.js';
import {
  defaultPartitionRows,
  ensureMonthPartition,
  listIncomingPaymentPartitions,
  monthsNeedingPartitions,
} from '../adapters/postgres/partitions.js';

// A type, not an interface: the Lambda and the CLI hand it on as a plain record.
export type PartitionMaintenanceSummary = {
  created: string[];
  /** Rows moved out of the default partition, over all months. */
  moved_rows: number;
  months_ahead: number;
  partitions: number;
  /** Rows left in the default partition after the run: 0 once it has caught up. */
  default_rows: number;
};

export interface FailedMonth {
  month: string;
  reason: string;
}

export class PartitionMaintenanceFailedError extends Error {
  override readonly name = 'PartitionMaintenanceFailedError';

  constructor(
    readonly failed: FailedMonth[],
    readonly summary: PartitionMaintenanceSummary,
  ) {
    super(
      `partition maintenance failed for ${failed.map((entry) => `${entry.month} (${entry.reason})`).join(', ')}; the other months were done`,
    );
  }
}

export async function maintainPartitions(
  pool: Pick<pg.Pool, 'query'>,
  { logger, monthsAhead = DEFAULT_PARTITION_MONTHS_AHEAD }: { logger: Logger; monthsAhead?: number },
): Promise<PartitionMaintenanceSummary> {
  const created: string[] = [];
  const failed: FailedMonth[] = [];
  let movedRows = 0;
  for (const month of await monthsNeedingPartitions(pool, monthsAhead)) {
    try {
      const outcome = await ensureMonthPartition(pool, month);
      if (outcome.created) created.push(outcome.partition);
      movedRows += outcome.movedRows;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      failed.push({ month, reason });
      logger.error(LogEvent.partitionMonthFailed, { month, reason });
    }
  }
  const summary: PartitionMaintenanceSummary = {
    created,
    moved_rows: movedRows,
    months_ahead: monthsAhead,
    partitions: (await listIncomingPaymentPartitions(pool)).length,
    default_rows: await defaultPartitionRows(pool),
  };
  const fields = { ...summary, created_count: created.length, failed_months: failed.map((entry) => entry.month) };
  if (failed.length > 0) {
    logger.warn(LogEvent.partitionsEnsured, fields);
    throw new PartitionMaintenanceFailedError(failed, summary);
  }
  logger.info(LogEvent.partitionsEnsured, fields);
  return summary;
}
