/**
 * Produces the simulated chain: appends blocks (from a synthetic or fixture source, with the mempool's
 * transactions mixed in), switches to forks, keeps the ledger in step, and tells observers (the client sessions,
 * and tests through events) what changed.
 *
 * A production step adds one to the chain height: either one new block, or a fork switch that drops the newest
 * `depth` blocks and adds `depth + 1` new ones (a node only adopts a longer chain). So `produce(n)` always raises
 * the tip height by exactly n, forks or not.
 */
import type { Network } from '../../domain/network.js';
import { isLosslessJsonObject, parseLosslessJson } from '../../domain/ogmios/lossless-json.js';
import { assembleBlock } from './block-assembly.js';
import { outputKey, transactionEffects, type JsonRecord } from './block-effects.js';
import { BlockDraft, type OutputReference } from './block-draft.js';
import type { BlockSource } from './block-source.js';
import { Mempool, type InjectedTransaction, type SimulatedPayment } from './injected-transactions.js';
import { Ledger, type LedgerView } from './ledger.js';
import { ledgerSnapshotLines, readLedgerSnapshot } from './ledger-snapshot.js';
import { securityParameter, slotAt } from './network-parameters.js';
import { ProducerEvents, type BlockProducedEvent, type ChainObserver, type RollbackEvent } from './producer-events.js';
import type { SeededRandom } from './random.js';
import { SimulatedChain, pointOf, type RetentionLimits, type SimulatedBlock } from './simulated-chain.js';
import { decodeUtxo } from './ledger-reader.js';
import { PROTOCOL_PARAMETERS } from './protocol-parameters.js';
import type { RpcError } from './rpc-messages.js';
import { decodeSignedTransaction } from './signed-transaction.js';
import { judgeSubmission, submittedTransactionJson, type ResolvedOutput } from './submission.js';
import type { FundingTarget, PaymentTarget, SyntheticTransactions } from './synthetic-transactions.js';

export type { BlockProducedEvent, ChainObserver, RollbackEvent } from './producer-events.js';

export interface ForkSettings {
  /** A fork every this many production steps. */
  readonly everyBlocks?: number;
  /** Or: each production step forks with this probability. */
  readonly probability?: number;
  /** Deepest fork (blocks rolled back); each fork's depth is uniform in 1..maxDepth. */
  readonly maxDepth: number;
  /** Whether the simulator's own transactions of dropped blocks return to the mempool (default true). */
  readonly requeueTransactions?: boolean;
}

export interface ProducerSettings {
  readonly network: Network;
  readonly clock: () => number;
  readonly source: BlockSource;
  readonly transactions: SyntheticTransactions;
  readonly random: { readonly content: SeededRandom; readonly ids: SeededRandom; readonly forks: SeededRandom };
  readonly retention: RetentionLimits;
  readonly payTo: readonly PaymentTarget[];
  /** Outputs the first block (height 0) creates. */
  readonly fund: readonly FundingTarget[];
  readonly paymentsPerBlock: number;
  readonly paymentSpendsPerBlock: number;
  readonly forks: ForkSettings | undefined;
}

/** Praos active slot coefficient on the public networks: a block every 1/0.05 = 20 slots on average. */
const ACTIVE_SLOT_COEFFICIENT = 0.05;

export class ChainProducer {
  readonly chain: SimulatedChain;
  readonly ledger: Ledger;
  readonly mempool = new Mempool();
  private readonly observers = new Set<ChainObserver>();
  private readonly events = new ProducerEvents();
  private forksEnabled = false;
  private stepCount = 0;
  private nextPaymentTarget = 0;
  /** Slot of the first block of history, while the chain is empty. */
  private firstSlot: number;
  /** While produceHistory lays out past blocks (Praos-like gaps); otherwise blocks are produced now. */
  private buildingHistory = false;
  /** While building history: blocks still to come after the one being made (each needs a slot up to now). */
  private historyBlocksLeft = 0;
  private lastChange: number;
  /** Addresses the simulator pays (configured or queued): their outputs are spent only by payment spends. */
  private readonly ownedAddresses: Set<string>;

