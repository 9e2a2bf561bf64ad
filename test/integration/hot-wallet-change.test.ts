/**
 * The hot wallet's own change is not a payment received (hotWalletChange, functions/domain/hot-wallet.ts): on the
 * real engine and PostgreSQL, with payout transactions the real processor built, signed and submitted. Funding the
 * hot wallet from outside is told like any payment; the change of a transaction that spends the hot wallet is told to
 * nobody (no payment.* event, nor its rolled_back/reversed when its block leaves), and is still a hot-wallet coin that
 * the gauges count and the next payout builds from.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PostgresPayoutExecutionStore } from '../../functions/adapters/postgres/payout-execution-store.js';
import { readPayout } from '../../functions/adapters/postgres/payout-requests.js';
import type { ChainTransaction } from '../../functions/domain/chain.js';
import { HOT_WALLET_REFERENCE_TYPE } from '../../functions/domain/hot-wallet.js';
import type { PayoutProcessor } from '../../functions/domain/payouts/payout-processor.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { type ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { createEngineFixture, type EngineFixture } from '../support/engine-fixture.js';
import { chainTransactionOf } from '../support/payout-chain.js';
import {
  ADA,
  applyNextBlock,
  payoutChainOn,
  type RecordingSubmitter,
  registeredHotWallet,
  requestAdaPayout,
} from '../support/payout-processor.js';

const CONFIRMATIONS = 3;

let f: EngineFixture;
let chain: ChainBuilder;
let submitter: RecordingSubmitter;
let processor: PayoutProcessor;
let hotWallet: { address: string; keyHash: string };

beforeEach(async () => {
  f = await createEngineFixture({ confirmations: CONFIRMATIONS });
  chain = payoutChainOn(f);
  ({ hotWallet, submitter, processor } = await registeredHotWallet(f, CONFIRMATIONS, 'payout-signer'));
});
afterEach(async () => f.db.drop());

const block = (transactions: ChainTransaction[] = []) => applyNextBlock(f, chain, transactions);
async function emptyBlocks(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await block();
}

/** Rolls the engine back to the block at this height and continues on a fork from there. */
async function forkAt(height: bigint, label: string): Promise<void> {
  const fork = chain.fork(label, height);
  await f.engine.apply(fork.backward(height));
  chain = fork;
}

/** The payment events of one output (`<tx>#<index>`), in order. */
async function paymentEvents(txId: string, index: number): Promise<string[]> {
  const { rows } = await f.db.pool.query<{ type: string }>(
    `SELECT type FROM business_events WHERE resource_type = 'payment' AND resource_id = $1 ORDER BY version`,
    [`${txId}#${index}`],
  );
  return rows.map((row) => row.type);
}

/** Every payment event of the log, as `<type> <tx>#<index>`, in log order. */
async function allPaymentEvents(): Promise<string[]> {
  const { rows } = await f.db.pool.query<{ type: string; resource_id: string }>(
    `SELECT type, resource_id FROM business_events WHERE resource_type = 'payment' ORDER BY seq`,
  );
  return rows.map((row) => `${row.type} ${row.resource_id}`);
}

/** The hot wallet's outputs the monitor holds unspent (what coin selection, reconciliation and the gauges read). */
async function unspentHotWalletOutputs(): Promise<{ output: string; lovelace: bigint; status: string }[]> {
  const { rows } = await f.db.pool.query<{ output: string; lovelace: string; status: string }>(
    `SELECT tx_hash || '#' || output_index AS output, amount_lovelace::text AS lovelace, status FROM incoming_payments
      WHERE reference_type = $1 AND spent_by_tx_hash IS NULL AND status IN ('pending', 'confirmed')
      ORDER BY block_height, tx_hash, output_index`,
    [HOT_WALLET_REFERENCE_TYPE],
  );
  return rows.map((row) => ({ output: row.output, lovelace: BigInt(row.lovelace), status: row.status }));
}

/** The output of this transaction that pays the hot wallet back (exactly one). */
function changeOf(payout: ChainTransaction): { txId: string; index: number; lovelace: bigint } {
  const indexes = payout.outputs.flatMap((out, index) => (out.address === hotWallet.address ? [index] : []));
  expect(indexes).toHaveLength(1);
  return { txId: payout.id, index: indexes[0]!, lovelace: payout.outputs[indexes[0]!]!.lovelace };
}

/** Funds the hot wallet from outside with one output; that output, recorded and confirmed. */
async function fund(lovelace: bigint): Promise<ChainTransaction> {
  const funding = transaction([output(hotWallet.address, lovelace)], [{ txId: 'ab'.repeat(32), index: 0 }]);
  await block([funding]);
  await emptyBlocks(CONFIRMATIONS);
  return funding;
}

/** Requests a payout, lets the processor build, sign and submit it; the transaction as the chain carries it. */
async function payoutSubmitted(lovelace: bigint, reference: string): Promise<{ id: string; onChain: ChainTransaction }> {
  const id = await requestAdaPayout(f, lovelace, { reference });
  const report = await processor.runOnce();
  expect(report.submitted).toBe(1);
  return { id, onChain: chainTransactionOf(submitter.last()) };
}

describe('the hot wallet funded from outside', () => {
  it('is told like any payment: detected, then confirmed, then spent by the payout', async () => {
    const funding = await fund(40n * ADA);
    expect(await paymentEvents(funding.id, 0)).toEqual(['payment.detected', 'payment.confirmed']);

    const { onChain } = await payoutSubmitted(5n * ADA, 'w-1');
    await block([onChain]);
    expect(await paymentEvents(funding.id, 0)).toEqual(['payment.detected', 'payment.confirmed', 'payment.spent']);
  });
});

