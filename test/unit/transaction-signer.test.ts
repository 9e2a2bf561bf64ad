/**
 * The signer port, the verifying wrapper and the hot wallet's address, checked against cardano-serialization-lib
 * (CSL), an implementation independent of ours: CSL computes the enterprise address from the public key, builds
 * the vkey witness from our signature into a transaction, decodes it again and verifies the witness itself.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import CSL from '@emurgo/cardano-serialization-lib-nodejs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSignatureVerifier } from '../../functions/adapters/crypto/ed25519-keys.js';
import { FileTransactionSigner } from '../../functions/adapters/crypto/file-signer.js';
import { KmsTransactionSigner } from '../../functions/adapters/kms/kms-signer.js';
import { validateAddress } from '../../functions/domain/address.js';
import { enterpriseAddress } from '../../functions/domain/address/enterprise-address.js';
import type { Network } from '../../functions/domain/network.js';
import {
  SignatureVerificationError,
  type TransactionSigner,
  signerAddress,
  verifyingSigner,
  vkeyWitness,
} from '../../functions/domain/payouts/transaction-signer.js';

const NETWORKS: readonly Network[] = ['mainnet', 'preprod', 'preview'];
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const rawPublicKey = (key: KeyObject): Uint8Array => Uint8Array.from(Buffer.from(key.export({ format: 'jwk' }).x as string, 'base64url'));
const rawPrivateKey = (key: KeyObject): Uint8Array => Uint8Array.from(Buffer.from(key.export({ format: 'jwk' }).d as string, 'base64url'));

/** The oracle: CSL's enterprise address of the key hash it computes itself. */
function cslEnterpriseAddress(publicKey: Uint8Array, network: Network): string {
  const networkId = network === 'mainnet' ? CSL.NetworkInfo.mainnet().network_id() : CSL.NetworkInfo.testnet_preprod().network_id();
  const credential = CSL.Credential.from_keyhash(CSL.PublicKey.from_bytes(publicKey).hash());
  return CSL.EnterpriseAddress.new(networkId, credential).to_address().to_bech32();
}

/** A signer on a node:crypto key held in memory (test only). */
function memorySigner(privateKey: KeyObject, publicKey: KeyObject, keyId = 'memory:test'): TransactionSigner {
  return {
    keyId,
    publicKey: async () => rawPublicKey(publicKey),
    sign: async (bodyHash) => Uint8Array.from(sign(null, bodyHash, privateKey)),
  };
}

/** A KMS signer whose client is a stub answering with node:crypto (see kms-signer.test.ts for why a stub). */
function stubbedKmsSigner(key: { privateKey: KeyObject; publicKey: KeyObject }): KmsTransactionSigner {
  const send = async (command: { input: Record<string, unknown>; constructor: { name: string } }) =>
    command.constructor.name === 'GetPublicKeyCommand'
      ? { PublicKey: Uint8Array.from(key.publicKey.export({ format: 'der', type: 'spki' })), KeySpec: 'ECC_NIST_EDWARDS25519' }
      : { Signature: Uint8Array.from(sign(null, command.input.Message as Uint8Array, key.privateKey)) };
  return new KmsTransactionSigner({ send } as never, 'arn:aws:kms:eu-west-1:111122223333:key/stub');
}

/** A one-input, one-output transaction body to the given address, as CSL serialises it. */
function cslBody(toAddress: string): Uint8Array {
  const inputs = CSL.TransactionInputs.new();
  inputs.add(CSL.TransactionInput.new(CSL.TransactionHash.from_bytes(randomBytes(32)), 0));
  const outputs = CSL.TransactionOutputs.new();
  outputs.add(CSL.TransactionOutput.new(CSL.Address.from_bech32(toAddress), CSL.Value.new(CSL.BigNum.from_str('2000000'))));
  const body = CSL.TransactionBody.new_tx_body(inputs, outputs, CSL.BigNum.from_str('170000'));
  body.set_ttl(CSL.BigNum.from_str('123456789'));
  return body.to_bytes();
}

describe('hot-wallet enterprise address from the public key', () => {
  it('matches CSL on random keys for every network, and is a valid enterprise key address of that network only', () => {
    for (let round = 0; round < 50; round++) {
      const publicKey = Uint8Array.from(randomBytes(32)); // any 32 bytes hash to a credential; no point check needed
      for (const network of NETWORKS) {
        const ours = enterpriseAddress(publicKey, network);
        expect(ours, hex(publicKey)).toBe(cslEnterpriseAddress(publicKey, network));
        const info = validateAddress(ours, network);
        expect(info).toMatchObject({
          era: 'shelley',
          kind: 'enterprise',
          paymentCredential: 'key',
          networkId: network === 'mainnet' ? 1 : 0,
        });
        expect(ours.startsWith(network === 'mainnet' ? 'addr1' : 'addr_test1')).toBe(true);
      }
    }
  });

  it('the all-zero key matches CSL too; a key that is not 32 bytes is refused', () => {
    const zero = new Uint8Array(32);
    expect(enterpriseAddress(zero, 'mainnet')).toBe(cslEnterpriseAddress(zero, 'mainnet'));
    expect(enterpriseAddress(zero, 'preview')).toBe(cslEnterpriseAddress(zero, 'preview'));
    expect(() => enterpriseAddress(new Uint8Array(31), 'mainnet')).toThrow(/32 bytes; got 31/);
  });
});

