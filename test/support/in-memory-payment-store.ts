/**
 * The payment engine's store (domain/ports.ts: PaymentStore, EngineTransaction) in memory, so that the business
 * rules (detect, confirm after N, credit once, rollback reverses once, spends) are tested without PostgreSQL.
 *
 * It follows the PostgreSQL store (adapters/postgres/payment-store.ts, reversal-debits.ts) statement by statement:
 * a transaction is all or nothing and transactions run one at a time; a payment row is keyed by (tx, output, block
 * hash, block time) and comes back pending when its very block returns; a credit's occurrence is one more than the
 * payment's debits, a debit's is its number of credits, and the ledger refuses a second row of the same
 * (tx, output, asset, type, occurrence) as the unique key does. A payment credits (and a reversal debits) every asset
 * of its output, lovelace and each token, one ledger row each (payment_assets, migration 0017); lovelace balances are
 * user_balances, token balances user_asset_balances.
 *
 * Invoices (invoices, resource_type 'invoice' events) are judged as the PostgreSQL store selects them
 * (invoice-judging-store.ts): touched ones, new ones past their deadline, processing ones at their settling height,
 * after a rollback settled ones above the tip; events are numbered 1, 2, … per invoice.
 *
 * Not faithful: no rebuild ever runs here (runningRebuild() is null; the settlement is tested on PostgreSQL in
 * test/integration/rebuild.test.ts), there are no partitions, Bloom filters or prepared statements, and the
 * database's own refusals (the audit log's triggers, constraints other than the ledger's key) are not modelled:
 * test/integration/payment-engine.test.ts and engine-model.test.ts stay the adapter's tests.
 */
import type { Hash } from '../../functions/domain/chain.js';
import type {
  AppliedBlock,
  Confirmation,
  EngineTransaction,
  HeldPaymentsSettlement,
  LeaderSessionState,
  LockedSyncPosition,
  OutputInBlock,
  Payment,
  PaymentStore,
  RollbackOutcome,
  RunningRebuild,
  Spend,
  SpendOutcome,
  SyncPosition,
} from '../../functions/domain/ports.js';
import { inChainOrder } from '../../functions/domain/ports.js';
import { HOT_WALLET_REFERENCE_TYPE } from '../../functions/domain/hot-wallet.js';
import type { AttemptMove, Conflict, HotWalletSpend, Reservation, Revival } from '../../functions/domain/payouts/payout-execution.js';
import type { RevivalRecord, SettledAttempts } from '../../functions/domain/payouts/payout-tracking.js';
import type { InvoiceChange, InvoiceEvent, InvoiceToJudge } from '../../functions/domain/invoices/invoice-judging.js';
import type { InvoicePaymentView, InvoiceRecord } from '../../functions/domain/invoices/invoice-resource.js';
import type { ChainTip } from '../../functions/domain/invoices/invoice-rules.js';
import type { ChainOutput, RecordedPayment } from '../../functions/domain/reconciliation/classification.js';
import type { DatabaseSnapshot } from '../../functions/domain/reconciliation/ports.js';

export interface Registration {
  address: string;
  referenceType: string;
  referenceId: string;
  userId: string | null;
}

export type PaymentStatus = 'pending' | 'confirmed' | 'rolled_back' | 'reversed';

/** A row of incoming_payments. */
export interface StoredPayment extends Payment {
  id: number;
  blockHash: Hash;
  status: PaymentStatus;
  detectedAt: Date;
  confirmedAt: Date | null;
  spentBy: Hash | null;
  spentAtSlot: bigint | null;
  spentAtHeight: bigint | null;
}

/** A row of balance_transactions. */
export interface LedgerEntry {
  userId: string;
  type: 'credit' | 'debit';
  /** 'lovelace', or '<policy id>.<asset name hex>'. */
  asset: string;
  quantity: bigint;
  txId: Hash;
  index: number;
  occurrence: number;
  reason: 'payment_confirmed' | 'payment_reversed';
}

