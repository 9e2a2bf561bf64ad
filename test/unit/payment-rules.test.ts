/**
 * The business rules of payments, through the payment engine on the in-memory store (no PostgreSQL): what counts
 * as a payment, detection, confirmation after N blocks, one credit, spends, rollbacks that reverse once. The same
 * rules against PostgreSQL, with the database's own refusals, are test/integration/payment-engine.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { ChainBlock, OutputReference } from '../../functions/domain/chain.js';
import { ChainContinuityError } from '../../functions/domain/errors.js';
import { LOVELACE_PER_ADA } from '../../functions/domain/money.js';
import { PaymentEngine } from '../../functions/domain/payment-engine.js';
import { everyOutputIsAPayment, PAYMENT_POLICY, paymentsOfAtLeast, type PaymentPolicy } from '../../functions/domain/payment-policy.js';
import type { ChainOutput } from '../../functions/domain/reconciliation/classification.js';
import type {
  ChainLedger,
  ComparedChunk,
  ReconciliationRecords,
  ReconciliationRun,
  ReconciliationRunStore,
} from '../../functions/domain/reconciliation/ports.js';
import { ReconciliationRunner } from '../../functions/domain/reconciliation/reconciliation-runner.js';
import { consumedOutputs, createdOutputs } from '../../functions/domain/transaction-effects.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { InMemoryPaymentStore } from '../support/in-memory-payment-store.js';
import { FixedClock, RecordingLogger } from '../support/recorders.js';

const alice = syntheticAddress('mainnet', 'alice');
const bob = syntheticAddress('mainnet', 'bob');
const invoice = syntheticAddress('mainnet', 'invoice-77');
const stranger = syntheticAddress('mainnet', 'stranger');
const REGISTERED = [alice, bob, invoice];
const POLICY_ID = 'a0'.repeat(28);
const MAX_U64 = 2n ** 64n - 1n;
const ONE_ADA = 1n * LOVELACE_PER_ADA;
const CONFIRMATIONS = 3;

let store: InMemoryPaymentStore;
let logger: RecordingLogger;
let chain: ChainBuilder;

function engineWith(paymentPolicy?: PaymentPolicy): PaymentEngine {
  return new PaymentEngine({
    store,
    logger,
    metrics: new InMemoryMetrics(),
    clock: new FixedClock(),
    network: 'mainnet',
    confirmations: CONFIRMATIONS,
    paymentPolicy,
  });
}

beforeEach(() => {
  store = new InMemoryPaymentStore();
  store.register([
    { address: alice, referenceType: 'deposit', referenceId: 'acct-alice', userId: 'user-alice' },
    { address: bob, referenceType: 'deposit', referenceId: 'acct-bob', userId: 'user-bob' },
    { address: invoice, referenceType: 'invoice', referenceId: 'INV-77', userId: null },
  ]);
  logger = new RecordingLogger();
  chain = new ChainBuilder();
});

/** Everything the engine writes, copied, to check that a step changed nothing. */
function snapshot() {
  return structuredClone({
    payments: store.payments(),
    ledger: store.ledger(),
    tokens: store.assetBalances('user-alice'),
    audit: store.auditLog(),
    tip: store.tipHeight(),
  });
}

describe('what counts as a payment', () => {
  it('is, by default, every output to a registered address, whatever it carries', () => {
    expect(PAYMENT_POLICY).toBe(everyOutputIsAPayment);
    expect(PAYMENT_POLICY(output(alice, 1n))).toBe(true);
  });

  it('can be a minimum amount in lovelace, which tokens do not change', () => {
    const atLeastOneAda = paymentsOfAtLeast(ONE_ADA);
    expect(atLeastOneAda(output(alice, ONE_ADA - 1n))).toBe(false);
    expect(atLeastOneAda(output(alice, ONE_ADA))).toBe(true);
    expect(atLeastOneAda(output(alice, ONE_ADA - 1n, [{ policyId: POLICY_ID, assetName: '', quantity: MAX_U64 }]))).toBe(false);
  });
});

