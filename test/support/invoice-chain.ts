/**
 * A random chain for the invoice model test (test/integration/invoice-model.test.ts): invoices asking lovelace,
 * tokens or both, and a chain with forks (rollbacks of 1–25 blocks, sometimes to the origin, sometimes back to a
 * branch abandoned earlier) whose transactions pay the invoices' addresses in full, in halves, partly (some
 * assets only, one unit), too much, with an unexpected token, or only the ADA that rides along with tokens; failed
 * phase-2 transactions pay through their collateral return; transactions of an abandoned branch land again in its
 * replacement. The chain is built first; each invoice's deadline and monitoring window are then chosen around the
 * times of the blocks that pay it (on any branch), so that payments fall just on time, just late or after the
 * window, and rollbacks cross deadlines and completing payments.
 *
 * The shape follows test/integration/engine-model.test.ts's Network (forks, revivals, forward batches with
 * overlap), trimmed to what invoices need and with payments aimed at invoices.
 */
import type {
  AssetQuantity,
  ChainBlock,
  ChainEvent,
  ChainTransaction,
  OutputReference,
  Tip,
  TransactionOutput,
} from '../../functions/domain/chain.js';
import { syntheticAddress, syntheticHash } from '../../functions/local/synthetic/addresses.js';
import { LOVELACE, type OracleBlock, type OracleOutput } from './invoice-oracle.js';
import type { Random } from './random.js';

const FIRST_SLOT = 100_000_000n;
const MAX_QUANTITY = 2n ** 64n - 1n;
const TWO_53 = 2n ** 53n;
const MAINNET_SHELLEY_START_SECONDS = 1_506_203_091 + 4_492_800 * 20; // system start + Byron era
const MAINNET_SHELLEY_START_SLOT = 4_492_800n;
const HOUR = 3_600_000;

/** Mainnet block time (ms) of a Shelley-era slot: 1 s slots after the Byron era's 20 s ones. */
export function blockTimeMs(slot: bigint): number {
  return (MAINNET_SHELLEY_START_SECONDS + Number(slot - MAINNET_SHELLEY_START_SLOT)) * 1000;
}

export type InvoiceKind = 'lovelace' | 'token' | 'mixed';

type Shape = 'full' | 'half1' | 'half2' | 'some' | 'tiny' | 'over' | 'unexpected' | 'adaOnly';
const SHAPES: readonly Shape[] = ['full', 'half1', 'half2', 'some', 'tiny', 'over', 'unexpected', 'adaOnly'];

/** How an invoice tends to be paid (weights per shape, in SHAPES order). */
const PERSONALITIES: Record<string, readonly number[]> = {
  exact: [6, 0, 0, 1, 0, 1, 0, 1],
  halves: [1, 4, 4, 1, 1, 0, 0, 1],
  stingy: [0, 1, 0, 4, 4, 0, 1, 3],
  generous: [2, 0, 0, 0, 1, 4, 3, 1],
  anything: [1, 1, 1, 1, 1, 1, 1, 1],
};

export interface InvoiceSpec {
  id: string;
  address: string;
  kind: InvoiceKind;
  amount: Map<string, bigint>;
  confirmations: number;
  userId: string | null;
  personality: string;
  /** Relative weight of being paid by an output. */
  activity: number;
  createdAt: number;
  expiresAt: number;
  monitoringUntil: number;
}

export interface EnginePosition {
  chain: readonly ChainBlock[];
  /** The engine's chain is chain[0 .. length) once the event is applied. */
  length: number;
}

export interface ScriptStep {
  event: ChainEvent;
  after: EnginePosition;
  label: string;
}

export interface ChainStats {
  forks: number;
  revivals: number;
  rollbacksToOrigin: number;
  maxDepth: number;
  reincluded: number;
  failedTransactions: number;
  invoiceOutputs: number;
}

interface UnspentOutput {
  ref: OutputReference;
  output: TransactionOutput;
}

interface ChainLedger {
  utxo: Map<string, UnspentOutput>;
  transactions: Set<string>;
}

const refKey = (ref: OutputReference): string => `${ref.txId}#${ref.index}`;