/** A row of audit_log. */
export interface AuditEntry {
  action: string;
  entityId: string;
  actor: string;
}

interface State {
  registrations: Map<string, Registration>;
  blocks: Map<Hash, AppliedBlock>;
  checkpoints: Map<Hash, AppliedBlock>;
  tipHash: Hash | null;
  networkTipHeight: bigint | null;
  session: LeaderSessionState;
  payments: StoredPayment[];
  nextPaymentId: number;
  ledger: LedgerEntry[];
  balances: Map<string, bigint>;
  /** user_asset_balances, keyed `${userId}|${asset}`. */
  assetBalances: Map<string, bigint>;
  audit: AuditEntry[];
  invoices: Map<string, InvoiceRecord>;
  /** business_events of resource_type 'invoice', in seq order, with their version. */
  invoiceEvents: (InvoiceEvent & { version: number })[];
}

export class InMemoryPaymentStore implements PaymentStore {
  private state: State = {
    registrations: new Map(),
    blocks: new Map(),
    checkpoints: new Map(),
    tipHash: null,
    networkTipHeight: null,
    session: { generation: 0n, fence: 0n, appliedStep: 0n, haltedReason: null },
    payments: [],
    nextPaymentId: 1,
    ledger: [],
    balances: new Map(),
    assetBalances: new Map(),
    audit: [],
    invoices: new Map(),
    invoiceEvents: [],
  };
  /** Transactions run one at a time, as the sync position lock makes them on PostgreSQL. */
  private queue: Promise<unknown> = Promise.resolve();

  inTransaction<T>(work: (tx: EngineTransaction) => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      const working = structuredClone(this.state);
      const result = await work(new InMemoryEngineTransaction(working));
      this.state = working; // the commit: nothing of a failed transaction is kept
      return result;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Registers payment addresses (payment_addresses). */
  register(registrations: readonly Registration[]): void {
    for (const registration of registrations) this.state.registrations.set(registration.address, { ...registration });
  }

  /** incoming_payments in id order. */
  payments(): readonly StoredPayment[] {
    return this.state.payments;
  }

  /** balance_transactions in insertion order. */
  ledger(): readonly LedgerEntry[] {
    return this.state.ledger;
  }

  /** user_balances.balance_lovelace, undefined when the user has no balance row. */
  balance(userId: string): bigint | undefined {
    return this.state.balances.get(userId);
  }

  /** user_asset_balances of the user: quantity per token. */
  assetBalances(userId: string): Record<string, bigint> {
    const prefix = `${userId}|`;
    return Object.fromEntries(
      [...this.state.assetBalances]
        .filter(([key]) => key.startsWith(prefix))
        .map(([key, quantity]) => [key.slice(prefix.length), quantity])
        .sort(([a], [b]) => (a! < b! ? -1 : 1)),
    );
  }

  auditLog(): readonly AuditEntry[] {
    return this.state.audit;
  }

  /** Adds an invoice as its creator would (the address is registered separately, with reference type 'invoice'). */
  addInvoice(invoice: InvoiceRecord): void {
    this.state.invoices.set(invoice.id, structuredClone(invoice));
  }

  invoice(id: string): InvoiceRecord | undefined {
    return this.state.invoices.get(id);
  }

  /** The invoice events written by the engine, in order, with their versions. */
  invoiceEvents(): readonly (InvoiceEvent & { version: number })[] {
    return this.state.invoiceEvents;
  }

  /** The last applied block's height (sync_state), null at origin. */
  tipHeight(): bigint | null {
    return this.state.tipHash === null ? null : (this.state.blocks.get(this.state.tipHash)?.height ?? null);
  }

  /** What reconciliation reads (ReconciliationRecords.paymentsAt, adapters/postgres/reconciliation-records.ts). */
  paymentsAt(addresses: readonly string[], outputs: readonly ChainOutput[]): DatabaseSnapshot {
    const at = new Set(addresses);
    const onChain = new Set(outputs.map((output) => `${output.txId}#${output.index}`));
    const payments: RecordedPayment[] = [];
    for (const row of this.state.payments) {
      if (!at.has(row.address) || (row.status !== 'pending' && row.status !== 'confirmed')) continue;
      // Spent rows only where the chain holds the output unspent, as the adapter reads them.
      if (row.spentBy !== null && !onChain.has(`${row.txId}#${row.index}`)) continue;
      const { txId, index, address, lovelace, assets, status } = row;
      payments.push({ txId, index, address, lovelace, assets, status, spent: row.spentBy !== null });
    }
    const tip = this.state.tipHash === null ? undefined : this.state.blocks.get(this.state.tipHash);
    // Every address is watched from the chain's start here: nothing predates watching.
    return {
      applied: tip ? { hash: tip.hash, height: tip.height, slot: tip.slot } : null,
      payments,
      predating: new Set(),
      unopened: new Set(),
    };
  }
}

class InMemoryEngineTransaction implements EngineTransaction {
  constructor(private readonly state: State) {}