describe('detection and confirmation', () => {
  it('records a payment to a registered address as pending, ignores other outputs, and credits it once after N blocks', async () => {
    const engine = engineWith();
    const pay = transaction([output(stranger, 5_000_000n), output(alice, 12_345_678n)]);
    await engine.apply(chain.forward([chain.next([pay])]));
    expect(store.payments()).toMatchObject([
      { txId: pay.id, index: 1, address: alice, lovelace: 12_345_678n, status: 'pending', userId: 'user-alice', blockHeight: 1n },
    ]);
    expect(store.balance('user-alice')).toBeUndefined();

    await engine.apply(chain.forward([chain.next()])); // 2 confirmations
    expect(store.payments()[0]!.status).toBe('pending');
    const third = await engine.apply(chain.forward([chain.next()])); // 3 confirmations
    expect(third).toMatchObject({ kind: 'applied', confirmed: [{ txId: pay.id, index: 1 }] });
    expect(store.payments()[0]!.status).toBe('confirmed');
    expect(store.balance('user-alice')).toBe(12_345_678n);

    await engine.apply(chain.forward(chain.empty(5)));
    expect(store.balance('user-alice')).toBe(12_345_678n);
    expect(store.ledger()).toEqual([
      {
        userId: 'user-alice',
        type: 'credit',
        asset: 'lovelace',
        quantity: 12_345_678n,
        txId: pay.id,
        index: 1,
        occurrence: 1,
        reason: 'payment_confirmed',
      },
    ]);
  });

  it('confirms a payment without a user and credits no balance', async () => {
    await engineWith().apply(chain.forward([chain.next([transaction([output(invoice, 99_000_000n)])]), ...chain.empty(2)]));
    expect(store.payments()).toMatchObject([{ status: 'confirmed', referenceId: 'INV-77', userId: null }]);
    expect(store.ledger()).toEqual([]);
  });

  it('keeps lovelace and token quantities above 2^53 exact', async () => {
    const big = 2n ** 60n + 7n;
    const tokens = [{ policyId: POLICY_ID, assetName: '', quantity: MAX_U64 }];
    await engineWith().apply(chain.forward([chain.next([transaction([output(bob, big, tokens)])]), ...chain.empty(2)]));
    expect(store.payments()).toMatchObject([{ lovelace: big, assets: tokens }]);
    expect(store.balance('user-bob')).toBe(big);
    expect(store.assetBalances('user-bob')).toEqual({ [`${POLICY_ID}.`]: MAX_U64 });
  });

  it('credits every asset of a confirmed payment once, and a reversal debits each once', async () => {
    const engine = engineWith();
    const token = `${POLICY_ID}.746f6b656e`;
    const pay = transaction([output(alice, 2_000_000n, [{ policyId: POLICY_ID, assetName: '746f6b656e', quantity: MAX_U64 }])]);
    await engine.apply(chain.forward([chain.next(), chain.next([pay]), chain.next()]));
    expect(store.assetBalances('user-alice')).toEqual({});
    await engine.apply(chain.forward([chain.next(), ...chain.empty(3)]));
    expect(store.balance('user-alice')).toBe(2_000_000n);
    expect(store.assetBalances('user-alice')).toEqual({ [token]: MAX_U64 });
    expect(store.ledger().map((entry) => `${entry.type}${entry.occurrence}:${entry.asset}:${entry.quantity}`)).toEqual([
      'credit1:lovelace:2000000',
      `credit1:${token}:${MAX_U64}`,
    ]);

    const branch = chain.fork('branch', 1n);
    await engine.apply(branch.backward(1n));
    await engine.apply(branch.backward(1n)); // delivered twice
    expect(store.balance('user-alice')).toBe(0n);
    expect(store.assetBalances('user-alice')).toEqual({ [token]: 0n });
    expect(store.ledger().map((entry) => `${entry.type}${entry.occurrence}:${entry.asset}`)).toEqual([
      'credit1:lovelace',
      `credit1:${token}`,
      'debit1:lovelace',
      `debit1:${token}`,
    ]);

    await engine.apply(branch.forward([branch.next([pay]), ...branch.empty(3)]));
    expect(store.assetBalances('user-alice')).toEqual({ [token]: MAX_U64 });
    expect(
      store
        .ledger()
        .filter((entry) => entry.occurrence === 2)
        .map((entry) => `${entry.type}:${entry.asset}`),
    ).toEqual(['credit:lovelace', `credit:${token}`]);
  });

  it('counts only the collateral return of a transaction that failed phase-2 validation, at index outputs.length', async () => {
    const funding = transaction([output(alice, 10_000_000n), output(bob, 4_000_000n)]);
    const failed = transaction([output(bob, 1_000_000n), output(invoice, 2_000_000n)], [{ txId: funding.id, index: 0 }], {
      spends: 'collaterals',
      collaterals: [{ txId: funding.id, index: 1 }],
      collateralReturn: output(alice, 3_500_000n),
    });
    await engineWith().apply(chain.forward([chain.next([funding]), chain.next([failed])]));
    expect(store.payments().map((row) => [row.txId, row.index, row.address, row.spentBy])).toEqual([
      [funding.id, 0, alice, null], // its inputs did not take effect
      [funding.id, 1, bob, failed.id], // its collateral was consumed
      [failed.id, 2, alice, null],
    ]);
  });

  it('marks a payment spent by the transaction that consumes it, also within the same block', async () => {
    const pay = transaction([output(alice, 8_000_000n)]);
    const sweep = transaction([output(stranger, 7_800_000n)], [{ txId: pay.id, index: 0 }]);
    const block = chain.next([pay, sweep]);
    expect(await engineWith().apply(chain.forward([block]))).toMatchObject({ kind: 'applied', spent: 1 });
    expect(store.payments()).toMatchObject([{ spentBy: sweep.id, spentAtSlot: block.slot }]);
  });
});

