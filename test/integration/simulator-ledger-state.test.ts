import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseLosslessJson, type JsonObject } from '../../functions/domain/ogmios/lossless-json.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { startOgmiosSimulator, type OgmiosSimulator, type SimulatedPayment } from '../../functions/local/simulator/index.js';
import { RawOgmiosConnection } from '../support/ogmios-schema.js';

const ALICE = syntheticAddress('preprod', 'ledger-alice');
const BOB = syntheticAddress('preprod', 'ledger-bob');
const POLICY = 'ab'.repeat(28);
const MAX_UINT64 = 2n ** 64n - 1n;

interface UtxoJson {
  transaction: { id: string };
  index: number;
  address: string;
  value: { ada: { lovelace: bigint | number } } & Record<string, Record<string, bigint | number>>;
}

let simulator: OgmiosSimulator;
let connection: RawOgmiosConnection;

/** Sends a request and reads its answer losslessly (amounts beyond 2^53 stay exact). */
async function call(method: string, params?: unknown): Promise<JsonObject> {
  return parseLosslessJson(await connection.request(method, params)) as JsonObject;
}

async function utxoAt(...addresses: string[]): Promise<UtxoJson[]> {
  const answer = await call('queryLedgerState/utxo', { addresses });
  expect(answer.error).toBeUndefined();
  return answer.result as unknown as UtxoJson[];
}

const references = (entries: readonly { transaction: { id: string }; index: number }[]) =>
  entries.map((entry) => `${entry.transaction.id}#${entry.index}`);
const referenceOf = (payment: SimulatedPayment) => `${payment.txId}#${payment.index}`;

function tipPoint(): { slot: number; id: string } {
  const tip = simulator.tip();
  if (tip === 'origin') throw new Error('the chain is empty');
  return { slot: tip.slot, id: tip.id };
}

beforeAll(async () => {
  simulator = await startOgmiosSimulator({
    network: 'preprod',
    seed: 'ledger-state',
    initialBlocks: 5,
    transactionsPerBlock: { min: 2, max: 6 },
    payTo: [{ address: ALICE }, { address: BOB }],
    paymentsPerBlock: 0,
    paymentSpendsPerBlock: 0,
  });
});
beforeAll(async () => {
  connection = await RawOgmiosConnection.open(simulator.url);
});
afterEach(async () => {
  await call('releaseLedgerState');
});
afterAll(async () => {
  connection.close();
  await simulator.stop();
});