/** The outputs a transaction creates: a valid one its outputs, a failed one (phase 2) its collateral return at index outputs.length. */
export function createdOutputs(tx: ChainTransaction): UnspentOutput[] {
  if (tx.spends === 'collaterals') {
    return tx.collateralReturn ? [{ ref: { txId: tx.id, index: tx.outputs.length }, output: tx.collateralReturn }] : [];
  }
  return tx.outputs.map((output, index) => ({ ref: { txId: tx.id, index }, output }));
}

function consumed(tx: ChainTransaction): readonly OutputReference[] {
  return tx.spends === 'collaterals' ? tx.collaterals : tx.inputs;
}

function applyToLedger(ledger: ChainLedger, tx: ChainTransaction): void {
  for (const ref of consumed(tx)) {
    if (!ledger.utxo.delete(refKey(ref))) throw new Error(`generator bug: ${tx.id} spends ${refKey(ref)}, which is not unspent`);
  }
  for (const created of createdOutputs(tx)) ledger.utxo.set(refKey(created.ref), created);
  if (ledger.transactions.has(tx.id)) throw new Error(`generator bug: ${tx.id} is twice on one chain`);
  ledger.transactions.add(tx.id);
}

function ledgerOf(blocks: readonly ChainBlock[]): ChainLedger {
  const ledger: ChainLedger = { utxo: new Map(), transactions: new Set() };
  for (const block of blocks) for (const tx of block.transactions) applyToLedger(ledger, tx);
  return ledger;
}

export function tipOf(chain: readonly ChainBlock[]): Tip | 'origin' {
  const tip = chain[chain.length - 1];
  return tip ? { slot: tip.slot!, hash: tip.hash, height: tip.height } : 'origin';
}

function commonPrefix(a: readonly ChainBlock[], b: readonly ChainBlock[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i]!.hash === b[i]!.hash) i++;
  return i;
}

/** A block as the oracle reads it (cached per block: blocks are immutable). */
const oracleBlocks = new WeakMap<ChainBlock, OracleBlock>();
export function oracleBlock(block: ChainBlock): OracleBlock {
  let cached = oracleBlocks.get(block);
  if (!cached) {
    const outputs: OracleOutput[] = block.transactions.flatMap((tx) =>
      createdOutputs(tx).map(({ ref, output }) => {
        const quantities = new Map<string, bigint>([[LOVELACE, output.lovelace]]);
        for (const { policyId, assetName, quantity } of output.assets) {
          const asset = `${policyId}.${assetName}`;
          quantities.set(asset, (quantities.get(asset) ?? 0n) + quantity);
        }
        return { txId: ref.txId, index: ref.index, address: output.address, quantities };
      }),
    );
    cached = { height: block.height, time: blockTimeMs(block.slot!), outputs };
    oracleBlocks.set(block, cached);
  }
  return cached;
}

export interface ScenarioOptions {
  invoices: number;
  maxForkDepth: number;
}

export class InvoiceScenario {
  chain: ChainBlock[] = [];
  readonly script: ScriptStep[] = [];
  readonly invoices: InvoiceSpec[] = [];
  readonly stats: ChainStats = {
    forks: 0,
    revivals: 0,
    rollbacksToOrigin: 0,
    maxDepth: 0,
    reincluded: 0,
    failedTransactions: 0,
    invoiceOutputs: 0,
  };
  /** Every block ever made, on any branch. */
  readonly everBlocks: ChainBlock[] = [];
  private readonly abandoned: ChainBlock[][] = [];
  private readonly unregistered: string[];
  private readonly policies: string[];
  private readonly tokenNames: string[];
  private blockCounter = 0;
  private txCounter = 0;
  private sent = 0;

  constructor(
    private readonly rng: Random,
    private readonly seed: number,
    private readonly options: ScenarioOptions,
  ) {
    this.policies = [0, 1, 2].map((i) => syntheticHash(`invoice-model:policy:${i}`).slice(0, 56));
    this.tokenNames = ['', '555344', syntheticHash(`invoice-model:${seed}:name`).slice(0, 20)];
    this.unregistered = Array.from({ length: 6 }, (_, i) => syntheticAddress('mainnet', 5000 + i));
    for (let i = 0; i < options.invoices; i++) this.invoices.push(this.invoiceTerms(i));
  }

