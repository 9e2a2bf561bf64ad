import type { ChainBlock, RollBackward, RollForward, ChainEvent, Tip } from './chain.js';
import { describePoint } from './chain.js';
import { ChainContinuityError, SessionOutOfStepError, UnknownRollbackPointError } from './errors.js';
import { admitEvent } from './event-admission.js';
import { epochBoundarySlot, slotToTime, type Network } from './network.js';
import { adaForDisplay, LogEvent, Metric, MetricDimension } from './observability.js';
import { PAYMENT_POLICY, type PaymentPolicy } from './payment-policy.js';
import type {
  AppliedBlock,
  Clock,
  EngineTransaction,
  EventStamp,
  LeaderSessionState,
  Logger,
  Metrics,
  OutputInBlock,
  Payment,
  PaymentStore,
  RollbackOutcome,
  Spend,
  SyncPosition,
} from './ports.js';
import { consumedOutputs, createdOutputs } from './transaction-effects.js';
import { hotWalletChange } from './hot-wallet.js';
import { reportRebuildStep, settleRebuildStep, type RebuildStep } from './rebuild.js';
import { judgeInvoices, touchedInvoiceIds, type InvoiceChange } from './invoices/invoice-judging.js';
import { attemptMoveFields } from './payouts/payout-execution.js';
import { type PayoutTracking, trackPayoutsBack, trackPayoutsForward } from './payouts/payout-tracking.js';

export interface PaymentEngineOptions {
  store: PaymentStore;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  network: Network;
  /** A payment is confirmed once tip height − block height + 1 reaches this. */
  confirmations: number;
  /** Applied blocks kept for rollbacks and resumption; deeper than the network's security parameter. */
  retainedBlocks?: number;
  /** Who the audit log names for the engine's own actions. */
  actor?: string;
  /** Which outputs to a registered address are payments (payment-policy.ts); default PAYMENT_POLICY. */
  paymentPolicy?: PaymentPolicy;
}

export type ApplyOutcome =
  | {
      kind: 'applied';
      blocks: number;
      detected: Payment[];
      confirmed: Payment[];
      spent: number;
      tip: AppliedBlock;
      /** What a running rebuild settled in this step (null when none runs). */
      rebuild: RebuildStep | null;
      /** Invoices the step judged differently (saved, with their events). */
      invoices: InvoiceChange[];
      /** Payout transactions the step moved (in a block, confirmed, failed, abandoned), and spends of their coins by others. */
      payouts: PayoutTracking;
    }
  | {
      kind: 'rolled_back';
      to: AppliedBlock | 'origin';
      outcome: RollbackOutcome;
      invoices: InvoiceChange[];
      /** Payout transactions whose block left the chain: submitted again. */
      payouts: PayoutTracking;
    }
  | {
      kind: 'unchanged';
      reason: string;
      /** Why the event was not admitted at all (event-admission.ts); absent when it was and changed nothing. */
      refused?: 'stale' | 'duplicate' | 'halted';
    };

const SECONDS_PER_CHECKPOINT = 3600;
/** Twice mainnet's security parameter k = 2160. */
export const DEFAULT_RETAINED_BLOCKS = 4320;

/**
 * Turns chain events into payment records and balances. One event is one database transaction; applying
 * an event a second time changes nothing.
 */
export class PaymentEngine {
  private readonly retainedBlocks: bigint;
  private readonly confirmations: bigint;
  private readonly actor: string;
  private readonly isPayment: PaymentPolicy;

  constructor(private readonly options: PaymentEngineOptions) {
    if (!Number.isInteger(options.confirmations) || options.confirmations < 1) {
      throw new Error(`confirmations must be a whole number of at least 1; got ${options.confirmations}`);
    }
    this.confirmations = BigInt(options.confirmations);
    this.retainedBlocks = BigInt(options.retainedBlocks ?? DEFAULT_RETAINED_BLOCKS);
    this.actor = options.actor ?? 'payment-engine';
    this.isPayment = options.paymentPolicy ?? PAYMENT_POLICY;
  }

