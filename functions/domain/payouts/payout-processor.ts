/**
 * The payout processor (issue 16): one run takes approved payouts to the chain. In order:
 *
 * 1. expire: a submitted transaction whose validity interval a confirmed block has passed can never land; its
 *    payouts go back to approved (payout-execution.ts).
 * 2. build: approved payouts, oldest first, batched into one transaction from the hot wallet's unreserved outputs;
 *    the outputs are reserved in the same database transaction (two builders never share one).
 * 3. sign: the body hash, by the signer (KMS on AWS), every signature verified before it is kept.
 * 4. submit: signed transactions, and submitted ones again while they can still land (mempools forget).
 *
 * The engine does the rest from the chain (payout-tracking.ts): in a block, confirmed, failed, back to submitted.
 * Every step can be repeated: each move is written only from the status it names. One processor runs at a time
 * per hot wallet (a reserved concurrency of one on AWS, one process locally); the build also takes a database lock,
 * and the reservations' primary key keeps two builds from sharing an input whatever runs.
 */
import type { Network } from '../network.js';
import { timeToSlot } from '../network.js';
import { adaForDisplay, LogEvent, Metric, describeError } from '../observability.js';
import type { Clock, Logger, Metrics } from '../ports.js';
import { type AttemptMove, type AttemptStatus, attemptMoveFields, expiryMove } from './payout-execution.js';
import { PROCESSOR_ACTOR } from './payout-rules.js';
import {
  type BuiltTransaction,
  type DeferredPayout,
  type PayoutOutput,
  type ProtocolParameters,
  type SpendableOutput,
  type TransactionBuilder,
  validUntil,
} from './transaction-builder.js';
import { SignerError, type TransactionSigner } from './transaction-signer.js';

/** A payout transaction as the processor reads it. */
export interface AttemptRecord {
  transactionId: string;
  status: AttemptStatus;
  bodyCbor: Uint8Array;
  signedCbor: Uint8Array | null;
  validUntilSlot: bigint;
  submissions: number;
  /** The first time it was handed to a node (counted before the node answered). */
  firstSentAt: Date | null;
  lastSubmittedAt: Date | null;
}

/**
 * An attempt that can no longer land on this chain but may have been sent, holding its inputs for its payouts
 * (payout-execution.ts `inputsAfter`): their next transaction spends every one of these inputs.
 */
export interface CarriedAttempt {
  transactionId: string;
  /** Its payouts still approved, oldest first. */
  payouts: PayoutOutput[];
  /** Its inputs no transaction has spent. */
  inputs: SpendableOutput[];
  /** Its inputs whose fate is not settled: spent in a block not yet final, or not on the engine's chain just now. */
  unknownInputs: number;
}

/** What one build may read and write, in one database transaction holding the hot wallet's build lock. */
export interface BuildSession {
  /**
   * Approved payouts with no live transaction and not carried, oldest first, leaving out those deferred alone since
   * `retryAfter` (they would hold back the payouts behind them).
   */
  approvedPayouts(limit: number, retryAfter: Date): Promise<PayoutOutput[]>;
  /** Every carried attempt, oldest first; an input spent in a block `finalDepth` deep or deeper is spent for good. */
  carriedAttempts(finalDepth: number): Promise<CarriedAttempt[]>;
  /** Lets a carried attempt's inputs go: every one was spent for good (it can never land), or no payout waits on it. */
  releaseCarried(transactionId: string): Promise<void>;
  /** Records the payouts no build could take even alone (an earlier record is replaced). */
  recordDeferrals(deferrals: readonly DeferredPayout[], at: Date): Promise<void>;
  /** The hot wallet's confirmed, unspent outputs that no live transaction reserves. */
  spendableOutputs(): Promise<SpendableOutput[]>;
  /**
   * Saves the transaction, reserves its inputs (refused if any is reserved already) and moves its payouts to built.
   * With `carriedFrom`, it takes over that attempt's inputs: its own are reserved, the rest let go; false, saving
   * nothing, when that attempt is no longer carried (the engine found it in a block meanwhile).
   */
  saveAttempt(built: BuiltTransaction, actor: string, at: Date, carriedFrom?: string): Promise<boolean>;
}

