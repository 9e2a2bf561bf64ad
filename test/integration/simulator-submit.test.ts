/**
 * The simulator's ledger-validated submission (issue 16, item 7): a hot wallet funded in the first block spends
 * its outputs with transactions built by the transaction library and signed with its Ed25519 key; they are
 * submitted through the official @cardano-ogmios/client and raw JSON-RPC, land in the next block with their real
 * inputs and outputs (as a follower sees them), and change the ledger. Each broken rule gets Ogmios' error,
 * validated against the official schema. Blocks are produced on demand; the clock is injected and moved by hand.
 */
import {
  createInteractionContext,
  createLedgerStateQueryClient,
  createTransactionSubmissionClient,
  type InteractionContext,
} from '@cardano-ogmios/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyHash } from '../../functions/domain/address/account-key.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { startOgmiosSimulator, type OgmiosSimulator, type SimulatorUtxo } from '../../functions/local/simulator/index.js';
import { OgmiosSchemas, RawOgmiosConnection } from '../support/ogmios-schema.js';
import { signedTransaction, testKey, type TransactionPlan } from '../support/signed-transactions.js';

const schemas = new OgmiosSchemas();
const HOT = testKey('preprod');
const STRANGER = testKey('preprod');
const PAYEE = syntheticAddress('preprod', 'submit-payee');
const POLICY = 'ab'.repeat(28);
const TOKEN = { policyId: POLICY, assetName: '4d4158', quantity: 1_000_000n };