describe('repeating a step', () => {
  it('changes nothing when an event is applied again, or an older batch is delivered late', async () => {
    const engine = engineWith();
    const first = chain.forward([chain.next([transaction([output(alice, 5_000_000n)])]), chain.next()]);
    const second = chain.forward([chain.next(), chain.next([transaction([output(bob, 1_000_000n)])])]);
    await engine.apply(first);
    await engine.apply(second);
    const before = snapshot();
    expect(await engine.apply(second)).toEqual({ kind: 'unchanged', reason: 'blocks already applied' });
    expect(await engine.apply(first)).toMatchObject({ kind: 'unchanged' });
    expect(snapshot()).toEqual(before);
  });

  it('rejects a block that does not extend the tip and writes nothing', async () => {
    const engine = engineWith();
    await engine.apply(chain.forward([chain.next(), chain.next()]));
    const before = snapshot();
    const gap = chain.fork('other', 1n);
    gap.next();
    const stray = gap.next([transaction([output(alice, 1_000_000n)])]);
    await expect(engine.apply(gap.forward([stray]))).rejects.toBeInstanceOf(ChainContinuityError);
    expect(snapshot()).toEqual(before);
  });
});

describe('rollback', () => {
  it('marks pending payments rolled back and undoes the spends of the removed blocks', async () => {
    const engine = engineWith();
    const pay = transaction([output(alice, 5_000_000n)]);
    await engine.apply(chain.forward([chain.next([pay])]));
    const spend = transaction([output(stranger, 4_000_000n)], [{ txId: pay.id, index: 0 }]);
    const late = transaction([output(bob, 2_000_000n)]);
    await engine.apply(chain.forward([chain.next([spend, late])]));

    expect(await engine.apply(chain.backward(1n))).toMatchObject({ kind: 'rolled_back', outcome: { blocksRemoved: 1, spendsUndone: 1 } });
    expect(store.payments()).toMatchObject([
      { txId: pay.id, status: 'pending', spentBy: null },
      { txId: late.id, status: 'rolled_back' },
    ]);
    expect(store.tipHeight()).toBe(1n);
  });

  it('reverses a confirmed payment that leaves the chain with one debit, and credits it again if it returns', async () => {
    const engine = engineWith();
    const pay = transaction([output(alice, 7_000_000n)]);
    await engine.apply(chain.forward([chain.next(), chain.next([pay]), chain.next(), chain.next()]));
    expect(store.balance('user-alice')).toBe(7_000_000n);

    const branch = chain.fork('branch', 1n);
    await engine.apply(branch.backward(1n));
    await engine.apply(branch.backward(1n)); // delivered twice
    expect(store.payments()).toMatchObject([{ status: 'reversed' }]);
    expect(store.balance('user-alice')).toBe(0n);
    expect(logger.events('payment_reversed')).toMatchObject([{ level: 'critical', fields: { tx_hash: pay.id, amount_ada: 7 } }]);
    expect(store.auditLog()).toEqual([{ action: 'payment_reversed', entityId: `${pay.id}#0`, actor: 'payment-engine' }]);

    // the same transaction is included again on the new branch and confirmed there
    await engine.apply(branch.forward([branch.next(), branch.next([pay]), branch.next(), branch.next(), branch.next()]));
    expect(store.payments().map((row) => row.status)).toEqual(['reversed', 'confirmed']);
    expect(store.balance('user-alice')).toBe(7_000_000n);
    expect(store.ledger().map((entry) => `${entry.type}${entry.occurrence}`)).toEqual(['credit1', 'debit1', 'credit2']);
  });

  it('restores a payment whose very block comes back after the chain switched away and back', async () => {
    const engine = engineWith();
    const pay = transaction([output(alice, 5_000_000n)]);
    const sweep = transaction([output(stranger, 4_900_000n)], [{ txId: pay.id, index: 0 }]);
    await engine.apply(chain.forward([chain.next(), chain.next([pay]), chain.next(), chain.next([sweep])]));
    const other = chain.fork('other', 1n);
    await engine.apply(other.backward(1n));
    await engine.apply(other.forward(other.empty(4)));
    expect(store.balance('user-alice')).toBe(0n);

    chain.empty(2); // the first branch grows longer and wins again: its blocks come back unchanged
    await engine.apply(chain.backward(1n));
    await engine.apply(chain.forward(chain.blocks.slice(1)));
    expect(store.payments()).toMatchObject([{ txId: pay.id, status: 'confirmed', spentBy: sweep.id }]);
    expect(store.balance('user-alice')).toBe(5_000_000n);
    expect(store.ledger().map((entry) => `${entry.type}${entry.occurrence}`)).toEqual(['credit1', 'debit1', 'credit2']);
  });

  it('rolls back to origin, reversing what was confirmed', async () => {
    const engine = engineWith();
    await engine.apply(chain.forward([chain.next([transaction([output(alice, 1_000_000n)])]), ...chain.empty(3)]));
    await engine.apply(chain.backward(0n));
    expect(store.payments().map((row) => row.status)).toEqual(['reversed']);
    expect(store.balance('user-alice')).toBe(0n);
    expect(store.tipHeight()).toBeNull();
  });
});