export interface PayoutExecutionStore {
  /** The slot of the engine's block at the confirmation depth below its tip; null before it has one. */
  confirmedSlot(confirmations: number): Promise<bigint | null>;
  attemptsIn(statuses: readonly AttemptStatus[]): Promise<AttemptRecord[]>;
  /** Writes each move in its own transaction, only from the status it names; returns those made. */
  moveAttempts(moves: readonly AttemptMove[], actor: string): Promise<AttemptMove[]>;
  /** Runs a build; undefined when another builder holds the lock (it will build these payouts). */
  build<T>(work: (session: BuildSession) => Promise<T>): Promise<T | undefined>;
  /** built → signed, with the signed transaction; false when the attempt was no longer built. */
  recordSigned(transactionId: string, signedCbor: Uint8Array, actor: string, at: Date): Promise<boolean>;
  /**
   * Counts a send before the node is asked, and returns how many there were with this one: a crash after a node
   * accepted the transaction still leaves it counted, so it is never taken for a transaction no node has seen.
   */
  recordSend(transactionId: string, at: Date): Promise<number>;
  /** Counts a submission (accepted or refused, with the refusal); an accepted signed one moves to submitted. */
  recordSubmission(transactionId: string, refusal: string | null, actor: string, at: Date): Promise<void>;
  /**
   * The hot wallet's lovelace as the monitor's own records hold it: every unspent output the engine saw (`recorded`,
   * what reconciliation compares with the chain), and those a build may take (`spendable`: confirmed, unreserved).
   */
  hotWalletBalance(): Promise<{ recorded: bigint; spendable: bigint }>;
  /** When the oldest approved payout with no live transaction was approved; null when none waits. */
  oldestApprovedAt(): Promise<Date | null>;
}

export type SubmitRefusalKind = 'inputs_spent' | 'outside_validity' | 'fee_too_small' | 'invalid';

export type SubmitOutcome = { kind: 'accepted' } | { kind: 'refused'; reason: SubmitRefusalKind; detail: string };

/** Submits a signed transaction to the network (Ogmios' submitTransaction); throws when it could not ask. */
export interface TransactionSubmitter {
  submit(signedCbor: Uint8Array): Promise<SubmitOutcome>;
}

export interface PayoutProcessorOptions {
  store: PayoutExecutionStore;
  builder: TransactionBuilder;
  /** Verifying (transaction-signer.ts verifyingSigner): a signature that does not verify is never kept. */
  signer: TransactionSigner;
  submitter: TransactionSubmitter;
  protocolParameters: () => Promise<ProtocolParameters>;
  /** The hot wallet: the signer's enterprise address (change goes back to it) and its key hash. */
  hotWallet: { address: string; keyHash: string };
  network: Network;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /**
   * The engine's confirmation depth. An attempt expires once a block this deep (at least MIN_EXPIRY_DEPTH) is past
   * its validity interval.
   */
  confirmations: number;
  /** How long a transaction stays valid after it is built. */
  validitySeconds: number;
  /** A submitted transaction is submitted again after this long without reaching a block. */
  resubmitAfterSeconds: number;
  /** Payouts considered per build (the builder stops at the size limit anyway). */
  maxPayoutsPerBuild?: number;
}

export interface ProcessorReport {
  expired: number;
  built: { transactionId: string; payouts: number; fee: bigint } | null;
  deferred: readonly DeferredPayout[];
  signed: number;
  submitted: number;
  refused: number;
  signerErrors: number;
}

const DEFAULT_MAX_PAYOUTS_PER_BUILD = 200;
/**
 * Expiry hands a payout to a new transaction, possibly from other coins: the old one must never land after that, so
 * the block past its validity must be deeper than any rollback expected, whatever CONFIRMATIONS says (it may be as
 * low as 1 for crediting, where a rollback is undone by a reversal; a payout sent twice is not undone).
 */
export const MIN_EXPIRY_DEPTH = 30;
/** A payout no build could take even alone is left out of the builds of this many minutes, then tried again. */
export const DEFERRAL_RETRY_MINUTES = 10;

