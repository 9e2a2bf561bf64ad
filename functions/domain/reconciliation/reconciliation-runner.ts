/**
 * Works through a reconciliation run: address chunk after address chunk (the chain's UTxOs against the database's
 * payments), then the balances against the ledger, then the summary. Memory holds one chunk at a time.
 *
 * Resumable: every chunk is recorded with the cursor it started from, so the run can stop after any chunk (the
 * time budget of a Lambda) and be continued by another invocation; a chunk that two invocations compare is
 * counted once (the second one finds the cursor moved and steps aside).
 *
 * Lag: a chunk compared while the database lags the node cannot judge what the lag may explain. The database is
 * usually only a block behind for a moment, so such a chunk is compared again after a short wait, a few times,
 * before it is recorded as lagging; once a chunk stayed lagging despite the waits (the database is far behind),
 * the next chunks do not wait until one is consistent again, so waiting is bounded per lagging spell.
 */
import { adaForDisplay, LogEvent, Metric } from '../observability.js';
import type { Logger, Metrics } from '../ports.js';
import type { BlockPoint, Point } from '../chain.js';
import { compareChunk, discrepancyTotal, type ComparisonMode, type OutputDiscrepancy } from './classification.js';
import {
  isFullReconciliation,
  type AppliedPoint,
  type ChainLedger,
  type ReconciliationRecords,
  type ReconciliationRun,
  type ReconciliationRunStore,
} from './ports.js';

