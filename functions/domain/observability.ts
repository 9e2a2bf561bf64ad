/**
 * The names operators see: every log event, metric and metric dimension of the product, in one place, imported
 * by the runtime that writes them and by the alarms and dashboard that read them (lib/ loads this module, so it
 * imports nothing). Grouped by who writes them.
 */

/** CloudWatch namespace of every custom metric, Lambdas and follower alike. */
export const METRICS_NAMESPACE = 'PaymentMonitor';

/** The `service` dimension (and log key) when POWERTOOLS_SERVICE_NAME is unset. */
export const DefaultServiceName = {
  lambdas: 'payment-monitor',
  follower: 'payment-monitor-follower',
} as const;

export const MetricDimension = {
  /** Every metric: who wrote it. */
  service: 'service',
  /** Every metric, so that stages never share a series. */
  stage: 'stage',
  /** Payments detected, confirmed, reversed: also written without it, for the alarms. */
  referenceType: 'reference_type',
  /** Pipeline recoveries: divergence | poison. */
  recoveryKind: 'kind',
  /** Invoice transitions: the event type written (invoice.settled, invoice.paid_late, …). */
  eventType: 'event_type',
  /** Payout transaction moves: the status reached (in_block, confirmed, failed, …). */
  status: 'status',
} as const;

/** How often the follower writes its metric summary: it has no invocation to flush at. */
export const DEFAULT_METRICS_INTERVAL_MS = 60_000;

/** The engine and the operations functions (reconciliation, rebuild, backups, partitions, hot wallet). */
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
  /** A candidate filter could not be stored after a batch: the next cold instance loads it from the tables instead. */
  candidateFilterStoreFailed: 'candidate_filter_store_failed',
  reconciliationDiscrepancy: 'reconciliation_discrepancy',
  reconciliationSuccess: 'reconciliation_success',
  balanceMismatch: 'balance_mismatch',
  /** An invoice whose stored judgement (paid, status, …) differs from the rules' judgement of its on-chain payments. */
  invoiceMismatch: 'invoice_mismatch',
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
  /** Openings read at the applied block, not at the watch start, which the node no longer keeps (or no longer has). */
  reconciliationOpeningLate: 'reconciliation_opening_late',
  /** Openings that could not be read (nothing applied yet, the node could not answer): what the database lacks there is too_recent. */
  reconciliationOpeningUnavailable: 'reconciliation_opening_unavailable',
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
  /** An invoice's judgement changed (one line per event written: invoice.processing, invoice.settled, …). */
  invoiceTransition: 'invoice_transition',
  /** An invoice told settled lost its completing payment (a rollback or a rebuild): critical, the merchant was told paid. */
  invoiceInvalidated: 'invoice_invalidated',
  /** A payout's transaction moved (built, signed, submitted, in a block, confirmed, expired, abandoned). */
  payoutAttemptMoved: 'payout_attempt_moved',
  /** A payout's transaction lost an input to a transaction that is not ours: critical, the hot wallet's key may be used elsewhere. */
  payoutFailed: 'payout_failed',
  /** Another transaction spent a payout transaction's input (critical at once); final (payout_failed) once confirmed. */
  payoutInputSpentElsewhere: 'payout_input_spent_elsewhere',
  payoutTransactionBuilt: 'payout_transaction_built',
  /** A build failed (the transaction library refused a payout, or the protocol parameters could not be read). */
  payoutBuildFailed: 'payout_build_failed',
  /** The signer's enterprise address was registered as the hot wallet's (its outputs are the payouts' coins). */
  hotWalletRegistered: 'hot_wallet_registered',
  /** An approved payout left out of this build (too large for the transaction, or not covered by the hot wallet). */
  payoutDeferred: 'payout_deferred',
  /** An earlier transaction of ours, given up on, landed after all (a rollback deeper than the expiry depth): its payouts follow it. */
  payoutTransactionRevived: 'payout_transaction_revived',
  /** A revived transaction paid a payout cancelled after its expiry: critical, the user's hold was released. */
  payoutPaidAfterClose: 'payout_paid_after_close',
  /** A carried attempt waits: some of its inputs are off the engine's chain (a deep rollback, a rebuild under way). */
  payoutCarriedWaiting: 'payout_carried_waiting',
  /** A carried attempt's inputs were let go: its payouts were cancelled, or other transactions spent every input. */
  payoutInputsReleased: 'payout_inputs_released',
  /** The signer refused or failed (KMS throttling, access denied, a disabled key, a signature that did not verify). */
  payoutSignerError: 'payout_signer_error',
  payoutSubmitted: 'payout_submitted',
  /** A node refused a payout transaction (spent inputs, outside its validity interval, fee, form). */
  payoutSubmissionRefused: 'payout_submission_refused',
  /** The submission could not be made (no relay answered); the next run tries again. */
  payoutSubmissionFailed: 'payout_submission_failed',
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
  /** Per reconciliation run: discrepancies found (missing, extra, amount or asset mismatch, invoice mismatch); alarms above 0. */
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
  /** Invoice events written by the engine (dimension event_type: invoice.settled, invoice.expired, …). */
  invoiceTransitions: 'invoice_transitions',
  /** Invoices that were settled and lost their payment (invoice.invalid): the merchant was told paid. */
  invoicesInvalidated: 'invoices_invalidated',
  /** Payout transactions moved (dimension status: in_block, confirmed, failed, …). */
  payoutAttemptMoves: 'payout_attempt_moves',
  /** Payouts failed because another transaction spent one of their inputs; PayoutFailed. */
  payoutsFailed: 'payouts_failed',
  payoutTransactionsBuilt: 'payout_transactions_built',
  payoutBuildFailures: 'payout_build_failures',
  payoutSubmissions: 'payout_submissions',
  /** Signer failures; PayoutSignerErrors. */
  payoutSignerErrors: 'payout_signer_errors',
  /** How long the oldest submitted payout transaction has waited for a block, at every processor run; PayoutStuck. */
  payoutOldestSubmittedMinutes: 'payout_oldest_submitted_minutes',
  /** How long the oldest approved payout has waited for a transaction, at every processor run; PayoutNotSent. */
  payoutOldestApprovedMinutes: 'payout_oldest_approved_minutes',
  /** The hot wallet's unspent outputs as the engine recorded them (the monitor's own UTxO set), at every processor run. */
  hotWalletRecordedAda: 'hot_wallet_recorded_ada',
  /** What of it a payout may spend now (confirmed, not reserved by a payout transaction). */
  hotWalletSpendableAda: 'hot_wallet_spendable_ada',
} as const;