export class PayoutProcessor {
  constructor(private readonly options: PayoutProcessorOptions) {
    for (const [name, value] of Object.entries({
      confirmations: options.confirmations,
      validitySeconds: options.validitySeconds,
      resubmitAfterSeconds: options.resubmitAfterSeconds,
    })) {
      if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a whole number of at least 1; got ${value}`);
    }
  }

  async runOnce(): Promise<ProcessorReport> {
    const expired = await this.expire();
    const { built, deferred } = await this.build().catch((error: unknown) => {
      // A build that fails (a payout the library refuses, Ogmios unreachable for the parameters) must not keep what
      // was built, signed or submitted before from moving on: logged, and tried again at the next run.
      this.options.logger.error(LogEvent.payoutBuildFailed, { error: describeError(error) });
      this.options.metrics.count(Metric.payoutBuildFailures);
      return { built: null, deferred: [] };
    });
    const signing = await this.sign();
    const submission = await this.submit();
    await this.reportWaiting();
    return { expired, built, deferred, ...signing, ...submission };
  }

  private async reportWaiting(): Promise<void> {
    const { store, metrics, clock } = this.options;
    // Signed ones too: one sent before a crash is recorded as signed, and waits for a block all the same.
    const waiting = await store.attemptsIn(['signed', 'submitted']);
    metrics.gauge(Metric.payoutOldestSubmittedMinutes, oldestSubmittedMinutes(waiting, clock.now()));
    const approvedAt = await store.oldestApprovedAt();
    metrics.gauge(
      Metric.payoutOldestApprovedMinutes,
      approvedAt ? Math.max(0, (clock.now().getTime() - approvedAt.getTime()) / 60_000) : 0,
    );
    const balance = await store.hotWalletBalance();
    metrics.gauge(Metric.hotWalletRecordedAda, adaForDisplay(balance.recorded));
    metrics.gauge(Metric.hotWalletSpendableAda, adaForDisplay(balance.spendable));
  }

  private async expire(): Promise<number> {
    const { store } = this.options;
    const live = await store.attemptsIn(['built', 'signed', 'submitted']);
    if (live.length === 0) return 0;
    const confirmedSlot = await store.confirmedSlot(this.expiryDepth());
    const moves = live.flatMap((attempt) => expiryMove(attempt, confirmedSlot) ?? []);
    const made = await store.moveAttempts(moves, PROCESSOR_ACTOR);
    for (const move of made) this.options.logger.warn(LogEvent.payoutAttemptMoved, attemptMoveFields(move));
    return made.length;
  }

  /** How deep a block must be for what it shows to be taken as final here (expiry, a carried input spent). */
  private expiryDepth(): number {
    return Math.max(this.options.confirmations, MIN_EXPIRY_DEPTH);
  }

  private async build(): Promise<Pick<ProcessorReport, 'built' | 'deferred'>> {
    const { store, clock, logger, metrics } = this.options;
    const outcome = await store.build(async (session) => {
      const now = clock.now();
      const carried = await this.buildCarried(session, now);
      if (carried) return carried;
      const retryAfter = new Date(now.getTime() - DEFERRAL_RETRY_MINUTES * 60_000);
      const payouts = await session.approvedPayouts(this.options.maxPayoutsPerBuild ?? DEFAULT_MAX_PAYOUTS_PER_BUILD, retryAfter);
      if (payouts.length === 0) return { built: null, deferred: [] };
      const result = await this.buildTransaction(payouts, await session.spendableOutputs(), now);
      if (result.built) await session.saveAttempt(result.built, PROCESSOR_ACTOR, now);
      await session.recordDeferrals(
        result.deferred.filter((deferral) => deferral.alone),
        now,
      );
      return {
        built: result.built
          ? { transactionId: result.built.transactionId, payouts: result.built.included.length, fee: result.built.fee }
          : null,
        deferred: result.deferred,
      };
    });
    if (!outcome) return { built: null, deferred: [] };
    if (outcome.built) {
      metrics.count(Metric.payoutTransactionsBuilt);
      logger.info(LogEvent.payoutTransactionBuilt, {
        tx_hash: outcome.built.transactionId,
        payouts: outcome.built.payouts,
        fee_lovelace: outcome.built.fee.toString(),
      });
    }
    for (const deferral of outcome.deferred) {
      // A payout that cannot go even alone waits for the hot wallet to be refilled (or is too big for one transaction).
      (deferral.alone ? logger.warn : logger.info).call(logger, LogEvent.payoutDeferred, {
        payout_id: deferral.payoutId,
        reason: deferral.reason,
        alone: deferral.alone,
        detail: deferral.detail,
      });
    }
    return outcome;
  }

  private async buildTransaction(
    payouts: readonly PayoutOutput[],
    available: readonly SpendableOutput[],
    now: Date,
    required?: readonly SpendableOutput[],
  ) {
    const { hotWallet } = this.options;
    return this.options.builder.build({
      payouts,
      available,
      ...(required ? { required } : {}),
      changeAddress: hotWallet.address,
      validUntilSlot: validUntil(timeToSlot(this.options.network, now), this.options.validitySeconds),
      protocolParameters: await this.options.protocolParameters(),
      signerKeyHash: hotWallet.keyHash,
    });
  }

  /**
   * The next transaction of a carried attempt's payouts: it spends every carried input (other coins may add to them)
   * and takes all its payouts or none: a payout left out would go later from other coins, beside a transaction that
   * may still land. While the fate of a carried input is unknown (a rollback or a rebuild), it waits; once every input
   * was spent for good, the attempt can never land and lets them go. Undefined when no carried attempt was built.
   */
  private async buildCarried(session: BuildSession, now: Date): Promise<Pick<ProcessorReport, 'built' | 'deferred'> | undefined> {
    const { logger } = this.options;
    for (const carried of await session.carriedAttempts(this.expiryDepth())) {
      if (carried.unknownInputs > 0) {
        // Off the engine's chain for now (a deep rollback, a rebuild under way): only the chain can say.
        logger.warn(LogEvent.payoutCarriedWaiting, {
          tx_hash: carried.transactionId,
          unknown_inputs: carried.unknownInputs,
          payouts: carried.payouts.map((payout) => payout.payoutId),
        });
        continue;
      }
      if (carried.inputs.length === 0 || carried.payouts.length === 0) {
        await session.releaseCarried(carried.transactionId);
        logger.info(LogEvent.payoutInputsReleased, {
          tx_hash: carried.transactionId,
          reason: carried.inputs.length === 0 ? 'every input was spent for good' : 'none of its payouts waits',
        });
        continue;
      }
      const result = await this.buildTransaction(carried.payouts, await session.spendableOutputs(), now, carried.inputs);
      if (result.built && result.deferred.length === 0) {
        if (!(await session.saveAttempt(result.built, PROCESSOR_ACTOR, now, carried.transactionId))) continue;
        return {
          built: { transactionId: result.built.transactionId, payouts: result.built.included.length, fee: result.built.fee },
          deferred: [],
        };
      }
      // The hot wallet cannot cover them all (or they no longer fit one transaction): they wait, watched by
      // PayoutNotSent. They cannot be cancelled: their transaction was signed and may still land.
      for (const deferral of result.deferred) {
        logger.warn(LogEvent.payoutDeferred, {
          payout_id: deferral.payoutId,
          reason: deferral.reason,
          alone: deferral.alone,
          detail: `${deferral.detail}; carried by ${carried.transactionId}: sent again only with all its inputs and all its payouts`,
        });
      }
    }
    return undefined;
  }

  private async sign(): Promise<Pick<ProcessorReport, 'signed' | 'signerErrors'>> {
    const { store, builder, signer, clock, logger, metrics } = this.options;
    let signed = 0;
    let signerErrors = 0;
    for (const attempt of await store.attemptsIn(['built'])) {
      try {
        const bodyHash = Buffer.from(attempt.transactionId, 'hex');
        const [vkey, signature] = await Promise.all([signer.publicKey(), signer.sign(bodyHash)]);
        const signedCbor = builder.withWitnesses(attempt.bodyCbor, [{ vkey, signature }]);
        if (await store.recordSigned(attempt.transactionId, signedCbor, PROCESSOR_ACTOR, clock.now())) signed++;
      } catch (error) {
        if (!(error instanceof SignerError)) throw error;
        // The attempt stays built: a transient cause is retried at the next run, a lasting one needs an operator.
        signerErrors++;
        metrics.count(Metric.payoutSignerErrors);
        logger.error(LogEvent.payoutSignerError, {
          tx_hash: attempt.transactionId,
          key_id: error.keyId,
          transient: error.transient,
          error: describeError(error),
        });
      }
    }
    return { signed, signerErrors };
  }

  private async submit(): Promise<Pick<ProcessorReport, 'submitted' | 'refused'>> {
    const { store, submitter, clock, logger, metrics } = this.options;
    const now = clock.now();
    const currentSlot = timeToSlot(this.options.network, now);
    const due = (await store.attemptsIn(['signed', 'submitted'])).filter(
      (attempt) =>
        attempt.signedCbor !== null &&
        currentSlot <= attempt.validUntilSlot &&
        (attempt.status === 'signed' ||
          attempt.lastSubmittedAt === null ||
          now.getTime() - attempt.lastSubmittedAt.getTime() >= this.options.resubmitAfterSeconds * 1000),
    );
    let submitted = 0;
    let refused = 0;
    for (const attempt of due) {
      let outcome: SubmitOutcome;
      const sends = await store.recordSend(attempt.transactionId, now);
      try {
        outcome = await submitter.submit(attempt.signedCbor!);
      } catch (error) {
        // Nothing was decided: the next run asks again.
        logger.warn(LogEvent.payoutSubmissionFailed, { tx_hash: attempt.transactionId, error: describeError(error) });
        continue;
      }
      if (outcome.kind === 'accepted') {
        await store.recordSubmission(attempt.transactionId, null, PROCESSOR_ACTOR, now);
        submitted++;
        metrics.count(Metric.payoutSubmissions);
        logger.info(LogEvent.payoutSubmitted, {
          tx_hash: attempt.transactionId,
          submissions: attempt.submissions + 1,
          valid_until_slot: attempt.validUntilSlot,
        });
        continue;
      }
      refused++;
      await this.refused(attempt, outcome, now, sends);
    }
    return { submitted, refused };
  }

  /**
   * A node's refusal. Spent inputs and a passed validity interval decide nothing here: the engine sees who spent the
   * inputs (ours in a block, or another's: failed) and expiry waits for a confirmed block. A transaction refused for
   * its fee or its form the first time it was ever sent can never land (no node has it): it is abandoned and built
   * again. Sent before (even if no answer was recorded), it waits for its expiry: a node may hold it.
   */
  private async refused(
    attempt: AttemptRecord,
    outcome: Extract<SubmitOutcome, { kind: 'refused' }>,
    now: Date,
    sends: number,
  ): Promise<void> {
    const { store, logger } = this.options;
    const detail = `${outcome.reason}: ${outcome.detail}`;
    await store.recordSubmission(attempt.transactionId, detail, PROCESSOR_ACTOR, now);
    const fields = { tx_hash: attempt.transactionId, reason: outcome.reason, detail: outcome.detail, status: attempt.status };
    const neverSentBefore = attempt.status === 'signed' && sends === 1;
    if (neverSentBefore && (outcome.reason === 'fee_too_small' || outcome.reason === 'invalid')) {
      logger.error(LogEvent.payoutSubmissionRefused, fields);
      await store.moveAttempts(
        [{ transactionId: attempt.transactionId, from: 'signed', to: 'abandoned', reason: detail, neverAccepted: true }],
        PROCESSOR_ACTOR,
      );
      return;
    }
    logger.warn(LogEvent.payoutSubmissionRefused, fields);
  }
}

/** The longest a sent payout transaction has waited for a block, in minutes (0 when none waits): PayoutStuck. */
export function oldestSubmittedMinutes(attempts: readonly Pick<AttemptRecord, 'firstSentAt'>[], now: Date): number {
  let oldest = 0;
  for (const { firstSentAt } of attempts) {
    if (firstSentAt) oldest = Math.max(oldest, (now.getTime() - firstSentAt.getTime()) / 60_000);
  }
  return oldest;
}
