/**
 * Payout execution (issue 16) on real PostgreSQL: the processor builds with the transaction library (CSL), signs
 * with an Ed25519 key (node:crypto, the local signer's kind), and the real payment engine follows the transaction on
 * a chain fed by hand with exactly what was submitted (decoded from its CBOR). The network's side is a recorder of
 * submissions here; the local stack's test submits to the Ogmios simulator.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PostgresPayoutExecutionStore } from '../../functions/adapters/postgres/payout-execution-store.js';
import { cancelPayout, readPayout } from '../../functions/adapters/postgres/payout-requests.js';
import { inTransaction } from '../../functions/adapters/postgres/pool.js';
import { PostgresRebuildStore } from '../../functions/adapters/postgres/rebuild-store.js';
import type { ChainTransaction } from '../../functions/domain/chain.js';
import { LogEvent, Metric } from '../../functions/domain/observability.js';
import {
  DEFERRAL_RETRY_MINUTES,
  MIN_EXPIRY_DEPTH,
  type PayoutProcessor,
  type PayoutProcessorOptions,
} from '../../functions/domain/payouts/payout-processor.js';
import type { PayoutStatus } from '../../functions/domain/payouts/payout-rules.js';
import { SignerError, type TransactionSigner } from '../../functions/domain/payouts/transaction-signer.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { type ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { createEngineFixture, type EngineFixture } from '../support/engine-fixture.js';
import { chainTransactionOf } from '../support/payout-chain.js';
import {
  ADA,
  applyNextBlock,
  PAYOUT_PARAMETERS,
  PAYOUT_SLOTS_PER_BLOCK,
  PAYOUT_VALIDITY_SECONDS as VALIDITY_SECONDS,
  payoutChainOn,
  payoutProcessorOn,
  type RecordingSubmitter,
  registeredHotWallet,
  requestAdaPayout,
} from '../support/payout-processor.js';

const CONFIRMATIONS = 3;
const SLOTS_PER_BLOCK = PAYOUT_SLOTS_PER_BLOCK;
let f: EngineFixture;
let chain: ChainBuilder;
let submitter: RecordingSubmitter;
let processor: PayoutProcessor;
let processorSigner: TransactionSigner;
let hotWallet: { address: string; keyHash: string };

function processorWith(overrides: Partial<PayoutProcessorOptions> = {}): PayoutProcessor {
  return payoutProcessorOn(f, { signer: processorSigner, submitter, hotWallet, confirmations: CONFIRMATIONS }, overrides);
}

beforeEach(async () => {
  f = await createEngineFixture({ confirmations: CONFIRMATIONS });
  chain = payoutChainOn(f);
  ({ signer: processorSigner, hotWallet, submitter, processor } = await registeredHotWallet(f, CONFIRMATIONS, 'hot'));
});
afterEach(async () => f.db.drop());

/** Applies a block with these transactions, moving the clock with the slots. */
const block = (transactions: ChainTransaction[] = []) => applyNextBlock(f, chain, transactions);
async function emptyBlocks(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await block();
}

/** Funds the hot wallet with outputs of these sizes, confirmed. */
async function fund(...lovelace: bigint[]): Promise<void> {
  await block([transaction(lovelace.map((amount) => output(hotWallet.address, amount)))]);
  await emptyBlocks(CONFIRMATIONS);
}

/** Gives a user a confirmed deposit (credited by the engine). */
async function deposit(userId: string, lovelace: bigint): Promise<void> {
  const address = syntheticAddress('mainnet', `deposit:${userId}`);
  await f.registry.register([{ address, referenceType: 'deposit', referenceId: userId, userId }], 'test');
  await block([transaction([output(address, lovelace)])]);
  await emptyBlocks(CONFIRMATIONS);
}

async function balanceOf(userId: string): Promise<bigint> {
  const { rows } = await f.db.pool.query<{ balance: string }>(
    'SELECT balance_lovelace::text AS balance FROM user_balances WHERE user_id = $1',
    [userId],
  );
  return BigInt(rows[0]?.balance ?? '0');
}

async function holdsOf(id: string): Promise<(string | null)[]> {
  const { rows } = await f.db.pool.query<{ closed_as: string | null }>('SELECT closed_as FROM payout_holds WHERE payout_id = $1', [id]);
  return rows.map((row) => row.closed_as);
}

function request(lovelace: bigint, options: { userId?: string; reference?: string } = {}): Promise<string> {
  return requestAdaPayout(f, lovelace, options);
}

/**
 * The usual start: a hot wallet of 40 ADA, user-7 with a deposit of 25 ADA, a 5 ADA payout of theirs built, signed
 * and submitted; its id and the transaction as the chain would carry it.
 */
