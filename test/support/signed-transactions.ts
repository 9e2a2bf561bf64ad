/**
 * Signed Conway transactions for tests of the simulator's submission rules, built with the transaction library
 * (@emurgo/cardano-serialization-lib-nodejs) and signed with an Ed25519 key from node:crypto, the way a wallet does:
 * the witness signs blake2b-256 of the body bytes. Every rule can be broken on purpose (fee, balance, witness,
 * signature, ttl) to see the refusal.
 */
import CSL from '@emurgo/cardano-serialization-lib-nodejs';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { AssetQuantity } from '../../functions/domain/chain.js';
import { enterpriseAddress } from '../../functions/domain/address/enterprise-address.js';
import type { Network } from '../../functions/domain/network.js';
import { PROTOCOL_PARAMETERS, minimumFee } from '../../functions/local/simulator/index.js';

export interface TestKey {
  readonly privateKey: KeyObject;
  readonly publicKey: Uint8Array;
  /** Its enterprise address (the hot wallet's kind). */
  readonly address: string;
}

/** A new Ed25519 key (or the one of a 32-byte seed) and its enterprise address on `network`. */
export function testKey(network: Network, seed?: Uint8Array): TestKey {
  const privateKey =
    seed === undefined
      ? generateKeyPairSync('ed25519').privateKey
      : createPrivateKey({
          key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
          format: 'der',
          type: 'pkcs8',
        });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(spki.length - 32));
  return { privateKey, publicKey, address: enterpriseAddress(publicKey, network) };
}

export interface Spend {
  readonly txId: string;
  readonly index: number;
}

export interface Payment {
  readonly address: string;
  readonly lovelace: bigint;
  readonly assets?: readonly AssetQuantity[];
}

export interface TransactionPlan {
  readonly inputs: readonly Spend[];
  readonly outputs: readonly Payment[];
  /** The fee; by default the minimum for the transaction's size (computed on a first build). */
  readonly fee?: bigint;
  /**
   * The output that takes the fee (its lovelace is reduced by it), so that the transaction balances when the
   * outputs add up to the inputs. Default: none (the outputs must already leave room for the fee).
   */
  readonly feeFrom?: number;
  readonly ttl?: bigint;
  readonly validFrom?: bigint;
  readonly signers: readonly TestKey[];
  /** Sign something else than the body hash (a bad signature). */
  readonly corruptSignature?: boolean;
  /** Required signers (body key 14): key hashes, hex. */
  readonly requiredSigners?: readonly string[];
}

export interface BuiltTestTransaction {
  readonly id: string;
  readonly cbor: string;
  readonly size: number;
  readonly fee: bigint;
}

/** Builds and signs the plan; with no fee given, the fee is the minimum for the final size. */
export function signedTransaction(plan: TransactionPlan): BuiltTestTransaction {
  if (plan.fee !== undefined) return build(plan, plan.fee);
  // The fee's CBOR length does not change between the two builds (both are 4-byte integers), so neither does the size.
  const draft = build(plan, 200_000n);
  return build(plan, minimumFee(draft.size, PROTOCOL_PARAMETERS));
}

function build(plan: TransactionPlan, fee: bigint): BuiltTestTransaction {
  const inputs = CSL.TransactionInputs.new();
  for (const input of plan.inputs) inputs.add(CSL.TransactionInput.new(CSL.TransactionHash.from_hex(input.txId), input.index));
  const outputs = CSL.TransactionOutputs.new();
  for (const [position, output] of plan.outputs.entries()) {
    const lovelace = position === plan.feeFrom ? output.lovelace - fee : output.lovelace;
    const value = CSL.Value.new(CSL.BigNum.from_str(lovelace.toString()));
    if (output.assets !== undefined && output.assets.length > 0) value.set_multiasset(multiAsset(output.assets));
    outputs.add(CSL.TransactionOutput.new(CSL.Address.from_bech32(output.address), value));
  }
  const body = CSL.TransactionBody.new_tx_body(inputs, outputs, CSL.BigNum.from_str(fee.toString()));
  if (plan.ttl !== undefined) body.set_ttl(CSL.BigNum.from_str(plan.ttl.toString()));
  if (plan.validFrom !== undefined) body.set_validity_start_interval_bignum(CSL.BigNum.from_str(plan.validFrom.toString()));
  if (plan.requiredSigners !== undefined) {
    const signers = CSL.Ed25519KeyHashes.new();
    for (const hash of plan.requiredSigners) signers.add(CSL.Ed25519KeyHash.from_hex(hash));
    body.set_required_signers(signers);
  }
  const fixed = CSL.FixedTransaction.new_from_body_bytes(body.to_bytes());
  const bodyHash = fixed.transaction_hash().to_bytes();
  const witnesses = CSL.Vkeywitnesses.new();
  for (const signer of plan.signers) {
    const message = plan.corruptSignature ? Buffer.from(bodyHash).reverse() : bodyHash;
    const signature = sign(null, message, signer.privateKey);
    witnesses.add(
      CSL.Vkeywitness.new(CSL.Vkey.new(CSL.PublicKey.from_bytes(signer.publicKey)), CSL.Ed25519Signature.from_bytes(signature)),
    );
  }
  const witnessSet = CSL.TransactionWitnessSet.new();
  if (plan.signers.length > 0) witnessSet.set_vkeys(witnesses);
  const transaction = CSL.Transaction.new(body, witnessSet);
  const bytes = transaction.to_bytes();
  return { id: fixed.transaction_hash().to_hex(), cbor: Buffer.from(bytes).toString('hex'), size: bytes.length, fee };
}

function multiAsset(assets: readonly AssetQuantity[]): CSL.MultiAsset {
  const multi = CSL.MultiAsset.new();
  for (const asset of assets) {
    const policy = CSL.ScriptHash.from_hex(asset.policyId);
    const named = multi.get(policy) ?? CSL.Assets.new();
    named.insert(CSL.AssetName.new(Buffer.from(asset.assetName, 'hex')), CSL.BigNum.from_str(asset.quantity.toString()));
    multi.insert(policy, named);
  }
  return multi;
}