describe('a payment policy other than the default: payments of at least 1 ADA', () => {
  const atLeastOneAda = paymentsOfAtLeast(ONE_ADA);

  it('records, confirms and credits only the outputs the policy accepts; spending an ignored output changes nothing', async () => {
    const engine = engineWith(atLeastOneAda);
    const dust = transaction([output(alice, ONE_ADA - 1n), output(bob, ONE_ADA)]);
    const sweepDust = transaction([output(stranger, 900_000n)], [{ txId: dust.id, index: 0 }]);
    const outcome = await engine.apply(chain.forward([chain.next([dust]), chain.next([sweepDust]), chain.next()]));
    expect(outcome).toMatchObject({ kind: 'applied', detected: [{ address: bob, lovelace: ONE_ADA }], spent: 0 });
    expect(store.payments().map((row) => [row.address, row.lovelace, row.status])).toEqual([[bob, ONE_ADA, 'confirmed']]);
    expect(store.balance('user-alice')).toBeUndefined();
    expect(store.balance('user-bob')).toBe(ONE_ADA);
  });

  it('is the same rule for the engine and reconciliation: an ignored output is not missing_in_db', async () => {
    const engine = engineWith(atLeastOneAda);
    const blocks = [
      chain.next([transaction([output(alice, 999_999n), output(alice, 2_000_000n), output(invoice, 500_000n), output(stranger, 100n)])]),
      chain.next([transaction([output(bob, ONE_ADA, [{ policyId: POLICY_ID, assetName: '', quantity: 5n }]), output(bob, 1n)])]),
      ...chain.empty(CONFIRMATIONS),
    ];
    await engine.apply(chain.forward(blocks));
    const onChain = unspentOutputsAt(REGISTERED, chain.blocks);

    const [agreeing] = await reconcile(onChain, atLeastOneAda);
    expect(agreeing).toMatchObject({ mode: 'consistent', discrepancies: [], counts: { matched: 2, missingInDb: 0, tooRecent: 0 } });

    // Reconciliation with another rule than the engine's (here the default) reports every output the engine ignored.
    const [disagreeing] = await reconcile(onChain);
    expect(disagreeing!.discrepancies.map((found) => [found.kind, found.chain?.lovelace])).toEqual([
      ['missing_in_db', 999_999n],
      ['missing_in_db', 500_000n],
      ['missing_in_db', 1n],
    ]);
  });
});