  async lockSyncPosition(): Promise<LockedSyncPosition> {
    const { tipHash } = this.state;
    const tip = tipHash === null ? null : this.state.blocks.get(tipHash);
    if (tip === undefined) throw new Error(`sync_state names block ${tipHash}, which is missing from blocks`);
    return { tip, networkTipHeight: this.state.networkTipHeight, session: { ...this.state.session } };
  }

  async recordAppliedStep(step: bigint): Promise<void> {
    this.state.session.appliedStep = step;
  }

  async appliedBlocks(hashes: readonly Hash[]): Promise<Set<Hash>> {
    return new Set(hashes.filter((hash) => this.state.blocks.has(hash)));
  }

  async findBlock(hash: Hash): Promise<AppliedBlock | null> {
    return this.state.blocks.get(hash) ?? null;
  }

  async appendBlocks(blocks: readonly AppliedBlock[], checkpoints: readonly AppliedBlock[]): Promise<void> {
    for (const block of blocks) {
      if (this.state.blocks.has(block.hash)) throw new Error(`duplicate key: block ${block.hash} is applied already`);
      this.state.blocks.set(block.hash, block);
    }
    for (const checkpoint of checkpoints)
      if (!this.state.checkpoints.has(checkpoint.hash)) this.state.checkpoints.set(checkpoint.hash, checkpoint);
  }

  async recordPayments(outputs: readonly OutputInBlock[], detectedAt: Date): Promise<Payment[]> {
    const recorded: StoredPayment[] = [];
    for (const { output, block } of outputs) {
      const registration = this.state.registrations.get(output.address);
      if (registration === undefined) continue;
      const existing = this.state.payments.find(
        (row) =>
          row.txId === output.txId &&
          row.index === output.index &&
          row.blockHash === block.hash &&
          row.blockTime.getTime() === block.time.getTime(),
      );
      if (existing) {
        // The same block back on the chain: its payment row, rolled back or reversed before, is pending again.
        if (existing.status !== 'rolled_back' && existing.status !== 'reversed') continue;
        Object.assign(existing, {
          status: 'pending',
          confirmedAt: null,
          detectedAt,
          spentBy: null,
          spentAtSlot: null,
          spentAtHeight: null,
        });
        recorded.push(existing);
        continue;
      }
      const row: StoredPayment = {
        id: this.state.nextPaymentId++,
        txId: output.txId,
        index: output.index,
        address: output.address,
        lovelace: output.lovelace,
        assets: output.assets,
        referenceType: registration.referenceType,
        referenceId: registration.referenceId,
        userId: registration.userId,
        blockHeight: block.height,
        blockSlot: block.slot,
        blockHash: block.hash,
        blockTime: block.time,
        status: 'pending',
        detectedAt,
        confirmedAt: null,
        spentBy: null,
        spentAtSlot: null,
        spentAtHeight: null,
      };
      this.state.payments.push(row);
      recorded.push(row);
    }
    return sortedPayments(recorded);
  }

