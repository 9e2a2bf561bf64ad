/** The names operators see: log events and metrics, shared by every adapter and the alarms. */

export const LogEvent = {
  paymentDetected: 'payment_detected',
  paymentConfirmed: 'payment_confirmed',
  paymentReversed: 'payment_reversed',
  paymentAlreadyCredited: 'payment_already_credited',
  rollback: 'rollback',
  blocksApplied: 'blocks_applied',
  staleEventDropped: 'stale_event_dropped',
} as const;

export const Metric = {
  syncHeight: 'sync_height',
  syncLag: 'sync_lag_blocks',
  paymentsDetected: 'payments_detected',
  paymentsConfirmed: 'payments_confirmed',
  paymentsReversed: 'payments_reversed',
  paymentValueAda: 'payment_value_ada',
  blockProcessingSeconds: 'block_processing_seconds',
  blocksApplied: 'blocks_applied',
  rollbacks: 'rollbacks',
  rollbackDepth: 'rollback_depth_blocks',
  staleEventsDropped: 'stale_events_dropped',
} as const;

const LOVELACE_PER_ADA = 1_000_000n;

/** ADA as a float, for logs and metrics only: money itself never leaves bigint. */
export function adaForDisplay(lovelace: bigint): number {
  const whole = lovelace / LOVELACE_PER_ADA;
  const fraction = lovelace % LOVELACE_PER_ADA;
  return Number(whole) + Number(fraction) / 1_000_000;
}