async function userPayoutSubmitted(): Promise<{ id: string; ours: ChainTransaction }> {
  await fund(40n * ADA);
  await deposit('user-7', 25n * ADA);
  const id = await request(5n * ADA, { userId: 'user-7' });
  await processor.runOnce();
  return { id, ours: chainTransactionOf(submitter.last()) };
}

async function statusOf(id: string): Promise<PayoutStatus | undefined> {
  return (await readPayout(f.db.pool, id))?.status;
}

async function eventTypes(id: string): Promise<string[]> {
  const { rows } = await f.db.pool.query<{ type: string }>(
    `SELECT type FROM business_events WHERE resource_type = 'payout' AND resource_id = $1 ORDER BY version`,
    [id],
  );
  return rows.map((row) => row.type);
}

async function reservations(): Promise<number> {
  const { rows } = await f.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM hot_wallet_reservations');
  return rows[0]!.n;
}

describe('a payout on its way to the chain', () => {
  it('is built, signed, submitted, seen in a block and confirmed, each step an event', async () => {
    await fund(50n * ADA, 30n * ADA);
    await deposit('user-7', 25n * ADA);
    const id = await request(10n * ADA, { userId: 'user-7' });
    expect(await statusOf(id)).toBe('approved');
    expect(await holdsOf(id)).toEqual([null]);

    const report = await processor.runOnce();
    expect(report).toMatchObject({ built: { payouts: 1 }, signed: 1, submitted: 1 });
    // The hot wallet as the monitor's own records hold it: 80 ADA unspent, 50 of it reserved by the transaction.
    expect(f.metrics.snapshot().gauges[Metric.hotWalletRecordedAda]).toBe(80);
    expect(f.metrics.snapshot().gauges[Metric.hotWalletSpendableAda]).toBe(30);
    expect(await statusOf(id)).toBe('submitted');
    const onChain = chainTransactionOf(submitter.last());
    expect(onChain.outputs).toContainEqual(output(syntheticAddress('mainnet', 'destination:1'), 10n * ADA));
    expect((await readPayout(f.db.pool, id))?.transactionId).toBe(onChain.id);

    await block([onChain]);
    expect(await statusOf(id)).toBe('in_block');
    await emptyBlocks(CONFIRMATIONS - 2);
    expect(await statusOf(id)).toBe('in_block');
    await block();
    expect(await statusOf(id)).toBe('confirmed');
    expect(await reservations()).toBe(0);
    // The user's balance is debited once, at confirmation, and the hold closes as debited.
    expect(await balanceOf('user-7')).toBe(15n * ADA);
    expect(await holdsOf(id)).toEqual(['debited']);
    await block();
    expect(await balanceOf('user-7')).toBe(15n * ADA);
    expect(await eventTypes(id)).toEqual([
      'payout.requested',
      'payout.approved',
      'payout.built',
      'payout.signed',
      'payout.submitted',
      'payout.in_block',
      'payout.confirmed',
    ]);

    // Its change is the hot wallet's again, spendable once confirmed: the next payout builds from it.
    const change = onChain.outputs.filter((out) => out.address === hotWallet.address);
    expect(change).toHaveLength(1);
  });

  it('goes back to submitted when a rollback takes its block, is submitted again unchanged, and is paid once', async () => {
    await fund(40n * ADA);
    const id = await request(5n * ADA);
    await processor.runOnce();
    const signed = submitter.last();
    const onChain = chainTransactionOf(signed);
    await block([onChain]);
    const forkPoint = chain.tip!.height - 1n;
    expect(await statusOf(id)).toBe('in_block');

    // A fork without our transaction: the engine rolls back past its block.
    const fork = chain.fork('fork', forkPoint);
    await f.engine.apply(fork.backward(forkPoint));
    expect(await statusOf(id)).toBe('submitted');

    // The next run submits the very same bytes again (after the resubmission interval).
    f.clock.advance(60);
    await processor.runOnce();
    expect(submitter.submitted).toHaveLength(2);
    expect(Buffer.from(submitter.last()).equals(Buffer.from(signed))).toBe(true);

    // The new branch carries it; confirmed once, and the attempt is the same one.
    chain = fork;
    await block([onChain]);
    await emptyBlocks(CONFIRMATIONS);
    expect(await statusOf(id)).toBe('confirmed');
    const { rows } = await f.db.pool.query('SELECT transaction_id FROM payout_attempts');
    expect(rows).toHaveLength(1);
    expect((await eventTypes(id)).filter((type) => type === 'payout.confirmed')).toHaveLength(1);
  });

  it('expires once a confirmed block is past its validity interval, and only then is built again', async () => {
    await fund(40n * ADA);
    const id = await request(5n * ADA);
    await processor.runOnce();
    const first = chainTransactionOf(submitter.last());

    // Not yet: the interval is open, then passed only by blocks not yet deep enough (MIN_EXPIRY_DEPTH, whatever
    // CONFIRMATIONS is: a payout handed to a new transaction must never see the old one land).
    const blocksToPass = Number(BigInt(VALIDITY_SECONDS) / SLOTS_PER_BLOCK) + 1;
    await emptyBlocks(blocksToPass);
    await processor.runOnce();
    expect(await statusOf(id)).toBe('submitted');
    await emptyBlocks(MIN_EXPIRY_DEPTH - 2);
    await processor.runOnce();
    expect(await statusOf(id)).toBe('submitted');
    await emptyBlocks(2);
    const report = await processor.runOnce();
    expect(report.expired).toBe(1);
    expect(report.built?.payouts).toBe(1);
    expect(await statusOf(id)).toBe('submitted');
    const second = chainTransactionOf(submitter.last());
    expect(second.id).not.toBe(first.id);
    expect(await eventTypes(id)).toEqual([
      'payout.requested',
      'payout.approved',
      'payout.built',
      'payout.signed',
      'payout.submitted',
      'payout.expired',
      'payout.approved',
      'payout.built',
      'payout.signed',
      'payout.submitted',
    ]);
    const { rows } = await f.db.pool.query<{ status: string }>('SELECT status FROM payout_attempts ORDER BY created_at');
    expect(rows.map((row) => row.status)).toEqual(['expired', 'submitted']);
  });

  it('fails when another transaction spends one of its inputs and that block is confirmed; releases the hold; alarms', async () => {
    const { id, ours } = await userPayoutSubmitted();
    const thief = transaction([output(syntheticAddress('mainnet', 'elsewhere'), 39n * ADA)], ours.inputs.slice(0, 1));
    await block([thief]);
    // Critical at once, final only at depth: a rollback may still take the other spend away.
    expect(f.logger.events(LogEvent.payoutInputSpentElsewhere)[0]?.level).toBe('critical');
    expect(await statusOf(id)).toBe('submitted');
    await emptyBlocks(CONFIRMATIONS - 2);
    expect(await statusOf(id)).toBe('submitted');
    await block();
    expect(await statusOf(id)).toBe('failed');
    expect(f.logger.events(LogEvent.payoutFailed)).toHaveLength(1);
    expect(f.logger.events(LogEvent.payoutFailed)[0]!.level).toBe('critical');
    expect(f.metrics.snapshot().counters[Metric.payoutsFailed]).toBe(1);
    expect(await reservations()).toBe(0);
    expect(await holdsOf(id)).toEqual(['released']);
    expect(await balanceOf('user-7')).toBe(25n * ADA);
    // Nothing more is submitted for it.
    f.clock.advance(120);
    const before = submitter.submitted.length;
    await processor.runOnce();
    expect(submitter.submitted).toHaveLength(before);
  });

  it('is paid once when the other spend is rolled back and our transaction lands after all', async () => {
    const { id, ours } = await userPayoutSubmitted();
    const forkPoint = chain.tip!.height;
    const thief = transaction([output(syntheticAddress('mainnet', 'elsewhere'), 39n * ADA)], ours.inputs.slice(0, 1));
    await block([thief]);
    expect(await statusOf(id)).toBe('submitted');

    // A fork takes the other spend away; ours lands on the new branch.
    const fork = chain.fork('without-thief', forkPoint);
    await f.engine.apply(fork.backward(forkPoint));
    chain = fork;
    await block([ours]);
    expect(await statusOf(id)).toBe('in_block');
    await emptyBlocks(CONFIRMATIONS);
    expect(await statusOf(id)).toBe('confirmed');
    expect(await holdsOf(id)).toEqual(['debited']);
    expect(await balanceOf('user-7')).toBe(20n * ADA);
    expect(f.logger.events(LogEvent.payoutFailed)).toHaveLength(0);
    const { rows } = await f.db.pool.query<{ status: string; conflict_height: string | null }>(
      'SELECT status, conflict_height FROM payout_attempts',
    );
    expect(rows).toEqual([{ status: 'confirmed', conflict_height: null }]);
  });

  it('abandons a transaction no node accepted for its fee, and builds the payout again', async () => {
    await fund(40n * ADA, 40n * ADA);
    const id = await request(5n * ADA);
    submitter.answer = { kind: 'refused', reason: 'fee_too_small', detail: '3122 fee too small' };
    await processor.runOnce();
    expect(await statusOf(id)).toBe('approved');
    expect(await reservations()).toBe(0);
    submitter.answer = { kind: 'accepted' };
    await processor.runOnce();
    expect(await statusOf(id)).toBe('submitted');
    // Built again in the same second from the same output, it is the same transaction: the abandoned row is taken up.
    const { rows } = await f.db.pool.query<{ status: string; submissions: number }>('SELECT status, submissions FROM payout_attempts');
    expect(rows).toEqual([{ status: 'submitted', submissions: 1 }]);

    // A second later, and with the transaction abandoned again, the next build is another transaction.
    submitter.answer = { kind: 'refused', reason: 'invalid', detail: '3100 something' };
    const other = await request(5n * ADA, { reference: 'other' });
    f.clock.advance(1);
    await processor.runOnce();
    expect(await statusOf(other)).toBe('approved');
    const attempts = await f.db.pool.query<{ status: string }>('SELECT status FROM payout_attempts ORDER BY created_at');
    expect(attempts.rows.map((row) => row.status)).toEqual(['submitted', 'abandoned']);
  });
});