interface BlockTransaction {
  id: string;
  spends: string;
  inputs: { transaction: { id: string }; index: number }[];
  outputs: { address: string; value: Record<string, Record<string, number | bigint>> }[];
  fee: { ada: { lovelace: number } };
  validityInterval: { invalidBefore?: number; invalidAfter?: number };
  signatories: { key: string; signature: string }[];
}
interface RpcAnswer {
  method?: string;
  result?: { transaction: { id: string } };
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

let simulator: OgmiosSimulator;
let connection: RawOgmiosConnection;
let now = Date.UTC(2026, 11, 7, 12);
const contexts: InteractionContext[] = [];

async function openContext(): Promise<InteractionContext> {
  const context = await createInteractionContext(
    (error) => {
      throw error;
    },
    () => undefined,
    { connection: { address: { http: simulator.httpUrl, webSocket: simulator.url } }, maxEventListeners: 20 },
  );
  contexts.push(context);
  return context;
}

beforeAll(async () => {
  simulator = await startOgmiosSimulator({
    network: 'preprod',
    seed: 'submit',
    clock: () => now,
    initialBlocks: 6,
    transactionsPerBlock: { min: 2, max: 6 },
    fund: [
      { address: HOT.address, lovelace: 40_000_000n, outputs: 8 },
      { address: HOT.address, lovelace: 5_000_000n, assets: [TOKEN] },
    ],
  });
  connection = await RawOgmiosConnection.open(simulator.url);
});
afterAll(async () => {
  connection.close();
  for (const context of contexts) if (context.socket.readyState === context.socket.OPEN) context.socket.close();
  await simulator.stop();
});

/** Submits through raw JSON-RPC over the WebSocket; checks the answer against the schema. */
async function submit(cbor: string): Promise<RpcAnswer> {
  const message = await connection.request('submitTransaction', { transaction: { cbor } });
  expect(schemas.errors('SubmitTransactionResponse', message)).toEqual([]);
  return JSON.parse(message) as RpcAnswer;
}

/** A spendable hot-wallet output without tokens, not used by an earlier test. */
const used = new Set<string>();
function freshOutput(): SimulatorUtxo {
  const found = simulator.ledger.utxosAt(HOT.address).find((utxo) => utxo.assets.length === 0 && !used.has(`${utxo.txId}#${utxo.index}`));
  if (found === undefined) throw new Error('the hot wallet has no fresh output left');
  used.add(`${found.txId}#${found.index}`);
  return found;
}

function currentSlot(): bigint {
  return BigInt((simulator.tip() as { slot: number }).slot);
}

/** A payment of `amount` to PAYEE from `input`, change (minus the fee) back to the hot wallet. */
function payment(input: SimulatorUtxo, amount = 2_000_000n, changes: Partial<TransactionPlan> = {}): TransactionPlan {
  return {
    inputs: [{ txId: input.txId, index: input.index }],
    outputs: [
      { address: PAYEE, lovelace: amount },
      { address: HOT.address, lovelace: input.lovelace - amount },
    ],
    feeFrom: 1,
    ttl: currentSlot() + 3600n,
    signers: [HOT],
    ...changes,
  };
}

function blockTransactions(blockId: string): BlockTransaction[] {
  return (JSON.parse(simulator.blockJson(blockId) as string) as { transactions: BlockTransaction[] }).transactions;
}

function carrierOf(transactionId: string): string[] {
  return simulator
    .chain()
    .filter((block) => blockTransactions(block.id).some((transaction) => transaction.id === transactionId))
    .map((block) => block.id);
}

describe('funding at genesis', () => {
  it('the first block pays the fund addresses: spendable outputs in the ledger from the start', () => {
    const first = simulator.chain()[0];
    expect(first?.height).toBe(0);
    const hotUtxos = simulator.ledger.utxosAt(HOT.address);
    expect(hotUtxos).toHaveLength(9);
    expect(new Set(hotUtxos.map((utxo) => utxo.txId)).size).toBe(1);
    expect(blockTransactions(first?.id as string).some((transaction) => transaction.id === hotUtxos[0]?.txId)).toBe(true);
    expect(simulator.ledger.balanceOf(HOT.address)).toEqual({ lovelace: 325_000_000n, assets: [TOKEN] });
  });
});

describe('funding options', () => {
  it('refuses a fund address of another network and a non-positive amount', async () => {
    const mainnetAddress = testKey('mainnet').address;
    await expect(startOgmiosSimulator({ network: 'preprod', fund: [{ address: mainnetAddress, lovelace: 1_000_000n }] })).rejects.toThrow(
      /fund\[0\]\.address/,
    );
    await expect(startOgmiosSimulator({ network: 'preprod', fund: [{ address: HOT.address, lovelace: 0n }] })).rejects.toThrow(/positive/);
  });

  it('a fork that drops the first block funds the wallet again in the new branch, once', async () => {
    const wallet = testKey('preview');
    const small = await startOgmiosSimulator({
      network: 'preview',
      seed: 'fund-fork',
      transactionsPerBlock: { min: 0, max: 2 },
      fund: [{ address: wallet.address, lovelace: 7_000_000n, outputs: 2 }],
    });
    try {
      small.produceBlocks(2);
      const before = small.ledger.utxosAt(wallet.address);
      expect(before).toHaveLength(2);
      small.rollBack(2);
      expect(small.ledger.utxosAt(wallet.address)).toEqual(before);
      small.rollBack(3, { requeueTransactions: false });
      expect(small.ledger.utxosAt(wallet.address)).toHaveLength(2); // the new first block funds it anew
    } finally {
      await small.stop();
    }
  });
});

describe('queryLedgerState/protocolParameters', () => {
  it('answers schema-valid Conway parameters, the ones the rules apply', async () => {
    const message = await connection.request('queryLedgerState/protocolParameters');
    expect(schemas.errors('QueryLedgerStateProtocolParametersResponse', message)).toEqual([]);
    const { result } = JSON.parse(message) as { result: Record<string, unknown> };
    expect(result).toMatchObject({
      minFeeCoefficient: 44,
      minFeeConstant: { ada: { lovelace: 155381 } },
      maxTransactionSize: { bytes: 16384 },
      maxValueSize: { bytes: 5000 },
      minUtxoDepositCoefficient: 4310,
    });
    const ledger = await createLedgerStateQueryClient(await openContext());
    expect(await ledger.protocolParameters()).toMatchObject({ minFeeCoefficient: 44, minUtxoDepositCoefficient: 4310 });
    await ledger.shutdown();
  });
});

describe('an accepted transaction', () => {
  it('submitted through the official client, goes into the next block with its inputs and outputs, and the ledger applies it', async () => {
    const input = freshOutput();
    const plan = payment(input, 3_000_000n);
    const built = signedTransaction(plan);
    const submission = await createTransactionSubmissionClient(await openContext());
    expect(await submission.submitTransaction(built.cbor)).toBe(built.id);
    await submission.shutdown();

    const [block] = simulator.produceBlocks(1);
    expect(block?.injectedTransactionIds).toContain(built.id);
    const included = blockTransactions(block?.id as string).filter((transaction) => transaction.id === built.id);
    expect(included).toHaveLength(1);
    const transaction = included[0] as BlockTransaction;
    expect(transaction.spends).toBe('inputs');
    expect(transaction.inputs).toEqual([{ transaction: { id: input.txId }, index: input.index }]);
    expect(transaction.outputs).toEqual([
      { address: PAYEE, value: { ada: { lovelace: 3_000_000 } } },
      { address: HOT.address, value: { ada: { lovelace: Number(input.lovelace - 3_000_000n - built.fee) } } },
    ]);
    expect(transaction.fee).toEqual({ ada: { lovelace: Number(built.fee) } });
    expect(transaction.validityInterval).toEqual({ invalidAfter: Number(plan.ttl) });
    expect(transaction.signatories.map((signatory) => signatory.key)).toEqual([Buffer.from(HOT.publicKey).toString('hex')]);
    // The block as a follower receives it is schema-valid.
    const tip = simulator.tip() as { slot: number; id: string; height: number };
    const rollForward = `{"jsonrpc":"2.0","method":"nextBlock","result":{"direction":"forward","block":${simulator.blockJson(block?.id as string)},"tip":${JSON.stringify(tip)}},"id":null}`;
    expect(schemas.errors('NextBlockResponse', rollForward)).toEqual([]);

    expect(simulator.ledger.utxo(input)).toBeUndefined();
    expect(simulator.ledger.utxo({ txId: built.id, index: 0 })).toMatchObject({ address: PAYEE, lovelace: 3_000_000n });
    expect(simulator.ledger.utxo({ txId: built.id, index: 1 })).toMatchObject({
      address: HOT.address,
      lovelace: input.lovelace - 3_000_000n - built.fee,
    });
  });

  it('over raw JSON-RPC: tokens move, and a transaction may spend an output of one still waiting for the block', async () => {
    const tokenInput = simulator.ledger.utxosAt(HOT.address).find((utxo) => utxo.assets.length > 0) as SimulatorUtxo;
    const adaInput = freshOutput();
    const first = signedTransaction({
      inputs: [tokenInput, adaInput],
      outputs: [
        { address: PAYEE, lovelace: 2_000_000n, assets: [{ ...TOKEN, quantity: 400_000n }] },
        {
          address: HOT.address,
          lovelace: tokenInput.lovelace + adaInput.lovelace - 2_000_000n,
          assets: [{ ...TOKEN, quantity: 600_000n }],
        },
      ],
      feeFrom: 1,
      ttl: currentSlot() + 3600n,
      signers: [HOT],
    });
    expect((await submit(first.cbor)).result).toEqual({ transaction: { id: first.id } });
    const changeLovelace = tokenInput.lovelace + adaInput.lovelace - 2_000_000n - first.fee;
    // Chained on the first one's change, before any block.
    const second = signedTransaction({
      inputs: [{ txId: first.id, index: 1 }],
      outputs: [
        { address: PAYEE, lovelace: 1_500_000n, assets: [{ ...TOKEN, quantity: 1n }] },
        { address: HOT.address, lovelace: changeLovelace - 1_500_000n, assets: [{ ...TOKEN, quantity: 599_999n }] },
      ],
      feeFrom: 1,
      ttl: currentSlot() + 3600n,
      signers: [HOT],
    });
    expect((await submit(second.cbor)).result).toEqual({ transaction: { id: second.id } });

    const [block] = simulator.produceBlocks(1);
    const ids = blockTransactions(block?.id as string).map((transaction) => transaction.id);
    expect(ids.indexOf(first.id)).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf(second.id)).toBeGreaterThan(ids.indexOf(first.id));
    const firstJson = blockTransactions(block?.id as string).find((transaction) => transaction.id === first.id) as BlockTransaction;
    expect(firstJson.outputs[0]?.value).toEqual({ ada: { lovelace: 2_000_000 }, [POLICY]: { '4d4158': 400_000 } });
    expect(simulator.ledger.utxo({ txId: first.id, index: 1 })).toBeUndefined();
    expect(simulator.ledger.utxo({ txId: second.id, index: 1 })).toMatchObject({
      address: HOT.address,
      assets: [{ ...TOKEN, quantity: 599_999n }],
    });
    expect(simulator.ledger.balanceOf(PAYEE).assets).toEqual([{ ...TOKEN, quantity: 400_001n }]);
  });

  it('a resubmission of a transaction waiting for the next block is accepted once; after its block, refused as spending spent inputs', async () => {
    const input = freshOutput();
    const built = signedTransaction(payment(input));
    expect((await submit(built.cbor)).result?.transaction.id).toBe(built.id);
    expect((await submit(built.cbor)).result?.transaction.id).toBe(built.id);
    const [block] = simulator.produceBlocks(1);
    expect(block?.injectedTransactionIds.filter((id) => id === built.id)).toHaveLength(1);

    const again = await submit(built.cbor);
    expect(again.error?.code).toBe(3117);
    expect(again.error?.data).toEqual({ unknownOutputReferences: [{ transaction: { id: input.txId }, index: input.index }] });
    simulator.produceBlocks(1);
    expect(carrierOf(built.id)).toEqual([block?.id]);
  });
});