  constructor(private readonly settings: ProducerSettings) {
    this.chain = new SimulatedChain(settings.retention);
    this.ledger = new Ledger(securityParameter(settings.network));
    this.firstSlot = slotAt(settings.network, settings.clock());
    this.lastChange = settings.clock();
    this.ownedAddresses = new Set([...settings.payTo, ...settings.fund].map((target) => target.address));
  }

  /** Clock time (Unix ms) of the last change of tip: Ogmios health's `lastTipUpdate`. */
  get lastChangeAt(): number {
    return this.lastChange;
  }

  /**
   * Builds `count` blocks of history ending around the current time (20 s apart on average), without forks:
   * the chain the simulator already has when clients first connect.
   */
  produceHistory(count: number): void {
    const averageGap = 1 / ACTIVE_SLOT_COEFFICIENT;
    this.firstSlot = Math.max(0, slotAt(this.settings.network, this.settings.clock()) - Math.round(count * averageGap));
    this.buildingHistory = true;
    try {
      for (let produced = 0; produced < count; produced++) {
        this.historyBlocksLeft = count - produced - 1;
        this.appendBlock();
      }
    } finally {
      this.buildingHistory = false;
    }
  }

  /**
   * Rebuilds the chain from blocks served before (their `result.block` JSON, oldest first), so that a
   * restarted simulator serves the same chain and its clients resume where they were. The blocks may be preceded
   * by a ledger snapshot (ledger-snapshot.ts): the ledger then starts from it, and only the blocks after its height
   * are applied to it (the older ones are served, their outputs are in the snapshot).
   */
  restore(lines: readonly string[]): void {
    const snapshot = readLedgerSnapshot(lines);
    if (snapshot) this.ledger.seed(snapshot.height, snapshot.entries);
    const seededHeight = snapshot?.height ?? -1;
    for (const text of snapshot ? lines.slice(snapshot.lineCount) : lines) {
      const parsed = parseLosslessJson(text);
      if (!isLosslessJsonObject(parsed)) throw new Error('a restored block is not a JSON object');
      const block = parsed as JsonRecord;
      const placement = {
        id: expectText(block.id, 'id'),
        ancestor: expectText(block.ancestor, 'ancestor'),
        height: Number(block.height),
        slot: Number(block.slot),
      };
      const previous = this.chain.tip;
      if (previous !== undefined && (placement.ancestor !== previous.id || placement.height !== previous.height + 1)) {
        throw new Error(`restored block ${placement.id} does not follow ${previous.id}`);
      }
      if (previous === undefined && placement.height > seededHeight + 1) {
        throw new Error(
          `the blocks to restore start at height ${placement.height} without the ledger state before them: the UTxO set ` +
            'cannot be rebuilt (a journal kept before ledger snapshots were; start a new chain)',
        );
      }
      if (previous === undefined && placement.height > 0) this.chain.startAt(placement.height);
      const transactions = Array.isArray(block.transactions) ? (block.transactions as JsonRecord[]) : [];
      const effects = transactions.map(transactionEffects);
      if (placement.height > seededHeight) this.ledger.apply(placement.height, effects);
      this.chain.append({
        ...placement,
        era: expectText(block.era, 'era'),
        json: Buffer.from(text),
        transactionCount: effects.length,
        producedAt: this.settings.clock(),
        injected: [],
      });
      if (this.chain.prune().length > 0) this.ledger.forgetBefore((this.chain.oldestRetained as SimulatedBlock).height);
    }
  }

  /** The ledger before the oldest block a rollback can still undo, as lines `restore` takes ahead of the blocks. */
  ledgerSnapshot(): string[] {
    const height = this.ledger.oldestViewableHeight;
    return ledgerSnapshotLines(this.ledger.viewAt(height) as LedgerView);
  }

  /** From now on, production steps may fork as the settings say. */
  enableForks(): void {
    this.forksEnabled = true;
  }

  /** Raises the tip height by `steps`: one block per step, or a fork switch when one is due. */
  produce(steps: number): void {
    for (let step = 0; step < steps; step++) {
      const depth = this.dueForkDepth();
      if (depth === undefined) this.appendBlock();
      else this.switchToFork(depth, depth + 1, this.settings.forks?.requeueTransactions ?? true);
    }
  }

