/**
 * Works through a reconciliation run: address chunk after address chunk (the chain's UTxOs against the database's
 * payments), then the balances against the ledger, then the summary. Memory holds one chunk at a time.
 *
 * Bounded by size, not by address count: a chunk takes addresses while the outputs the database holds unspent at
 * them fit `maxChunkUtxos`; a node answer over the adapter's size bound halves the chunk (the next ones grow back);
 * an address over either bound alone is recorded as unjudged with its reason, and the run goes on.
 *
 * One ledger state per comparison: its tip, UTxO and tip queries run against one state acquired on one node. If
 * that state is lost between them (a reconnect may reach another node, behind or ahead), the comparison starts
 * again under a fresh acquisition instead of mixing answers of two nodes.
 *
 * Resumable: every chunk is recorded with the cursor it started from, so the run can stop after any chunk (the
 * time budget of a Lambda) and be continued by another invocation; a chunk that two invocations compare is
 * counted once (the second one finds the cursor moved and steps aside).
 *
 * Lag: a chunk compared while the database lags the node cannot judge what the lag may explain. The database is
 * usually only a block behind for a moment, so such a chunk is compared again after a short wait, a few times,
 * before it is recorded as lagging; once a chunk stayed lagging despite the waits (the database is far behind),
 * the next chunks do not wait until one is consistent again, so waiting is bounded per lagging spell.
 *
 * Openings: before an address is first compared, what it held when watching it began is read from the node's
 * ledger state at that block and kept (ports.ts, OpeningGroup); those outputs predate watching and are never
 * discrepancies. A watch start the node no longer keeps (older than its last k blocks) is read at the database's
 * applied block instead, and said so (reconciliation_opening_late).
 */
import { adaForDisplay, LogEvent, Metric } from '../observability.js';
import type { Logger, Metrics } from '../ports.js';
import { PAYMENT_POLICY, type PaymentPolicy } from '../payment-policy.js';
import type { BlockPoint, Point } from '../chain.js';
import {
  compareChunk,
  discrepancyTotal,
  emptyCounts,
  type ChainOutput,
  type ComparisonMode,
  type OutputDiscrepancy,
} from './classification.js';
import { nextChunk } from './chunk-plan.js';
import {
  isFullReconciliation,
  LedgerStateLostError,
  UnjudgedReason,
  UtxoAnswerTooLargeError,
  type AppliedPoint,
  type ChainLedger,
  type Opening,
  type RegisteredAddress,
  type ReconciliationRecords,
  type ReconciliationRun,
  type ReconciliationRunStore,
  type RunCounts,
  type UnjudgedAddress,
} from './ports.js';

export interface ReconciliationRunnerOptions {
  records: ReconciliationRecords;
  chain: ChainLedger;
  runs: ReconciliationRunStore;
  logger: Logger;
  metrics: Metrics;
  /** Addresses per chunk at most: one UTxO query and one database read each. */
  chunkSize: number;
  /** Unspent outputs the database may hold at one chunk's addresses (what the chain should answer). Default 40,000. */
  maxChunkUtxos?: number;
  /** Discrepancies kept in detail (and logged one per line) per run; the counts are always complete. */
  detailLimit?: number;
  /** Comparisons of a lagging chunk after the first one, and the wait before each. Default 3 × 1 s. */
  laggingRetries?: number;
  laggingRetryDelayMs?: number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Which outputs on chain are payments the database should hold (payment-policy.ts); default PAYMENT_POLICY. */
  paymentPolicy?: PaymentPolicy;
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
/** The largest chunk bench:reconcile measured (212 MiB of heap, 333 MiB RSS of the 512 MB function): a measured worst case. */
export const DEFAULT_MAX_CHUNK_UTXOS = 40_000;
/** Acquisitions one comparison may start (each after its state was lost) before the invocation fails. */
export const ACQUISITIONS_PER_COMPARISON = 5;

interface ChunkComparison {
  mode: ComparisonMode;
  applied: AppliedPoint | null;
  counts: ReturnType<typeof compareChunk>['counts'];
  discrepancies: OutputDiscrepancy[];
  attempts: number;
}

/** The chain's side of one comparison, all read from one acquired ledger state. */
interface ChainRead {
  tipBefore: Point;
  outputs: ChainOutput[];
  tipAfter: Point;
}

type ChunkOutcome = { mode: ComparisonMode | 'unjudged' } | 'stale' | 'too_large';

export class ReconciliationRunner {
  private readonly detailLimit: number;
  private readonly maxChunkUtxos: number;
  private readonly laggingRetries: number;
  private readonly laggingRetryDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly isPayment: PaymentPolicy;