  private tokens(): string[] {
    return this.policies.flatMap((policy) => this.tokenNames.map((name) => `${policy}.${name}`));
  }

  private invoiceTerms(i: number): InvoiceSpec {
    const kind = this.rng.pick<InvoiceKind>(['lovelace', 'token', 'mixed']);
    const amount = new Map<string, bigint>();
    if (kind !== 'token') {
      const r = this.rng.next();
      amount.set(LOVELACE, r < 0.1 ? this.rng.bigint(TWO_53 - 3n, TWO_53 + 3n) : this.rng.bigint(2n, 500n) * 1_000_000n);
    }
    if (kind !== 'lovelace') {
      const tokens = this.tokens();
      for (let n = this.rng.chance(0.3) ? 2 : 1; n > 0; n--) {
        const asset = this.rng.pick(tokens);
        const r = this.rng.next();
        amount.set(asset, r < 0.1 ? this.rng.pick([1n, MAX_QUANTITY, MAX_QUANTITY - 1n]) : this.rng.bigint(2n, 1_000_000n));
      }
    }
    const personality = this.rng.pick(Object.keys(PERSONALITIES));
    return {
      id: `inv_${syntheticHash(`invoice-model:${this.seed}:invoice:${i}`).slice(0, 24)}`,
      address: syntheticAddress('mainnet', 4000 + i),
      kind,
      amount,
      confirmations: this.rng.int(1, 4),
      userId: this.rng.chance(0.3) ? null : `user-${this.rng.int(1, 3)}`,
      personality,
      activity: this.rng.pick([0, 0.3, 1, 1, 2]),
      // chosen once the chain exists (chooseDeadlines)
      createdAt: 0,
      expiresAt: 0,
      monitoringUntil: 0,
    };
  }

  extend(count: number): void {
    this.chain = this.grow(this.chain, count, []);
    this.sendForward();
  }

  /** Rolls back 1..maxForkDepth blocks (all of them: to the origin) and replaces them with a longer branch. */
  fork(): void {
    if (this.chain.length === 0) return this.extend(this.rng.int(1, 8));
    const depth = this.rng.chance(0.05) ? this.chain.length : this.rng.int(1, Math.min(this.options.maxForkDepth, this.chain.length));
    const keep = this.chain.length - depth;
    const requeue = this.chain
      .slice(keep)
      .flatMap((block) => block.transactions)
      .filter(() => this.rng.chance(0.7));
    const next = this.grow(this.chain.slice(0, keep), this.rng.int(depth + 1, depth + 4), requeue);
    this.stats.forks++;
    this.switchTo(next, keep, `fork depth ${depth}`);
  }

  /** Switches back to a branch abandoned earlier (its blocks return with the same hashes), extended to be the longest. */
  revive(): boolean {
    const candidates = this.abandoned
      .map((branch) => ({ branch, common: commonPrefix(branch, this.chain) }))
      .filter(({ branch, common }) => this.chain.length - common >= 1 && branch.length > common);
    if (candidates.length === 0) return false;
    const { branch, common } = this.rng.pick(candidates);
    const requeue = this.chain
      .slice(common)
      .flatMap((block) => block.transactions)
      .filter(() => this.rng.chance(0.7));
    const extra = Math.max(1, this.chain.length - branch.length + 1) + this.rng.int(0, 2);
    const next = this.grow(branch, extra, requeue);
    this.stats.revivals++;
    this.switchTo(next, common, `back to an abandoned branch, depth ${this.chain.length - common}`);
    return true;
  }

  private switchTo(next: ChainBlock[], keep: number, label: string): void {
    this.stats.maxDepth = Math.max(this.stats.maxDepth, this.chain.length - keep);
    this.abandoned.push(this.chain);
    const pointBlock = keep === 0 ? undefined : next[keep - 1]!;
    if (!pointBlock) this.stats.rollbacksToOrigin++;
    this.script.push({
      event: {
        type: 'rollBackward',
        point: pointBlock ? { slot: pointBlock.slot!, hash: pointBlock.hash } : 'origin',
        tip: tipOf(next) as Tip,
      },
      after: { chain: next, length: keep },
      label: `${label}: back to ${pointBlock ? `height ${pointBlock.height}` : 'origin'}, new tip ${next.length}`,
    });
    this.chain = next;
    this.sent = keep;
    this.sendForward();
  }