/**
 * One reconciliation run over the registered addresses (the default policy unless one is given): the chain holds
 * `onChain` at the engine's tip, the database side is the in-memory store. Returns the chunks the run recorded.
 */
async function reconcile(onChain: readonly ChainOutput[], paymentPolicy?: PaymentPolicy): Promise<ComparedChunk[]> {
  const chunks: ComparedChunk[] = [];
  const tip = chain.tipOf();
  const records: ReconciliationRecords = {
    addressesAfter: async (cursor) =>
      cursor === 0n ? REGISTERED.map((address, i) => ({ id: BigInt(i + 1), address, recordedUnspent: 0, openingRead: true })) : [],
    paymentsAt: async (addresses, outputs) => store.paymentsAt(addresses, outputs),
    openingStarts: async () => [],
    recordOpenings: async () => undefined,
    verifyBalances: async () => ({ usersChecked: 0, mismatchCount: 0, mismatches: [] }),
    verifyInvoices: async () => ({ invoicesChecked: 0, invoicesHeld: 0, mismatchCount: 0, mismatches: [] }),
  };
  const ledger: ChainLedger = {
    acquire: (queries) =>
      queries({ tip: async () => tip, utxoAt: async (addresses) => onChain.filter((found) => addresses.includes(found.address)) }),
  };
  // Only what a run's first invocation calls: each chunk is kept, then the run is found ended by someone else.
  const runs: Pick<ReconciliationRunStore, 'recordChunk' | 'recordBalances' | 'recordInvoices' | 'finish' | 'find'> = {
    recordChunk: async (_runId, chunk) => {
      chunks.push(chunk);
      return { detailed: chunk.discrepancies.length };
    },
    recordBalances: async () => 'stale',
    recordInvoices: async () => 'stale',
    finish: async () => null,
    find: async () => null,
  };
  const runner = new ReconciliationRunner({
    records,
    chain: ledger,
    runs: runs as ReconciliationRunStore,
    logger,
    metrics: new InMemoryMetrics(),
    chunkSize: REGISTERED.length,
    paymentPolicy,
  });
  const progress = await runner.advance({ id: 1n, addressCursor: 0n } as ReconciliationRun, () => true);
  expect(progress.outcome).toBe('superseded');
  return chunks;
}

/** The chain's unspent outputs at these addresses after these blocks: what the node would answer reconciliation. */
function unspentOutputsAt(addresses: readonly string[], blocks: readonly ChainBlock[]): ChainOutput[] {
  const unspent = new Map<string, ChainOutput>();
  const keyOf = (reference: OutputReference) => `${reference.txId}#${reference.index}`;
  for (const tx of blocks.flatMap((block) => block.transactions)) {
    for (const consumed of consumedOutputs(tx)) unspent.delete(keyOf(consumed));
    for (const created of createdOutputs(tx)) unspent.set(keyOf(created), created);
  }
  return [...unspent.values()].filter((candidate) => addresses.includes(candidate.address));
}