describe('a payout whose transaction expired', () => {
  /**
   * The payout is confirmed by `landed` (its debit and event once), the `replaced` transactions are given up on, and
   * the processor sends it no more.
   */
  async function paidOnceBy(id: string, landed: string, replaced: readonly string[]): Promise<void> {
    await emptyBlocks(CONFIRMATIONS);
    await processor.runOnce();
    const carriers = await f.db.pool.query<{ transaction_id: string; live: boolean }>(
      'SELECT transaction_id, live FROM payout_attempt_payouts WHERE payout_id = $1',
      [id],
    );
    expect(carriers.rows.filter((row) => ![landed, ...replaced].includes(row.transaction_id))).toEqual([]);
    expect(carriers.rows.filter((row) => row.live).map((row) => row.transaction_id)).toEqual([landed]);
    expect(await statusOf(id)).toBe('confirmed');
    expect((await readPayout(f.db.pool, id))?.transactionId).toBe(landed);
    expect((await eventTypes(id)).filter((type) => type === 'payout.confirmed')).toHaveLength(1);
    const { rows } = await f.db.pool.query<{ transaction_id: string; status: string }>(
      'SELECT transaction_id, status FROM payout_attempts WHERE transaction_id = ANY($1::text[])',
      [[landed, ...replaced]],
    );
    // The others can never land: given up on (abandoned, or expired for one replaced before).
    expect(Object.fromEntries(rows.map((row) => [row.transaction_id, row.status === 'expired' ? 'abandoned' : row.status]))).toEqual(
      Object.fromEntries([[landed, 'confirmed'], ...replaced.map((replacedId) => [replacedId, 'abandoned'])]),
    );
    const held = await f.db.pool.query('SELECT 1 FROM hot_wallet_reservations WHERE transaction_id = ANY($1::text[])', [
      [landed, ...replaced],
    ]);
    expect(held.rows).toEqual([]);
  }

  /** Requests a payout and runs the processor once: the payout and its first transaction, as the chain would carry it. */
  async function sent(lovelace: bigint, options: { userId?: string; reference: string }): Promise<{ id: string; first: ChainTransaction }> {
    const id = await request(lovelace, options);
    await processor.runOnce();
    return { id, first: chainTransactionOf(submitter.last()) };
  }

  /** A processor after the fee rose by 6 ADA (beyond a 10 ADA coin paying 5 ADA). */
  const dearerProcessor = () => processorWith({ protocolParameters: async () => ({ ...PAYOUT_PARAMETERS, minFeeConstant: 6n * ADA }) });

  /** Empty blocks until a block MIN_EXPIRY_DEPTH deep is past a transaction built now. */
  async function passValidity(): Promise<void> {
    await emptyBlocks(Number(BigInt(VALIDITY_SECONDS) / SLOTS_PER_BLOCK) + 1 + MIN_EXPIRY_DEPTH);
  }
  const keysOf = (outputs: readonly { txId: string; index: number }[]) => outputs.map((o) => `${o.txId}#${o.index}`).sort();

  it('goes again only from the inputs of the expired transaction, so the two can never both land; other payouts use other coins', async () => {
    await fund(40n * ADA);
    const { id, first } = await sent(5n * ADA, { reference: 'carried' });
    // A larger output arrives, which largest-first selection would take, and another payout waits.
    await fund(100n * ADA);
    await passValidity();
    const other = await request(7n * ADA, { reference: 'ordinary' });

    const report = await processor.runOnce();
    expect(report.expired).toBe(1);
    expect(report.built?.payouts).toBe(1);
    const second = chainTransactionOf(submitter.last());
    expect(second.id).not.toBe(first.id);
    expect(keysOf(second.inputs)).toEqual(keysOf(first.inputs));
    expect(await statusOf(id)).toBe('submitted');
    expect(await statusOf(other)).toBe('approved');

    await processor.runOnce();
    const third = chainTransactionOf(submitter.last());
    expect(await statusOf(other)).toBe('submitted');
    expect(third.inputs.some((input) => keysOf(first.inputs).includes(`${input.txId}#${input.index}`))).toBe(false);

    // The first lands after all (a rollback deeper than the expiry's depth): the second, spending the same input,
    // never can; the payout is the first's again, confirmed with it, and never sent a third time.
    await block([first]);
    await paidOnceBy(id, first.id, [second.id]);
    expect(f.logger.events(LogEvent.payoutTransactionRevived)[0]?.fields).toMatchObject({ tx_hash: first.id, replaced_tx_hash: second.id });
  });

  it('is paid by the earlier transaction when that lands while its inputs wait, carried, for more coins', async () => {
    await fund(10n * ADA);
    const { id, first } = await sent(5n * ADA, { reference: 'carried' });
    await passValidity();
    const dearer = dearerProcessor();
    expect((await dearer.runOnce()).built).toBeNull();
    await block([first]);
    await paidOnceBy(id, first.id, []);
  });

  it('waits while a rollback leaves the fate of a carried input unknown, instead of sending it from other coins', async () => {
    await emptyBlocks(1);
    const funding = transaction([output(hotWallet.address, 10n * ADA)]);
    await block([funding]);
    const fundedAt = chain.tip!.height;
    await emptyBlocks(CONFIRMATIONS);
    const { id, first } = await sent(5n * ADA, { reference: 'carried' });
    await passValidity();
    const dearer = dearerProcessor();
    expect((await dearer.runOnce()).expired).toBe(1);

    // A rollback below the funding's own block: the carried input is no longer on the engine's chain.
    const fork = chain.fork('deep', fundedAt - 1n);
    await f.engine.apply(fork.backward(fundedAt - 1n));
    chain = fork;
    await fund(100n * ADA);
    await processor.runOnce();
    expect(await statusOf(id)).toBe('approved');
    const { rows } = await f.db.pool.query('SELECT transaction_id FROM payout_attempts');
    expect(rows).toHaveLength(1);
    expect(f.logger.events(LogEvent.payoutInputsReleased)).toEqual([]);

    // The fork carries the funding again, and the first transaction with it.
    await block([funding, first]);
    await paidOnceBy(id, first.id, []);
  });

  it('is paid by the earlier transaction when that lands while the next one is signed but not yet sent', async () => {
    await fund(10n * ADA);
    const { id, first } = await sent(5n * ADA, { reference: 'carried' });
    await fund(100n * ADA);
    await passValidity();
    const unreachable = processorWith({
      submitter: {
        submit: async () => {
          throw new Error('no relay answered');
        },
      },
    });
    await unreachable.runOnce();
    const { rows } = await f.db.pool.query<{ transaction_id: string }>(
      `SELECT transaction_id FROM payout_attempts WHERE status = 'signed'`,
    );
    expect(rows).toHaveLength(1);
    await block([first]);
    await paidOnceBy(id, first.id, [rows[0]!.transaction_id]);
  });

  it('debits the user once when the earlier transaction paid, and keeps the reference taken', async () => {
    await fund(40n * ADA);
    await deposit('user-7', 25n * ADA);
    const { id, first } = await sent(5n * ADA, { userId: 'user-7', reference: 'WD-1' });
    await passValidity();
    await processor.runOnce();
    const second = chainTransactionOf(submitter.last());
    await block([first]);
    await paidOnceBy(id, first.id, [second.id]);
    expect(await balanceOf('user-7')).toBe(20n * ADA);
    expect(await holdsOf(id)).toEqual(['debited']);
    await expect(request(5n * ADA, { userId: 'user-7', reference: 'WD-1' })).rejects.toThrow(/reference/);
  });

  it('keeps carrying the inputs through a next transaction abandoned before any node had it', async () => {
    await fund(10n * ADA);
    const { id, first } = await sent(5n * ADA, { reference: 'carried' });
    await fund(100n * ADA);
    await passValidity();
    // The next transaction is built but never signed (the signer is down) until its validity passed too.
    const signerDown = processorWith({
      signer: {
        keyId: 'hot',
        publicKey: () => processorSigner.publicKey(),
        sign: async () => {
          throw new SignerError('hot', 'throttled', true);
        },
      },
    });
    await signerDown.runOnce();
    await passValidity();
    await signerDown.runOnce();
    const { rows } = await f.db.pool.query<{ transaction_id: string; status: string }>(
      'SELECT transaction_id, status FROM payout_attempts ORDER BY created_at',
    );
    expect(rows.map((row) => row.status)).toEqual(['expired', 'abandoned', 'built']);
    await processor.runOnce();
    const third = chainTransactionOf(submitter.last());
    expect(keysOf(third.inputs)).toEqual(keysOf(first.inputs));
    await block([first]);
    await paidOnceBy(id, first.id, [rows[1]!.transaction_id, third.id]);
  });

  it('cannot be cancelled, and goes with all its inputs and other coins once the fee rose beyond them', async () => {
    await fund(10n * ADA);
    const { id, first } = await sent(5n * ADA, { reference: 'carried' });
    await passValidity();
    // The fee rose beyond what the 10 ADA output can cover next to the payout, and nothing else is there.
    const dearer = dearerProcessor();
    const report = await dearer.runOnce();
    expect(report.expired).toBe(1);
    expect(report.built).toBeNull();
    expect(await statusOf(id)).toBe('approved');
    expect(f.logger.events(LogEvent.payoutDeferred).at(-1)?.fields.detail).toContain('with all its inputs and all its payouts');
    expect(await reservations()).toBe(1);
    // Approved again, but its transaction was signed and may still land: cancelling it could pay it anyway.
    await expect(
      inTransaction(f.db.pool, (client) => cancelPayout(client, id, 'operator:bob', 'send it another way', f.clock.now())),
    ).rejects.toThrow(/can no longer be cancelled/);

    await fund(100n * ADA);
    expect((await dearer.runOnce()).built?.payouts).toBe(1);
    const second = chainTransactionOf(submitter.last());
    expect(keysOf(second.inputs)).toEqual(expect.arrayContaining(keysOf(first.inputs)));
    expect(second.inputs).toHaveLength(2);
    expect(f.logger.events(LogEvent.payoutInputsReleased)).toEqual([]);
  });

  it('is not failed when another key spends an input its next transaction added: the expired one may still land', async () => {
    await fund(10n * ADA);
    await deposit('user-7', 25n * ADA);
    const { id, first } = await sent(5n * ADA, { userId: 'user-7', reference: 'WD-1' });
    await passValidity();
    await fund(100n * ADA);
    // The fee rose: the next transaction spends the carried input and the 100 ADA coin.
    const dearer = dearerProcessor();
    expect((await dearer.runOnce()).built?.payouts).toBe(1);
    const second = chainTransactionOf(submitter.last());
    const added = second.inputs.filter((input) => !keysOf(first.inputs).includes(`${input.txId}#${input.index}`));
    expect(added).toHaveLength(1);
    const thief = transaction([output(syntheticAddress('mainnet', 'elsewhere'), 99n * ADA)], added);
    await block([thief]);
    await emptyBlocks(CONFIRMATIONS);
    expect(await statusOf(id)).toBe('approved');
    expect(await holdsOf(id)).toEqual([null]);
    expect(f.metrics.snapshot().counters[Metric.payoutsFailed]).toBeUndefined();

    // Once that spend is final, the payout goes again with the carried input; the first lands after all: paid once.
    await fund(50n * ADA);
    await emptyBlocks(MIN_EXPIRY_DEPTH);
    await dearer.runOnce();
    const third = chainTransactionOf(submitter.last());
    expect(keysOf(third.inputs)).toEqual(expect.arrayContaining(keysOf(first.inputs)));
    await block([first]);
    await paidOnceBy(id, first.id, [second.id, third.id]);
    expect(await balanceOf('user-7')).toBe(20n * ADA);
  });

  it('is told at once when another transaction spends a carried input, and let go only once that spend is final', async () => {
    await fund(10n * ADA);
    const { id, first } = await sent(5n * ADA, { reference: 'carried' });
    await passValidity();
    const dearer = dearerProcessor();
    await dearer.runOnce();
    const thief = transaction([output(syntheticAddress('mainnet', 'elsewhere'), 9n * ADA)], [...first.inputs]);
    await block([thief]);
    expect(f.logger.events(LogEvent.payoutInputSpentElsewhere).at(-1)?.level).toBe('critical');
    await fund(100n * ADA);
    await dearer.runOnce();
    expect(await statusOf(id)).toBe('approved');
    expect(await reservations()).toBe(1);
    // That spend final, the first transaction can never land: its inputs go, and the payout goes from other coins.
    await emptyBlocks(MIN_EXPIRY_DEPTH);
    await dearer.runOnce();
    expect(f.logger.events(LogEvent.payoutInputsReleased)).toHaveLength(1);
    expect(await statusOf(id)).toBe('submitted');
  });
});