  /** Forward batches up to the tip: mostly 1–10 blocks, sometimes a catch-up of up to 30; some start with blocks applied already. */
  private sendForward(): void {
    const tip = tipOf(this.chain) as Tip;
    while (this.sent < this.chain.length) {
      const size = this.rng.chance(0.15) ? this.rng.int(10, 30) : this.rng.int(1, 10);
      const overlap = this.sent > 0 && this.rng.chance(0.1) ? this.rng.int(1, Math.min(3, this.sent)) : 0;
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
    const gap = this.rng.chance(0.08) ? this.rng.int(1800, 7200) : this.rng.int(1, 120);
    const slot = parent ? parent.slot! + BigInt(gap) : FIRST_SLOT + BigInt(this.rng.int(0, 3600));
    const transactions: ChainTransaction[] = [];
    const count = this.rng.chance(0.25) ? 0 : this.rng.int(1, 3);
    for (let i = 0; i < count; i++) {
      let tx: ChainTransaction | undefined;
      if (requeue.length > 0 && this.rng.chance(0.6)) {
        const index = requeue.findIndex(
          (candidate) => !ledger.transactions.has(candidate.id) && consumed(candidate).every((ref) => ledger.utxo.has(refKey(ref))),
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
    const block: ChainBlock = {
      hash: syntheticHash(`invoice-model:${this.seed}:block:${++this.blockCounter}`),
      height: parent ? parent.height + 1n : 1n,
      slot,
      ancestor: parent ? parent.hash : 'genesis',
      transactions,
    };
    this.everBlocks.push(block);
    return block;
  }

  private transaction(ledger: ChainLedger): ChainTransaction {
    const id = syntheticHash(`invoice-model:${this.seed}:tx:${++this.txCounter}`);
    const available = [...ledger.utxo.values()];
    const outputs = Array.from({ length: this.rng.int(1, 3) }, () => this.output());
    if (available.length > 0 && this.rng.chance(0.08)) {
      // Failed phase-2 validation: its outputs never exist; its collateral return (often to an invoice) does.
      this.stats.failedTransactions++;
      const collaterals = this.pick(available, 1);
      return {
        id,
        spends: 'collaterals',
        inputs: [],
        collaterals,
        outputs,
        ...(this.rng.chance(0.8) ? { collateralReturn: this.output() } : {}),
      };
    }
    const inputs = this.pick(available, this.rng.int(0, Math.min(2, available.length)));
    return { id, spends: 'inputs', inputs, collaterals: [], outputs };
  }

  private pick(available: readonly UnspentOutput[], count: number): OutputReference[] {
    const chosen = new Map<string, OutputReference>();
    while (chosen.size < count) {
      const { ref } = this.rng.pick(available);
      chosen.set(refKey(ref), ref);
    }
    return [...chosen.values()];
  }

  private output(): TransactionOutput {
    const active = this.invoices.filter((invoice) => invoice.activity > 0);
    if (active.length > 0 && this.rng.chance(0.25)) {
      const total = active.reduce((sum, invoice) => sum + invoice.activity, 0);
      let r = this.rng.next() * total;
      const invoice = active.find((candidate) => (r -= candidate.activity) < 0) ?? active[active.length - 1]!;
      this.stats.invoiceOutputs++;
      return this.payment(invoice);
    }
    const assets = this.rng.chance(0.2) ? [this.token(this.rng.pick(this.tokens()), this.rng.bigint(1n, 1000n))] : [];
    return { address: this.rng.pick(this.unregistered), lovelace: this.rng.bigint(1_000_000n, 50_000_000n), assets };
  }

  private token(asset: string, quantity: bigint): AssetQuantity {
    const [policyId, assetName] = asset.split('.') as [string, string];
    return { policyId, assetName, quantity };
  }

  /** An output paying the invoice, shaped by its personality. */
  private payment(invoice: InvoiceSpec): TransactionOutput {
    const weights = PERSONALITIES[invoice.personality]!;
    let r = this.rng.next() * weights.reduce((a, b) => a + b, 0);
    const shape = SHAPES.find((_, i) => (r -= weights[i]!) < 0) ?? 'full';
    const asked = [...invoice.amount];
    const pay = new Map<string, bigint>();
    switch (shape) {
      case 'full':
        for (const [asset, quantity] of asked) pay.set(asset, quantity);
        break;
      case 'half1':
        for (const [asset, quantity] of asked) pay.set(asset, quantity / 2n);
        break;
      case 'half2':
        for (const [asset, quantity] of asked) pay.set(asset, quantity - quantity / 2n);
        break;
      case 'some': {
        // Some of the assets in full (a mixed or two-token invoice), or a third of a single one.
        if (asked.length > 1) {
          for (const [asset, quantity] of asked) if (this.rng.chance(0.5)) pay.set(asset, quantity);
          if (pay.size === asked.length) pay.delete(asked[0]![0]);
          if (pay.size === 0) pay.set(asked[0]![0], asked[0]![1]);
        } else {
          pay.set(asked[0]![0], asked[0]![1] / 3n);
        }
        break;
      }
      case 'tiny':
        pay.set(this.rng.pick(asked)[0], 1n);
        break;
      case 'over': {
        for (const [asset, quantity] of asked) pay.set(asset, quantity);
        const [asset, quantity] = this.rng.pick(asked);
        const extra = this.rng.bigint(1n, quantity);
        if (quantity + extra <= MAX_QUANTITY) pay.set(asset, quantity + extra);
        break;
      }
      case 'unexpected': {
        if (this.rng.chance(0.6)) for (const [asset, quantity] of asked) pay.set(asset, quantity);
        const others = this.tokens().filter((asset) => !invoice.amount.has(asset));
        pay.set(this.rng.pick(others), this.rng.bigint(1n, 1000n));
        break;
      }
      case 'adaOnly':
        break;
    }
    // An output always carries lovelace: what is paid, or the minimum ADA that rides along.
    const lovelace = pay.get(LOVELACE) || this.rng.bigint(1_000_000n, 2_000_000n);
    const assets = [...pay]
      .filter(([asset, quantity]) => asset !== LOVELACE && quantity > 0n)
      .map(([asset, quantity]) => this.token(asset, quantity));
    return { address: invoice.address, lovelace, assets };
  }

  /**
   * Each invoice's deadline and monitoring window, around the times of the blocks that pay it on any branch (just
   * on time, just late, a little before), sometimes around any block, before the chain (everything late) or after it.
   */
  chooseDeadlines(): void {
    const times = this.everBlocks.map((block) => blockTimeMs(block.slot!)).sort((a, b) => a - b);
    const first = times[0] ?? blockTimeMs(FIRST_SLOT);
    const last = times[times.length - 1] ?? first;
    for (const invoice of this.invoices) {
      const paying = this.everBlocks
        .filter((block) => oracleBlock(block).outputs.some((output) => output.address === invoice.address))
        .map((block) => blockTimeMs(block.slot!));
      const r = this.rng.next();
      let expiresAt: number;
      if (paying.length > 0 && r < 0.7) {
        expiresAt = this.rng.pick(paying) + this.rng.pick([0, 0, -1000, 1000 * this.rng.int(1, 60), -1000 * this.rng.int(1, 900)]);
      } else if (r < 0.85) {
        expiresAt = this.rng.pick(times.length > 0 ? times : [first]) + this.rng.pick([0, -1000, 1000 * this.rng.int(1, 300)]);
      } else if (r < 0.93) {
        expiresAt = first - 10 * 60_000;
      } else {
        expiresAt = last + 24 * HOUR;
      }
      const later = [...paying, ...times].filter((time) => time > expiresAt);
      const w = this.rng.next();
      let monitoringUntil: number;
      if (w < 0.15) monitoringUntil = expiresAt;
      else if (w < 0.55 && later.length > 0) monitoringUntil = this.rng.pick(later) + this.rng.pick([0, 0, -1000]);
      else if (w < 0.85) monitoringUntil = expiresAt + 1000 * this.rng.int(1, 7200);
      else monitoringUntil = expiresAt + 24 * HOUR;
      invoice.expiresAt = expiresAt;
      invoice.monitoringUntil = Math.max(expiresAt, monitoringUntil);
      invoice.createdAt = Math.min(first, expiresAt) - HOUR;
    }
  }
}