describe("a payout transaction's change back to the hot wallet", () => {
  it('is told to nobody, stays a hot-wallet coin, and the next payout builds from it, whose change is silent too', async () => {
    const funding = await fund(40n * ADA);
    const first = await payoutSubmitted(5n * ADA, 'w-1');
    const change = changeOf(first.onChain);
    await block([first.onChain]);
    await emptyBlocks(CONFIRMATIONS);
    expect((await readPayout(f.db.pool, first.id))?.status).toBe('confirmed');

    // Recorded and confirmed like any hot-wallet coin, without a single event.
    expect(await paymentEvents(change.txId, change.index)).toEqual([]);
    expect(await unspentHotWalletOutputs()).toEqual([
      { output: `${change.txId}#${change.index}`, lovelace: change.lovelace, status: 'confirmed' },
    ]);
    expect(await new PostgresPayoutExecutionStore(f.db.pool).hotWalletBalance()).toEqual({
      recorded: change.lovelace,
      spendable: change.lovelace,
    });

    // Coin selection takes it: the next payout spends the change (its spend told to nobody either).
    const second = await payoutSubmitted(7n * ADA, 'w-2');
    expect(second.onChain.inputs).toEqual([{ txId: change.txId, index: change.index }]);
    const secondChange = changeOf(second.onChain);
    await block([second.onChain]);
    await emptyBlocks(CONFIRMATIONS);
    expect((await readPayout(f.db.pool, second.id))?.status).toBe('confirmed');
    expect(await paymentEvents(change.txId, change.index)).toEqual([]);
    expect(await paymentEvents(secondChange.txId, secondChange.index)).toEqual([]);
    expect(await unspentHotWalletOutputs()).toEqual([
      { output: `${secondChange.txId}#${secondChange.index}`, lovelace: secondChange.lovelace, status: 'confirmed' },
    ]);

    // The whole log of payment events: only the funding's.
    expect(await allPaymentEvents()).toEqual([
      `payment.detected ${funding.id}#0`,
      `payment.confirmed ${funding.id}#0`,
      `payment.spent ${funding.id}#0`,
    ]);
  });

  it('leaves the chain silently, pending or confirmed, and comes back silently', async () => {
    await fund(40n * ADA);
    const { onChain } = await payoutSubmitted(5n * ADA, 'w-1');
    const change = changeOf(onChain);
    const before = chain.tip!.height;
    const rows = async () =>
      (
        await f.db.pool.query<{ block_hash: string; status: string }>(
          'SELECT block_hash, status FROM incoming_payments WHERE tx_hash = $1 AND output_index = $2 ORDER BY id',
          [change.txId, change.index],
        )
      ).rows;

    // In a block, then that block leaves the chain while the change is pending: no payment.rolled_back.
    await block([onChain]);
    const firstBlock = chain.tip!.hash;
    await forkAt(before, 'fork');
    expect(await rows()).toEqual([{ block_hash: firstBlock, status: 'rolled_back' }]);

    // Included again on the fork (a new row, another block) and confirmed; then the chain switches back: that block
    // leaves confirmed (reversed: no payment.reversed, and no debit, as nobody was credited) and the very first block
    // comes back (its row pending again, still silent).
    await block([onChain]);
    const forkBlock = chain.tip!.hash;
    await emptyBlocks(CONFIRMATIONS);
    expect((await rows()).map((row) => row.status)).toEqual(['rolled_back', 'confirmed']);
    await forkAt(before, 'main');
    await block([onChain]);
    expect(chain.tip!.hash).toBe(firstBlock);
    expect(await rows()).toEqual([
      { block_hash: firstBlock, status: 'pending' },
      { block_hash: forkBlock, status: 'reversed' },
    ]);
    expect(await paymentEvents(change.txId, change.index)).toEqual([]);
    const ledger = await f.db.pool.query('SELECT 1 FROM balance_transactions WHERE payment_tx_hash = $1', [change.txId]);
    expect(ledger.rowCount).toBe(0);
    expect(await unspentHotWalletOutputs()).toEqual([
      { output: `${change.txId}#${change.index}`, lovelace: change.lovelace, status: 'pending' },
    ]);
  });

  it('is silent when the coin it spends was recorded in the same step, and a funding spent in that step is told in order', async () => {
    // One block: a deposit from outside, a transaction of the hot wallet spending it (change back), and another
    // spending that change (change back again). Only the deposit is a payment received.
    const elsewhere = syntheticAddress('mainnet', 'elsewhere');
    const funding = transaction([output(hotWallet.address, 50n * ADA)], [{ txId: 'cd'.repeat(32), index: 0 }]);
    const move = transaction([output(elsewhere, 10n * ADA), output(hotWallet.address, 39n * ADA)], [{ txId: funding.id, index: 0 }]);
    const again = transaction([output(hotWallet.address, 38n * ADA), output(elsewhere, 1n * ADA)], [{ txId: move.id, index: 1 }]);
    await block([funding, move, again]);
    await emptyBlocks(CONFIRMATIONS);

    expect(await allPaymentEvents()).toEqual([
      `payment.detected ${funding.id}#0`,
      `payment.spent ${funding.id}#0`,
      `payment.confirmed ${funding.id}#0`,
    ]);
    expect(await unspentHotWalletOutputs()).toEqual([{ output: `${again.id}#0`, lovelace: 38n * ADA, status: 'confirmed' }]);
    const listed = await f.db.pool.query<{ output: string }>(
      `SELECT tx_hash || '#' || output_index AS output FROM hot_wallet_change ORDER BY output`,
    );
    expect(listed.rows.map((row) => row.output)).toEqual([`${move.id}#1`, `${again.id}#0`].sort());
  });
});