  /**
   * Applies one event in one transaction. With a stamp (events from the AWS follower), the rules of leader sessions
   * decide first whether it applies at all (event-admission.ts): an event of a deposed leader or an older sync
   * generation, a repeated one, or any while the pipeline is halted changes nothing; one that is out of step with
   * its session throws SessionOutOfStepError.
   */
  async apply(event: ChainEvent, stamp?: EventStamp): Promise<ApplyOutcome> {
    const started = performance.now();
    const outcome = event.type === 'rollForward' ? await this.rollForward(event, stamp) : await this.rollBackward(event, stamp);
    this.report(outcome, event.tip, (performance.now() - started) / 1000);
    return outcome;
  }

  private rollForward(event: RollForward, stamp: EventStamp | undefined): Promise<ApplyOutcome> {
    assertConsecutive(event.blocks);
    return this.options.store.inTransaction(async (tx) => {
      const position = await tx.lockSyncPosition();
      const refusal = stamp && (await this.admit(tx, position.session, stamp));
      if (refusal) return refusal;
      const newBlocks = await this.blocksNotYetApplied(tx, position.tip, event.blocks);
      if (newBlocks.length === 0) return { kind: 'unchanged', reason: 'blocks already applied' } as const;

      const applied = this.placeOnChain(newBlocks, position.tip);
      const tip = applied[applied.length - 1]!.applied;
      const now = this.options.clock.now();
      const outputs: OutputInBlock[] = [];
      const spends: Spend[] = [];
      for (const { block, applied: placed } of applied) {
        for (const transaction of block.transactions) {
          // The policy judges every output here and the store keeps those paying a registered address: the policy
          // is pure, so judging before the address is matched gives the same payments.
          for (const output of createdOutputs(transaction)) if (this.isPayment(output)) outputs.push({ output, block: placed });
          for (const output of consumedOutputs(transaction)) spends.push({ output, spentBy: transaction.id, block: placed });
        }
      }

      await tx.appendBlocks(
        applied.map((entry) => entry.applied),
        this.checkpointsAmong(applied, position.tip),
      );
      const detected = await tx.recordPayments(outputs, now);
      const spent = await tx.markSpent(spends);
      // After the spends: an output is the hot wallet's change when its transaction spent a hot-wallet coin, which
      // may have been recorded in this very step. Before the confirmations, so that its confirmation is told to nobody.
      const change = hotWalletChange(detected, new Set(spent.hotWallet.map((spend) => spend.spentBy)));
      if (change.length > 0) await tx.setApartHotWalletChange(change);
      const confirmedHeight = tip.height - this.confirmations + 1n;
      const { confirmed, alreadyCredited } = await tx.confirmPayments(confirmedHeight, now);
      if (alreadyCredited > 0) {
        this.options.logger.warn(LogEvent.paymentAlreadyCredited, { payments: alreadyCredited, block_height: tip.height });
      }
      const rebuild = await settleRebuildStep(tx, tip.height, this.confirmations, this.actor);
      // Confirmation changes no judgement (an invoice's depth is its own): detected payments and what a rebuild
      // settled touch invoices, the tip does the rest.
      const settlement = rebuild?.settlement;
      const invoices = await judgeInvoices(tx, {
        touchedIds: touchedInvoiceIds(
          detected,
          settlement?.reversed ?? [],
          settlement?.rolledBack ?? [],
          settlement?.refoundPayments ?? [],
        ),
        tip: { height: tip.height, time: tip.time },
        afterRollback: false,
        judgedAt: now,
      });
      const payouts = await trackPayoutsForward(tx, { hotWalletSpends: spent.hotWallet, confirmAtOrBelow: confirmedHeight });
      await tx.saveSyncPosition({ tip, networkTipHeight: event.tip.height });
      await tx.forgetBlocksBelow(tip.height - this.retainedBlocks);
      return {
        kind: 'applied',
        blocks: applied.length,
        detected,
        confirmed,
        spent: spent.marked,
        tip,
        rebuild,
        invoices,
        payouts,
      } as const;
    });
  }

  private rollBackward(event: RollBackward, stamp: EventStamp | undefined): Promise<ApplyOutcome> {
    const networkTipHeight = event.tip === 'origin' ? 0n : event.tip.height;
    return this.options.store.inTransaction(async (tx) => {
      const position = await tx.lockSyncPosition();
      const refusal = stamp && (await this.admit(tx, position.session, stamp));
      if (refusal) return refusal;
      const target = await this.rollbackTarget(tx, position, event);
      if (target === 'unchanged') return { kind: 'unchanged', reason: 'already at the rollback point' } as const;
      const outcome = await tx.rollBackAfter(target, this.actor);
      const invoices = await judgeInvoices(tx, {
        touchedIds: touchedInvoiceIds(outcome.rolledBack, outcome.reversed),
        tip: target === 'origin' ? null : { height: target.height, time: target.time },
        afterRollback: true,
        judgedAt: this.options.clock.now(),
      });
      const payouts = await trackPayoutsBack(tx, target === 'origin' ? -1n : target.height);
      await tx.saveSyncPosition({ tip: target === 'origin' ? null : target, networkTipHeight });
      return { kind: 'rolled_back', to: target, outcome, invoices, payouts } as const;
    });
  }

