/**
 * The payout transaction builder on cardano-serialization-lib. Every built transaction is signed with the local file
 * signer (node:crypto Ed25519), given its witness with `withWitnesses`, then decoded by the library itself and
 * checked from the bytes: the body bytes unchanged, the id equal to blake2b-256 of the body (computed here with
 * @noble/hashes as well as by the library), the witness verified by the library's PublicKey.verify, the fee at least
 * the library's min_fee of the signed transaction and at most a few hundred lovelace above, every output at least its
 * minimum ADA, inputs only from `available`, and inputs = outputs + fee for ADA and every token. The simulator's
 * submission rules (an independent CBOR decoder and ledger checks) must accept it in its last valid slot and refuse it
 * one slot later.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import CSL from '@emurgo/cardano-serialization-lib-nodejs';
import { blake2b } from '@noble/hashes/blake2.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CslTransactionBuilder } from '../../functions/adapters/cardano/csl-transaction-builder.js';
import { nodeSignatureVerifier } from '../../functions/adapters/crypto/ed25519-keys.js';
import { FileTransactionSigner } from '../../functions/adapters/crypto/file-signer.js';
import { enterpriseAddress } from '../../functions/domain/address/enterprise-address.js';
import type { AssetQuantity } from '../../functions/domain/chain.js';
import {
  type BuildRequest,
  type BuiltTransaction,
  MAX_QUANTITY,
  type PayoutOutput,
  type ProtocolParameters,
  type SpendableOutput,
  validUntil,
} from '../../functions/domain/payouts/transaction-builder.js';
import { type TransactionSigner, verifyingSigner } from '../../functions/domain/payouts/transaction-signer.js';
import { PROTOCOL_PARAMETERS } from '../../functions/local/simulator/index.js';
import { decodeSignedTransaction } from '../../functions/local/simulator/signed-transaction.js';
import { judgeSubmission } from '../../functions/local/simulator/submission.js';

const MAINNET: ProtocolParameters = {
  minFeeCoefficient: 44n,
  minFeeConstant: 155_381n,
  maxTransactionSize: 16_384,
  maxValueSize: 5000,
  minUtxoDepositCoefficient: 4310n,
};
const ADA = 1_000_000n;
const VALID_UNTIL = 90_000_123n;
/** How far above the signed transaction's minimum fee a fee may be (CSL rounds a few lovelace up). */
const FEE_SLACK = 300n;

const builder = new CslTransactionBuilder();

const hex = (seed: string, bytes: number): string =>
  createHash('sha256')
    .update(seed)
    .digest('hex')
    .slice(0, bytes * 2);
const txId = (seed: string | number): string => hex(`tx ${seed}`, 32);
const policy = (seed: string): string => hex(`policy ${seed}`, 28);
const nameHex = (text: string): string => Buffer.from(text).toString('hex');
const asset = (policySeed: string, name: string, quantity: bigint): AssetQuantity => ({
  policyId: policy(policySeed),
  assetName: nameHex(name),
  quantity,
});

/** A preprod base address of someone else (a payout's destination). */
function destination(seed: string | number): string {
  const credential = (part: string) => CSL.Credential.from_keyhash(CSL.Ed25519KeyHash.from_hex(hex(`${part} ${seed}`, 28)));
  return CSL.BaseAddress.new(0, credential('payment'), credential('stake')).to_address().to_bech32();
}

let directory: string;
let signer: TransactionSigner;
let vkey: Uint8Array;
let hotWallet: string;
let keyHash: string;

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'csl-builder-'));
  signer = verifyingSigner(new FileTransactionSigner(path.join(directory, 'hot-wallet.key')), nodeSignatureVerifier);
  vkey = await signer.publicKey();
  hotWallet = enterpriseAddress(vkey, 'preprod');
  keyHash = CSL.PublicKey.from_bytes(vkey).hash().to_hex();
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

