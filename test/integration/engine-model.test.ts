/**
 * Randomized model test of the payment engine (with the PostgreSQL store).
 *
 * Each run derives everything from one seed: a random chain with forks of depth 1–50 (and, sometimes, a
 * switch back to a branch abandoned earlier), transactions paying registered and unregistered addresses
 * (lovelace above 2^53, native assets up to 2^64 − 1, spends within a block, failed phase-2 transactions
 * with collateral returns, transactions of an abandoned branch included again on its replacement).
 * Every event is delivered twice, older forward batches are delivered again, the engine sometimes restarts
 * (a new store, whose in-memory filters are rebuilt), and the store's transactions fail at random points
 * (before or after a statement, or after the commit) and are retried as a queue would.
 *
 * After each run the disturbed database must equal the final chain applied once from scratch in a second
 * database, that database must equal an independent in-memory model of the final chain, and the
 * disturbed database's ledger must be consistent (Σ ledger = balances, no double credit, reversals only for
 * confirmed payments whose block left the chain, each audited once). At random points during the run the
 * disturbed database is also compared with the model of the engine's chain at that moment.
 *
 *   MODEL_SEED=<n>       runs only that seed (printed in the test name and every failure)
 *   MODEL_RUNS=<n>       number of random runs (default 200)
 *   MODEL_BASE_SEED=<n>  derives the runs' seeds from this instead of a random base
 *   MODEL_REVIVE=0       never switches back to an abandoned branch, whose blocks then come back with the
 *                        same hashes (the engine does not record their payments again: the unique key
 *                        (tx_hash, output_index, block_hash, block_time) keeps the rolled-back row in the way)
 */
import { randomInt } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AssetQuantity,
  ChainBlock,
  ChainEvent,
  ChainTransaction,
  OutputReference,
  RollForward,
  Tip,
  TransactionOutput,
} from '../../functions/domain/chain.js';
import { DEFAULT_RETAINED_BLOCKS, PaymentEngine, type ApplyOutcome } from '../../functions/domain/payment-engine.js';
import type { EngineTransaction, PaymentStore } from '../../functions/domain/ports.js';
import { PostgresPaymentStore } from '../../functions/adapters/postgres/payment-store.js';
import { PostgresAddressRegistry } from '../../functions/adapters/postgres/address-registry.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { syntheticAddress, syntheticHash } from '../../functions/local/synthetic/addresses.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { FixedClock, RecordingLogger } from '../support/recorders.js';
import { mixSeed, Random } from '../support/random.js';

// ---------------------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------------------

function envInteger(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new Error(`${name} must be an integer between 0 and 4294967295; got "${raw}"`);
  }
  return value;
}

const FIXED_SEED = envInteger('MODEL_SEED');
const RUNS = envInteger('MODEL_RUNS') ?? 200;
const BASE_SEED = envInteger('MODEL_BASE_SEED') ?? randomInt(0, 0xffffffff);
const REVIVE_ABANDONED_BRANCHES = process.env.MODEL_REVIVE !== '0';
const SEEDS = FIXED_SEED !== undefined ? [FIXED_SEED] : Array.from({ length: RUNS }, (_, i) => mixSeed(BASE_SEED, i));

const REGISTERED_ADDRESSES = 20;
const UNREGISTERED_ADDRESSES = 10;
const MAX_FORK_DEPTH = 50;
const FIRST_SLOT = 100_000_000n;
const TWO_53 = 2n ** 53n;
const MAX_QUANTITY = 2n ** 64n - 1n;
const MAINNET_SHELLEY_START_SECONDS = 1_506_203_091 + 4_492_800 * 20; // system start + Byron era
const MAINNET_SHELLEY_START_SLOT = 4_492_800n;

// ---------------------------------------------------------------------------------------------------------
// Ledger rules, written here independently of functions/domain/transaction-effects.ts
// ---------------------------------------------------------------------------------------------------------

interface UnspentOutput {
  ref: OutputReference;
  output: TransactionOutput;
}

const refKey = (ref: OutputReference): string => `${ref.txId}#${ref.index}`;

/** A valid transaction creates its outputs; a failed one (phase 2) only its collateral return, at index outputs.length. */
function outputsCreatedBy(tx: ChainTransaction): UnspentOutput[] {
  if (tx.spends === 'collaterals') {
    return tx.collateralReturn ? [{ ref: { txId: tx.id, index: tx.outputs.length }, output: tx.collateralReturn }] : [];
  }
  return tx.outputs.map((output, index) => ({ ref: { txId: tx.id, index }, output }));
}

/** A valid transaction consumes its inputs; a failed one only its collaterals. */
function outputsConsumedBy(tx: ChainTransaction): readonly OutputReference[] {
  return tx.spends === 'collaterals' ? tx.collaterals : tx.inputs;
}

interface ChainLedger {
  utxo: Map<string, UnspentOutput>;
  transactions: Set<string>;
}

function applyToLedger(ledger: ChainLedger, tx: ChainTransaction): void {
  for (const ref of outputsConsumedBy(tx)) {
    if (!ledger.utxo.delete(refKey(ref))) throw new Error(`generator bug: ${tx.id} spends ${refKey(ref)}, which is not unspent`);
  }
  for (const created of outputsCreatedBy(tx)) ledger.utxo.set(refKey(created.ref), created);
  if (ledger.transactions.has(tx.id)) throw new Error(`generator bug: ${tx.id} is twice on one chain`);
  ledger.transactions.add(tx.id);
}

function ledgerOf(blocks: readonly ChainBlock[]): ChainLedger {
  const ledger: ChainLedger = { utxo: new Map(), transactions: new Set() };
  for (const block of blocks) for (const tx of block.transactions) applyToLedger(ledger, tx);
  return ledger;
}

function tipOf(chain: readonly ChainBlock[]): Tip {
  const tip = chain[chain.length - 1]!;
  return { slot: tip.slot!, hash: tip.hash, height: tip.height };
}

/** Mainnet wall-clock time of a Shelley-era slot (1 s slots after the Byron era's 20 s ones). */
function shelleySlotTime(slot: bigint): Date {
  return new Date((MAINNET_SHELLEY_START_SECONDS + Number(slot - MAINNET_SHELLEY_START_SLOT)) * 1000);
}

// ---------------------------------------------------------------------------------------------------------
// The network: a random chain with forks, and the events a chain follower would deliver
// ---------------------------------------------------------------------------------------------------------

interface EnginePosition {
  chain: readonly ChainBlock[];
  /** The engine's chain is chain[0 .. length). */
  length: number;
}

interface ScriptStep {
  event: ChainEvent;
  /** Where the engine must be once the event is applied. */
  after: EnginePosition;
  label: string;
}