describe('a payout no build can take even alone', () => {
  it('is left out of the next builds, so the payouts behind it go; the oldest approved is gauged', async () => {
    await fund(40n * ADA);
    const big = await request(1_000n * ADA, { reference: 'big' });
    f.clock.advance(1); // the big one is the older: the builds take payouts oldest first
    const small = await request(5n * ADA, { reference: 'small' });
    // One payout per build: without the deferral, the big one would take the only place at every run.
    const narrow = processorWith({ maxPayoutsPerBuild: 1 });
    const first = await narrow.runOnce();
    expect(first.deferred).toMatchObject([{ payoutId: big, reason: 'insufficient_funds', alone: true }]);
    // approved a second before the run (the clock moved on between the two requests)
    expect(f.metrics.snapshot().gauges[Metric.payoutOldestApprovedMinutes]).toBeCloseTo(1 / 60);
    f.clock.advance(60);
    await narrow.runOnce();
    expect(await statusOf(small)).toBe('submitted');
    expect(await statusOf(big)).toBe('approved');
    expect(f.metrics.snapshot().gauges[Metric.payoutOldestApprovedMinutes]).toBeCloseTo(61 / 60);
    // Tried again once the deferral is old enough (the hot wallet may have been refilled).
    f.clock.advance(DEFERRAL_RETRY_MINUTES * 60);
    expect((await narrow.runOnce()).deferred).toMatchObject([{ payoutId: big }]);
  });
});

