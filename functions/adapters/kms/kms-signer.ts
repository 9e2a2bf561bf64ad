/**
 * The hot wallet's signer on AWS: an AWS KMS asymmetric key of spec `ECC_NIST_EDWARDS25519` (usage SIGN_VERIFY).
 * The private key never leaves KMS; every signature is a `kms:Sign` call, logged by CloudTrail.
 *
 * - `GetPublicKey` is read once per process (concurrent callers share the call; a failed read is not kept): the
 *   44-byte DER SubjectPublicKeyInfo (OID 1.3.101.112) gives the raw 32-byte vkey. A key of another spec or usage,
 *   or a key without `ED25519_SHA_512`, is refused.
 * - `Sign` uses `ED25519_SHA_512` with `MessageType: 'RAW'` over the 32-byte body hash: pure Ed25519 of exactly
 *   those bytes, which is what a Cardano vkey witness is. Never `ED25519_PH_SHA_512` (Ed25519ph hashes again and
 *   gives a signature no node accepts), never `DIGEST` (KMS requires RAW for ED25519_SHA_512 anyway).
 * - Errors become `SignerError`s naming the key; throttling and service faults are transient, a disabled key,
 *   a key pending deletion, access denied or a wrong key are not.
 *
 * This adapter does not verify signatures: wrap it in `verifyingSigner` (functions/domain/payouts).
 */
import {
  GetPublicKeyCommand,
  type GetPublicKeyCommandOutput,
  type KMSClient,
  SignCommand,
  type SignCommandOutput,
} from '@aws-sdk/client-kms';
import {
  ED25519_SIGNATURE_BYTES,
  SignerError,
  TRANSACTION_BODY_HASH_BYTES,
  type TransactionSigner,
} from '../../domain/payouts/transaction-signer.js';
import { ed25519PublicKeyFromSpki } from '../crypto/ed25519-keys.js';

export const KMS_KEY_SPEC = 'ECC_NIST_EDWARDS25519';
export const KMS_SIGNING_ALGORITHM = 'ED25519_SHA_512';

/** The KMS client, or anything with its `send` (the tests replace it). */
export type KmsSend = Pick<KMSClient, 'send'>;

export class KmsTransactionSigner implements TransactionSigner {
  private cachedPublicKey: Promise<Uint8Array> | undefined;

  constructor(
    private readonly client: KmsSend,
    /** Key id, key ARN, alias name or alias ARN; an ARN is what CloudTrail and the errors will show best. */
    readonly keyId: string,
  ) {}

  publicKey(): Promise<Uint8Array> {
    this.cachedPublicKey ??= this.readPublicKey().catch((error: unknown) => {
      this.cachedPublicKey = undefined;
      throw error;
    });
    return this.cachedPublicKey.then((key) => key.slice());
  }

  async sign(bodyHash: Uint8Array): Promise<Uint8Array> {
    if (bodyHash.length !== TRANSACTION_BODY_HASH_BYTES) {
      throw new RangeError(`a transaction body hash is ${TRANSACTION_BODY_HASH_BYTES} bytes; got ${bodyHash.length}`);
    }
    let output: SignCommandOutput;
    try {
      output = await this.client.send(
        new SignCommand({
          KeyId: this.keyId,
          Message: Uint8Array.from(bodyHash),
          MessageType: 'RAW',
          SigningAlgorithm: KMS_SIGNING_ALGORITHM,
        }),
      );
    } catch (error) {
      throw this.mapError('Sign', error);
    }
    if (output.SigningAlgorithm !== undefined && output.SigningAlgorithm !== KMS_SIGNING_ALGORITHM) {
      throw new SignerError(this.keyId, `KMS Sign answered with algorithm ${output.SigningAlgorithm}, not ${KMS_SIGNING_ALGORITHM}`, false);
    }
    const signature = output.Signature;
    if (signature === undefined || signature.length !== ED25519_SIGNATURE_BYTES) {
      throw new SignerError(
        this.keyId,
        `KMS Sign returned ${signature === undefined ? 'no signature' : `a ${signature.length}-byte signature`}, not ${ED25519_SIGNATURE_BYTES} bytes`,
        false,
      );
    }
    return Uint8Array.from(signature);
  }