  /**
   * Drops the newest `depth` blocks and builds `newBranchLength` new ones in their place (by default one more
   * than dropped, so the new branch is longer, as a node requires to switch).
   */
  switchToFork(depth: number, newBranchLength = depth + 1, requeueTransactions = true): void {
    const deepest = this.deepestRollback;
    if (!Number.isInteger(depth) || depth < 1 || depth > deepest) {
      throw new RangeError(`rollback depth must be 1 to ${deepest} (retained blocks, at most k), got ${depth}`);
    }
    if (!Number.isInteger(newBranchLength) || newBranchLength < 0) {
      throw new RangeError(`new branch length must be a non-negative integer, got ${newBranchLength}`);
    }
    const dropped = this.chain.dropNewest(depth);
    this.ledger.undoNewest(depth);
    if (requeueTransactions) this.mempool.putBack(dropped.flatMap((block) => block.injected));
    const tip = this.chain.tip;
    const point = pointOf(tip);
    const event: RollbackEvent = { point, depth, droppedBlockIds: dropped.map((block) => block.id), rolledBackAt: this.settings.clock() };
    this.events.emitRollback(event);
    for (const observer of this.observers) observer.onRollBack(point, tip?.height ?? -1);
    for (let produced = 0; produced < newBranchLength; produced++) this.appendBlock(false);
    this.notifyChainChanged();
  }

  /** The deepest possible rollback: the retained blocks, but never more than the security parameter k. */
  get deepestRollback(): number {
    return Math.min(this.chain.retainedCount, this.ledger.undoableBlocks);
  }

  /** Queues a payment for the next block; without a target, the next configured payment address in turn. */
  queuePayment(target?: PaymentTarget): SimulatedPayment {
    const chosen = target ?? this.nextTarget();
    if (chosen === undefined) throw new Error('no payment target: pass one, or configure payTo');
    this.ownedAddresses.add(chosen.address);
    const { transaction, payment } = this.settings.transactions.payment(chosen, this.nextBlockDraft());
    this.mempool.add({ kind: 'payment', id: payment.txId, transaction, payments: [payment], consumes: consumedKeys(transaction) });
    return payment;
  }

  /** Queues a transaction spending these outputs of the simulated chain for the next block; returns its id. */
  queueSpend(references: readonly OutputReference[]): string {
    if (references.length === 0) throw new RangeError('a spend needs at least one output reference');
    const draft = this.nextBlockDraft();
    for (const reference of references) {
      if (draft.claimReference(reference) === undefined) {
        throw new Error(
          `${outputKey(reference.txId, reference.index)} is not an unspent output of the simulated chain (or is already being spent)`,
        );
      }
    }
    const transaction = this.settings.transactions.spend(references, draft);
    const id = transaction.id as string;
    this.mempool.add({
      kind: 'spend',
      id,
      transaction,
      payments: [],
      consumes: references.map((reference) => outputKey(reference.txId, reference.index)),
    });
    return id;
  }

  /**
   * A client-submitted transaction (CBOR), judged by the ledger rules (submission.ts) against the tip's UTxO set
   * and the transactions already waiting for the next block (whose outputs it may spend, as a node's mempool
   * allows), at the next block's slot; accepted, it waits for the next block. A transaction already waiting is
   * accepted again without being added twice. Throws TransactionCborError when the bytes are not a transaction.
   */
  submitTransaction(cbor: Uint8Array): { readonly id: string } | { readonly error: RpcError } {
    const transaction = decodeSignedTransaction(cbor);
    const { id } = transaction;
    if (this.mempool.has(id)) return { id };
    const claimed = new Set(this.mempool.claimedOutputs());
    const waitingOutputs = new Map(
      this.mempool.transactions.flatMap((waiting) =>
        transactionEffects(waiting.transaction).created.map((entry) => [entry.key, entry] as const),
      ),
    );
    const tip = this.ledger.tipView();
    const error = judgeSubmission(transaction, {
      network: this.settings.network,
      currentSlot: this.nextSlotNow(),
      parameters: PROTOCOL_PARAMETERS,
      resolve: (reference): ResolvedOutput | undefined => {
        const key = outputKey(reference.txId, reference.index);
        if (claimed.has(key)) return undefined;
        const entry = tip.get(reference.txId, reference.index) ?? waitingOutputs.get(key);
        return entry === undefined ? undefined : decodeUtxo(entry);
      },
    });
    if (error !== undefined) return { error };
    for (const output of transaction.outputs) this.ownedAddresses.add(output.address);
    this.mempool.add({
      kind: 'submitted',
      id,
      transaction: submittedTransactionJson(transaction),
      payments: [],
      consumes: transaction.inputs.map((input) => outputKey(input.txId, input.index)),
      ...(transaction.invalidAfter === undefined ? {} : { invalidAfter: transaction.invalidAfter }),
    });
    return { id };
  }