describe('a build that fails', () => {
  it('is logged and counted, and what was sent before still moves on', async () => {
    await fund(40n * ADA, 40n * ADA);
    const first = await request(5n * ADA, { reference: 'first' });
    await processor.runOnce();
    expect(await statusOf(first)).toBe('submitted');
    await request(6n * ADA, { reference: 'second' });
    const unreachable = processorWith({
      protocolParameters: async () => {
        throw new Error('no relay answered');
      },
    });
    f.clock.advance(60);
    const report = await unreachable.runOnce();
    expect(report.built).toBeNull();
    expect(report.submitted).toBe(1); // the first, submitted again
    expect(f.logger.events(LogEvent.payoutBuildFailed)[0]).toMatchObject({ level: 'error' });
    expect(f.metrics.snapshot().counters[Metric.payoutBuildFailures]).toBe(1);
  });
});

describe('a payout cancelled while its transaction is built', () => {
  it('is not signed: the transaction is abandoned and the other payouts are built again without it', async () => {
    await fund(40n * ADA);
    const kept = await request(5n * ADA, { reference: 'kept' });
    const cancelled = await request(6n * ADA, { reference: 'cancelled' });
    // The operator cancels while the signer works (cancel is allowed until signed).
    const signer = processorSigner;
    const cancelling: TransactionSigner = {
      keyId: signer.keyId,
      publicKey: () => signer.publicKey(),
      sign: async (bodyHash) => {
        await inTransaction(f.db.pool, (client) => cancelPayout(client, cancelled, 'operator:bob', 'changed my mind', f.clock.now()));
        return signer.sign(bodyHash);
      },
    };
    const racing = processorWith({ signer: cancelling });
    const report = await racing.runOnce();
    expect(report).toMatchObject({ built: { payouts: 2 }, signed: 0, submitted: 0 });
    expect(await statusOf(cancelled)).toBe('cancelled');
    expect(await statusOf(kept)).toBe('approved');
    expect(submitter.submitted).toHaveLength(0);

    await processor.runOnce();
    expect(await statusOf(kept)).toBe('submitted');
    const onChain = chainTransactionOf(submitter.last());
    expect(onChain.outputs.map((out) => out.address)).not.toContain(syntheticAddress('mainnet', 'destination:cancelled'));
    expect(onChain.outputs).toContainEqual(output(syntheticAddress('mainnet', 'destination:kept'), 5n * ADA));
  });
});