function utxo(seed: string | number, lovelace: bigint, assets: AssetQuantity[] = [], index = 0): SpendableOutput {
  return { txId: txId(seed), index, address: hotWallet, lovelace, assets };
}

function payout(id: string | number, lovelace: bigint, assets: AssetQuantity[] = []): PayoutOutput {
  return { payoutId: `po_${id}`, address: destination(id), lovelace, assets };
}

function request(payouts: PayoutOutput[], available: SpendableOutput[], overrides: Partial<BuildRequest> = {}): BuildRequest {
  return {
    payouts,
    available,
    changeAddress: hotWallet,
    validUntilSlot: VALID_UNTIL,
    protocolParameters: MAINNET,
    signerKeyHash: keyHash,
    ...overrides,
  };
}

function built(buildRequest: BuildRequest): BuiltTransaction {
  const result = builder.build(buildRequest);
  if (result.built === undefined) throw new Error(`nothing built: ${JSON.stringify(result.deferred)}`);
  return result.built;
}

/** `lovelace` and `<policy>.<name>` → quantity, read from a CSL value. */
function quantities(value: CSL.Value): Map<string, bigint> {
  const result = new Map<string, bigint>([['lovelace', BigInt(value.coin().to_str())]]);
  const multiAsset = value.multiasset();
  if (multiAsset === undefined) return result;
  const policies = multiAsset.keys();
  for (let p = 0; p < policies.len(); p++) {
    const policyId = policies.get(p);
    const assets = multiAsset.get(policyId);
    if (assets === undefined) continue;
    const names = assets.keys();
    for (let n = 0; n < names.len(); n++) {
      const name = names.get(n);
      result.set(`${policyId.to_hex()}.${Buffer.from(name.name()).toString('hex')}`, BigInt(assets.get(name)?.to_str() ?? '0'));
    }
  }
  return result;
}

function add(total: Map<string, bigint>, more: Map<string, bigint>): void {
  for (const [key, quantity] of more) total.set(key, (total.get(key) ?? 0n) + quantity);
}

function expectedQuantities(lovelace: bigint, assets: readonly AssetQuantity[]): Map<string, bigint> {
  const result = new Map([['lovelace', lovelace]]);
  for (const a of assets) result.set(`${a.policyId}.${a.assetName}`, a.quantity);
  return result;
}

/**
 * Signs `transaction`, attaches the witness and checks everything from the signed bytes. Returns the decoded
 * signed transaction's outputs for further checks.
 */