  /** Payment events are not modelled here, so the hot wallet's change (told to nobody) needs nothing. */
  async setApartHotWalletChange(_change: readonly Payment[]): Promise<void> {}

  async markSpent(spends: readonly Spend[]): Promise<SpendOutcome> {
    let marked = 0;
    const hotWallet: HotWalletSpend[] = [];
    for (const spend of spends) {
      for (const row of this.state.payments) {
        if (row.txId !== spend.output.txId || row.index !== spend.output.index) continue;
        if ((row.status !== 'pending' && row.status !== 'confirmed') || row.spentBy !== null) continue;
        row.spentBy = spend.spentBy;
        row.spentAtSlot = spend.block.slot;
        row.spentAtHeight = spend.block.height;
        marked++;
        if (row.referenceType === HOT_WALLET_REFERENCE_TYPE) {
          hotWallet.push({ output: spend.output, spentBy: spend.spentBy, blockHeight: spend.block.height, blockHash: spend.block.hash });
        }
      }
    }
    return { marked, hotWallet };
  }

  async confirmPayments(maxBlockHeight: bigint, confirmedAt: Date): Promise<Confirmation> {
    const confirmed = this.state.payments.filter((row) => row.status === 'pending' && row.blockHeight <= maxBlockHeight);
    let alreadyCredited = 0;
    for (const row of confirmed) {
      row.status = 'confirmed';
      row.confirmedAt = confirmedAt;
      if (row.userId === null) continue;
      for (const [asset, quantity] of paymentAssets(row)) {
        // The credit's occurrence is one more than the payment's reversals of the asset so far.
        const occurrence = 1 + this.ledgerOf(row, asset, 'debit').length;
        const entry: LedgerEntry = {
          userId: row.userId,
          type: 'credit',
          asset,
          quantity,
          txId: row.txId,
          index: row.index,
          occurrence,
          reason: 'payment_confirmed',
        };
        if (this.appendToLedger(entry)) {
          if (asset === LOVELACE) this.state.balances.set(row.userId, (this.state.balances.get(row.userId) ?? 0n) + quantity);
          else {
            const key = `${row.userId}|${asset}`;
            this.state.assetBalances.set(key, (this.state.assetBalances.get(key) ?? 0n) + quantity);
          }
        } else if (asset === LOVELACE) {
          alreadyCredited++;
        }
      }
    }
    return { confirmed: sortedPayments(confirmed), alreadyCredited };
  }

  async rollBackAfter(point: AppliedBlock | 'origin', actor: string): Promise<RollbackOutcome> {
    // (slot, height) orders blocks exactly, epoch boundary blocks included.
    const after = point === 'origin' ? { slot: -1n, height: -1n } : { slot: point.slot, height: point.height };
    const notBefore = point === 'origin' ? 0 : point.time.getTime();
    const isAfter = (slot: bigint, height: bigint) => slot > after.slot || (slot === after.slot && height > after.height);

    let blocksRemoved = 0;
    for (const [hash, block] of this.state.blocks) {
      if (isAfter(block.slot, block.height)) {
        this.state.blocks.delete(hash);
        blocksRemoved++;
      }
    }
    for (const [hash, checkpoint] of this.state.checkpoints)
      if (isAfter(checkpoint.slot, checkpoint.height)) this.state.checkpoints.delete(hash);

    let spendsUndone = 0;
    for (const row of this.state.payments) {
      if (row.spentAtSlot === null || row.spentAtHeight === null || !isAfter(row.spentAtSlot, row.spentAtHeight)) continue;
      row.spentBy = null;
      row.spentAtSlot = null;
      row.spentAtHeight = null;
      spendsUndone++;
    }

    const leaving = (row: StoredPayment) => row.blockTime.getTime() >= notBefore && isAfter(row.blockSlot, row.blockHeight);
    const rolledBack = this.state.payments.filter((row) => row.status === 'pending' && leaving(row));
    for (const row of rolledBack) row.status = 'rolled_back';
    const reversed = this.state.payments.filter((row) => row.status === 'confirmed' && leaving(row));
    for (const row of reversed) row.status = 'reversed';
    this.debitReversals(reversed);
    for (const row of reversed) this.state.audit.push({ action: 'payment_reversed', entityId: `${row.txId}#${row.index}`, actor });

    return { blocksRemoved, rolledBack: sortedPayments(rolledBack), reversed: sortedPayments(reversed), spendsUndone };
  }