  observe(observer: ChainObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  onBlock(listener: (event: BlockProducedEvent) => void): () => void {
    return this.events.onBlock(listener);
  }

  onRollback(listener: (event: RollbackEvent) => void): () => void {
    return this.events.onRollback(listener);
  }

  private dueForkDepth(): number | undefined {
    const forks = this.settings.forks;
    if (!this.forksEnabled || forks === undefined || this.deepestRollback === 0) return undefined;
    this.stepCount++;
    const due =
      (forks.everyBlocks !== undefined && this.stepCount % forks.everyBlocks === 0) ||
      (forks.probability !== undefined && this.settings.random.forks.chance(forks.probability));
    if (!due) return undefined;
    return this.settings.random.forks.integer(1, Math.min(forks.maxDepth, this.deepestRollback));
  }

  private appendBlock(notify = true): void {
    const { settings, chain } = this;
    const previous = chain.tip;
    const placement = {
      id: settings.random.ids.hex(32),
      ancestor: previous?.id ?? 'genesis',
      height: chain.nextHeight,
      slot: this.nextSlot(previous?.slot),
    };
    const draft = new BlockDraft(
      placement.height,
      placement.slot,
      this.ledger,
      settings.random.content,
      this.mempool.claimedOutputs(),
      this.ownedAddresses,
    );
    const injected: InjectedTransaction[] = [];
    // The first block funds the `fund` addresses (unless a fork that dropped it put its funding back in the mempool).
    if (placement.height === 0 && settings.fund.length > 0 && !this.mempool.transactions.some((waiting) => waiting.kind === 'funding')) {
      const transaction = settings.transactions.funding(settings.fund, draft);
      injected.push({ kind: 'funding', id: transaction.id as string, transaction, payments: [], consumes: [] });
    }
    injected.push(...this.stillApplicable(this.mempool.takeAll(), placement.slot), ...this.automaticTransactions(draft));
    const body = settings.source.nextBody(draft);
    const { json, effects } = assembleBlock(
      placement,
      body,
      injected.map((transaction) => transaction.transaction),
      settings.random.content,
    );

    this.ledger.apply(placement.height, effects);
    const block: SimulatedBlock = {
      ...placement,
      era: body.era,
      json,
      transactionCount: effects.length,
      producedAt: settings.clock(),
      injected,
    };
    chain.append(block);
    this.events.emitBlock({
      ...placement,
      era: body.era,
      producedAt: block.producedAt,
      transactionIds: effects.map((effect) => effect.transactionId),
      payments: injected.flatMap((transaction) => transaction.payments),
      injectedTransactionIds: injected.map((transaction) => transaction.id),
      replayOf: body.replayOf,
    });
    // Clients that fell behind the window find out when they next ask (see ChainSyncSession).
    if (chain.prune().length > 0) this.ledger.forgetBefore((chain.oldestRetained as SimulatedBlock).height);
    if (notify) this.notifyChainChanged();
  }

  private notifyChainChanged(): void {
    this.lastChange = this.settings.clock();
    for (const observer of this.observers) observer.onChainChanged();
  }

  /**
   * History: a Praos-like gap (20 slots on average) after the previous block, squeezed to end by now (never in the
   * future, where a node would not accept it). A block produced now: the slot in progress (Cardano's slots are one
   * second long, so blocks every `blockTimeMs` advance the slot by that many seconds), never less than one past the
   * previous block.
   */
  private nextSlot(previousSlot: number | undefined): number {
    const now = slotAt(this.settings.network, this.settings.clock());
    if (!this.buildingHistory) return previousSlot === undefined ? now : Math.max(previousSlot + 1, now);
    // History never reaches past now: a slot is left for each block still to come, the last one at now at most.
    const latest = now - this.historyBlocksLeft;
    if (previousSlot === undefined) return Math.min(this.firstSlot, latest);
    const gapped = previousSlot + this.settings.random.content.geometric(ACTIVE_SLOT_COEFFICIENT);
    return Math.max(previousSlot + 1, Math.min(gapped, latest));
  }

  /** Payments and payment spends the settings ask for in every block. */
  private automaticTransactions(draft: BlockDraft): InjectedTransaction[] {
    const { settings } = this;
    const random = settings.random.content;
    const transactions: InjectedTransaction[] = [];
    if (settings.payTo.length === 0) return transactions;
    for (let count = random.count(settings.paymentsPerBlock); count > 0; count--) {
      const { transaction, payment } = settings.transactions.payment(this.nextTarget() as PaymentTarget, draft);
      transactions.push({ kind: 'payment', id: payment.txId, transaction, payments: [payment], consumes: consumedKeys(transaction) });
    }
    const addresses = settings.payTo.map((target) => target.address);
    for (let count = random.count(settings.paymentSpendsPerBlock); count > 0; count--) {
      const received = draft.claimUnspentAt(addresses);
      if (received === undefined) break;
      const transaction = settings.transactions.spend([received], draft);
      transactions.push({
        kind: 'spend',
        id: transaction.id as string,
        transaction,
        payments: [],
        consumes: [outputKey(received.txId, received.index)],
      });
    }
    return transactions;
  }

  private nextTarget(): PaymentTarget | undefined {
    const targets = this.settings.payTo;
    if (targets.length === 0) return undefined;
    return targets[this.nextPaymentTarget++ % targets.length];
  }

  /**
   * The waiting transactions that can still go into a block at `slot`, in order: a submitted one whose ttl has
   * passed, or whose inputs are no longer unspent (a fork dropped the transaction that created them, or something
   * before it spent them), is dropped, as a node's mempool drops what no longer applies.
   */
  private stillApplicable(transactions: readonly InjectedTransaction[], slot: number): InjectedTransaction[] {
    const spent = new Set<string>();
    const created = new Set<string>();
    const kept: InjectedTransaction[] = [];
    for (const transaction of transactions) {
      if (transaction.kind === 'submitted') {
        const expired = transaction.invalidAfter !== undefined && BigInt(slot) >= transaction.invalidAfter;
        const inputsGone = transaction.consumes.some((key) => spent.has(key) || !(created.has(key) || this.ledger.hasUnspent(key)));
        if (expired || inputsGone) continue;
      }
      for (const key of transaction.consumes) spent.add(key);
      for (const entry of transactionEffects(transaction.transaction).created) created.add(entry.key);
      kept.push(transaction);
    }
    return kept;
  }

  /** The slot of a block produced now (the next block's, unless time passes first). */
  private nextSlotNow(): number {
    const now = slotAt(this.settings.network, this.settings.clock());
    return this.chain.tip === undefined ? now : Math.max(this.chain.tip.slot + 1, now);
  }

  /** A draft for building a transaction now that will go into the next block. */
  private nextBlockDraft(): BlockDraft {
    const slot = this.nextSlotNow();
    return new BlockDraft(
      this.chain.nextHeight,
      slot,
      this.ledger,
      this.settings.random.content,
      this.mempool.claimedOutputs(),
      this.ownedAddresses,
    );
  }
}

/** Keys of the outputs a (valid) transaction consumes, read back from its JSON. */
function expectText(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new Error(`a restored block has no ${field}`);
  return value;
}

function consumedKeys(transaction: JsonRecord): string[] {
  return [...transactionEffects(transaction).consumed];
}