describe('refusals, each with its Ogmios code', () => {
  it('3117: an input already spent in a block, an unknown one, and one a waiting transaction already spends', async () => {
    const spentInput = freshOutput();
    expect((await submit(signedTransaction(payment(spentInput)).cbor)).result).toBeDefined();
    simulator.produceBlocks(1);
    const spent = await submit(signedTransaction(payment(spentInput, 1_500_000n)).cbor);
    expect(spent.error?.code).toBe(3117);
    expect(spent.method).toBe('submitTransaction');

    const unknownReference = { txId: 'cd'.repeat(32), index: 3, address: HOT.address, lovelace: 10_000_000n, assets: [] };
    const unknown = await submit(signedTransaction(payment(unknownReference)).cbor);
    expect(unknown.error).toMatchObject({
      code: 3117,
      data: { unknownOutputReferences: [{ transaction: { id: 'cd'.repeat(32) }, index: 3 }] },
    });
    expect(unknown.error?.message).toMatch(/^The transaction contains unknown UTxO references as inputs\./);

    const contested = freshOutput();
    expect((await submit(signedTransaction(payment(contested)).cbor)).result).toBeDefined();
    expect((await submit(signedTransaction(payment(contested, 2_500_000n)).cbor)).error?.code).toBe(3117);
    simulator.produceBlocks(1);
  });

  it('3118: the ttl has passed (or the validity start is still ahead)', async () => {
    const input = freshOutput();
    const expired = await submit(signedTransaction(payment(input, 2_000_000n, { ttl: currentSlot() })).cbor);
    expect(expired.error?.code).toBe(3118);
    expect(expired.error?.data).toEqual({
      validityInterval: { invalidAfter: Number(currentSlot()) },
      currentSlot: Number(currentSlot()) + 1,
    });
    const early = await submit(signedTransaction(payment(input, 2_000_000n, { validFrom: currentSlot() + 100n })).cbor);
    expect(early.error?.code).toBe(3118);
    used.delete(`${input.txId}#${input.index}`);
  });

  it('3101: no witness for the input’s payment key, or for a required signer', async () => {
    const input = freshOutput();
    const unsigned = await submit(signedTransaction(payment(input, 2_000_000n, { signers: [] })).cbor);
    expect(unsigned.error).toMatchObject({
      code: 3101,
      data: { missingSignatories: [Buffer.from(keyHash(HOT.publicKey)).toString('hex')] },
    });
    const byStranger = await submit(signedTransaction(payment(input, 2_000_000n, { signers: [STRANGER] })).cbor);
    expect(byStranger.error?.code).toBe(3101);
    const strangerHash = Buffer.from(keyHash(STRANGER.publicKey)).toString('hex');
    const requiring = await submit(signedTransaction(payment(input, 2_000_000n, { requiredSigners: [strangerHash] })).cbor);
    expect(requiring.error).toMatchObject({ code: 3101, data: { missingSignatories: [strangerHash] } });
    used.delete(`${input.txId}#${input.index}`);
  });

  it('3100: a signature that does not verify over the body hash', async () => {
    const input = freshOutput();
    const forged = await submit(signedTransaction(payment(input, 2_000_000n, { corruptSignature: true })).cbor);
    expect(forged.error).toMatchObject({ code: 3100, data: { invalidSignatories: [Buffer.from(HOT.publicKey).toString('hex')] } });
    used.delete(`${input.txId}#${input.index}`);
  });

  it('3122: a fee below minFeeCoefficient × size + minFeeConstant', async () => {
    const input = freshOutput();
    const exact = signedTransaction(payment(input));
    const short = await submit(signedTransaction(payment(input, 2_000_000n, { fee: exact.fee - 1n })).cbor);
    expect(short.error).toMatchObject({
      code: 3122,
      data: { minimumRequiredFee: { ada: { lovelace: Number(exact.fee) } }, providedFee: { ada: { lovelace: Number(exact.fee - 1n) } } },
    });
    // The minimum itself is accepted.
    expect((await submit(exact.cbor)).result?.transaction.id).toBe(exact.id);
    simulator.produceBlocks(1);
  });

  it('3123: inputs that are not exactly outputs + fee, in lovelace or in a token', async () => {
    const input = freshOutput();
    const unbalanced = await submit(signedTransaction(payment(input, 2_000_000n, { feeFrom: undefined })).cbor);
    expect(unbalanced.error?.code).toBe(3123);
    expect(unbalanced.error?.data).toMatchObject({ valueConsumed: { ada: { lovelace: Number(input.lovelace) } } });
    const minted = await submit(
      signedTransaction({
        ...payment(input),
        outputs: [
          { address: PAYEE, lovelace: 2_000_000n, assets: [TOKEN] },
          { address: HOT.address, lovelace: input.lovelace - 2_000_000n },
        ],
      }).cbor,
    );
    expect(minted.error?.code).toBe(3123);
    expect(minted.error?.data).toMatchObject({ valueProduced: { [POLICY]: { '4d4158': Number(TOKEN.quantity) } } });
    used.delete(`${input.txId}#${input.index}`);
  });

  it('3125: an output below the minimum deposit ((160 + its bytes) × minUtxoDepositCoefficient)', async () => {
    const input = freshOutput();
    const dust = await submit(signedTransaction(payment(input, 100_000n)).cbor);
    expect(dust.error?.code).toBe(3125);
    type Underfunded = { output: unknown; minimumRequiredValue: { ada: { lovelace: number } } };
    const [underfunded] = (dust.error?.data?.insufficientlyFundedOutputs ?? []) as Underfunded[];
    expect(underfunded?.output).toEqual({ address: PAYEE, value: { ada: { lovelace: 100_000 } } });
    const minimum = underfunded?.minimumRequiredValue.ada.lovelace ?? 0;
    expect(minimum).toBeGreaterThan(800_000);
    expect(minimum % 4310).toBe(0);
    used.delete(`${input.txId}#${input.index}`);
  });

  it('3121 for a transaction without inputs; -32602 for bytes that are no transaction', async () => {
    expect((await submit('84a300800180020aa0f5f6')).error?.code).toBe(3121);
    const garbage = await submit('820102');
    expect(garbage.error?.code).toBe(-32602);
  });

  it('the official client rejects with the same error', async () => {
    const submission = await createTransactionSubmissionClient(await openContext());
    const input = { txId: 'ef'.repeat(32), index: 0, address: HOT.address, lovelace: 10_000_000n, assets: [] };
    await expect(submission.submitTransaction(signedTransaction(payment(input)).cbor)).rejects.toMatchObject({ code: 3117 });
    await submission.shutdown();
  });
});