describe('signatures checked by CSL', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'transaction-signer-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  const signers: Record<string, () => Promise<{ signer: TransactionSigner; seed?: Uint8Array }>> = {
    'the KMS signer (stubbed client)': async () => {
      const key = generateKeyPairSync('ed25519');
      return { signer: stubbedKmsSigner(key), seed: rawPrivateKey(key.privateKey) };
    },
    'the file signer': async () => ({ signer: new FileTransactionSigner(path.join(directory, `${randomBytes(4).toString('hex')}.key`)) }),
  };

  for (const [name, make] of Object.entries(signers)) {
    it(`${name}: the witness CSL builds from our signature verifies in the decoded transaction, for the address's key`, async () => {
      const { signer: bare, seed } = await make();
      const signer = verifyingSigner(bare, nodeSignatureVerifier);
      const address = await signerAddress(signer, 'preprod');

      const transaction = CSL.FixedTransaction.new_from_body_bytes(cslBody(address));
      const bodyHash = transaction.transaction_hash().to_bytes();
      expect(bodyHash).toHaveLength(32);
      const { vkey, signature } = await vkeyWitness(signer, bodyHash);
      transaction.add_vkey_witness(
        CSL.Vkeywitness.new(CSL.Vkey.new(CSL.PublicKey.from_bytes(vkey)), CSL.Ed25519Signature.from_bytes(signature)),
      );

      const decoded = CSL.FixedTransaction.from_bytes(transaction.to_bytes());
      const hash = decoded.transaction_hash().to_bytes();
      expect(hex(hash)).toBe(hex(bodyHash));
      const witnesses = decoded.witness_set().vkeys();
      expect(witnesses?.len()).toBe(1);
      const witness = witnesses!.get(0);
      const witnessKey = witness.vkey().public_key();
      expect(witnessKey.verify(hash, witness.signature())).toBe(true);
      expect(witnessKey.verify(Uint8Array.from(randomBytes(32)), witness.signature())).toBe(false);
      // The witness's key is the one the hot-wallet address pays to.
      const credential = CSL.EnterpriseAddress.from_address(CSL.Address.from_bech32(address))!.payment_cred().to_keyhash()!;
      expect(witnessKey.hash().to_hex()).toBe(credential.to_hex());

      if (seed) {
        // CSL signing with the same private key gives the same bytes (Ed25519 is deterministic): the same algorithm.
        const cslSignature = CSL.make_vkey_witness(decoded.transaction_hash(), CSL.PrivateKey.from_normal_bytes(seed)).signature();
        expect(cslSignature.to_hex()).toBe(hex(signature));
      }
    });
  }
});

describe('verifying wrapper', () => {
  it('returns a good signature and refuses any other, naming the key id, whichever signer it wraps', async () => {
    const key = generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519');
    const good = verifyingSigner(memorySigner(key.privateKey, key.publicKey), nodeSignatureVerifier);
    const hash = Uint8Array.from(createHash('sha256').update('body').digest());
    expect(CSL.PublicKey.from_bytes(await good.publicKey()).verify(hash, CSL.Ed25519Signature.from_bytes(await good.sign(hash)))).toBe(
      true,
    );

    const wrong = verifyingSigner(memorySigner(other.privateKey, key.publicKey, 'memory:wrong'), nodeSignatureVerifier);
    const error = await wrong.sign(hash).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SignatureVerificationError);
    expect((error as Error).message).toMatch(/^signer memory:wrong: signature refused/);

    // A signer that changes the buffer it was given cannot make the wrapper verify something else.
    const tampering: TransactionSigner = {
      keyId: 'memory:tampering',
      publicKey: async () => rawPublicKey(key.publicKey),
      sign: async (bodyHash) => {
        bodyHash.fill(7);
        return Uint8Array.from(sign(null, bodyHash, key.privateKey));
      },
    };
    await expect(verifyingSigner(tampering, nodeSignatureVerifier).sign(hash)).rejects.toThrow(SignatureVerificationError);

    // A public key that is no point: nothing verifies against it.
    const notAPoint = new Uint8Array(32).fill(0xff);
    const bad = verifyingSigner(
      { ...memorySigner(key.privateKey, key.publicKey), publicKey: async () => notAPoint },
      nodeSignatureVerifier,
    );
    await expect(bad.sign(hash)).rejects.toThrow(SignatureVerificationError);
    const short = verifyingSigner(
      { ...memorySigner(key.privateKey, key.publicKey), publicKey: async () => new Uint8Array(33) },
      nodeSignatureVerifier,
    );
    await expect(short.sign(hash)).rejects.toThrow(/public key is 33 bytes, not 32/);
  });
});