  constructor(private readonly options: ReconciliationRunnerOptions) {
    if (!Number.isSafeInteger(options.chunkSize) || options.chunkSize < 1) throw new RangeError('chunkSize must be a whole number ≥ 1');
    this.detailLimit = options.detailLimit ?? DEFAULT_DETAIL_LIMIT;
    this.maxChunkUtxos = options.maxChunkUtxos ?? DEFAULT_MAX_CHUNK_UTXOS;
    if (!Number.isSafeInteger(this.maxChunkUtxos) || this.maxChunkUtxos < 1)
      throw new RangeError('maxChunkUtxos must be a whole number ≥ 1');
    this.laggingRetries = options.laggingRetries ?? DEFAULT_LAGGING_RETRIES;
    this.laggingRetryDelayMs = options.laggingRetryDelayMs ?? DEFAULT_LAGGING_RETRY_DELAY_MS;
    if (!Number.isSafeInteger(this.laggingRetries) || this.laggingRetries < 0)
      throw new RangeError('laggingRetries must be a whole number ≥ 0');
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.isPayment = options.paymentPolicy ?? PAYMENT_POLICY;
  }

  /**
   * Continues `run` from its cursor while `hasTimeForMore()` says so after each chunk (at least one chunk is
   * always done, so every invocation makes progress).
   */
  async advance(run: ReconciliationRun, hasTimeForMore: () => boolean): Promise<RunProgress> {
    const { records, runs, chunkSize } = this.options;
    let cursor = run.addressCursor;
    let waitForLag = true;
    // Addresses read ahead and not yet compared; the last read was the end when it came back short.
    let ahead: RegisteredAddress[] = [];
    let readToEnd = false;
    // Halved by an answer over the size bound, doubled back by each chunk that fits.
    let addressLimit = chunkSize;
    for (;;) {
      if (ahead.length === 0) {
        if (readToEnd) return this.complete(run);
        ahead = await records.addressesAfter(cursor, chunkSize);
        readToEnd = ahead.length < chunkSize;
        if (ahead.length === 0) return this.complete(run);
      }
      const chunk = nextChunk(ahead, addressLimit, this.maxChunkUtxos);
      const recorded = await this.compareAndRecord(run.id, cursor, chunk, waitForLag);
      if (recorded === 'stale') return { outcome: 'superseded', run: await runs.find(run.id) };
      if (recorded === 'too_large') {
        addressLimit = Math.max(1, Math.floor(chunk.length / 2));
        continue;
      }
      if (recorded.mode !== 'unjudged') waitForLag = recorded.mode === 'consistent';
      addressLimit = Math.min(chunkSize, addressLimit * 2);
      ahead = ahead.slice(chunk.length);
      cursor = chunk[chunk.length - 1]!.id;
      // The last chunk was just compared: no need to spend an invocation finding out.
      if (ahead.length === 0 && readToEnd) return this.complete(run);
      if (!hasTimeForMore()) {
        const current = await runs.find(run.id);
        return current?.status === 'running' ? { outcome: 'paused', run: current } : { outcome: 'superseded', run: current };
      }
    }
  }