  async saveSyncPosition({ tip, networkTipHeight }: SyncPosition): Promise<void> {
    this.state.tipHash = tip?.hash ?? null;
    this.state.networkTipHeight = networkTipHeight;
  }

  async forgetBlocksBelow(height: bigint): Promise<void> {
    for (const [hash, block] of this.state.blocks) if (block.height < height) this.state.blocks.delete(hash);
  }

  async runningRebuild(): Promise<RunningRebuild | null> {
    return null; // no rebuild runs in memory
  }

  settleHeldPayments(): Promise<HeldPaymentsSettlement> {
    return Promise.reject(new Error(REBUILD_NOT_MODELLED));
  }

  heldPaymentCount(): Promise<number> {
    return Promise.reject(new Error(REBUILD_NOT_MODELLED));
  }

  saveRebuildProgress(): Promise<void> {
    return Promise.reject(new Error(REBUILD_NOT_MODELLED));
  }

  async invoicesToJudge(touchedIds: readonly string[], tip: ChainTip | null, afterRollback: boolean): Promise<InvoiceToJudge[]> {
    const touched = new Set(touchedIds);
    const due = (invoice: InvoiceRecord): boolean =>
      touched.has(invoice.id) ||
      (tip !== null && invoice.status === 'new' && invoice.expiresAt.getTime() < tip.time.getTime()) ||
      (tip !== null && invoice.status === 'processing' && invoice.settlesAtHeight !== null && invoice.settlesAtHeight <= tip.height) ||
      (afterRollback && invoice.status === 'settled' && invoice.settlesAtHeight !== null && invoice.settlesAtHeight > (tip?.height ?? -1n));
    return [...this.state.invoices.values()]
      .filter(due)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((invoice) => ({ invoice: structuredClone(invoice), payments: this.onChainPayments(invoice.id) }));
  }

  async saveInvoiceJudgements(changes: readonly InvoiceChange[]): Promise<void> {
    for (const { invoice, events } of changes) {
      this.state.invoices.set(invoice.id, structuredClone(invoice));
      let version = this.state.invoiceEvents.filter((event) => event.invoiceId === invoice.id).length;
      for (const event of events) this.state.invoiceEvents.push({ ...structuredClone(event), version: ++version });
    }
  }
  // This store keeps no payout transactions (the payout processor runs on PostgreSQL only): none is ever reserved
  // or in a block, so the engine's payout tracking finds nothing to move here.
  async reservationsAmong(): Promise<Reservation[]> {
    return [];
  }

  async settledAtOrBelow(): Promise<SettledAttempts> {
    return { confirmed: [], conflicted: [] };
  }

  async recordConflicts(conflicts: readonly Conflict[]): Promise<void> {
    if (conflicts.length > 0) throw new Error('the in-memory store holds no payout transactions to be in conflict');
  }

  async clearConflictsAbove(): Promise<void> {}

  async attemptsInBlockAbove(): Promise<Hash[]> {
    return [];
  }

  async moveAttempts(moves: readonly AttemptMove[]): Promise<AttemptMove[]> {
    if (moves.length > 0) throw new Error('the in-memory store holds no payout transactions to move');
    return [];
  }

  async reviveEarlierTransactions(revivals: readonly Revival[]): Promise<RevivalRecord[]> {
    if (revivals.length > 0) throw new Error('the in-memory store holds no payout transactions to revive');
    return [];
  }