  /** Null when the event is admitted (its steps are then recorded as applied with this transaction). */
  private async admit(tx: EngineTransaction, session: LeaderSessionState, stamp: EventStamp): Promise<ApplyOutcome | null> {
    const admission = admitEvent(session, stamp);
    switch (admission.kind) {
      case 'admitted':
        await tx.recordAppliedStep(stamp.steps.last);
        return null;
      case 'out_of_step':
        throw new SessionOutOfStepError(admission.reason);
      default:
        return { kind: 'unchanged', reason: admission.reason, refused: admission.kind };
    }
  }

  private async rollbackTarget(
    tx: EngineTransaction,
    position: SyncPosition,
    event: RollBackward,
  ): Promise<AppliedBlock | 'origin' | 'unchanged'> {
    const { point } = event;
    // Nothing applied yet: the rollback that follows the first intersection only marks where we start.
    if (position.tip === null) return 'unchanged';
    if (point === 'origin') return 'origin';
    if (point.hash === position.tip.hash) return 'unchanged';
    const block = await tx.findBlock(point.hash);
    if (!block) {
      throw new UnknownRollbackPointError(
        point,
        `the block is not among the ${this.retainedBlocks} retained blocks of the engine's chain (tip ${describePoint(position.tip)})`,
      );
    }
    if (block.slot !== point.slot) {
      throw new UnknownRollbackPointError(point, `the engine holds that block at slot ${block.slot}`);
    }
    return block;
  }

  /**
   * Drops the leading blocks that are already applied; what remains must extend the tip. A block that is
   * neither applied nor the tip's successor means the event stream and the database disagree.
   */
  private async blocksNotYetApplied(
    tx: EngineTransaction,
    tip: AppliedBlock | null,
    blocks: readonly ChainBlock[],
  ): Promise<readonly ChainBlock[]> {
    // The usual case in catch-up: the batch starts right after the tip, so none of it can be applied yet.
    if (tip !== null && blocks[0]?.ancestor === tip.hash) return this.extendingTip(tip, blocks);
    const applied = await tx.appliedBlocks(blocks.map((block) => block.hash));
    const firstNew = blocks.findIndex((block) => !applied.has(block.hash));
    if (firstNew === -1) return [];
    const rest = blocks.slice(firstNew);
    const reapplied = rest.find((block) => applied.has(block.hash));
    if (reapplied) {
      throw new ChainContinuityError(reapplied, tip, 'it is applied already but follows a block that is not');
    }
    if (tip === null) return rest; // the first block the engine sees is where its history starts
    return this.extendingTip(tip, rest);
  }

  /** The blocks, checked to start right after the tip. */
  private extendingTip(tip: AppliedBlock, blocks: readonly ChainBlock[]): readonly ChainBlock[] {
    const first = blocks[0]!;
    if (first.ancestor !== tip.hash) {
      throw new ChainContinuityError(first, tip, `its ancestor is ${first.ancestor}`);
    }
    if (first.height !== nextHeight(tip.height, first)) {
      throw new ChainContinuityError(first, tip, `its height should be ${nextHeight(tip.height, first)}`);
    }
    return blocks;
  }

  /** Gives every new block its slot (epoch boundary blocks have none) and its wall-clock time. */
  private placeOnChain(blocks: readonly ChainBlock[], tip: AppliedBlock | null): { block: ChainBlock; applied: AppliedBlock }[] {
    let previousSlot = tip?.slot;
    return blocks.map((block) => {
      const slot = block.slot ?? epochBoundarySlot(this.options.network, previousSlot);
      previousSlot = slot;
      return {
        block,
        applied: {
          hash: block.hash,
          height: block.height,
          slot,
          ancestor: block.ancestor,
          time: slotToTime(this.options.network, slot),
        },
      };
    });
  }