/** The processor Lambda, around the engine: what happened to each SQS message. */
export const ProcessorLogEvent = {
  poisonMessage: 'poison_message',
  /** A message in another version of the format: acknowledged without a recovery (see OtherReleaseError). */
  otherReleaseMessage: 'other_release_message_dropped',
  messageFailed: 'message_failed',
  messageApplied: 'message_applied',
  batchProcessed: 'batch_processed',
  /** The asynchronous invocation of the event publisher after a batch failed (its schedule catches up). */
  publisherWakeFailed: 'event_publisher_wake_failed',
} as const;

export const ProcessorMetric = {
  poisonMessages: 'poison_messages',
  /** Messages of another format version dropped: a deploy in progress, or stranded halfway (OtherReleaseMessages). */
  otherReleaseMessagesDropped: 'other_release_messages_dropped',
  messagesFailed: 'messages_failed',
} as const;

/** The failed-message retries of the processor (SQS visibility changes). */
export const RetriesLogEvent = { postponeFailed: 'postpone_failed' } as const;

/** The schema migrations custom resource. */
export const MigrationLogEvent = {
  migrated: 'schema_migrated',
  /** A stack deletion: the schema and its data stay. */
  kept: 'schema_migrations_kept',
} as const;

/** The health function. */
export const HealthMetric = {
  syncStateAge: 'sync_state_age_seconds',
  databaseUnreachable: 'health_database_unreachable',
} as const;

export const HealthLogEvent = {
  networkTipUnavailable: 'network_tip_unavailable',
  databaseUnreachable: 'health_database_unreachable',
  syncMeasured: 'sync_measured',
} as const;