  private async compareAndRecord(
    runId: bigint,
    fromCursor: bigint,
    chunk: readonly RegisteredAddress[],
    waitForLag: boolean,
  ): Promise<ChunkOutcome> {
    const { runs, logger } = this.options;
    const addresses = chunk.map((entry) => entry.address);
    const toCursor = chunk[chunk.length - 1]!.id;
    const alone = chunk.length === 1 ? chunk[0]! : undefined;
    if (alone !== undefined && alone.recordedUnspent > this.maxChunkUtxos) {
      const detail = `the database holds ${alone.recordedUnspent} unspent outputs at it, over the ${this.maxChunkUtxos} one comparison holds`;
      return this.recordUnjudged(runId, fromCursor, toCursor, alone, detail);
    }
    await this.readOpenings(runId, chunk);
    let comparison = await this.compare(addresses);
    for (
      let retry = 1;
      waitForLag && comparison !== 'too_large' && comparison.mode === 'lagging' && retry <= this.laggingRetries;
      retry++
    ) {
      await this.sleep(this.laggingRetryDelayMs);
      const again = await this.compare(addresses);
      comparison = again === 'too_large' ? again : { ...again, attempts: retry + 1 };
    }
    if (comparison === 'too_large') {
      if (alone === undefined) return 'too_large';
      return this.recordUnjudged(
        runId,
        fromCursor,
        toCursor,
        alone,
        "the node's answer for it alone exceeded the bound on one answer's size",
      );
    }
    const { mode, applied, counts, discrepancies } = comparison;
    const recorded = await runs.recordChunk(
      runId,
      {
        fromCursor,
        toCursor,
        addresses: addresses.length,
        mode,
        point: mode === 'consistent' ? applied : null,
        counts,
        discrepancies,
        unjudged: [],
      },
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

  /** Records one address as a chunk of its own that was not compared, and says why. */
  private async recordUnjudged(
    runId: bigint,
    fromCursor: bigint,
    toCursor: bigint,
    entry: RegisteredAddress,
    detail: string,
  ): Promise<ChunkOutcome> {
    const unjudged: UnjudgedAddress = {
      address: entry.address,
      reason: UnjudgedReason.tooManyUtxos,
      recordedUnspent: entry.recordedUnspent,
      detail,
    };
    const recorded = await this.options.runs.recordChunk(
      runId,
      { fromCursor, toCursor, addresses: 1, mode: 'unjudged', point: null, counts: emptyCounts(), discrepancies: [], unjudged: [unjudged] },
      this.detailLimit,
    );
    if (recorded === 'stale') return 'stale';
    this.options.logger.warn(LogEvent.reconciliationAddressUnjudged, {
      run_id: runId.toString(),
      address: entry.address,
      reason: unjudged.reason,
      recorded_unspent: entry.recordedUnspent,
      detail,
    });
    return { mode: 'unjudged' };
  }

  /** One comparison of the chunk. The database is read after the chain: it can only have caught up, never the other way round. */
  private async compare(addresses: readonly string[]): Promise<ChunkComparison | 'too_large'> {
    const read = await this.readChain(addresses);
    if (read === 'too_large') return read;
    const snapshot = await this.options.records.paymentsAt(addresses, read.outputs);
    const mode = comparisonMode(read.tipBefore, read.tipAfter, snapshot.applied);
    return {
      mode,
      applied: snapshot.applied,
      ...compareChunk(read.outputs, snapshot.payments, mode, this.isPayment, snapshot),
      attempts: 1,
    };
  }

  /** Reads and keeps the openings of the chunk's addresses that have none yet (once per address, ever). */
  private async readOpenings(runId: bigint, chunk: readonly RegisteredAddress[]): Promise<void> {
    const unread = chunk.filter((entry) => !entry.openingRead).map((entry) => entry.address);
    if (unread.length === 0) return;
    for (const group of await this.options.records.openingStarts(unread)) {
      if (group.start === 'origin') {
        // Followed from the chain's start: the engine saw every output these addresses ever received.
        await this.options.records.recordOpenings(group.addresses.map((address) => ({ address, at: 'origin', exact: true, outputs: [] })));
      } else {
        await this.readOpeningsAt(runId, group.addresses, group.start, group.applied);
      }
    }
  }

  /** At the watch start when the node still has it, else at the database's applied block (not exact); halves on a too large answer. */
  private async readOpeningsAt(
    runId: bigint,
    addresses: readonly string[],
    start: AppliedPoint | null,
    applied: AppliedPoint | null,
  ): Promise<void> {
    const { records, logger } = this.options;
    let at: AppliedPoint | null = start;
    let outputs = start === null ? 'lost' : await this.utxoAtBlock(addresses, start);
    if (outputs === 'lost' && applied !== null) {
      at = applied;
      outputs = await this.utxoAtBlock(addresses, applied);
    }
    if (outputs === 'too_large') {
      if (addresses.length === 1) {
        logger.warn(LogEvent.reconciliationOpeningUnavailable, {
          run_id: runId.toString(),
          addresses: 1,
          address: addresses[0],
          reason: "the node's answer for it alone exceeded the bound on one answer's size",
        });
        return;
      }
      const half = Math.ceil(addresses.length / 2);
      await this.readOpeningsAt(runId, addresses.slice(0, half), start, applied);
      await this.readOpeningsAt(runId, addresses.slice(half), start, applied);
      return;
    }
    if (outputs === 'lost' || at === null) {
      // Nothing applied yet, or neither block could be read: the next run tries again; until then not judged.
      logger.warn(LogEvent.reconciliationOpeningUnavailable, {
        run_id: runId.toString(),
        addresses: addresses.length,
        reason: applied === null ? 'the engine has applied no block yet' : 'neither the watch start nor the applied block could be read',
      });
      return;
    }
    const exact = at === start;
    const byAddress = new Map(addresses.map((address) => [address, [] as ChainOutput[]]));
    for (const output of outputs) byAddress.get(output.address)?.push(output);
    const openings: Opening[] = [...byAddress].map(([address, held]) => ({ address, at: at as AppliedPoint, exact, outputs: held }));
    await records.recordOpenings(openings);
    if (!exact) {
      logger.warn(LogEvent.reconciliationOpeningLate, {
        run_id: runId.toString(),
        addresses: addresses.length,
        watch_start_height: start?.height.toString() ?? null,
        read_at_height: at.height.toString(),
      });
    }
  }

  /** The UTxOs at these addresses in the ledger state after `block`; 'lost' when the node cannot give that state. */
  private async utxoAtBlock(addresses: readonly string[], block: AppliedPoint): Promise<ChainOutput[] | 'lost' | 'too_large'> {
    // A dropped connection is worth a second try; a state the node no longer has is not, but costs little.
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        return await this.options.chain.acquire((state) => state.utxoAt(addresses), { slot: block.slot, hash: block.hash });
      } catch (error) {
        if (error instanceof UtxoAnswerTooLargeError) return 'too_large';
        if (!(error instanceof LedgerStateLostError)) throw error;
      }
    }
    return 'lost';
  }