  /** The first block of every hour is kept forever, so a rebuild can start from any day. */
  private checkpointsAmong(blocks: readonly { block: ChainBlock; applied: AppliedBlock }[], tip: AppliedBlock | null): AppliedBlock[] {
    const hourOf = (block: AppliedBlock) => Math.floor(block.time.getTime() / 1000 / SECONDS_PER_CHECKPOINT);
    let previousHour = tip ? hourOf(tip) : undefined;
    const checkpoints: AppliedBlock[] = [];
    for (const { block, applied } of blocks) {
      if (block.slot === undefined) continue; // an epoch boundary block is never a resume point
      const hour = hourOf(applied);
      if (hour !== previousHour) checkpoints.push(applied);
      previousHour = hour;
    }
    return checkpoints;
  }

  private report(outcome: ApplyOutcome, networkTip: Tip | 'origin', seconds: number): void {
    const { logger, metrics } = this.options;
    metrics.observe(Metric.blockProcessingSeconds, seconds);
    if (outcome.kind === 'unchanged') {
      this.reportRefusal(outcome);
      return;
    }
    const networkHeight = networkTip === 'origin' ? 0n : networkTip.height;

    if (outcome.kind === 'applied') {
      const { tip } = outcome;
      metrics.count(Metric.blocksApplied, outcome.blocks);
      metrics.gauge(Metric.syncHeight, Number(tip.height));
      metrics.gauge(Metric.syncLag, Number(networkHeight - tip.height));
      for (const payment of outcome.detected) {
        logger.info(LogEvent.paymentDetected, this.paymentFields(payment, tip));
        metrics.count(Metric.paymentsDetected, 1, { [MetricDimension.referenceType]: payment.referenceType });
        metrics.observe(Metric.paymentValueAda, adaForDisplay(payment.lovelace));
      }
      for (const payment of outcome.confirmed) {
        logger.info(LogEvent.paymentConfirmed, this.paymentFields(payment, tip));
        metrics.count(Metric.paymentsConfirmed, 1, { [MetricDimension.referenceType]: payment.referenceType });
      }
      logger.debug(LogEvent.blocksApplied, { blocks: outcome.blocks, block_height: tip.height, spent: outcome.spent });
      if (outcome.rebuild) reportRebuildStep(outcome.rebuild, outcome.blocks, { logger, metrics });
      this.reportInvoices(outcome.invoices, tip.height);
      this.reportPayouts(outcome.payouts, tip.height);
      return;
    }

    const { outcome: rollback, to } = outcome;
    const height = to === 'origin' ? 0n : to.height;
    metrics.count(Metric.rollbacks);
    metrics.observe(Metric.rollbackDepth, rollback.blocksRemoved);
    metrics.gauge(Metric.syncHeight, Number(height));
    logger.warn(LogEvent.rollback, {
      point: to === 'origin' ? 'origin' : describePoint(to),
      block_height: height,
      blocks_rolled_back: rollback.blocksRemoved,
      affected_payments: rollback.rolledBack.length + rollback.reversed.length,
      spends_undone: rollback.spendsUndone,
    });
    for (const payment of rollback.reversed) {
      metrics.count(Metric.paymentsReversed, 1, { [MetricDimension.referenceType]: payment.referenceType });
      logger.critical(LogEvent.paymentReversed, this.paymentFields(payment, null));
    }
    this.reportInvoices(outcome.invoices, height);
    this.reportPayouts(outcome.payouts, height);
  }