/** The follower's lease (DynamoDB). */
export const LeaseLogEvent = {
  acquired: 'lease_acquired',
  lost: 'lease_lost',
  renewalFailed: 'lease_renewal_failed',
  /** A renewal whose answer was lost had reached DynamoDB: the leader carries on from it. */
  ownWriteRecognised: 'lease_own_write_recognised',
  acquireFailed: 'lease_acquire_failed',
  held: 'lease_held_by_other',
  released: 'lease_released',
  releaseFailed: 'lease_release_failed',
  /** A serialised lease step (acquire, renew, release) failed; the steps after it still run. */
  stepFailed: 'lease_step_failed',
  /** A leadership listener threw; the lease carries on. */
  listenerFailed: 'lease_listener_failed',
} as const;

export const LeaseMetric = {
  /** 1 while this process holds the lease, 0 otherwise. */
  leader: 'follower_leader',
  acquisitions: 'lease_acquisitions',
  renewalFailures: 'lease_renewal_failures',
  losses: 'lease_losses',
} as const;

/** The follower's leader session: following, emitting, shutting down. */
export const FollowerLogEvent = {
  sessionStarted: 'leader_session_started',
  sessionEnded: 'leader_session_ended',
  sessionFailed: 'leader_session_failed',
  generationChanged: 'sync_generation_changed',
  emitFailed: 'emit_failed',
  flushIncomplete: 'shutdown_flush_incomplete',
  flushed: 'shutdown_flushed',
} as const;

/** A long-running process's life: the follower task and the local stack (`npm start`). */
export const ProcessLogEvent = {
  startupFailed: 'startup_failed',
  unhandledRejection: 'unhandled_rejection',
  followerStarted: 'follower_started',
  followerStopping: 'follower_stopping',
  followerStopped: 'follower_stopped',
  shutdownBudgetExceeded: 'shutdown_budget_exceeded',
} as const;

/** The local stack (`npm start`): the pieces it brings up, and the in-process pipeline between follower and engine. */
export const LocalStackLogEvent = {
  databaseReady: 'database_ready',
  simulatorStarted: 'simulator_started',
  /** A run of the local payout processor failed (Ogmios or the database unreachable); the next run tries again. */
  payoutProcessorFailed: 'payout_processor_failed',
  /** The demo hot wallet (the local signer's address) was funded on the simulator: its address and coins. */
  hotWalletFunded: 'hot_wallet_funded',
  followerRestarting: 'follower_restarting',
  followerFailed: 'follower_failed',
  hotWalletUnavailable: 'hot_wallet_unavailable',
  chainDivergence: 'chain_divergence',
  engineApplyFailed: 'engine_apply_failed',
  /** npm start registered the demo account key and created (and paid) the demo invoices. */
  demoInvoicesCreated: 'demo_invoices_created',
  demoInvoicesFailed: 'demo_invoices_failed',
} as const;

export const FollowerMetric = {
  /** Height of the last block the emitter accepted. */
  emittedHeight: 'follower_emitted_height',
  eventsEmitted: 'follower_events_emitted',
  emitFailures: 'follower_emit_failures',
  queuedEvents: 'follower_queued_events',
} as const;

/** The follower's reconciliation after a reconnect. */
export const ReconnectReconciliationLogEvent = {
  triggered: 'reconnect_reconciliation_triggered',
  failed: 'reconnect_reconciliation_failed',
} as const;

/** The follower's SQS emitter. */
export const EmitterMetric = {
  messagesSent: 'sqs_messages_sent',
  claimChecksStored: 'sqs_claim_checks_stored',
} as const;

export const EmitterLogEvent = {
  claimCheckStored: 'claim_check_stored',
  eventsEmitted: 'events_emitted',
} as const;

export const SenderLogEvent = {
  retry: 'sqs_send_retry',
  acceptedOutOfOrder: 'sqs_batch_accepted_out_of_order',
} as const;

/** The Ogmios clients (chain sync, ledger state). */
export const OgmiosLogEvent = {
  connected: 'ogmios_connected',
  disconnected: 'ogmios_disconnected',
  /** The keys in the secret changed: an open ledger-state connection is closed and opened again with them. */
  keysChanged: 'ogmios_keys_changed',
  messageInvalid: 'ogmios_message_invalid',
  intersectionFound: 'intersection_found',
  intersectionNotFound: 'intersection_not_found',
  /** Following ended for good: no intersection on any relay, or the consumer failed. */
  chainSyncFailed: 'chain_sync_failed',
  chainSyncStopped: 'chain_sync_stopped',
} as const;