describe('mempool and forks', () => {
  it('a transaction whose ttl passes before the next block is dropped, not included; its input stays spendable', async () => {
    const input = freshOutput();
    const built = signedTransaction(payment(input, 2_000_000n, { ttl: currentSlot() + 5n }));
    expect((await submit(built.cbor)).result).toBeDefined();
    now += 60_000; // a minute passes: the next block is 60 slots later
    const [block] = simulator.produceBlocks(1);
    expect(block?.injectedTransactionIds).not.toContain(built.id);
    expect(simulator.ledger.utxo(input)).toBeDefined();
    used.delete(`${input.txId}#${input.index}`);
  });

  it('a rollback that drops the block puts the transaction back: it lands once in the new branch (requeueTransactions, the default)', async () => {
    const input = freshOutput();
    const built = signedTransaction(payment(input));
    expect((await submit(built.cbor)).result).toBeDefined();
    const [block] = simulator.produceBlocks(1);
    expect(carrierOf(built.id)).toEqual([block?.id]);

    simulator.rollBack(1);
    const carriers = carrierOf(built.id);
    expect(carriers).toHaveLength(1);
    expect(carriers[0]).not.toBe(block?.id);
    expect(simulator.ledger.utxo(input)).toBeUndefined();
    expect(simulator.ledger.utxo({ txId: built.id, index: 0 })).toMatchObject({ address: PAYEE });
  });

  it('without requeueing, the rollback drops the transaction: its input is unspent again, and the same transaction can be submitted again', async () => {
    const input = freshOutput();
    const built = signedTransaction(payment(input));
    expect((await submit(built.cbor)).result).toBeDefined();
    simulator.produceBlocks(1);

    simulator.rollBack(1, { requeueTransactions: false });
    expect(carrierOf(built.id)).toEqual([]);
    expect(simulator.ledger.utxo(input)).toBeDefined();
    expect(simulator.ledger.utxo({ txId: built.id, index: 0 })).toBeUndefined();

    expect((await submit(built.cbor)).result?.transaction.id).toBe(built.id);
    simulator.produceBlocks(1);
    expect(carrierOf(built.id)).toHaveLength(1);
    expect(simulator.ledger.utxo(input)).toBeUndefined();
  });

  it('simulator/rollBack {beforeTransaction} (the walkthrough control) forks away a submitted transaction’s block; it lands again once', async () => {
    const input = freshOutput();
    const built = signedTransaction(payment(input));
    expect((await submit(built.cbor)).result).toBeDefined();
    const [block] = simulator.produceBlocks(1);
    simulator.produceBlocks(2);
    const answer = JSON.parse(await connection.request('simulator/rollBack', { beforeTransaction: built.id })) as {
      result?: { depth: number };
    };
    expect(answer.result?.depth).toBe(3);
    const carriers = carrierOf(built.id);
    expect(carriers).toHaveLength(1);
    expect(carriers[0]).not.toBe(block?.id);
    expect(simulator.ledger.balanceOf(PAYEE).lovelace).toBeGreaterThan(0n);
  });

  it('a chained transaction whose parent a fork dropped without requeueing is dropped too', async () => {
    const input = freshOutput();
    const parent = signedTransaction(payment(input));
    expect((await submit(parent.cbor)).result).toBeDefined();
    simulator.produceBlocks(1);
    const child = signedTransaction({
      inputs: [{ txId: parent.id, index: 1 }],
      outputs: [{ address: HOT.address, lovelace: (simulator.ledger.utxo({ txId: parent.id, index: 1 }) as SimulatorUtxo).lovelace }],
      feeFrom: 0,
      ttl: currentSlot() + 3600n,
      signers: [HOT],
    });
    expect((await submit(child.cbor)).result).toBeDefined();
    simulator.rollBack(1, { requeueTransactions: false, newBranchLength: 0 });
    simulator.produceBlocks(2);
    expect(carrierOf(parent.id)).toEqual([]);
    expect(carrierOf(child.id)).toEqual([]);
  });
});