describe('a payout transaction sent before a crash', () => {
  it('is never given up on a later refusal: it waits in a block or for its expiry, watched by the stuck gauge', async () => {
    await fund(40n * ADA, 40n * ADA);
    const id = await request(5n * ADA, { reference: 'crash' });
    // The node accepts it; recording the answer fails (a crash, a lost connection).
    const store = new PostgresPayoutExecutionStore(f.db.pool);
    const crashing = Object.assign(Object.create(store) as PostgresPayoutExecutionStore, {
      recordSubmission: async () => {
        throw new Error('connection terminated');
      },
    });
    await expect(processorWith({ store: crashing }).runOnce()).rejects.toThrow(/connection terminated/);
    const sent = chainTransactionOf(submitter.last());
    expect(await statusOf(id)).toBe('signed');

    // Asked again, a node refuses it as invalid: it was sent before, so it is kept (a node may hold it).
    submitter.answer = { kind: 'refused', reason: 'invalid', detail: '3997 UnexpectedMempoolError' };
    f.clock.advance(40 * 60);
    await processor.runOnce();
    expect(await statusOf(id)).toBe('signed');
    expect(f.metrics.snapshot().gauges[Metric.payoutOldestSubmittedMinutes]).toBeGreaterThanOrEqual(40);
    const { rows } = await f.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM payout_attempts');
    expect(rows[0]!.n).toBe(1);

    // It lands: ours, in a block, confirmed; one transaction, paid once.
    await block([sent]);
    expect(await statusOf(id)).toBe('in_block');
    await emptyBlocks(CONFIRMATIONS);
    expect(await statusOf(id)).toBe('confirmed');
    expect(await eventTypes(id)).toContain('payout.submitted');
  });
});