interface GeneratorStats {
  forks: number;
  revivals: number;
  maxDepth: number;
  failedTransactions: number;
  reincluded: number;
}

class Network {
  chain: ChainBlock[] = [];
  readonly script: ScriptStep[] = [];
  readonly stats: GeneratorStats = { forks: 0, revivals: 0, maxDepth: 0, failedTransactions: 0, reincluded: 0 };
  private readonly abandoned: ChainBlock[][] = [];
  private readonly registeredSet: Set<string>;
  private readonly policies: string[];
  private blockCounter = 0;
  private txCounter = 0;
  /** How many blocks of `chain` the engine has been sent. */
  private sent = 0;

  constructor(
    private readonly rng: Random,
    private readonly seed: number,
    private readonly registered: readonly string[],
    private readonly unregistered: readonly string[],
  ) {
    this.registeredSet = new Set(registered);
    this.policies = [0, 1, 2].map((i) => syntheticHash(`model:policy:${i}`).slice(0, 56));
  }

  extend(count: number): void {
    this.chain = this.grow(this.chain, count, []);
    this.sendForward();
  }

  /** Rolls back d blocks (1..50) and replaces them with a longer branch, which includes some of their transactions again. */
  fork(): void {
    if (this.chain.length === 0) return this.extend(this.rng.int(1, 10));
    const depth = this.rng.int(1, Math.min(MAX_FORK_DEPTH, this.chain.length));
    const keep = this.chain.length - depth;
    const requeue = this.chain
      .slice(keep)
      .flatMap((block) => block.transactions)
      .filter(() => this.rng.chance(0.7));
    const next = this.grow(this.chain.slice(0, keep), this.rng.int(depth + 1, depth + 5), requeue);
    this.stats.forks++;
    this.switchTo(next, keep, `fork depth ${depth}`);
  }

  /** Switches back to a branch abandoned earlier (its blocks return, same hashes), extended to be the longest. */
  revive(): boolean {
    const candidates = this.abandoned
      .map((branch) => ({ branch, common: commonPrefix(branch, this.chain) }))
      .filter(({ branch, common }) => {
        const depth = this.chain.length - common;
        return depth >= 1 && depth <= MAX_FORK_DEPTH && branch.length > common;
      });
    if (candidates.length === 0) return false;
    const { branch, common } = this.rng.pick(candidates);
    const requeue = this.chain
      .slice(common)
      .flatMap((block) => block.transactions)
      .filter(() => this.rng.chance(0.7));
    const extra = Math.max(1, this.chain.length - branch.length + 1) + this.rng.int(0, 3);
    const next = this.grow(branch, extra, requeue);
    this.stats.revivals++;
    this.switchTo(next, common, `back to abandoned branch, depth ${this.chain.length - common}`);
    return true;
  }

  private switchTo(next: ChainBlock[], keep: number, label: string): void {
    const depth = this.chain.length - keep;
    this.stats.maxDepth = Math.max(this.stats.maxDepth, depth);
    this.abandoned.push(this.chain);
    const pointBlock = keep === 0 ? undefined : next[keep - 1]!;
    this.script.push({
      event: {
        type: 'rollBackward',
        point: pointBlock ? { slot: pointBlock.slot!, hash: pointBlock.hash } : 'origin',
        tip: tipOf(next),
      },
      after: { chain: next, length: keep },
      label: `${label}: back to ${pointBlock ? `height ${pointBlock.height}` : 'origin'}, new tip ${next.length}`,
    });
    this.chain = next;
    this.sent = keep;
    this.sendForward();
  }

  /** Forward batches of 1..10 blocks up to the tip; some start with blocks the engine already has. */
  private sendForward(): void {
    const tip = tipOf(this.chain);
    while (this.sent < this.chain.length) {
      const size = this.rng.int(1, 10);
      const overlap = this.sent > 0 && this.rng.chance(0.15) ? this.rng.int(1, Math.min(3, this.sent)) : 0;
      const end = Math.min(this.chain.length, this.sent + size);
      const blocks = this.chain.slice(this.sent - overlap, end);
      this.script.push({
        event: { type: 'rollForward', blocks, tip },
        after: { chain: this.chain, length: end },
        label: `forward ${blocks[0]!.height}..${blocks[blocks.length - 1]!.height}${overlap ? ` (${overlap} applied already)` : ''}`,
      });
      this.sent = end;
    }
  }

  private grow(base: readonly ChainBlock[], count: number, requeue: ChainTransaction[]): ChainBlock[] {
    const ledger = ledgerOf(base);
    const chain = base.slice();
    for (let i = 0; i < count; i++) chain.push(this.block(chain[chain.length - 1], ledger, requeue));
    return chain;
  }

  private block(parent: ChainBlock | undefined, ledger: ChainLedger, requeue: ChainTransaction[]): ChainBlock {
    const gap = this.rng.chance(0.05) ? this.rng.int(1800, 7200) : this.rng.int(1, 120);
    const slot = parent ? parent.slot! + BigInt(gap) : FIRST_SLOT + BigInt(this.rng.int(0, 3600));
    const transactions: ChainTransaction[] = [];
    const count = this.rng.chance(0.2) ? 0 : this.rng.int(1, 4);
    for (let i = 0; i < count; i++) {
      let tx: ChainTransaction | undefined;
      if (requeue.length > 0 && this.rng.chance(0.6)) {
        const index = requeue.findIndex(
          (candidate) =>
            !ledger.transactions.has(candidate.id) && outputsConsumedBy(candidate).every((ref) => ledger.utxo.has(refKey(ref))),
        );
        if (index >= 0) {
          tx = requeue.splice(index, 1)[0]!;
          this.stats.reincluded++;
        }
      }
      tx ??= this.transaction(ledger);
      applyToLedger(ledger, tx);
      transactions.push(tx);
    }
    return {
      hash: syntheticHash(`model:${this.seed}:block:${++this.blockCounter}`),
      height: parent ? parent.height + 1n : 1n,
      slot,
      ancestor: parent ? parent.hash : 'genesis',
      transactions,
    };
  }