export const OgmiosMetric = {
  /** 1 while a chain-sync connection is open, 0 otherwise. */
  connected: 'ogmios_connected',
  reconnects: 'ogmios_reconnects',
  /** Height of the node's tip, as reported with each chain-sync answer. */
  tipHeight: 'chain_tip_height',
  eventsDelivered: 'chain_events_delivered',
} as const;

/** The business-event outbox's publisher (EventBridge on AWS, in-process locally). */
export const OutboxMetric = {
  /** Age of the oldest event not yet published, 0 when none waits: the alarm's "outbox older than 5 minutes". */
  oldestUnpublishedAgeSeconds: 'outbox_oldest_unpublished_age_seconds',
  unpublishedEvents: 'outbox_unpublished_events',
  eventsPublished: 'outbox_events_published',
  publishFailures: 'outbox_publish_failures',
} as const;

export const OutboxLogEvent = {
  published: 'outbox_published',
  publishFailed: 'outbox_publish_failed',
  /** The in-process publisher or deliverer of the local stack failed a run (it tries again on its next wake). */
  localRunFailed: 'outbox_local_run_failed',
} as const;

/** The webhook deliverer. */
export const WebhookMetric = {
  deliveries: 'webhook_deliveries',
  deliveryFailures: 'webhook_delivery_failures',
  /** Seconds the longest-failing enabled endpoint has been failing, 0 when none fails: "failing for an hour". */
  longestFailingSeconds: 'webhook_longest_failing_seconds',
  /** Endpoints disabled after 3 days of failures (a gauge of how many are disabled that way now). */
  endpointsDisabled: 'webhook_endpoints_disabled',
  /** Events waiting for delivery over all enabled endpoints. */
  backlogEvents: 'webhook_backlog_events',
  deliverySeconds: 'webhook_delivery_seconds',
  /** Deliverer runs that failed outside the delivery itself (the database); their message is acknowledged. */
  runFailures: 'webhook_delivery_run_failures',
} as const;

export const WebhookLogEvent = {
  delivered: 'webhook_delivered',
  deliveryFailed: 'webhook_delivery_failed',
  endpointDisabled: 'webhook_endpoint_disabled',
  destinationRefused: 'webhook_destination_refused',
  /** The scheduler (or the publisher) could not send an endpoint's message to the deliverer queue. */
  enqueueFailed: 'webhook_enqueue_failed',
  /**
   * A deliverer run failed outside the delivery itself (the database). Its message is acknowledged all the same: the
   * delivery state is in PostgreSQL and the scheduler wakes the endpoint again within a minute.
   */
  deliveryRunFailed: 'webhook_delivery_run_failed',
} as const;

/** The HTTP API (its 5xx alarm reads API Gateway's own metric; these are the handler's). */
export const ApiLogEvent = {
  request: 'api_request',
  requestFailed: 'api_request_failed',
  keyCreated: 'api_key_created',
  bootstrapKeyCreated: 'api_bootstrap_key_created',
} as const;

/** Payout requests (issue 16, the request side: the API's payout routes). */
export const PayoutRequestLogEvent = {
  requested: 'payout_requested',
  /**
   * A request refused by PAYOUT_MAX_LOVELACE or PAYOUT_DAILY_LIMIT_LOVELACE (warn; field `limit`: payout_limit_reached or
   * daily_limit_reached); a daily_limit_reached refusal is also counted (PayoutRequestMetric.dailyLimitReached).
   */
  limitReached: 'payout_limit_reached',
} as const;

export const PayoutRequestMetric = {
  /** Requests the API refused for the daily limit (problem daily_limit_reached), counted by the api function; PayoutDailyLimitReached. */
  dailyLimitReached: 'payout_daily_limit_refusals',
} as const;

const LOVELACE_PER_ADA = 1_000_000n;

/** ADA as a float, for logs and metrics only: money itself never leaves bigint. */
export function adaForDisplay(lovelace: bigint): number {
  const whole = lovelace / LOVELACE_PER_ADA;
  const fraction = lovelace % LOVELACE_PER_ADA;
  return Number(whole) + Number(fraction) / 1_000_000;
}

/** An error as a log field: its name and message (never its stack, which may carry values). */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
