/**
 * The hot wallet's signer (issue 16). A Cardano transaction is authorised by a vkey witness: the 32-byte Ed25519
 * public key and a pure Ed25519 (RFC 8032, not the pre-hashed "ph" variant) signature over the 32-byte
 * transaction body hash, blake2b-256 of the exact body bytes that are submitted. On AWS the private key lives in
 * KMS (an `ECC_NIST_EDWARDS25519` key, `ED25519_SHA_512` over the RAW hash) and never leaves it; locally and in
 * tests it lives in a 0600 file. Neither the key nor anything derived from it that would let someone sign is ever
 * put in an environment variable, a log or the database.
 *
 * Whatever the signer, a signature is checked against the public key before anyone sees it (`verifyingSigner`): a
 * wrong signature would only be refused by the nodes, after the inputs were reserved and the payout marked signed.
 */
import { keyHash } from '../address/account-key.js';
import { enterpriseAddress } from '../address/enterprise-address.js';
import type { Network } from '../network.js';

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;
/** blake2b-256 of the transaction body. */
export const TRANSACTION_BODY_HASH_BYTES = 32;

export interface TransactionSigner {
  /** Names the key in errors and logs (the KMS key id or ARN, `file:<path>` locally); never the key itself. */
  readonly keyId: string;
  /** The 32-byte Ed25519 public key (a Cardano vkey). */
  publicKey(): Promise<Uint8Array>;
  /** The 64-byte pure Ed25519 signature of `bodyHash`, the 32-byte transaction body hash. */
  sign(bodyHash: Uint8Array): Promise<Uint8Array>;
}

/** Pure Ed25519 verification (RFC 8032), provided by an adapter (node:crypto). */
export interface SignatureVerifier {
  /** False for a signature that does not verify, and for a public key that is no valid point. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

/**
 * A signer's failure, naming the key. `transient` says whether the same request may succeed later (throttling,
 * an unreachable service) or not until someone acts (a disabled key, access denied, a wrong key type).
 */
export class SignerError extends Error {
  override readonly name: string = 'SignerError';
  constructor(
    readonly keyId: string,
    message: string,
    readonly transient: boolean,
    options?: { cause?: unknown },
  ) {
    super(`signer ${keyId}: ${message}${transient ? ' (transient: may be retried)' : ' (not transient: needs an operator)'}`, options);
  }
}

/** A signature that does not verify against the signer's own public key. It is never returned. */
export class SignatureVerificationError extends SignerError {
  override readonly name = 'SignatureVerificationError';
  constructor(keyId: string, reason: string) {
    super(keyId, `signature refused: ${reason}; nothing was signed with it`, false);
  }
}

/** A vkey witness: what a transaction's witness set carries for a key credential. */
export interface VkeyWitness {
  /** 32 bytes. */
  readonly vkey: Uint8Array;
  /** 64 bytes. */
  readonly signature: Uint8Array;
}

/**
 * Wraps `signer` so that every signature it returns is 64 bytes and verifies against its public key and the body
 * hash it was asked to sign; anything else throws a `SignatureVerificationError` naming the key. The body hash
 * must be 32 bytes (refused before the signer is asked: a KMS call would be wasted on it).
 */
export function verifyingSigner(signer: TransactionSigner, verifier: SignatureVerifier): TransactionSigner {
  const publicKey = async (): Promise<Uint8Array> => {
    const key = await signer.publicKey();
    if (key.length !== ED25519_PUBLIC_KEY_BYTES) {
      throw new SignerError(signer.keyId, `public key is ${key.length} bytes, not ${ED25519_PUBLIC_KEY_BYTES}`, false);
    }
    return key;
  };
  return {
    keyId: signer.keyId,
    publicKey,
    async sign(bodyHash) {
      if (bodyHash.length !== TRANSACTION_BODY_HASH_BYTES) {
        throw new RangeError(`a transaction body hash is ${TRANSACTION_BODY_HASH_BYTES} bytes; got ${bodyHash.length}`);
      }
      const message = bodyHash.slice(); // what is verified is what was asked for, whatever the signer does with its argument
      const key = await publicKey();
      const signature = await signer.sign(message.slice());
      if (signature.length !== ED25519_SIGNATURE_BYTES) {
        throw new SignatureVerificationError(signer.keyId, `it is ${signature.length} bytes, not ${ED25519_SIGNATURE_BYTES}`);
      }
      if (!verifier.verify(key, message, signature)) {
        throw new SignatureVerificationError(
          signer.keyId,
          'it does not verify against the key and the body hash (a different key, the pre-hashed Ed25519ph variant, or a corrupted answer)',
        );
      }
      return signature;
    },
  };
}

/** The vkey witness of `bodyHash`: the signer's public key and its signature. */
export async function vkeyWitness(signer: TransactionSigner, bodyHash: Uint8Array): Promise<VkeyWitness> {
  const [vkey, signature] = await Promise.all([signer.publicKey(), signer.sign(bodyHash)]);
  return { vkey, signature };
}

/** The hot wallet's address: the enterprise address (no stake part) of the signer's key on `network`. */
export async function signerAddress(signer: TransactionSigner, network: Network): Promise<string> {
  return enterpriseAddress(await signer.publicKey(), network);
}

/** The hot wallet of a signer: its address and its payment key hash (hex blake2b-224 of the key). */
export async function signerHotWallet(signer: TransactionSigner, network: Network): Promise<{ address: string; keyHash: string }> {
  const publicKey = await signer.publicKey();
  return { address: enterpriseAddress(publicKey, network), keyHash: Buffer.from(keyHash(publicKey)).toString('hex') };
}