  /**
   * One line and one count per payout transaction moved; another transaction spending a payout's coins is critical at
   * once (someone else spends from the hot wallet), and again when that spend is confirmed and the payout fails. An
   * earlier transaction that lands after all is told, and critical (counted as a failed payout) for a payout it paid
   * after that payout was cancelled.
   */
  private reportPayouts({ moves, conflicts, revivals }: PayoutTracking, tipHeight: bigint): void {
    const { logger, metrics } = this.options;
    for (const revival of revivals) {
      logger.warn(LogEvent.payoutTransactionRevived, {
        tx_hash: revival.landed,
        replaced_tx_hash: revival.holder,
        included_at_height: revival.block.height,
        payouts: revival.payouts,
        block_height: tipHeight,
      });
      for (const closed of revival.paidThoughClosed) {
        metrics.count(Metric.payoutsFailed);
        logger.critical(LogEvent.payoutPaidAfterClose, { tx_hash: revival.landed, payout_id: closed.payoutId, status: closed.status });
      }
    }
    for (const conflict of conflicts) {
      logger.critical(LogEvent.payoutInputSpentElsewhere, {
        tx_hash: conflict.transactionId,
        status: conflict.attemptStatus,
        spent_at_height: conflict.height,
        reason: conflict.reason,
        block_height: tipHeight,
      });
    }
    for (const move of moves) {
      const fields = { ...attemptMoveFields(move), block_height: tipHeight };
      metrics.count(Metric.payoutAttemptMoves, 1, { [MetricDimension.status]: move.to });
      if (move.to === 'failed') {
        metrics.count(Metric.payoutsFailed);
        logger.critical(LogEvent.payoutFailed, fields);
      } else {
        logger.info(LogEvent.payoutAttemptMoved, fields);
      }
    }
  }

  /** One line and one count per invoice event; an invoice that was settled and lost its payment is critical. */
  private reportInvoices(changes: readonly InvoiceChange[], tipHeight: bigint): void {
    const { logger, metrics } = this.options;
    for (const { invoice, before, transitions } of changes) {
      for (const transition of transitions) {
        const fields = {
          invoice_id: invoice.id,
          reference_id: invoice.referenceId,
          event_type: transition.type,
          status: invoice.status,
          additional_status: invoice.additionalStatus,
          previous_status: before.status,
          previous_additional_status: before.additionalStatus,
          settles_at_height: invoice.settlesAtHeight,
          block_height: tipHeight,
        };
        metrics.count(Metric.invoiceTransitions, 1, { [MetricDimension.eventType]: transition.type });
        if (transition.type === 'invoice.invalid') {
          metrics.count(Metric.invoicesInvalidated);
          logger.critical(LogEvent.invoiceInvalidated, fields);
        } else {
          logger.info(LogEvent.invoiceTransition, fields);
        }
      }
    }
  }

  private reportRefusal({ refused, reason }: Extract<ApplyOutcome, { kind: 'unchanged' }>): void {
    const { logger, metrics } = this.options;
    switch (refused) {
      case 'stale':
        logger.warn(LogEvent.staleEventDropped, { reason });
        metrics.count(Metric.staleEventsDropped);
        return;
      case 'duplicate':
        logger.info(LogEvent.duplicateEventDropped, { reason });
        metrics.count(Metric.duplicateEventsDropped);
        return;
      case 'halted':
        // Nothing is lost: the chain is re-derived from the database's points when the pipeline resumes.
        logger.critical(LogEvent.pipelineHaltedMessageDropped, { reason });
        metrics.gauge(Metric.pipelineHalted, 1);
        return;
      case undefined:
        return;
    }
  }

  private paymentFields(payment: Payment, tip: AppliedBlock | null) {
    return {
      tx_hash: payment.txId,
      output_index: payment.index,
      amount_ada: adaForDisplay(payment.lovelace),
      amount_lovelace: payment.lovelace.toString(),
      assets: payment.assets.length,
      reference_type: payment.referenceType,
      reference_id: payment.referenceId,
      user_id: payment.userId,
      block_height: payment.blockHeight,
      ...(tip ? { confirmations: Number(tip.height - payment.blockHeight + 1n) } : {}),
      latency_seconds: (this.options.clock.now().getTime() - payment.blockTime.getTime()) / 1000,
    };
  }
}

function assertConsecutive(blocks: readonly ChainBlock[]): void {
  for (let i = 1; i < blocks.length; i++) {
    const block = blocks[i]!;
    const previous = blocks[i - 1]!;
    if (block.ancestor !== previous.hash) {
      throw new ChainContinuityError(
        block,
        undefined,
        `the batch is not consecutive: it follows ${previous.hash}, not its ancestor ${block.ancestor}`,
      );
    }
    if (block.height !== nextHeight(previous.height, block)) {
      throw new ChainContinuityError(
        block,
        undefined,
        `the batch is not consecutive: its height should be ${nextHeight(previous.height, block)}`,
      );
    }
  }
}

/** Heights grow by one per block, except that an epoch boundary block (no slot) repeats its predecessor's. */
function nextHeight(previousHeight: bigint, block: ChainBlock): bigint {
  return block.slot === undefined ? previousHeight : previousHeight + 1n;
}