  /** The chain's side from one acquired ledger state; a lost state means another acquisition, from the start. */
  private async readChain(addresses: readonly string[]): Promise<ChainRead | 'too_large'> {
    for (let acquisition = 1; ; acquisition++) {
      try {
        return await this.options.chain.acquire(async (state) => {
          const tipBefore = await state.tip();
          const outputs = await state.utxoAt(addresses);
          const tipAfter = await state.tip();
          return { tipBefore, outputs, tipAfter };
        });
      } catch (error) {
        if (error instanceof UtxoAnswerTooLargeError) return 'too_large';
        if (!(error instanceof LedgerStateLostError) || acquisition >= ACQUISITIONS_PER_COMPARISON) throw error;
      }
    }
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
          asset: mismatch.asset,
          stored: mismatch.stored.toString(),
          calculated: mismatch.calculated.toString(),
          difference: (mismatch.stored - mismatch.calculated).toString(),
        });
      }
    }
    const invoices = await records.verifyInvoices(this.detailLimit);
    if ((await runs.recordInvoices(runId, invoices)) === 'recorded') {
      for (const mismatch of invoices.mismatches) {
        logger.error(LogEvent.invoiceMismatch, {
          run_id: runId.toString(),
          kind: 'invoice_mismatch',
          invoice_id: mismatch.invoiceId,
          differences: mismatch.differences,
        });
      }
    }
    const finished = await runs.finish(runId, { status: 'completed' });
    if (finished === null) return { outcome: 'superseded', run: await runs.find(runId) };

    // One set of figures per full run, whatever the number of invocations it took: what the alarms read. A
    // reconnect run reports none: its 0 would clear a finding of the daily run, and it is no daily run.
    const { counts } = finished;
    const discrepancies = runDiscrepancyTotal(counts);
    if (isFullReconciliation(finished.trigger)) {
      metrics.count(Metric.reconciliationRuns, 1);
      metrics.count(Metric.reconciliationUnjudgedAddresses, counts.unjudgedAddresses);
      metrics.count(Metric.reconciliationDiscrepancies, discrepancies);
      metrics.count(Metric.reconciliationMatched, counts.matched);
      metrics.count(Metric.reconciliationTooRecent, counts.tooRecent);
      metrics.count(Metric.balanceMismatches, counts.balanceMismatches ?? 0);
    }
    const summary = describeRun(finished);
    if (discrepancies > 0 || (counts.balanceMismatches ?? 0) > 0)
      logger.error(LogEvent.reconciliationDiscrepancy, { summary: true, ...summary });
    else logger.info(LogEvent.reconciliationSuccess, summary);
    return { outcome: 'completed', run: finished };
  }
}