describe('queryLedgerState/utxo', () => {
  it('finds payments by address, with exact ADA and token amounts (beyond 2^53 included)', async () => {
    const first = simulator.queuePayment({ address: ALICE, lovelace: 7_000_000n });
    const second = simulator.queuePayment({ address: ALICE, lovelace: 9_500_000n });
    const tokens = simulator.queuePayment({
      address: BOB,
      lovelace: 1_500_000n,
      assets: [{ policyId: POLICY, assetName: '', quantity: MAX_UINT64 }],
    });
    const [block] = simulator.produceBlocks(1);
    expect(block?.payments.map(referenceOf)).toEqual([first, second, tokens].map(referenceOf));

    const alice = await utxoAt(ALICE);
    expect(references(alice).sort()).toEqual([referenceOf(first), referenceOf(second)].sort());
    expect(alice.map((entry) => BigInt(entry.value.ada.lovelace)).sort()).toEqual([7_000_000n, 9_500_000n]);
    expect(alice.every((entry) => entry.address === ALICE)).toBe(true);

    const [bob] = await utxoAt(BOB);
    expect(bob?.value[POLICY]?.['']).toBe(MAX_UINT64);
    expect(simulator.ledger.balanceOf(BOB)).toEqual({
      lovelace: 1_500_000n,
      assets: [{ policyId: POLICY, assetName: '', quantity: MAX_UINT64 }],
    });
    expect((await utxoAt(ALICE, BOB)).length).toBe(3);
  });

  it('finds outputs by reference, leaving out references that are not unspent outputs', async () => {
    const payment = simulator.queuePayment({ address: ALICE, lovelace: 3_000_000n });
    simulator.produceBlocks(1);
    const answer = await call('queryLedgerState/utxo', {
      outputReferences: [
        { transaction: { id: payment.txId }, index: payment.index },
        { transaction: { id: payment.txId }, index: 5 },
        { transaction: { id: 'cd'.repeat(32) }, index: 0 },
      ],
    });
    const found = answer.result as unknown as UtxoJson[];
    expect(references(found)).toEqual([referenceOf(payment)]);
    expect(found[0]).toMatchObject({ address: ALICE, value: { ada: { lovelace: 3_000_000 } } });
  });

  it('drops outputs once a transaction spends them', async () => {
    const payment = simulator.queuePayment({ address: BOB, lovelace: 4_000_000n });
    simulator.produceBlocks(1);
    expect(references(await utxoAt(BOB))).toContain(referenceOf(payment));

    const spendId = simulator.queueSpend([payment]);
    const [block] = simulator.produceBlocks(1);
    expect(block?.transactionIds).toContain(spendId);
    expect(references(await utxoAt(BOB))).not.toContain(referenceOf(payment));
    expect(simulator.ledger.utxo(payment)).toBeUndefined();
    expect(() => simulator.queueSpend([payment])).toThrow(/not an unspent output/);
  });

  it('follows the chain through a rollback: a dropped payment disappears, and reappears when re-included', async () => {
    const kept = tipPoint();
    const payment = simulator.queuePayment({ address: ALICE, lovelace: 11_000_000n });
    simulator.produceBlocks(1);
    expect(references(await utxoAt(ALICE))).toContain(referenceOf(payment));

    simulator.rollBack(1, { newBranchLength: 0, requeueTransactions: false });
    expect(tipPoint()).toEqual(kept);
    expect(references(await utxoAt(ALICE))).not.toContain(referenceOf(payment));

    const again = simulator.queuePayment({ address: ALICE, lovelace: 12_000_000n });
    simulator.produceBlocks(1);
    simulator.rollBack(1); // the default: a longer branch, with the simulator's own transactions put back in it
    expect(references(await utxoAt(ALICE))).toContain(referenceOf(again));
    const newBranchBlock = simulator.chain().at(-2)!;
    expect(simulator.blockJson(newBranchBlock.id)).toContain(again.txId);
  });
});