  private transaction(ledger: ChainLedger): ChainTransaction {
    const id = syntheticHash(`model:${this.seed}:tx:${++this.txCounter}`);
    const available = [...ledger.utxo.values()];
    const outputs = Array.from({ length: this.rng.int(1, 4) }, () => this.output(0.65));
    if (available.length > 0 && this.rng.chance(0.12)) {
      // Failed phase-2 validation: only the collaterals are consumed, only the collateral return is created.
      this.stats.failedTransactions++;
      const collaterals = this.pickOutputs(available, this.rng.int(1, Math.min(2, available.length)));
      const taken = new Set(collaterals.map(refKey));
      const rest = available.filter((u) => !taken.has(refKey(u.ref)));
      const inputs = this.pickOutputs(rest, this.rng.int(0, Math.min(2, rest.length)));
      return {
        id,
        spends: 'collaterals',
        inputs,
        collaterals,
        outputs,
        ...(this.rng.chance(0.75) ? { collateralReturn: this.output(0.8) } : {}),
      };
    }
    const inputs = this.pickOutputs(available, this.rng.int(0, Math.min(3, available.length)));
    // A valid script transaction still lists collaterals (not consumed) and may carry a collateral return (not created).
    const taken = new Set(inputs.map(refKey));
    const others = available.filter((u) => !taken.has(refKey(u.ref)));
    const collaterals = others.length > 0 && this.rng.chance(0.1) ? this.pickOutputs(others, 1) : [];
    return {
      id,
      spends: 'inputs',
      inputs,
      collaterals,
      outputs,
      ...(collaterals.length > 0 && this.rng.chance(0.5) ? { collateralReturn: this.output(0.8) } : {}),
    };
  }

  /** Distinct unspent outputs, preferring those that pay registered addresses. */
  private pickOutputs(available: readonly UnspentOutput[], count: number): OutputReference[] {
    const registered = available.filter((u) => this.registeredSet.has(u.output.address));
    const chosen = new Map<string, OutputReference>();
    while (chosen.size < count) {
      const pool = registered.length > 0 && this.rng.chance(0.6) ? registered : available;
      const { ref } = this.rng.pick(pool);
      chosen.set(refKey(ref), ref);
    }
    return [...chosen.values()];
  }

  private output(registeredShare: number): TransactionOutput {
    const address = this.rng.chance(registeredShare) ? this.rng.pick(this.registered) : this.rng.pick(this.unregistered);
    return { address, lovelace: this.lovelace(), assets: this.rng.chance(0.25) ? this.assets() : [] };
  }

  private lovelace(): bigint {
    const r = this.rng.next();
    if (r < 0.08) return this.rng.pick([1n, TWO_53 - 1n, TWO_53, TWO_53 + 1n, 45_000_000_000_000_000n]);
    if (r < 0.45) return this.rng.bigint(1_000_000n, 100_000_000n);
    if (r < 0.88) return this.rng.bigint(1n, 10n ** 13n);
    return this.rng.bigint(TWO_53 + 1n, 2n ** 54n); // above 2^53: wrong if it ever passes through a JS number
  }

  private assets(): AssetQuantity[] {
    const names = ['', '4d4f4e4559', syntheticHash(`model:${this.seed}:name`).slice(0, 16)];
    const chosen = new Map<string, AssetQuantity>();
    const count = this.rng.int(1, 3);
    for (let i = 0; i < count; i++) {
      const policyId = this.rng.pick(this.policies);
      const assetName = this.rng.pick(names);
      const quantity = this.rng.chance(0.3) ? this.rng.pick([1n, TWO_53 + 1n, 2n ** 63n, MAX_QUANTITY]) : this.rng.bigint(1n, MAX_QUANTITY);
      chosen.set(`${policyId}.${assetName}`, { policyId, assetName, quantity });
    }
    return [...chosen.values()];
  }
}

function commonPrefix(a: readonly ChainBlock[], b: readonly ChainBlock[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i]!.hash === b[i]!.hash) i++;
  return i;
}

// ---------------------------------------------------------------------------------------------------------
// Fault injection: the store's transactions fail at random points and are retried, as a queue would
// ---------------------------------------------------------------------------------------------------------

class InjectedFault extends Error {
  override readonly name = 'InjectedFault';
  constructor(
    readonly where: string,
    /** The transaction committed; only its acknowledgement was lost. */
    readonly afterCommit = false,
  ) {
    super(`injected fault ${where}`);
  }
}

type FaultPlan = { kind: 'afterCommit' } | { kind: 'inside'; call: number; before: boolean };

class FaultInjector {
  aborted = 0;
  lostCommits = 0;

  constructor(
    private readonly rng: Random,
    private readonly probability: number,
  ) {}

  wrap(store: PaymentStore): PaymentStore {
    return {
      inTransaction: async <T>(work: (tx: EngineTransaction) => Promise<T>): Promise<T> => {
        const plan = this.plan();
        let calls = 0;
        const step = async <R>(method: string, call: () => Promise<R>): Promise<R> => {
          calls++;
          const hit = plan?.kind === 'inside' && plan.call === calls;
          if (hit && plan.before) {
            this.aborted++;
            throw new InjectedFault(`before ${method}`);
          }
          const result = await call();
          if (hit && !plan.before) {
            this.aborted++;
            throw new InjectedFault(`after ${method}`);
          }
          return result;
        };
        const result = await store.inTransaction((tx) => work(faultyTransaction(tx, step)));
        if (plan?.kind === 'afterCommit') {
          this.lostCommits++;
          throw new InjectedFault('after the commit', true);
        }
        return result;
      },
    };
  }

  private plan(): FaultPlan | null {
    if (!this.rng.chance(this.probability)) return null;
    if (this.rng.chance(0.15)) return { kind: 'afterCommit' };
    return { kind: 'inside', call: this.rng.int(1, 8), before: this.rng.chance(0.5) };
  }
}

type Step = <R>(method: string, call: () => Promise<R>) => Promise<R>;