/**
 * A run's discrepancies as the alarm counts them: the outputs that differ from the chain and the invoices whose stored
 * judgement differs from their payments (balance mismatches have their own alarm).
 */
export function runDiscrepancyTotal(counts: RunCounts): number {
  return discrepancyTotal(counts) + (counts.invoiceMismatches ?? 0);
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
      ? {
          chain_lovelace: discrepancy.chain.lovelace.toString(),
          chain_ada: adaForDisplay(discrepancy.chain.lovelace),
          chain_tokens: discrepancy.chain.assets.length,
        }
      : {}),
    ...(discrepancy.db
      ? {
          db_lovelace: discrepancy.db.lovelace.toString(),
          db_ada: adaForDisplay(discrepancy.db.lovelace),
          db_tokens: discrepancy.db.assets.length,
          db_spent: discrepancy.db.spent,
        }
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
    /** False when some chunk was compared while the database lagged (its too_recent outputs were not judged), or an address was left unjudged. */
    fully_judged: counts.laggingChunks === 0 && counts.unjudgedAddresses === 0,
    unjudged_addresses: counts.unjudgedAddresses,
    compared_from_height: run.firstPointHeight?.toString() ?? null,
    compared_at: run.lastPoint
      ? { height: run.lastPoint.height.toString(), slot: run.lastPoint.slot.toString(), hash: run.lastPoint.hash }
      : null,
    matched: counts.matched,
    missing_in_db: counts.missingInDb,
    extra_in_db: counts.extraInDb,
    amount_mismatch: counts.amountMismatch,
    asset_mismatch: counts.assetMismatch,
    too_recent: counts.tooRecent,
    predates_watch: counts.predatesWatch,
    invoice_mismatches: counts.invoiceMismatches,
    discrepancies: runDiscrepancyTotal(counts),
    balance_mismatches: counts.balanceMismatches,
    ...(run.failedAttempts > 0 ? { failed_attempts: run.failedAttempts } : {}),
    ...(run.error ? { error: run.error } : {}),
  };
}
