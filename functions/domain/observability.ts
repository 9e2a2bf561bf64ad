/** The names operators see: log events and metrics, shared by every adapter and the alarms. */

export const LogEvent = {
  paymentDetected: 'payment_detected',
  paymentConfirmed: 'payment_confirmed',
  paymentReversed: 'payment_reversed',
  paymentAlreadyCredited: 'payment_already_credited',
  rollback: 'rollback',
  blocksApplied: 'blocks_applied',
  staleEventDropped: 'stale_event_dropped',
  /** A message of the current leader session applied already (a repeated delivery): acknowledged, nothing changed. */
  duplicateEventDropped: 'duplicate_event_dropped',
  /** The processor acknowledged a message it could not apply and made the leader follow again from the database. */
  pipelineRecovered: 'pipeline_recovered',
  /** Recoveries kept failing: the processor applies nothing until an operator resumes the pipeline. */
  pipelineHalted: 'pipeline_halted',
  /** A message acknowledged without being applied because the pipeline is halted (the chain re-derives it on resume). */
  pipelineHaltedMessageDropped: 'pipeline_halted_message_dropped',
  pipelineResumed: 'pipeline_resumed',
  reconciliationDiscrepancy: 'reconciliation_discrepancy',
  reconciliationSuccess: 'reconciliation_success',
  balanceMismatch: 'balance_mismatch',
  /** A run stopped for time and asked another invocation to continue it; or could not start; or failed. */
  reconciliationContinued: 'reconciliation_continued',
  reconciliationSkipped: 'reconciliation_skipped',
  reconciliationFailed: 'reconciliation_failed',
  /** A start took over a running run (stale, or its last attempt failed); a full run ended a reconnect run. */
  reconciliationResumed: 'reconciliation_resumed',
  reconciliationSuperseded: 'reconciliation_superseded',
  /** An invocation failed on a run that stays running for a retry (attempt n of the allowed number). */
  reconciliationAttemptFailed: 'reconciliation_attempt_failed',
  /** An invocation failed and could not even count its attempt (the database unreachable): the run stays as it was. */
  reconciliationAttemptUnrecorded: 'reconciliation_attempt_unrecorded',
  /** A chunk still compared while the database lagged the node after the retries: what it held is too_recent. */
  reconciliationChunkLagging: 'reconciliation_chunk_lagging',
  /** An address whose outputs exceed what one comparison may hold: recorded unjudged with its reason, the run goes on. */
  reconciliationAddressUnjudged: 'reconciliation_address_unjudged',
  hotWalletBalance: 'hot_wallet_balance',
  rebuildProgress: 'rebuild_progress',
  rebuildStarted: 'rebuild_started',
  rebuildCompleted: 'rebuild_completed',
  /** A payment a rebuild cleared and the re-derived chain did not find again (pending: rolled back). */
  rebuildPaymentNotFound: 'rebuild_payment_not_found',
  backupExported: 'backup_exported',
  /** An incoming_payments export taken during a rebuild: the payments it holds aside are in a file of their own. */
  backupHeldByRebuild: 'backup_held_by_rebuild',
  backupRestored: 'backup_restored',
  partitionsEnsured: 'partitions_ensured',
  /** One month's partition could not be created or moved into; the other months were still done. */
  partitionMonthFailed: 'partition_month_failed',
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
  duplicateEventsDropped: 'duplicate_events_dropped',
  /** A divergence or a poison message resolved by re-deriving from Ogmios (dimension kind: divergence | poison). */
  pipelineRecoveries: 'pipeline_recoveries',
  /** 1 while the pipeline is halted (the processor per message, the health function every minute), else 0. */
  pipelineHalted: 'pipeline_halted',
  /** The health function, every minute: 1 when the database answered, 0 when it did not. */
  databaseReachable: 'database_reachable',
  /** Per reconciliation run: discrepancies found (missing, extra, amount or asset mismatch); alarms above 0. */
  reconciliationDiscrepancies: 'reconciliation_discrepancies',
  reconciliationMatched: 'reconciliation_matched',
  /** On chain but not yet judged: too recent, or beyond the applied height. Not a discrepancy. */
  reconciliationTooRecent: 'reconciliation_too_recent',
  /** 1 when a daily run completed, for the "reconciliation did not run" view. */
  reconciliationRuns: 'reconciliation_runs',
  /** Per reconciliation run: addresses left unjudged because their outputs exceed what one comparison may hold. */
  reconciliationUnjudgedAddresses: 'reconciliation_unjudged_addresses',
  /** Per balance verification: users whose stored balance differs from their ledger sum; alarms above 0. */
  balanceMismatches: 'balance_mismatches',
  /** Sum of the hot-wallet addresses' UTxOs, every minute; HotWalletLow / HotWalletCritical. */
  hotWalletBalanceAda: 'hot_wallet_balance_ada',
  rebuildBlocksApplied: 'rebuild_blocks_applied',
  backupRowsExported: 'backup_rows_exported',
} as const;

const LOVELACE_PER_ADA = 1_000_000n;

/** ADA as a float, for logs and metrics only: money itself never leaves bigint. */
export function adaForDisplay(lovelace: bigint): number {
  const whole = lovelace / LOVELACE_PER_ADA;
  const fraction = lovelace % LOVELACE_PER_ADA;
  return Number(whole) + Number(fraction) / 1_000_000;
}