function faultyTransaction(tx: EngineTransaction, step: Step): EngineTransaction {
  return {
    lockSyncPosition: () => step('lockSyncPosition', () => tx.lockSyncPosition()),
    recordAppliedStep: (appliedStep) => step('recordAppliedStep', () => tx.recordAppliedStep(appliedStep)),
    appliedBlocks: (hashes) => step('appliedBlocks', () => tx.appliedBlocks(hashes)),
    findBlock: (hash) => step('findBlock', () => tx.findBlock(hash)),
    appendBlocks: (blocks, checkpoints) => step('appendBlocks', () => tx.appendBlocks(blocks, checkpoints)),
    recordPayments: (outputs, detectedAt) => step('recordPayments', () => tx.recordPayments(outputs, detectedAt)),
    markSpent: (spends) => step('markSpent', () => tx.markSpent(spends)),
    setApartHotWalletChange: (change) => step('setApartHotWalletChange', () => tx.setApartHotWalletChange(change)),
    confirmPayments: (maxHeight, at) => step('confirmPayments', () => tx.confirmPayments(maxHeight, at)),
    rollBackAfter: (point, actor) => step('rollBackAfter', () => tx.rollBackAfter(point, actor)),
    saveSyncPosition: (position) => step('saveSyncPosition', () => tx.saveSyncPosition(position)),
    forgetBlocksBelow: (height) => step('forgetBlocksBelow', () => tx.forgetBlocksBelow(height)),
    runningRebuild: () => step('runningRebuild', () => tx.runningRebuild()),
    settleHeldPayments: (height, confirmations, actor) =>
      step('settleHeldPayments', () => tx.settleHeldPayments(height, confirmations, actor)),
    heldPaymentCount: () => step('heldPaymentCount', () => tx.heldPaymentCount()),
    saveRebuildProgress: (runId, update) => step('saveRebuildProgress', () => tx.saveRebuildProgress(runId, update)),
    invoicesToJudge: (touchedIds, tip, afterRollback) => step('invoicesToJudge', () => tx.invoicesToJudge(touchedIds, tip, afterRollback)),
    saveInvoiceJudgements: (changes, judgedAt) => step('saveInvoiceJudgements', () => tx.saveInvoiceJudgements(changes, judgedAt)),
    reservationsAmong: (outputs) => step('reservationsAmong', () => tx.reservationsAmong(outputs)),
    settledAtOrBelow: (height) => step('settledAtOrBelow', () => tx.settledAtOrBelow(height)),
    recordConflicts: (conflicts) => step('recordConflicts', () => tx.recordConflicts(conflicts)),
    clearConflictsAbove: (height) => step('clearConflictsAbove', () => tx.clearConflictsAbove(height)),
    attemptsInBlockAbove: (height) => step('attemptsInBlockAbove', () => tx.attemptsInBlockAbove(height)),
    moveAttempts: (moves, actor) => step('moveAttempts', () => tx.moveAttempts(moves, actor)),
    reviveEarlierTransactions: (revivals, actor) => step('reviveEarlierTransactions', () => tx.reviveEarlierTransactions(revivals, actor)),
  };
}