async function signAndCheck(
  transaction: BuiltTransaction,
  buildRequest: BuildRequest,
): Promise<{ signed: Uint8Array; outputs: CSL.TransactionOutputs }> {
  const bodyHash = Uint8Array.from(Buffer.from(transaction.transactionId, 'hex'));
  expect(Buffer.from(blake2b(transaction.bodyCbor, { dkLen: 32 })).toString('hex')).toBe(transaction.transactionId);
  const signature = await signer.sign(bodyHash);
  const signed = builder.withWitnesses(transaction.bodyCbor, [{ vkey, signature }]);

  const fixed = CSL.FixedTransaction.from_bytes(signed);
  expect(Buffer.from(fixed.raw_body()).equals(Buffer.from(transaction.bodyCbor))).toBe(true);
  expect(fixed.transaction_hash().to_hex()).toBe(transaction.transactionId);
  const witnesses = fixed.witness_set().vkeys();
  expect(witnesses?.len()).toBe(1);
  const witness = witnesses?.get(0) as CSL.Vkeywitness;
  const publicKey = witness.vkey().public_key();
  expect(Buffer.from(publicKey.as_bytes()).equals(Buffer.from(vkey))).toBe(true);
  expect(publicKey.hash().to_hex()).toBe(keyHash);
  expect(publicKey.verify(bodyHash, witness.signature())).toBe(true);
  const otherHash = Uint8Array.from(bodyHash);
  otherHash[0] = (otherHash[0] as number) ^ 1;
  expect(publicKey.verify(otherHash, witness.signature())).toBe(false);

  // The fee: at least what the ledger asks of the signed transaction, not more than a few lovelace above.
  const full = CSL.Transaction.from_bytes(signed);
  const minimumFee = BigInt(
    CSL.min_fee(
      full,
      CSL.LinearFee.new(CSL.BigNum.from_str(`${MAINNET.minFeeCoefficient}`), CSL.BigNum.from_str(`${MAINNET.minFeeConstant}`)),
    ).to_str(),
  );
  const body = full.body();
  expect(BigInt(body.fee().to_str())).toBe(transaction.fee);
  expect(transaction.fee).toBeGreaterThanOrEqual(minimumFee);
  expect(transaction.fee - minimumFee).toBeLessThanOrEqual(FEE_SLACK);
  expect(signed.length).toBe(transaction.size);
  expect(signed.length).toBeLessThanOrEqual(buildRequest.protocolParameters.maxTransactionSize);
  // invalid_hereafter is one past the last slot it may be in a block.
  expect(body.ttl_bignum()?.to_str()).toBe(`${buildRequest.validUntilSlot + 1n}`);
  expect(transaction.validUntilSlot).toBe(buildRequest.validUntilSlot);

  // Inputs: from `required` (every one) and `available` only, as reported.
  const available = new Map(
    [...(buildRequest.required ?? []), ...buildRequest.available].map((output) => [`${output.txId}#${output.index}`, output]),
  );
  const inputs = body.inputs();
  const spent: SpendableOutput[] = [];
  for (let i = 0; i < inputs.len(); i++) {
    const input = inputs.get(i);
    const reference = `${input.transaction_id().to_hex()}#${input.index()}`;
    const output = available.get(reference);
    expect(output, `input ${reference} is not available`).toBeDefined();
    spent.push(output as SpendableOutput);
  }
  expect(transaction.inputs.map((input) => `${input.txId}#${input.index}`)).toEqual(
    spent.map((output) => `${output.txId}#${output.index}`),
  );
  expect(new Set(transaction.inputs.map((input) => `${input.txId}#${input.index}`)).size).toBe(spent.length);

  // Outputs: each included payout at its index, its tokens exact, its lovelace raised to the minimum only.
  const outputs = body.outputs();
  const dataCost = CSL.DataCost.new_coins_per_byte(CSL.BigNum.from_str(`${MAINNET.minUtxoDepositCoefficient}`));
  const payouts = new Map(buildRequest.payouts.map((item) => [item.payoutId, item]));
  for (const included of transaction.included) {
    const asked = payouts.get(included.payoutId) as PayoutOutput;
    const output = outputs.get(included.outputIndex);
    expect(output.address().to_bech32()).toBe(asked.address);
    expect(quantities(output.amount())).toEqual(expectedQuantities(included.lovelaceSent, asked.assets));
    const minimum = BigInt(CSL.min_ada_for_output(output, dataCost).to_str());
    expect(included.lovelaceSent).toBe(asked.lovelace >= minimum ? asked.lovelace : minimum);
  }
  expect(transaction.included.map((item) => item.outputIndex)).toEqual(transaction.included.map((_, index) => index));
  for (let index = transaction.included.length; index < outputs.len(); index++) {
    const change = outputs.get(index);
    expect(change.address().to_bech32()).toBe(buildRequest.changeAddress);
    expect(BigInt(change.amount().coin().to_str())).toBeGreaterThanOrEqual(BigInt(CSL.min_ada_for_output(change, dataCost).to_str()));
  }

  // The simulator's ledger rules (its own CBOR decoder, fee, deposit, size, witness and balance checks) accept it.
  const decoded = decodeSignedTransaction(signed);
  expect(Buffer.from(decoded.bodyHash).toString('hex')).toBe(transaction.transactionId);
  const verdict = judgeSubmission(decoded, {
    network: 'preprod',
    currentSlot: Number(buildRequest.validUntilSlot),
    parameters: { ...PROTOCOL_PARAMETERS, ...buildRequest.protocolParameters },
    resolve: (reference) => available.get(`${reference.txId}#${reference.index}`),
  });
  expect(verdict).toBeUndefined();
  expect(
    judgeSubmission(decoded, {
      network: 'preprod',
      currentSlot: Number(buildRequest.validUntilSlot + 1n),
      parameters: { ...PROTOCOL_PARAMETERS, ...buildRequest.protocolParameters },
      resolve: (reference) => available.get(`${reference.txId}#${reference.index}`),
    })?.code,
  ).toBe(3118);

  // Balance: inputs = outputs + fee, for ADA and every token.
  const input = new Map<string, bigint>();
  for (const output of spent) add(input, expectedQuantities(output.lovelace, output.assets));
  const output = new Map<string, bigint>([['lovelace', transaction.fee]]);
  for (let index = 0; index < outputs.len(); index++) add(output, quantities(outputs.get(index).amount()));
  const nonZero = (map: Map<string, bigint>) =>
    new Map([...map].filter(([, quantity]) => quantity !== 0n).sort(([a], [b]) => (a < b ? -1 : 1)));
  expect(nonZero(output)).toEqual(nonZero(input));
  return { signed, outputs };
}