describe('acquireLedgerState', () => {
  it('answers queries at the acquired point until released', async () => {
    const before = tipPoint();
    const aliceBefore = references(await utxoAt(ALICE));
    const payment = simulator.queuePayment({ address: ALICE, lovelace: 21_000_000n });
    simulator.produceBlocks(3);

    const acquired = await call('acquireLedgerState', { point: before });
    expect(acquired.result).toEqual({ acquired: 'ledgerState', point: before });
    expect(references(await utxoAt(ALICE))).toEqual(aliceBefore);
    expect((await call('queryLedgerState/tip')).result).toMatchObject(before);
    // Ogmios' network tip and height are the node's GetChainPoint / GetChainBlockNo: answered from the acquired state.
    expect((await call('queryNetwork/tip')).result).toMatchObject(before);
    expect((await call('queryNetwork/blockHeight')).result).toBe((simulator.tip() as { height: number }).height - 3);

    const released = await call('releaseLedgerState');
    expect(released.result).toMatchObject({ released: 'ledgerState' });
    expect(references(await utxoAt(ALICE))).toContain(referenceOf(payment));
    expect((await call('queryLedgerState/tip')).result).toMatchObject(tipPoint());
    expect((await call('queryNetwork/tip')).result).toMatchObject(tipPoint());
  });

  it('refuses unknown points with 2000, and answers 2003 once a fork has dropped the acquired point', async () => {
    const refused = await call('acquireLedgerState', { point: { slot: 1, id: 'ef'.repeat(32) } });
    expect(refused.error).toMatchObject({
      code: 2000,
      message: 'Failed to acquire requested point.',
      data: 'Acquired point is now too old.',
    });
    const notOnChain = await call('acquireLedgerState', { point: { slot: tipPoint().slot + 1_000, id: 'ef'.repeat(32) } });
    expect(notOnChain.error).toMatchObject({ code: 2000, data: 'Acquired point no longer on chain.' });

    const point = tipPoint();
    expect((await call('acquireLedgerState', { point })).result).toBeDefined();
    simulator.rollBack(1);
    const expired = await call('queryLedgerState/utxo', { addresses: [ALICE] });
    expect(expired).toMatchObject({ method: 'queryLedgerState/utxo', error: { code: 2003 } });
    // The network queries have no error in the schema: with the acquired state gone, they answer the tip.
    expect((await call('queryNetwork/tip')).result).toMatchObject(tipPoint());
  });

  it('refuses (2000, too old) a block still served but older than the k ledger states a node keeps', async () => {
    const preview = await startOgmiosSimulator({
      network: 'preview',
      seed: 'beyond-k',
      initialBlocks: 440,
      transactionsPerBlock: { min: 0, max: 1 },
    });
    const previewConnection = await RawOgmiosConnection.open(preview.url);
    try {
      const [old, recent] = [preview.chain()[2]!, preview.chain()[100]!]; // preview: k = 432
      const refused = parseLosslessJson(
        await previewConnection.request('acquireLedgerState', { point: { slot: old.slot, id: old.id } }),
      ) as JsonObject;
      expect(refused.error).toMatchObject({ code: 2000, data: 'Acquired point is now too old.' });
      const acquired = parseLosslessJson(
        await previewConnection.request('acquireLedgerState', { point: { slot: recent.slot, id: recent.id } }),
      ) as JsonObject;
      expect(acquired.result).toMatchObject({ acquired: 'ledgerState' });
      expect(preview.ledger.at({ slot: old.slot, id: old.id })).toBeUndefined();
      expect(() => preview.rollBack(433)).toThrow(RangeError);
    } finally {
      previewConnection.close();
      await preview.stop();
    }
  });

  it('acquires the origin while the chain start is retained: an empty UTxO set', async () => {
    expect((await call('acquireLedgerState', { point: 'origin' })).result).toMatchObject({ point: 'origin' });
    expect((await call('queryLedgerState/utxo')).result).toEqual([]);
    expect((await call('queryLedgerState/tip')).result).toBe('origin');
    expect(simulator.ledger.at('origin')?.size).toBe(0);
  });
});

describe('other queries', () => {
  it('answers the network tip, block height, epoch and start time', async () => {
    const tip = simulator.tip() as { slot: number; id: string; height: number };
    expect((await call('queryNetwork/tip')).result).toMatchObject({ slot: tip.slot, id: tip.id });
    expect((await call('queryNetwork/blockHeight')).result).toBe(tip.height);
    // preprod: 4 Byron epochs of 21,600 slots (86,400 slots), then 432,000-slot epochs.
    expect((await call('queryLedgerState/epoch')).result).toBe(4 + Math.floor((tip.slot - 86_400) / 432_000));
    expect((await call('queryNetwork/startTime')).result).toBe('2022-06-01T00:00:00Z');
  });

  it('serves the whole UTxO set without a filter, consistent with the ledger', async () => {
    const whole = (await call('queryLedgerState/utxo')).result as unknown as UtxoJson[];
    expect(whole.length).toBe(simulator.ledger.size);
    // Ordered like the node's UTxO map: by transaction id, then output index.
    const sorted = [...whole].sort((left, right) =>
      left.transaction.id === right.transaction.id ? left.index - right.index : left.transaction.id < right.transaction.id ? -1 : 1,
    );
    expect(references(whole)).toEqual(references(sorted));
  });
});
