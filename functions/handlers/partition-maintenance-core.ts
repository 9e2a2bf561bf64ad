/**
 * Partition maintenance (scheduled daily): creates the coming months' incoming_payments partitions before any
 * block of those months arrives, so that rows never pile up in the default partition.
 */
import type pg from 'pg';
import { LogEvent } from '../domain/observability.js';
import type { Logger } from '../domain/ports.js';
import { ensureIncomingPaymentPartitions } from '../adapters/postgres/partitions.js';

export const DEFAULT_PARTITION_MONTHS_AHEAD = 3;

export async function maintainPartitions(
  pool: Pick<pg.Pool, 'query'>,
  { logger, monthsAhead = DEFAULT_PARTITION_MONTHS_AHEAD }: { logger: Logger; monthsAhead?: number },
): Promise<{ created: string[]; months_ahead: number; partitions: number }> {
  const { created, partitions } = await ensureIncomingPaymentPartitions(pool, monthsAhead);
  logger.info(LogEvent.partitionsEnsured, { created, created_count: created.length, months_ahead: monthsAhead, partitions: partitions.length });
  return { created, months_ahead: monthsAhead, partitions: partitions.length };
}