  private async readPublicKey(): Promise<Uint8Array> {
    let output: GetPublicKeyCommandOutput;
    try {
      output = await this.client.send(new GetPublicKeyCommand({ KeyId: this.keyId }));
    } catch (error) {
      throw this.mapError('GetPublicKey', error);
    }
    const refuse = (reason: string) => new SignerError(this.keyId, `not a usable Cardano signing key: ${reason}`, false);
    if (output.KeySpec !== undefined && output.KeySpec !== KMS_KEY_SPEC) {
      throw refuse(`its key spec is ${output.KeySpec}, not ${KMS_KEY_SPEC}`);
    }
    if (output.KeyUsage !== undefined && output.KeyUsage !== 'SIGN_VERIFY') {
      throw refuse(`its key usage is ${output.KeyUsage}, not SIGN_VERIFY`);
    }
    if (output.SigningAlgorithms !== undefined && !output.SigningAlgorithms.includes(KMS_SIGNING_ALGORITHM)) {
      throw refuse(`it does not offer ${KMS_SIGNING_ALGORITHM} (it offers ${output.SigningAlgorithms.join(', ') || 'none'})`);
    }
    if (output.PublicKey === undefined) throw refuse('KMS GetPublicKey returned no public key');
    try {
      return ed25519PublicKeyFromSpki(output.PublicKey);
    } catch (error) {
      throw refuse(error instanceof Error ? error.message : String(error));
    }
  }

  private mapError(operation: 'GetPublicKey' | 'Sign', error: unknown): SignerError {
    const name = error instanceof Error ? error.name : 'unknown error';
    const detail = error instanceof Error && error.message ? `: ${error.message}` : '';
    const known = KNOWN_ERRORS.get(name);
    const transient = known?.transient ?? isTransientFault(error);
    const meaning = known?.meaning ?? (transient ? 'KMS could not answer now' : 'KMS refused the request');
    return new SignerError(this.keyId, `KMS ${operation} failed, ${meaning} (${name}${detail})`, transient, { cause: error });
  }
}

/** What the KMS errors a signer can meet mean to an operator. */
const KNOWN_ERRORS: ReadonlyMap<string, { readonly transient: boolean; readonly meaning: string }> = new Map([
  ['ThrottlingException', { transient: true, meaning: 'throttled by KMS (requests per second over the quota)' }],
  ['KMSInternalException', { transient: true, meaning: 'an internal KMS error' }],
  ['DependencyTimeoutException', { transient: true, meaning: 'KMS timed out on a dependency' }],
  ['KeyUnavailableException', { transient: true, meaning: 'the key is temporarily unavailable' }],
  ['DisabledException', { transient: false, meaning: 'the key is disabled (enable it, or configure another key)' }],
  ['KMSInvalidStateException', { transient: false, meaning: 'the key is not usable in its state (pending deletion?)' }],
  ['NotFoundException', { transient: false, meaning: 'no such key in this account and region' }],
  ['AccessDeniedException', { transient: false, meaning: 'access denied (the key policy or the role does not allow it)' }],
  ['InvalidKeyUsageException', { transient: false, meaning: 'the key is not a signing key or does not allow this algorithm' }],
  ['UnsupportedOperationException', { transient: false, meaning: 'the key does not support this operation' }],
  ['InvalidGrantTokenException', { transient: false, meaning: 'a grant token was refused' }],
  ['ValidationException', { transient: false, meaning: 'KMS refused the request as invalid' }],
]);

/** An unlisted error: the SDK's own classification; a client fault (a refusal) is permanent, anything else may pass. */
function isTransientFault(error: unknown): boolean {
  if (!(error instanceof Error)) return true;
  const { $fault, $retryable } = error as Error & { $fault?: 'client' | 'server'; $retryable?: unknown };
  if ($retryable) return true;
  return $fault !== 'client';
}