export interface ReconciliationRunnerOptions {
  records: ReconciliationRecords;
  chain: ChainLedger;
  runs: ReconciliationRunStore;
  logger: Logger;
  metrics: Metrics;
  /** Addresses per chunk: one UTxO query and one database read each. */
  chunkSize: number;
  /** Discrepancies kept in detail (and logged one per line) per run; the counts are always complete. */
  detailLimit?: number;
  /** Comparisons of a lagging chunk after the first one, and the wait before each. Default 3 × 1 s. */
  laggingRetries?: number;
  laggingRetryDelayMs?: number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

export type RunProgress =
  | { outcome: 'completed'; run: ReconciliationRun }
  /** Time ran short: the run stopped after a recorded chunk and must be continued. */
  | { outcome: 'paused'; run: ReconciliationRun }
  /** Another invocation advanced or ended the run meanwhile: this one stops, having recorded nothing twice. */
  | { outcome: 'superseded'; run: ReconciliationRun | null };

export const DEFAULT_DETAIL_LIMIT = 500;
export const DEFAULT_LAGGING_RETRIES = 3;
export const DEFAULT_LAGGING_RETRY_DELAY_MS = 1_000;

interface ChunkComparison {
  mode: ComparisonMode;
  applied: AppliedPoint | null;
  counts: ReturnType<typeof compareChunk>['counts'];
  discrepancies: OutputDiscrepancy[];
  attempts: number;
}

export class ReconciliationRunner {
  private readonly detailLimit: number;
  private readonly laggingRetries: number;
  private readonly laggingRetryDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: ReconciliationRunnerOptions) {
    if (!Number.isSafeInteger(options.chunkSize) || options.chunkSize < 1) throw new RangeError('chunkSize must be a whole number ≥ 1');
    this.detailLimit = options.detailLimit ?? DEFAULT_DETAIL_LIMIT;
    this.laggingRetries = options.laggingRetries ?? DEFAULT_LAGGING_RETRIES;
    this.laggingRetryDelayMs = options.laggingRetryDelayMs ?? DEFAULT_LAGGING_RETRY_DELAY_MS;
    if (!Number.isSafeInteger(this.laggingRetries) || this.laggingRetries < 0) throw new RangeError('laggingRetries must be a whole number ≥ 0');
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * Continues `run` from its cursor while `hasTimeForMore()` says so after each chunk (at least one chunk is
   * always done, so every invocation makes progress).
   */
  async advance(run: ReconciliationRun, hasTimeForMore: () => boolean): Promise<RunProgress> {
    const { records, runs } = this.options;
    let cursor = run.addressCursor;
    let waitForLag = true;
    for (;;) {
      const chunk = await records.addressesAfter(cursor, this.options.chunkSize);
      if (chunk === null) return this.complete(run);
      const recorded = await this.compareAndRecord(run.id, cursor, chunk.addresses, chunk.lastId, waitForLag);
      if (recorded === 'stale') return { outcome: 'superseded', run: await runs.find(run.id) };
      waitForLag = recorded.mode === 'consistent';
      cursor = chunk.lastId;
      // A short chunk was the last one: no need to spend an invocation finding out.
      if (chunk.addresses.length < this.options.chunkSize) return this.complete(run);
      if (!hasTimeForMore()) {
        const current = await runs.find(run.id);
        return current?.status === 'running' ? { outcome: 'paused', run: current } : { outcome: 'superseded', run: current };
      }
    }
  }

  private async compareAndRecord(
    runId: bigint,
    fromCursor: bigint,
    addresses: string[],
    toCursor: bigint,
    waitForLag: boolean,
  ): Promise<{ mode: ComparisonMode } | 'stale'> {
    const { runs, logger } = this.options;
    let comparison = await this.compare(addresses);
    for (let retry = 1; waitForLag && comparison.mode === 'lagging' && retry <= this.laggingRetries; retry++) {
      await this.sleep(this.laggingRetryDelayMs);
      comparison = { ...(await this.compare(addresses)), attempts: retry + 1 };
    }
    const { mode, applied, counts, discrepancies } = comparison;
    const recorded = await runs.recordChunk(
      runId,
      { fromCursor, toCursor, addresses: addresses.length, mode, point: mode === 'consistent' ? applied : null, counts, discrepancies },
      this.detailLimit,
    );
    if (recorded === 'stale') return 'stale';
    for (const discrepancy of discrepancies.slice(0, recorded.detailed)) {
      logger.warn(LogEvent.reconciliationDiscrepancy, describeDiscrepancy(runId, discrepancy));
    }
    if (mode === 'lagging' && counts.tooRecent > 0) {
      // Not judged, not hidden: the outputs of this chunk that the lag may explain.
      logger.warn(LogEvent.reconciliationChunkLagging, {
        run_id: runId.toString(),
        after_address_id: fromCursor.toString(),
        to_address_id: toCursor.toString(),
        addresses: addresses.length,
        too_recent: counts.tooRecent,
        applied_height: applied?.height.toString() ?? null,
        comparisons: comparison.attempts,
      });
    }
    return { mode };
  }

  /** One comparison of the chunk. The database is read after the chain: it can only have caught up, never the other way round. */
  private async compare(addresses: readonly string[]): Promise<ChunkComparison> {
    const { chain, records } = this.options;
    const tipBefore = await chain.tip();
    const outputs = await chain.utxoAt(addresses);
    const tipAfter = await chain.tip();
    const snapshot = await records.paymentsAt(addresses);
    const mode = comparisonMode(tipBefore, tipAfter, snapshot.applied);
    return { mode, applied: snapshot.applied, ...compareChunk(outputs, snapshot.payments, mode), attempts: 1 };
  }

  private async complete(run: ReconciliationRun): Promise<RunProgress> {
    const { records, runs, logger, metrics } = this.options;
    const runId = run.id;
    const verification = await records.verifyBalances(this.detailLimit);
    if ((await runs.recordBalances(runId, verification)) === 'recorded') {
      for (const mismatch of verification.mismatches) {
        logger.error(LogEvent.balanceMismatch, {
          run_id: runId.toString(),
          user_id: mismatch.userId,
          stored_lovelace: mismatch.storedLovelace.toString(),
          calculated_lovelace: mismatch.calculatedLovelace.toString(),
          difference_lovelace: (mismatch.storedLovelace - mismatch.calculatedLovelace).toString(),
        });
      }
    }
    const finished = await runs.finish(runId, { status: 'completed' });
    if (finished === null) return { outcome: 'superseded', run: await runs.find(runId) };

    // One set of figures per full run, whatever the number of invocations it took: what the alarms read. A
    // reconnect run reports none: its 0 would clear a finding of the daily run, and it is no daily run.
    const { counts } = finished;
    const discrepancies = discrepancyTotal(counts);
    if (isFullReconciliation(finished.trigger)) {
      metrics.count(Metric.reconciliationRuns, 1);
      metrics.count(Metric.reconciliationDiscrepancies, discrepancies);
      metrics.count(Metric.reconciliationMatched, counts.matched);
      metrics.count(Metric.reconciliationTooRecent, counts.tooRecent);
      metrics.count(Metric.balanceMismatches, counts.balanceMismatches ?? 0);
    }
    const summary = describeRun(finished);
    if (discrepancies > 0 || (counts.balanceMismatches ?? 0) > 0) logger.error(LogEvent.reconciliationDiscrepancy, { summary: true, ...summary });
    else logger.info(LogEvent.reconciliationSuccess, summary);
    return { outcome: 'completed', run: finished };
  }
}

/** Consistent only when the node stayed on the database's applied block for the whole query (see classification.ts). */
export function comparisonMode(tipBefore: Point, tipAfter: Point, applied: AppliedPoint | null): ComparisonMode {
  if (applied === null) return tipBefore === 'origin' && tipAfter === 'origin' ? 'consistent' : 'lagging';
  return samePoint(tipBefore, applied) && samePoint(tipAfter, applied) ? 'consistent' : 'lagging';
}

function samePoint(point: Point, block: BlockPoint): boolean {
  return point !== 'origin' && point.hash === block.hash && point.slot === block.slot;
}

function describeDiscrepancy(runId: bigint, discrepancy: OutputDiscrepancy): Record<string, unknown> {
  return {
    run_id: runId.toString(),
    kind: discrepancy.kind,
    tx_hash: discrepancy.txId,
    output_index: discrepancy.index,
    address: discrepancy.address,
    ...(discrepancy.chain
      ? { chain_lovelace: discrepancy.chain.lovelace.toString(), chain_ada: adaForDisplay(discrepancy.chain.lovelace), chain_tokens: discrepancy.chain.assets.length }
      : {}),
    ...(discrepancy.db
      ? { db_lovelace: discrepancy.db.lovelace.toString(), db_ada: adaForDisplay(discrepancy.db.lovelace), db_tokens: discrepancy.db.assets.length, db_spent: discrepancy.db.spent }
      : {}),
  };
}

/** The run as operators read it in the logs and the CLI: integers as numbers or decimal strings, never floats. */
export function describeRun(run: ReconciliationRun): Record<string, unknown> {
  const { counts } = run;
  return {
    run_id: run.id.toString(),
    trigger: run.trigger,
    status: run.status,
    started_at: run.startedAt.toISOString(),
    finished_at: run.finishedAt?.toISOString() ?? null,
    invocations: run.invocations,
    addresses: counts.addresses,
    chunks: counts.chunks,
    lagging_chunks: counts.laggingChunks,
    /** False when some chunk was compared while the database lagged: its too_recent outputs were not judged. */
    fully_judged: counts.laggingChunks === 0,
    compared_from_height: run.firstPointHeight?.toString() ?? null,
    compared_at: run.lastPoint ? { height: run.lastPoint.height.toString(), slot: run.lastPoint.slot.toString(), hash: run.lastPoint.hash } : null,
    matched: counts.matched,
    missing_in_db: counts.missingInDb,
    extra_in_db: counts.extraInDb,
    amount_mismatch: counts.amountMismatch,
    asset_mismatch: counts.assetMismatch,
    too_recent: counts.tooRecent,
    discrepancies: discrepancyTotal(counts),
    balance_mismatches: counts.balanceMismatches,
    ...(run.failedAttempts > 0 ? { failed_attempts: run.failedAttempts } : {}),
    ...(run.error ? { error: run.error } : {}),
  };
}