describe('CSL payout transaction builder', () => {
  it('pays one ADA payout, with change back to the hot wallet', async () => {
    const buildRequest = request([payout(1, 25n * ADA)], [utxo(1, 10n * ADA), utxo(2, 100n * ADA), utxo(3, 30n * ADA)]);
    const transaction = built(buildRequest);
    expect(transaction.included).toEqual([{ payoutId: 'po_1', outputIndex: 0, lovelaceSent: 25n * ADA }]);
    expect(transaction.deferred).toEqual([]);
    // Largest first: the 100 ADA output alone covers it.
    expect(transaction.inputs).toEqual([{ txId: txId(2), index: 0 }]);
    const { outputs } = await signAndCheck(transaction, buildRequest);
    expect(outputs.len()).toBe(2);
  });

  it('pays three payouts (ADA, tokens only, both): tokens first from their holders, the rest of the tokens to the change', async () => {
    const gold = asset('gold', 'GOLD', 1_000n);
    const silver = asset('silver', 'SILVER', 50n);
    const available = [
      utxo('ada', 40n * ADA),
      utxo('gold', 2n * ADA, [gold, asset('gold', 'OTHER', 7n)]),
      utxo('silver', 3n * ADA, [silver]),
    ];
    const payouts = [
      payout('a', 12n * ADA),
      payout('b', 0n, [{ ...gold, quantity: 999n }]),
      payout('c', 5n * ADA, [
        { ...silver, quantity: 50n },
        { ...gold, quantity: 1n },
      ]),
    ];
    const buildRequest = request(payouts, available);
    const transaction = built(buildRequest);
    expect(transaction.included.map((item) => item.payoutId)).toEqual(['po_a', 'po_b', 'po_c']);
    const tokenOnly = transaction.included[1];
    // A token payout asking no ADA is sent the output's minimum (about 1.2 ADA here), not more.
    expect(tokenOnly?.lovelaceSent).toBeGreaterThan(1n * ADA);
    expect(tokenOnly?.lovelaceSent).toBeLessThan(2n * ADA);
    expect(transaction.inputs).toHaveLength(3);
    const { outputs } = await signAndCheck(transaction, buildRequest);
    // The gold holder's OTHER token went back to the hot wallet.
    const change = quantities(outputs.get(outputs.len() - 1).amount());
    expect(change.get(`${policy('gold')}.${nameHex('OTHER')}`)).toBe(7n);
    expect(change.get(`${gold.policyId}.${gold.assetName}`)).toBeUndefined();
  });

  it('raises an ADA payout below the minimum ADA of its output to that minimum', async () => {
    const buildRequest = request([payout('tiny', 500_000n), payout('enough', 2n * ADA)], [utxo(1, 10n * ADA)]);
    const transaction = built(buildRequest);
    const [tiny, enough] = transaction.included;
    // About 1 ADA for a base address: (160 + ~67 bytes) × 4,310.
    expect(tiny?.lovelaceSent).toBeGreaterThan(900_000n);
    expect(tiny?.lovelaceSent).toBeLessThan(1_100_000n);
    expect(enough?.lovelaceSent).toBe(2n * ADA);
    await signAndCheck(transaction, buildRequest);
  });

  it('batches 100 ADA payouts from 500 outputs into one transaction within the size limit', async () => {
    const available = Array.from({ length: 500 }, (_, index) => utxo(index, 5n * ADA + BigInt(index) * 10_000n, [], index % 4));
    const payouts = Array.from({ length: 100 }, (_, index) => payout(index, 2n * ADA + BigInt(index)));
    const buildRequest = request(payouts, available);
    const transaction = built(buildRequest);
    expect(transaction.included).toHaveLength(100);
    expect(transaction.deferred).toEqual([]);
    expect(transaction.size).toBeLessThanOrEqual(MAINNET.maxTransactionSize);
    await signAndCheck(transaction, buildRequest);
  });

  it('defers exactly the tail of 100 token payouts that does not fit, too_large, and the transaction stays within the limit', async () => {
    // Each payout: three tokens with 32-byte names under its own policy, about 200 bytes of output.
    const tokensOf = (index: number) =>
      ['A', 'B', 'C'].map((letter) => asset(`p${index}`, `${letter}${'x'.repeat(31)}`, MAX_QUANTITY - BigInt(index)));
    const available = [
      ...Array.from({ length: 100 }, (_, index) => utxo(`t${index}`, 2n * ADA, tokensOf(index))),
      ...Array.from({ length: 20 }, (_, index) => utxo(`a${index}`, 500n * ADA)),
    ];
    const payouts = Array.from({ length: 100 }, (_, index) => payout(index, 3n * ADA, tokensOf(index)));
    const buildRequest = request(payouts, available);
    const transaction = built(buildRequest);
    const included = transaction.included.length;
    expect(included).toBeGreaterThan(10);
    expect(included).toBeLessThan(100);
    expect(transaction.included.map((item) => item.payoutId)).toEqual(payouts.slice(0, included).map((item) => item.payoutId));
    expect(transaction.deferred.map((item) => item.payoutId)).toEqual(payouts.slice(included).map((item) => item.payoutId));
    expect(new Set(transaction.deferred.map((item) => item.reason))).toEqual(new Set(['too_large']));
    expect(transaction.deferred.every((item) => !item.alone)).toBe(true);
    expect(transaction.size).toBeLessThanOrEqual(MAINNET.maxTransactionSize);
    await signAndCheck(transaction, buildRequest);
    // Most of the tail is deferred by a size bound, without a build: each one really does not fit after the others.
    const includedPayouts = payouts.slice(0, included);
    for (const deferred of transaction.deferred.filter((_, index) => index % 7 === 0)) {
      const alone = builder.build(
        request([...includedPayouts, payouts.find((item) => item.payoutId === deferred.payoutId) as PayoutOutput], available),
      );
      expect(alone.built?.included).toHaveLength(included);
      expect(alone.deferred.map((item) => [item.payoutId, item.reason])).toEqual([[deferred.payoutId, 'too_large']]);
    }
  });

  it('still includes a later, smaller payout after one that did not fit', async () => {
    const available = [
      utxo('a', 1000n * ADA),
      utxo(
        'big',
        2n * ADA,
        Array.from({ length: 80 }, (_, index) => asset('big', `token ${index}`, 1n)),
      ),
    ];
    const big = payout(
      'big',
      0n,
      Array.from({ length: 80 }, (_, index) => asset('big', `token ${index}`, 1n)),
    );
    const parameters = { ...MAINNET, maxTransactionSize: 900 };
    const buildRequest = request([payout('first', 5n * ADA), big, payout('later', 7n * ADA)], available, {
      protocolParameters: parameters,
    });
    const transaction = built(buildRequest);
    expect(transaction.included.map((item) => item.payoutId)).toEqual(['po_first', 'po_later']);
    expect(transaction.deferred).toEqual([{ payoutId: 'po_big', reason: 'too_large', alone: false, detail: expect.any(String) }]);
    await signAndCheck(transaction, buildRequest);
    // Alone (first in the next build) it is too large as well: said so.
    const alone = builder.build(request([big], available, { protocolParameters: parameters }));
    expect(alone.built).toBeUndefined();
    expect(alone.deferred).toEqual([{ payoutId: 'po_big', reason: 'too_large', alone: true, detail: expect.any(String) }]);
  });

  it('defers a payout the funds cannot cover (ADA or a token) and pays the ones they can', async () => {
    const available = [utxo(1, 20n * ADA), utxo(2, 15n * ADA, [asset('gold', 'GOLD', 10n)])];
    const payouts = [
      payout('too much', 40n * ADA),
      payout('fits', 10n * ADA),
      payout('too many tokens', 0n, [asset('gold', 'GOLD', 11n)]),
      payout('unknown token', 0n, [asset('lead', 'LEAD', 1n)]),
      payout('also fits', 10n * ADA, [asset('gold', 'GOLD', 10n)]),
      payout('no longer covered', 20n * ADA),
    ];
    const buildRequest = request(payouts, available);
    const transaction = built(buildRequest);
    expect(transaction.included.map((item) => item.payoutId)).toEqual(['po_fits', 'po_also fits']);
    expect(transaction.deferred.map(({ payoutId, reason, alone }) => ({ payoutId, reason, alone }))).toEqual([
      { payoutId: 'po_too much', reason: 'insufficient_funds', alone: true },
      { payoutId: 'po_too many tokens', reason: 'insufficient_funds', alone: false },
      { payoutId: 'po_unknown token', reason: 'insufficient_funds', alone: false },
      { payoutId: 'po_no longer covered', reason: 'insufficient_funds', alone: false },
    ]);
    await signAndCheck(transaction, buildRequest);
  });

  it('builds nothing when no payout can be paid, and says why for each', () => {
    const result = builder.build(request([payout(1, 100n * ADA), payout(2, 0n, [asset('x', 'X', 1n)])], [utxo(1, 50n * ADA)]));
    expect(result.built).toBeUndefined();
    expect(result.deferred.map(({ payoutId, reason, alone }) => ({ payoutId, reason, alone }))).toEqual([
      { payoutId: 'po_1', reason: 'insufficient_funds', alone: true },
      { payoutId: 'po_2', reason: 'insufficient_funds', alone: true },
    ]);
    expect(builder.build(request([], [utxo(1, 50n * ADA)]))).toEqual({ built: undefined, deferred: [] });
  });

  it('gives two builds over disjoint available outputs disjoint inputs', async () => {
    const all = Array.from({ length: 60 }, (_, index) => utxo(index, 3n * ADA + BigInt(index) * 100_000n));
    const payouts = Array.from({ length: 10 }, (_, index) => payout(index, 8n * ADA));
    const even = request(
      payouts,
      all.filter((_, index) => index % 2 === 0),
    );
    const odd = request(
      payouts,
      all.filter((_, index) => index % 2 === 1),
    );
    const [first, second] = [built(even), built(odd)];
    const names = (transaction: BuiltTransaction) => transaction.inputs.map((input) => `${input.txId}#${input.index}`);
    expect(names(first).filter((name) => names(second).includes(name))).toEqual([]);
    await signAndCheck(first, even);
    await signAndCheck(second, odd);
  });

  it('spends every required output, adding available ones only for what they do not cover', async () => {
    const small = [utxo('carried-a', 2n * ADA), utxo('carried-b', 3n * ADA)];
    const large = [utxo('large', 500n * ADA), utxo('larger', 900n * ADA)];
    const names = (transaction: BuiltTransaction) => transaction.inputs.map((input) => `${input.txId}#${input.index}`).sort();
    // Covered by the required outputs together with the largest available one (largest first would take it alone).
    const covered = request([payout(1, 10n * ADA)], large, { required: small });
    const withLarger = built(covered);
    expect(names(withLarger)).toEqual([...small, large[1]!].map((output) => `${output.txId}#${output.index}`).sort());
    await signAndCheck(withLarger, covered);
    // Enough by themselves: nothing else is spent.
    const alone = request([payout(2, 3n * ADA)], large, { required: small });
    expect(names(built(alone))).toEqual(small.map((output) => `${output.txId}#${output.index}`).sort());
    await signAndCheck(built(alone), alone);
  });

  it('keeps token quantities of 2^64-1 exact', async () => {
    const big = asset('big', 'BIG', MAX_QUANTITY);
    const other = asset('big', 'OTHER', MAX_QUANTITY);
    const available = [utxo('holder', 3n * ADA, [big, other]), utxo('ada', 50n * ADA)];
    const buildRequest = request(
      [payout('all', 0n, [big]), payout('all but one', 0n, [{ ...other, quantity: MAX_QUANTITY - 1n }])],
      available,
    );
    const transaction = built(buildRequest);
    const { outputs } = await signAndCheck(transaction, buildRequest);
    expect(quantities(outputs.get(0).amount()).get(`${big.policyId}.${big.assetName}`)).toBe(18_446_744_073_709_551_615n);
    expect(quantities(outputs.get(1).amount()).get(`${other.policyId}.${other.assetName}`)).toBe(18_446_744_073_709_551_614n);
    expect(quantities(outputs.get(2).amount()).get(`${other.policyId}.${other.assetName}`)).toBe(1n);
  });

  it('is deterministic: the same request, in any order of the available outputs, gives the same bytes', () => {
    const available = Array.from({ length: 40 }, (_, index) =>
      utxo(index % 10, 4n * ADA, index % 3 === 0 ? [asset('t', `T${index % 5}`, 10n)] : [], index),
    );
    const payouts = [payout(1, 20n * ADA), payout(2, 0n, [asset('t', 'T0', 25n)]), payout(3, 3n * ADA)];
    const first = built(request(payouts, available));
    const second = built(request(payouts, [...available].reverse()));
    expect(Buffer.from(second.bodyCbor).equals(Buffer.from(first.bodyCbor))).toBe(true);
    expect(second.transactionId).toBe(first.transactionId);
  });

  it('takes another input rather than give a change below the minimum ADA to the fee; with none left, the fee gets it', async () => {
    // 10 ADA in, 9 ADA out: about 0.83 ADA would be left, less than an ADA-only change output's minimum.
    const twoOutputs = request([payout(1, 9n * ADA)], [utxo('first', 10n * ADA), utxo('second', 2n * ADA)]);
    const transaction = built(twoOutputs);
    expect(transaction.inputs).toHaveLength(2);
    const { outputs } = await signAndCheck(transaction, twoOutputs);
    expect(outputs.len()).toBe(2);

    const oneOutput = request([payout(1, 9n * ADA)], [utxo('first', 10n * ADA)]);
    const burning = built(oneOutput);
    expect(burning.inputs).toHaveLength(1);
    expect(burning.fee).toBe(1n * ADA);
    const signed = builder.withWitnesses(burning.bodyCbor, [
      { vkey, signature: await signer.sign(Buffer.from(burning.transactionId, 'hex')) },
    ]);
    expect(CSL.Transaction.from_bytes(signed).body().outputs().len()).toBe(1);
  });

  it('splits a change of tokens larger than maxValueSize over several outputs', async () => {
    const tokens = Array.from({ length: 200 }, (_, index) => asset(`p${index % 3}`, `${index}`.padStart(32, 'n'), BigInt(index + 1)));
    const buildRequest = request([payout(1, 5n * ADA)], [utxo('tokens', 100n * ADA, tokens)]);
    const transaction = built(buildRequest);
    const { outputs } = await signAndCheck(transaction, buildRequest);
    expect(outputs.len()).toBeGreaterThanOrEqual(3);
    for (let index = 1; index < outputs.len(); index++) {
      expect(outputs.get(index).amount().to_bytes().length).toBeLessThanOrEqual(MAINNET.maxValueSize);
    }
  });

  it('defers a payout whose output value alone exceeds maxValueSize, too_large alone', () => {
    const tokens = Array.from({ length: 30 }, (_, index) => asset('many', `token number ${index}`, 1n));
    const result = builder.build(
      request([payout('many', 2n * ADA, tokens)], [utxo(1, 10n * ADA, tokens)], { protocolParameters: { ...MAINNET, maxValueSize: 500 } }),
    );
    expect(result.built).toBeUndefined();
    expect(result.deferred).toEqual([
      { payoutId: 'po_many', reason: 'too_large', alone: true, detail: expect.stringMatching(/above the protocol's 500/) },
    ]);
  });

  it('refuses what no build could satisfy, naming it', () => {
    const funds = [utxo(1, 10n * ADA)];
    const foreign = { ...utxo(2, 10n * ADA), address: destination('someone') };
    expect(() => builder.build(request([payout(1, ADA)], [...funds, foreign]))).toThrow(/locked by key .* not the hot wallet's/);
    expect(() => builder.build(request([payout(1, ADA)], funds, { signerKeyHash: hex('other', 28) }))).toThrow(/not the hot wallet's/);
    expect(() => builder.build(request([payout(1, 0n)], funds))).toThrow(/payout po_1: it pays nothing/);
    expect(() => builder.build(request([payout(1, ADA), payout(1, ADA)], funds))).toThrow(/po_1 is in the request twice/);
    expect(() => builder.build(request([payout(1, ADA, [asset('x', 'X', MAX_QUANTITY + 1n)])], funds))).toThrow(/outside 1..2\^64-1/);
    const mainnet = CSL.EnterpriseAddress.new(1, CSL.Credential.from_keyhash(CSL.Ed25519KeyHash.from_hex(hex('m', 28))))
      .to_address()
      .to_bech32();
    expect(() => builder.build(request([{ payoutId: 'po_m', address: mainnet, lovelace: ADA, assets: [] }], funds))).toThrow(
      /network 1, the hot wallet for 0/,
    );
    expect(() => builder.build(request([{ ...payout(1, ADA), address: 'addr_test1nonsense' }], funds))).toThrow(
      /po_1's destination is not an address/,
    );
    expect(() => builder.build(request([payout(1, ADA)], [...funds, funds[0] as SpendableOutput]))).toThrow(/in the request twice/);
  });

  it('attaches the witnesses to the exact body bytes and refuses a malformed witness', () => {
    const transaction = built(request([payout(1, 2n * ADA)], [utxo(1, 10n * ADA)]));
    expect(() => builder.withWitnesses(transaction.bodyCbor, [])).toThrow(/at least one witness/);
    expect(() => builder.withWitnesses(transaction.bodyCbor, [{ vkey, signature: new Uint8Array(63) }])).toThrow(/64-byte signature/);
  });

  it('chooses the validity interval from the tip and the TTL', () => {
    expect(validUntil(100n, 7200)).toBe(7300n);
    expect(() => validUntil(100n, 0)).toThrow(RangeError);
    expect(() => validUntil(-1n, 10)).toThrow(RangeError);
  });
});