describe('a rebuild from a point below a payout in a block', () => {
  it('sends it back to submitted: never confirmed by height on a chain that lost it, confirmed once it is found', async () => {
    const { id, ours } = await userPayoutSubmitted();
    const pointHeight = chain.tip!.height;
    await block([ours]);
    expect(await statusOf(id)).toBe('in_block');

    const point = chain.at(pointHeight);
    await new PostgresRebuildStore(f.db.pool).start(
      { exactly: { slot: point.slot!, hash: point.hash } },
      { point: { slot: point.slot!, hash: point.hash } },
      'operator:test',
    );
    expect(await statusOf(id)).toBe('submitted');

    // The re-derived chain does not carry it (yet): past its old height it is still only submitted.
    chain = chain.fork('rederived', pointHeight);
    await emptyBlocks(CONFIRMATIONS + 1);
    expect(await statusOf(id)).toBe('submitted');
    expect(await balanceOf('user-7')).toBe(25n * ADA);
    // Then it lands: in a block, confirmed, debited once.
    await block([ours]);
    await emptyBlocks(CONFIRMATIONS);
    expect(await statusOf(id)).toBe('confirmed');
    expect(await balanceOf('user-7')).toBe(20n * ADA);
  });
});

describe('two builders', () => {
  it('never share an input: the second waits for the lock, and a reserved output is refused by the database', async () => {
    await fund(20n * ADA, 20n * ADA, 20n * ADA);
    await request(5n * ADA, { reference: 'a' });
    await request(5n * ADA, { reference: 'b' });
    const store = new PostgresPayoutExecutionStore(f.db.pool);
    // Two builds at once: one holds the lock, the other does nothing.
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = store.build(async () => {
      await held;
      return 'first';
    });
    const secondOutcome = await waitForLockHolder(store);
    release();
    expect(await first).toBe('first');
    expect(secondOutcome).toBeUndefined();

    // Even without the lock, the reservations' key refuses an input taken twice.
    await processor.runOnce();
    const { rows } = await f.db.pool.query<{ tx_hash: string; output_index: number; transaction_id: string }>(
      'SELECT tx_hash, output_index, transaction_id FROM hot_wallet_reservations',
    );
    expect(rows.length).toBeGreaterThan(0);
    await expect(
      f.db.pool.query(
        `INSERT INTO payout_attempts (transaction_id, status, body_cbor, fee_lovelace, valid_until_slot, built_by, created_at, updated_at)
         VALUES ($1, 'built', '\\x00', 1, 1, 'test', now(), now());
        `,
        ['ab'.repeat(32)],
      ),
    ).resolves.toBeDefined();
    await expect(
      f.db.pool.query(
        `INSERT INTO hot_wallet_reservations (tx_hash, output_index, transaction_id, reserved_at) VALUES ($1, $2, $3, now())`,
        [rows[0]!.tx_hash, rows[0]!.output_index, 'ab'.repeat(32)],
      ),
    ).rejects.toThrow(/duplicate key/);
  });
});

/** Tries a second build until the first holds the lock (it answers undefined then); never waits on time. */
async function waitForLockHolder(store: PostgresPayoutExecutionStore): Promise<string | undefined> {
  for (;;) {
    const { rows } = await f.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = 1 AND granted`,
      [0x504f5554],
    );
    if (rows[0]!.n > 0) return store.build(async () => 'second');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