/** Applies the event, retrying after injected faults until an attempt succeeds. */
async function deliver(engine: PaymentEngine, event: ChainEvent): Promise<{ outcome: ApplyOutcome; lostCommit: boolean }> {
  let lostCommit = false;
  for (let attempt = 1; ; attempt++) {
    try {
      return { outcome: await engine.apply(event), lostCommit };
    } catch (error) {
      if (!(error instanceof InjectedFault)) throw error;
      if (error.afterCommit) lostCommit = true;
      if (attempt >= 100) throw new Error('the event was not applied in 100 attempts');
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// What the database holds, and what it should hold
// ---------------------------------------------------------------------------------------------------------

interface Registration {
  address: string;
  referenceType: string;
  referenceId: string;
  userId: string | null;
}

interface LivePayment {
  tx_hash: string;
  output_index: number;
  address: string;
  amount_lovelace: bigint;
  assets: Record<string, Record<string, string>>;
  reference_type: string;
  reference_id: string;
  user_id: string | null;
  block_hash: string;
  block_height: bigint;
  block_slot: bigint;
  block_time: Date;
  status: string;
  spent_by_tx_hash: string | null;
  spent_at_slot: bigint | null;
  spent_at_height: bigint | null;
}

interface StoredBlock {
  hash: string;
  height: bigint;
  slot: bigint;
  ancestor: string;
  block_time: Date;
}

interface Checkpoint {
  slot: bigint;
  hash: string;
  height: bigint;
  block_time: Date;
}

interface SyncState {
  last_block_height: bigint | null;
  last_block_slot: bigint | null;
  last_block_hash: string | null;
  network_tip_height: bigint | null;
}

interface Snapshot {
  live: LivePayment[];
  blocks: StoredBlock[];
  checkpoints: Checkpoint[];
  sync: SyncState;
  /** Net of the ledger (credits − debits) per user and asset (`user|asset`); zeros left out. */
  ledger: Record<string, bigint>;
  /** user_balances (`user|lovelace`) and user_asset_balances (`user|<policy>.<name>`); zeros left out. */
  balances: Record<string, bigint>;
}

const byOutput = (a: { tx_hash: string; output_index: number }, b: { tx_hash: string; output_index: number }) =>
  a.tx_hash < b.tx_hash ? -1 : a.tx_hash > b.tx_hash ? 1 : a.output_index - b.output_index;

function nonZero(entries: [string, bigint][]): Record<string, bigint> {
  return Object.fromEntries(entries.filter(([, amount]) => amount !== 0n).sort(([a], [b]) => (a < b ? -1 : 1)));
}

async function snapshot(pool: pg.Pool): Promise<Snapshot> {
  const live = await pool.query<LivePayment>(
    `SELECT tx_hash, output_index, address, amount_lovelace, assets, reference_type, reference_id, user_id, block_hash,
            block_height, block_slot, block_time, status, spent_by_tx_hash, spent_at_slot, spent_at_height
       FROM incoming_payments WHERE status IN ('pending', 'confirmed')`,
  );
  const blocks = await pool.query<StoredBlock>('SELECT hash, height, slot, ancestor, block_time FROM blocks');
  const checkpoints = await pool.query<Checkpoint>('SELECT slot, hash, height, block_time FROM checkpoints');
  const sync = await pool.query<SyncState>(
    'SELECT last_block_height, last_block_slot, last_block_hash, network_tip_height FROM sync_state',
  );
  const ledger = await pool.query<{ key: string; net: string }>(
    `SELECT user_id || '|' || asset AS key, sum(CASE type WHEN 'credit' THEN quantity ELSE -quantity END)::text AS net
       FROM balance_transactions GROUP BY user_id, asset`,
  );
  const balances = await pool.query<{ key: string; quantity: string }>(
    `SELECT user_id || '|lovelace' AS key, balance_lovelace::text AS quantity FROM user_balances
     UNION ALL SELECT user_id || '|' || asset, quantity::text FROM user_asset_balances`,
  );
  return {
    live: live.rows.sort(byOutput),
    blocks: blocks.rows.sort((a, b) => (a.height < b.height ? -1 : a.height > b.height ? 1 : 0)),
    checkpoints: checkpoints.rows.sort((a, b) => (a.slot < b.slot ? -1 : 1)),
    sync: sync.rows[0]!,
    ledger: nonZero(ledger.rows.map((row) => [row.key, BigInt(row.net)])),
    balances: nonZero(balances.rows.map((row) => [row.key, BigInt(row.quantity)])),
  };
}

interface ModelOptions {
  /** Whether the payments of this block are confirmed. */
  confirmed: (block: ChainBlock) => boolean;
  /** Blocks below this height are forgotten. */
  lowestRetainedHeight: bigint;
  networkTipHeight: bigint | null;
}

/**
 * The independent model: what the tables must hold when the engine is on this chain, computed from the
 * chain and the registrations alone.
 */
function expectedSnapshot(chain: readonly ChainBlock[], registrations: ReadonlyMap<string, Registration>, options: ModelOptions): Snapshot {
  const tip = chain[chain.length - 1];
  const payments = new Map<string, LivePayment>();
  for (const block of chain) {
    const time = shelleySlotTime(block.slot!);
    for (const tx of block.transactions) {
      for (const ref of outputsConsumedBy(tx)) {
        const payment = payments.get(refKey(ref));
        if (payment) {
          payment.spent_by_tx_hash = tx.id;
          payment.spent_at_slot = block.slot!;
          payment.spent_at_height = block.height;
        }
      }
      for (const { ref, output } of outputsCreatedBy(tx)) {
        const registration = registrations.get(output.address);
        if (!registration) continue;
        const assets: Record<string, Record<string, string>> = {};
        for (const { policyId, assetName, quantity } of output.assets) {
          const policy = (assets[policyId] ??= {});
          policy[assetName] = (BigInt(policy[assetName] ?? '0') + quantity).toString();
        }
        payments.set(refKey(ref), {
          tx_hash: ref.txId,
          output_index: ref.index,
          address: output.address,
          amount_lovelace: output.lovelace,
          assets,
          reference_type: registration.referenceType,
          reference_id: registration.referenceId,
          user_id: registration.userId,
          block_hash: block.hash,
          block_height: block.height,
          block_slot: block.slot!,
          block_time: time,
          status: options.confirmed(block) ? 'confirmed' : 'pending',
          spent_by_tx_hash: null,
          spent_at_slot: null,
          spent_at_height: null,
        });
      }
    }
  }

  const checkpoints: Checkpoint[] = [];
  let previousHour: number | undefined;
  for (const block of chain) {
    const time = shelleySlotTime(block.slot!);
    const hour = Math.floor(time.getTime() / 3_600_000);
    if (hour !== previousHour) checkpoints.push({ slot: block.slot!, hash: block.hash, height: block.height, block_time: time });
    previousHour = hour;
  }

  // A confirmed payment credits its user every asset it carries: lovelace and each token.
  const balances = new Map<string, bigint>();
  for (const payment of payments.values()) {
    if (payment.status !== 'confirmed' || payment.user_id === null) continue;
    for (const [asset, quantity] of assetsOf(payment)) {
      const key = `${payment.user_id}|${asset}`;
      balances.set(key, (balances.get(key) ?? 0n) + quantity);
    }
  }

  return {
    live: [...payments.values()].sort(byOutput),
    blocks: chain
      .filter((block) => block.height >= options.lowestRetainedHeight)
      .map((block) => ({
        hash: block.hash,
        height: block.height,
        slot: block.slot!,
        ancestor: block.ancestor,
        block_time: shelleySlotTime(block.slot!),
      })),
    checkpoints,
    sync: {
      last_block_height: tip?.height ?? null,
      last_block_slot: tip?.slot ?? null,
      last_block_hash: tip?.hash ?? null,
      network_tip_height: options.networkTipHeight,
    },
    ledger: nonZero([...balances]),
    balances: nonZero([...balances]),
  };
}

/** A payment's assets as the ledger carries them: lovelace, then `<policy>.<name hex>` of each token. */
function assetsOf(payment: { amount_lovelace: bigint; assets: Record<string, Record<string, string>> }): [string, bigint][] {
  return [
    ['lovelace', payment.amount_lovelace],
    ...Object.entries(payment.assets).flatMap(([policy, names]) =>
      Object.entries(names).map(([name, quantity]): [string, bigint] => [`${policy}.${name}`, BigInt(quantity)]),
    ),
  ];
}

interface LedgerCounts {
  reversedRows: number;
  rolledBackRows: number;
  recredits: number;
}

/** A stable text form of a row (bigint, Date and key order made comparable), for comparing rows one by one. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (v instanceof Date) return v.toISOString();
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)));
    }
    return v;
  });
}

/**
 * Compares two row sets by key and, when they differ, fails with only the rows that differ (a few of each
 * kind) rather than a diff of whole tables.
 */
function expectSameRows<T>(actual: readonly T[], expected: readonly T[], keyOf: (row: T) => string, label: string): void {
  const actualByKey = new Map(actual.map((row) => [keyOf(row), row]));
  const expectedByKey = new Map(expected.map((row) => [keyOf(row), row]));
  const missing = [...expectedByKey.keys()].filter((key) => !actualByKey.has(key));
  const unexpected = [...actualByKey.keys()].filter((key) => !expectedByKey.has(key));
  const differing = [...expectedByKey.keys()].filter(
    (key) => actualByKey.has(key) && canonical(actualByKey.get(key)) !== canonical(expectedByKey.get(key)),
  );
  if (missing.length + unexpected.length + differing.length > 0) {
    const shown = 3;
    expect(
      {
        missing: missing.slice(0, shown).map((key) => expectedByKey.get(key)),
        unexpected: unexpected.slice(0, shown).map((key) => actualByKey.get(key)),
        differing: differing.slice(0, shown).map((key) => actualByKey.get(key)),
      },
      `${label}: ${missing.length} missing, ${unexpected.length} unexpected, ${differing.length} differing (up to ${shown} of each shown)`,
    ).toEqual({
      missing: [],
      unexpected: [],
      differing: differing.slice(0, shown).map((key) => expectedByKey.get(key)),
    });
  }
  expect(actual.length, `${label}: row count (a key appears twice)`).toBe(expected.length);
}

/** Compares two snapshots part by part, with compact failures. */
function expectSameSnapshot(actual: Snapshot, expected: Snapshot, label: string): void {
  const paymentKey = (row: LivePayment) => `${row.tx_hash}#${row.output_index}`;
  expectSameRows(actual.live, expected.live, paymentKey, `${label}: live payments (pending and confirmed)`);
  expectSameRows(actual.blocks, expected.blocks, (row) => row.hash, `${label}: blocks`);
  expectSameRows(actual.checkpoints, expected.checkpoints, (row) => `${row.slot}`, `${label}: checkpoints`);
  expect(actual.sync, `${label}: sync_state`).toEqual(expected.sync);
  expect(actual.ledger, `${label}: net ledger per user`).toEqual(expected.ledger);
  expect(actual.balances, `${label}: user_balances`).toEqual(expected.balances);
}

/** The invariants of a database whatever happened to it, given the chain it ended on. */
async function checkInvariants(pool: pg.Pool, finalChain: readonly ChainBlock[], auditAfterId: bigint): Promise<LedgerCounts> {
  const onFinalChain = new Set(finalChain.map((block) => block.hash));
  const { rows: payments } = await pool.query<{
    tx_hash: string;
    output_index: number;
    user_id: string | null;
    amount_lovelace: bigint;
    assets: Record<string, Record<string, string>>;
    status: string;
    block_hash: string;
  }>('SELECT tx_hash, output_index, user_id, amount_lovelace, assets, status, block_hash FROM incoming_payments');
  const { rows: ledgerRows } = await pool.query<{
    user_id: string;
    type: string;
    asset: string;
    quantity: string;
    amount_lovelace: bigint | null;
    payment_tx_hash: string | null;
    payment_output_index: number | null;
    occurrence: number;
  }>(
    `SELECT user_id, type, asset, quantity::text AS quantity, amount_lovelace, payment_tx_hash, payment_output_index, occurrence
       FROM balance_transactions`,
  );
  const entries = ledgerRows.map((entry) => ({ ...entry, quantity: BigInt(entry.quantity) }));
  for (const entry of entries) {
    expect(entry.amount_lovelace, 'amount_lovelace is the quantity of a lovelace row, null for a token').toBe(
      entry.asset === 'lovelace' ? entry.quantity : null,
    );
  }
  const { rows: audited } = await pool.query<{ entity_id: string; block_hash: string }>(
    `SELECT entity_id, details->>'block_hash' AS block_hash FROM audit_log
      WHERE id > $1 AND action = 'payment_reversed' AND entity_type = 'incoming_payment'`,
    [auditAfterId.toString()],
  );

  // No output is live twice; rows that left the chain did leave it.
  const live = new Map<string, (typeof payments)[number]>();
  for (const payment of payments) {
    const key = `${payment.tx_hash}#${payment.output_index}`;
    if (payment.status === 'pending' || payment.status === 'confirmed') {
      expect(live.has(key), `two live rows for ${key}`).toBe(false);
      live.set(key, payment);
      expect(
        onFinalChain.has(payment.block_hash),
        `live payment ${key} in block ${payment.block_hash}, which is not on the final chain`,
      ).toBe(true);
    } else {
      expect(
        onFinalChain.has(payment.block_hash),
        `${payment.status} payment ${key} in block ${payment.block_hash}, which is on the final chain`,
      ).toBe(false);
    }
  }

  // Per payment and asset: net credits 0 or 1, 1 exactly when confirmed now.
  const byPayment = new Map<string, { credits: number[]; debits: number[]; users: Set<string>; amounts: Set<bigint> }>();
  for (const entry of entries) {
    expect(entry.payment_tx_hash, 'a ledger entry without a payment').not.toBeNull();
    const key = `${entry.payment_tx_hash}#${entry.payment_output_index}|${entry.asset}`;
    const item = byPayment.get(key) ?? { credits: [], debits: [], users: new Set(), amounts: new Set() };
    (entry.type === 'credit' ? item.credits : item.debits).push(entry.occurrence);
    item.users.add(entry.user_id);
    item.amounts.add(entry.quantity);
    byPayment.set(key, item);
  }
  const rowsByPayment = new Map<string, typeof payments>();
  for (const payment of payments) {
    const key = `${payment.tx_hash}#${payment.output_index}`;
    rowsByPayment.set(key, [...(rowsByPayment.get(key) ?? []), payment]);
  }
  let recredits = 0;
  const expectedLedgerKeys = new Set<string>();
  for (const [paymentKey, rows] of rowsByPayment) {
    for (const [asset, quantity] of assetsOf(rows[0]!)) {
      const key = `${paymentKey}|${asset}`;
      expectedLedgerKeys.add(key);
      const item = byPayment.get(key) ?? { credits: [], debits: [], users: new Set<string>(), amounts: new Set<bigint>() };
      const withUser = rows.filter((row) => row.user_id !== null);
      const everConfirmed = withUser.filter((row) => row.status === 'confirmed' || row.status === 'reversed').length;
      const reversed = withUser.filter((row) => row.status === 'reversed').length;
      const confirmedNow = withUser.some((row) => row.status === 'confirmed');
      const sequence = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
      // A row whose very block left and came back is confirmed (and credited) again: at least one credit per
      // row ever confirmed, at least one debit per row reversed, numbered without gaps, alternating.
      expect(
        item.credits.sort((a, b) => a - b),
        `credits of ${key} (numbered 1..n)`,
      ).toEqual(sequence(item.credits.length));
      expect(
        item.debits.sort((a, b) => a - b),
        `debits of ${key} (numbered 1..n)`,
      ).toEqual(sequence(item.debits.length));
      expect(item.credits.length, `credits of ${key} (at least one per row ever confirmed)`).toBeGreaterThanOrEqual(everConfirmed);
      expect(item.debits.length, `debits of ${key} (at least one per reversed row)`).toBeGreaterThanOrEqual(reversed);
      expect(item.credits.length - item.debits.length, `net credits of ${key}`).toBe(confirmedNow ? 1 : 0);
      if (withUser.length > 0 && item.credits.length > 0) {
        expect([...item.users], `ledger user of ${key}`).toEqual([withUser[0]!.user_id]);
        expect([...item.amounts], `ledger amounts of ${key}`).toEqual([quantity]);
      }
      if (asset === 'lovelace') recredits += Math.max(0, item.credits.length - 1);
    }
  }
  for (const key of byPayment.keys()) expect(expectedLedgerKeys.has(key), `ledger entries for unknown payment or asset ${key}`).toBe(true);

  // Σ ledger = balance, per user and asset.
  const ledger = new Map<string, bigint>();
  for (const entry of entries) {
    const key = `${entry.user_id}|${entry.asset}`;
    ledger.set(key, (ledger.get(key) ?? 0n) + (entry.type === 'credit' ? entry.quantity : -entry.quantity));
  }
  const { rows: balances } = await pool.query<{ key: string; quantity: string }>(
    `SELECT user_id || '|lovelace' AS key, balance_lovelace::text AS quantity FROM user_balances
     UNION ALL SELECT user_id || '|' || asset, quantity::text FROM user_asset_balances`,
  );
  expect(
    nonZero(balances.map((row) => [row.key, BigInt(row.quantity)])),
    'user_balances and user_asset_balances = Σ ledger per user and asset',
  ).toEqual(nonZero([...ledger]));

  // Every reversal is in the audit log: each reversed row at least once (a row whose block came back and left
  // again was reversed more than once), and for payments with a user exactly once per debit.
  const reversedRows = payments.filter((row) => row.status === 'reversed');
  const auditedKeys = audited.map((row) => `${row.entity_id}@${row.block_hash}`);
  for (const row of reversedRows) {
    const key = `${row.tx_hash}#${row.output_index}@${row.block_hash}`;
    expect(auditedKeys.includes(key), `audit_log has the reversal of ${key}`).toBe(true);
  }
  const auditsPerPayment = new Map<string, number>();
  for (const row of audited) auditsPerPayment.set(row.entity_id, (auditsPerPayment.get(row.entity_id) ?? 0) + 1);
  for (const [key, item] of byPayment) {
    if (!key.endsWith('|lovelace')) continue; // one audit row per reversal of a payment, whatever its assets
    const paymentKey = key.slice(0, -'|lovelace'.length);
    expect(auditsPerPayment.get(paymentKey) ?? 0, `audit_log reversals of ${paymentKey} = its debits`).toBe(item.debits.length);
  }
  for (const key of auditsPerPayment.keys()) expect(rowsByPayment.has(key), `audit_log reversal of unknown payment ${key}`).toBe(true);

  return {
    reversedRows: reversedRows.length,
    rolledBackRows: payments.filter((row) => row.status === 'rolled_back').length,
    recredits,
  };
}

// ---------------------------------------------------------------------------------------------------------
// One run
// ---------------------------------------------------------------------------------------------------------

interface Totals {
  runs: number;
  events: number;
  deliveries: number;
  staleRedeliveries: number;
  restarts: number;
  rollbacks: number;
  rollbacksToOrigin: number;
  forks: number;
  revivals: number;
  maxDepth: number;
  reversedPayments: number;
  rolledBackPayments: number;
  recredits: number;
  abortedTransactions: number;
  lostCommits: number;
  failedTransactions: number;
  reincluded: number;
  livePayments: number;
}

const totals: Totals = {
  runs: 0,
  events: 0,
  deliveries: 0,
  staleRedeliveries: 0,
  restarts: 0,
  rollbacks: 0,
  rollbacksToOrigin: 0,
  forks: 0,
  revivals: 0,
  maxDepth: 0,
  reversedPayments: 0,
  rolledBackPayments: 0,
  recredits: 0,
  abortedTransactions: 0,
  lostCommits: 0,
  failedTransactions: 0,
  reincluded: 0,
  livePayments: 0,
};

const ENGINE_TABLES_RESET = `
  TRUNCATE incoming_payments, blocks, checkpoints, balance_transactions, user_balances, user_asset_balances, payment_addresses;
  UPDATE sync_state SET last_block_height = NULL, last_block_slot = NULL, last_block_hash = NULL, network_tip_height = NULL;`;

async function resetDatabase(pool: pg.Pool): Promise<bigint> {
  await pool.query(ENGINE_TABLES_RESET);
  const { rows } = await pool.query<{ max: bigint }>('SELECT coalesce(max(id), 0)::bigint AS max FROM audit_log');
  return rows[0]!.max;
}

function engineOn(pool: pg.Pool, confirmations: number, retainedBlocks: number, wrap?: (store: PaymentStore) => PaymentStore) {
  const store = new PostgresPaymentStore(pool, { retainedBlocks });
  return new PaymentEngine({
    store: wrap ? wrap(store) : store,
    logger: new RecordingLogger(),
    metrics: new InMemoryMetrics(),
    clock: new FixedClock(),
    network: 'mainnet',
    confirmations,
    retainedBlocks,
  });
}

async function runModel(seed: number, disturbedDb: TestDatabase, scratchDb: TestDatabase): Promise<void> {
  const rng = new Random(seed);
  const confirmations = rng.int(3, 8);
  const retainedBlocks = rng.chance(0.5) ? rng.int(MAX_FORK_DEPTH + 5, 120) : DEFAULT_RETAINED_BLOCKS;
  const abortProbability = rng.pick([0, 0.05, 0.15, 0.3]);
  const staleProbability = rng.pick([0, 0.1, 0.3]);
  const parameters = `confirmations ${confirmations}, retained blocks ${retainedBlocks}, abort probability ${abortProbability}`;

  const registrations = new Map<string, Registration>();
  for (let i = 0; i < REGISTERED_ADDRESSES; i++) {
    const address = syntheticAddress('mainnet', i);
    registrations.set(address, {
      address,
      referenceType: rng.pick(['invoice', 'order', 'deposit']),
      referenceId: `ref-${seed}-${i}`,
      userId: rng.chance(0.25) ? null : `user-${rng.int(1, 5)}`,
    });
  }
  const unregistered = Array.from({ length: UNREGISTERED_ADDRESSES }, (_, i) => syntheticAddress('mainnet', 1000 + i));

  // The chain and the events the follower delivers.
  const network = new Network(rng.fork('chain'), seed, [...registrations.keys()], unregistered);
  const actions = rng.fork('actions');
  network.extend(actions.int(1, 60));
  for (let i = actions.int(1, 5); i > 0; i--) {
    const r = actions.next();
    if (REVIVE_ABANDONED_BRANCHES && r < 0.15 && network.revive()) continue;
    if (r < 0.7) network.fork();
    else network.extend(actions.int(1, 12));
  }
  const finalChain = network.chain;
  const trace: string[] = [];
  const faults = new FaultInjector(rng.fork('faults'), abortProbability);
  totals.forks += network.stats.forks;
  totals.revivals += network.stats.revivals;
  totals.maxDepth = Math.max(totals.maxDepth, network.stats.maxDepth);
  totals.failedTransactions += network.stats.failedTransactions;
  totals.reincluded += network.stats.reincluded;

  try {
    const auditStart = await resetDatabase(disturbedDb.pool);
    await resetDatabase(scratchDb.pool);
    for (const db of [disturbedDb, scratchDb]) {
      await new PostgresAddressRegistry(db.pool, 'mainnet').register([...registrations.values()], 'engine-model-test');
    }

    // The disturbed run: every event twice, stale batches again, transactions failing at random points.
    const startEngine = () => engineOn(disturbedDb.pool, confirmations, retainedBlocks, (store) => faults.wrap(store));
    let engine = startEngine();
    const delivery = rng.fork('delivery');
    const checks = rng.fork('checks');
    const forwardEvents: RollForward[] = [];
    let highestTip = 0n;
    /** For each block on the engine's chain, the highest tip the engine has had since it applied the block. */
    let highestTipSince = new Map<string, bigint>();
    for (const step of network.script) {
      trace.push(step.label);
      const { event } = step;
      if (delivery.chance(0.05)) {
        // A cold start: a new engine and store, whose in-memory filters are rebuilt from the tables.
        engine = startEngine();
        totals.restarts++;
      }
      const first = await deliver(engine, event);
      const changed = event.type === 'rollForward' ? 'applied' : 'rolled_back';
      expect(first.outcome.kind, `first delivery of: ${step.label}`).toBe(first.lostCommit ? 'unchanged' : changed);
      const second = await deliver(engine, event);
      expect(second.outcome.kind, `second delivery of: ${step.label}`).toBe('unchanged');
      totals.deliveries += 2;
      if (event.type === 'rollForward') {
        forwardEvents.push(event);
        const tip = event.blocks[event.blocks.length - 1]!.height;
        if (tip > highestTip) highestTip = tip;
      } else {
        totals.rollbacks++;
        if (event.point === 'origin') totals.rollbacksToOrigin++;
      }

      if (delivery.chance(staleProbability)) {
        // An older forward batch, every block of it still on the engine's chain (and not forgotten): a no-op.
        const onChain = new Set(step.after.chain.slice(0, step.after.length).map((block) => block.hash));
        const lowestKept = highestTip - BigInt(retainedBlocks);
        const stale = forwardEvents.filter((candidate) =>
          candidate.blocks.every((block) => onChain.has(block.hash) && block.height >= lowestKept),
        );
        if (stale.length > 0) {
          const again = delivery.pick(stale);
          const { outcome } = await deliver(engine, again);
          expect(outcome.kind, `stale redelivery after: ${step.label}`).toBe('unchanged');
          totals.staleRedeliveries++;
        }
      }

      // A payment is confirmed once the tip reaches its depth, and stays confirmed while its block stays on
      // the chain, even when a rollback makes the tip lower.
      const engineChain = step.after.chain.slice(0, step.after.length);
      const engineTip = engineChain[engineChain.length - 1]?.height ?? 0n;
      highestTipSince = new Map(
        engineChain.map((block) => {
          const before = highestTipSince.get(block.hash) ?? 0n;
          return [block.hash, before > engineTip ? before : engineTip];
        }),
      );
      if (checks.chance(0.2)) {
        const expected = expectedSnapshot(engineChain, registrations, {
          confirmed: (block) => highestTipSince.get(block.hash)! - block.height + 1n >= BigInt(confirmations),
          lowestRetainedHeight: highestTip - BigInt(retainedBlocks),
          networkTipHeight: event.tip === 'origin' ? 0n : event.tip.height,
        });
        expectSameSnapshot(await snapshot(disturbedDb.pool), expected, `after: ${step.label}`);
      } else {
        const { rows } = await disturbedDb.pool.query<{ last_block_hash: string | null }>('SELECT last_block_hash FROM sync_state');
        expect(rows[0]!.last_block_hash, `engine tip after: ${step.label}`).toBe(engineChain[engineChain.length - 1]?.hash ?? null);
      }
    }

    // The oracle run: the final chain once, from scratch, in batches, without disturbance.
    const scratch = engineOn(scratchDb.pool, confirmations, retainedBlocks);
    const batches = rng.fork('scratch');
    for (let i = 0; i < finalChain.length; ) {
      const blocks = finalChain.slice(i, i + batches.int(1, 10));
      const outcome = await scratch.apply({ type: 'rollForward', blocks, tip: tipOf(finalChain) });
      expect(outcome.kind, 'from-scratch apply').toBe('applied');
      i += blocks.length;
    }

    // 1. The engine against the independent model.
    const finalTip = tipOf(finalChain).height;
    const model = expectedSnapshot(finalChain, registrations, {
      confirmed: (block) => finalTip - block.height + 1n >= BigInt(confirmations),
      lowestRetainedHeight: finalTip - BigInt(retainedBlocks),
      networkTipHeight: finalTip,
    });
    const fromScratch = await snapshot(scratchDb.pool);
    expectSameSnapshot(fromScratch, model, 'from-scratch database vs independent model of the final chain');
    const scratchCounts = await checkInvariants(scratchDb.pool, finalChain, 0n);
    expect(scratchCounts, 'from scratch nothing is reversed, rolled back or credited again').toEqual({
      reversedRows: 0,
      rolledBackRows: 0,
      recredits: 0,
    });

    // 2. The disturbed database's own invariants.
    const counts = await checkInvariants(disturbedDb.pool, finalChain, auditStart);

    // 3. The disturbed database against the from-scratch one.
    const disturbed = await snapshot(disturbedDb.pool);
    expectSameSnapshot(disturbed, fromScratch, 'disturbed database vs final chain applied from scratch');

    totals.runs++;
    totals.events += network.script.length;
    totals.reversedPayments += counts.reversedRows;
    totals.rolledBackPayments += counts.rolledBackRows;
    totals.recredits += counts.recredits;
    totals.livePayments += disturbed.live.length;
  } catch (error) {
    const context =
      `\n[MODEL_SEED=${seed}] ${parameters}; final chain ${finalChain.length} blocks\n` + `events: ${trace.slice(-60).join(' | ')}`;
    if (error instanceof Error) {
      error.message = `model run failed, reproduce with MODEL_SEED=${seed}: ${error.message}${context}`;
      throw error;
    }
    throw new Error(`model run failed, reproduce with MODEL_SEED=${seed}: ${String(error)}${context}`);
  } finally {
    totals.abortedTransactions += faults.aborted;
    totals.lostCommits += faults.lostCommits;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------------------

describe(`payment engine model (${SEEDS.length} runs${FIXED_SEED === undefined ? `, base seed ${BASE_SEED}` : ''})`, () => {
  let disturbedDb: TestDatabase;
  let scratchDb: TestDatabase;
  const started = performance.now();

  beforeAll(async () => {
    [disturbedDb, scratchDb] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  });

  afterAll(async () => {
    await Promise.all([disturbedDb?.drop(), scratchDb?.drop()]);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`engine model: ${JSON.stringify(totals)} in ${seconds} s`);
  });

  it.each(SEEDS)('run with MODEL_SEED=%i', async (seed) => {
    await runModel(seed, disturbedDb, scratchDb);
  });

  it.runIf(FIXED_SEED === undefined && RUNS >= 50)('exercised reversals, rollbacks, re-credits and aborted transactions', () => {
    expect(totals.reversedPayments).toBeGreaterThan(0);
    expect(totals.rolledBackPayments).toBeGreaterThan(0);
    expect(totals.recredits).toBeGreaterThan(0);
    expect(totals.abortedTransactions).toBeGreaterThan(0);
    expect(totals.lostCommits).toBeGreaterThan(0);
    expect(totals.staleRedeliveries).toBeGreaterThan(0);
    expect(totals.maxDepth).toBeGreaterThanOrEqual(40);
  });
});
