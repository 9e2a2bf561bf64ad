/**
 * How far ahead incoming_payments partitions are created: the stack's setting for the daily maintenance and the
 * function's default when PARTITION_MONTHS_AHEAD is unset.
 */
export const DEFAULT_PARTITION_MONTHS_AHEAD = 3;