  private onChainPayments(invoiceId: string): InvoicePaymentView[] {
    return this.state.payments
      .filter((row) => row.referenceType === 'invoice' && row.referenceId === invoiceId)
      .filter((row) => row.status === 'pending' || row.status === 'confirmed')
      .map((row) => ({
        txId: row.txId,
        index: row.index,
        status: row.status as 'pending' | 'confirmed',
        blockHeight: row.blockHeight,
        blockTime: row.blockTime,
        amounts: new Map(paymentAssets(row)),
      }));
  }

  /**
   * Each asset of a reversed output that was credited and is not yet debited gets one debit whose occurrence is its
   * number of credits of that asset (reversal-debits.ts); the balance moves by what was inserted, where the user has
   * a balance row of the asset.
   */
  private debitReversals(reversed: readonly StoredPayment[]): void {
    const seen = new Set<string>();
    for (const row of reversed) {
      const key = `${row.txId}#${row.index}`;
      if (row.userId === null || seen.has(key)) continue;
      seen.add(key);
      for (const [asset, quantity] of paymentAssets(row)) {
        const credits = this.ledgerOf(row, asset, 'credit').length;
        if (credits <= this.ledgerOf(row, asset, 'debit').length) continue;
        const debit: LedgerEntry = {
          userId: row.userId,
          type: 'debit',
          asset,
          quantity,
          txId: row.txId,
          index: row.index,
          occurrence: credits,
          reason: 'payment_reversed',
        };
        if (!this.appendToLedger(debit)) continue;
        const balances = asset === LOVELACE ? this.state.balances : this.state.assetBalances;
        const balanceKey = asset === LOVELACE ? row.userId : `${row.userId}|${asset}`;
        const balance = balances.get(balanceKey);
        if (balance !== undefined) balances.set(balanceKey, balance - quantity);
      }
    }
  }

  private ledgerOf(payment: StoredPayment, asset: string, type: LedgerEntry['type']): LedgerEntry[] {
    return this.state.ledger.filter(
      (entry) => entry.txId === payment.txId && entry.index === payment.index && entry.asset === asset && entry.type === type,
    );
  }

  /**
   * The ledger's unique key (payment, asset, type, occurrence): false when the row is there already (ON CONFLICT DO
   * NOTHING).
   */
  private appendToLedger(entry: LedgerEntry): boolean {
    const taken = this.state.ledger.some(
      (other) =>
        other.txId === entry.txId &&
        other.index === entry.index &&
        other.asset === entry.asset &&
        other.type === entry.type &&
        other.occurrence === entry.occurrence,
    );
    if (!taken) this.state.ledger.push(entry);
    return !taken;
  }
}

const LOVELACE = 'lovelace';

/** An output's assets as the ledger credits them (payment_assets, migration 0017): lovelace first, then each token. */
function paymentAssets(row: StoredPayment): [string, bigint][] {
  const tokens = new Map<string, bigint>();
  for (const { policyId, assetName, quantity } of row.assets) {
    const asset = `${policyId}.${assetName}`;
    tokens.set(asset, (tokens.get(asset) ?? 0n) + quantity);
  }
  return [[LOVELACE, row.lovelace], ...tokens];
}

const REBUILD_NOT_MODELLED = 'the in-memory store runs no rebuild: test the rebuild settlement on PostgreSQL';

/** Payments as the store returns them: by block height, then transaction, then output. */
function sortedPayments(rows: readonly StoredPayment[]): Payment[] {
  return rows
    .map(
      (row): Payment => ({
        txId: row.txId,
        index: row.index,
        address: row.address,
        lovelace: row.lovelace,
        assets: row.assets,
        referenceType: row.referenceType,
        referenceId: row.referenceId,
        userId: row.userId,
        blockHeight: row.blockHeight,
        blockSlot: row.blockSlot,
        blockTime: row.blockTime,
      }),
    )
    .sort(inChainOrder);
}
