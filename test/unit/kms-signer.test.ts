/**
 * The KMS Ed25519 signer against a stub of the SDK client (`KMSClient.send` replaced).
 *
 * There is no faithful local KMS for Ed25519: an emulator of the LocalStack family answered ECC_NIST_EDWARDS25519
 * keys with a P-521 key (floci-io/floci#2924, in ../shared/reference/payments-research.md §2.2), and KMS itself
 * is only in an AWS account. So the stub is the only option here: its GetPublicKey answers the real DER
 * SubjectPublicKeyInfo of a node:crypto Ed25519 key, its Sign signs with node:crypto and the same key, exactly
 * what KMS computes for ED25519_SHA_512 over a RAW message (pure Ed25519 of the message). The signatures are then
 * checked by cardano-serialization-lib, independently of node:crypto, in transaction-signer.test.ts.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, KMSInvalidStateException, DisabledException, SignCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { nodeSignatureVerifier } from '../../functions/adapters/crypto/ed25519-keys.js';
import { KmsTransactionSigner } from '../../functions/adapters/kms/kms-signer.js';
import {
  SignatureVerificationError,
  SignerError,
  signerAddress,
  verifyingSigner,
} from '../../functions/domain/payouts/transaction-signer.js';

const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';

interface StubOptions {
  /** Replaces GetPublicKey's answer fields. */
  publicKeyAnswer?: Record<string, unknown>;
  /** Replaces Sign's answer. */
  signAnswer?: (message: Uint8Array) => Record<string, unknown>;
  /** Thrown by every call. */
  failure?: Error;
}

/** A KMSClient whose send is the stub: records each command's input and answers like KMS would for `key`. */
function stubClient(key: { privateKey: KeyObject; publicKey: KeyObject }, options: StubOptions = {}) {
  const client = new KMSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'stub', secretAccessKey: 'stub' } });
  const calls: { command: string; input: Record<string, unknown> }[] = [];
  const send = async (command: GetPublicKeyCommand | SignCommand): Promise<Record<string, unknown>> => {
    calls.push({ command: command.constructor.name, input: { ...(command.input as unknown as Record<string, unknown>) } });
    if (options.failure) throw options.failure;
    if (command instanceof GetPublicKeyCommand) {
      return {
        KeyId: KEY_ARN,
        PublicKey: Uint8Array.from(key.publicKey.export({ format: 'der', type: 'spki' })),
        KeySpec: 'ECC_NIST_EDWARDS25519',
        KeyUsage: 'SIGN_VERIFY',
        SigningAlgorithms: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'],
        ...options.publicKeyAnswer,
      };
    }
    if (command instanceof SignCommand) {
      const message = command.input.Message as Uint8Array;
      if (options.signAnswer) return options.signAnswer(message);
      return {
        KeyId: KEY_ARN,
        Signature: Uint8Array.from(sign(null, message, key.privateKey)),
        SigningAlgorithm: command.input.SigningAlgorithm,
      };
    }
    throw new Error(`unexpected command ${(command as object).constructor.name}`);
  };
  client.send = send as unknown as KMSClient['send'];
  return { client, calls };
}

const bodyHash = (): Uint8Array => Uint8Array.from(createHash('sha256').update(randomBytes(64)).digest());
const rawPublicKey = (key: KeyObject): Uint8Array => Uint8Array.from(Buffer.from(key.export({ format: 'jwk' }).x as string, 'base64url'));

describe('KMS Ed25519 signer (stubbed SDK client)', () => {
  it('reads the raw 32-byte key from the 44-byte DER once, and signs pure Ed25519 over the RAW 32-byte hash', async () => {
    const key = generateKeyPairSync('ed25519');
    const { client, calls } = stubClient(key);
    const signer = verifyingSigner(new KmsTransactionSigner(client, KEY_ARN), nodeSignatureVerifier);

    const [first, second] = await Promise.all([signer.publicKey(), signer.publicKey()]);
    expect(Buffer.from(first).toString('hex')).toBe(Buffer.from(rawPublicKey(key.publicKey)).toString('hex'));
    expect(second).toEqual(first);

    const hash = bodyHash();
    const signature = await signer.sign(hash);
    expect(signature).toHaveLength(64);
    await signer.sign(bodyHash());
    await signerAddress(signer, 'preprod');

    expect(calls.filter((call) => call.command === 'GetPublicKeyCommand')).toEqual([
      { command: 'GetPublicKeyCommand', input: { KeyId: KEY_ARN } },
    ]);
    const signs = calls.filter((call) => call.command === 'SignCommand');
    expect(signs).toHaveLength(2);
    const input = signs[0]!.input;
    expect(Object.keys(input).sort()).toEqual(['KeyId', 'Message', 'MessageType', 'SigningAlgorithm']);
    expect(input.KeyId).toBe(KEY_ARN);
    expect(input.SigningAlgorithm).toBe('ED25519_SHA_512');
    expect(input.MessageType).toBe('RAW');
    expect(input.Message).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(input.Message as Uint8Array).toString('hex')).toBe(Buffer.from(hash).toString('hex'));
  });

  it('refuses a signature that does not verify, naming the key, and never returns it', async () => {
    const key = generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519');
    const answers: Record<string, (message: Uint8Array) => Record<string, unknown>> = {
      'another key': (message) => ({ Signature: Uint8Array.from(sign(null, message, other.privateKey)) }),
      'another message': () => ({ Signature: Uint8Array.from(sign(null, bodyHash(), key.privateKey)) }),
      // Ed25519ph (what ED25519_PH_SHA_512 computes) of the hash: a valid signature of something else.
      'the pre-hashed variant': (message) => ({
        Signature: Uint8Array.from(sign(null, createHash('sha512').update(message).digest(), key.privateKey)),
      }),
      'a flipped bit': (message) => {
        const signature = Uint8Array.from(sign(null, message, key.privateKey));
        signature[10]! ^= 0x01;
        return { Signature: signature };
      },
    };
    for (const [what, signAnswer] of Object.entries(answers)) {
      const { client } = stubClient(key, { signAnswer });
      const signer = verifyingSigner(new KmsTransactionSigner(client, KEY_ARN), nodeSignatureVerifier);
      const error = await signer.sign(bodyHash()).catch((caught: unknown) => caught);
      expect(error, what).toBeInstanceOf(SignatureVerificationError);
      expect((error as SignatureVerificationError).keyId).toBe(KEY_ARN);
      expect((error as Error).message, what).toContain(KEY_ARN);
      expect((error as SignerError).transient).toBe(false);
    }
  });

  it('refuses a signature of the wrong length or an answer with another algorithm', async () => {
    const key = generateKeyPairSync('ed25519');
    const answers: Record<string, (message: Uint8Array) => Record<string, unknown>> = {
      'no signature': () => ({}),
      '63 bytes': (message) => ({ Signature: Uint8Array.from(sign(null, message, key.privateKey)).subarray(0, 63) }),
      'a DER-looking 72 bytes': () => ({ Signature: randomBytes(72) }),
      'the PH algorithm': (message) => ({
        Signature: Uint8Array.from(sign(null, message, key.privateKey)),
        SigningAlgorithm: 'ED25519_PH_SHA_512',
      }),
    };
    for (const [what, signAnswer] of Object.entries(answers)) {
      const { client } = stubClient(key, { signAnswer });
      const signer = verifyingSigner(new KmsTransactionSigner(client, KEY_ARN), nodeSignatureVerifier);
      await expect(signer.sign(bodyHash()), what).rejects.toThrow(SignerError);
      await expect(signer.sign(bodyHash()), what).rejects.toThrow(KEY_ARN);
    }
  });

  it('refuses a public key that is not a 44-byte Ed25519 SubjectPublicKeyInfo, or a key of another spec', async () => {
    const key = generateKeyPairSync('ed25519');
    const der = Uint8Array.from(key.publicKey.export({ format: 'der', type: 'spki' }));
    const p256 = Uint8Array.from(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }));
    const x25519 = Uint8Array.from(generateKeyPairSync('x25519').publicKey.export({ format: 'der', type: 'spki' }));
    const cases: Record<string, { answer: Record<string, unknown>; says: RegExp }> = {
      'the raw 32 bytes without DER': { answer: { PublicKey: der.subarray(12) }, says: /32 bytes without the Ed25519 OID/ },
      'truncated DER': { answer: { PublicKey: der.subarray(0, 43) }, says: /encoded differently \(43 bytes\)/ },
      'DER with a trailing byte': { answer: { PublicKey: Uint8Array.from([...der, 0]) }, says: /encoded differently \(45 bytes\)/ },
      'a P-256 key': { answer: { PublicKey: p256, KeySpec: undefined }, says: /without the Ed25519 OID/ },
      'an X25519 key (same length, other OID)': { answer: { PublicKey: x25519 }, says: /44 bytes without the Ed25519 OID/ },
      'the spec ECC_NIST_P521': { answer: { KeySpec: 'ECC_NIST_P521' }, says: /key spec is ECC_NIST_P521/ },
      'an encryption key': { answer: { KeyUsage: 'ENCRYPT_DECRYPT' }, says: /key usage is ENCRYPT_DECRYPT/ },
      'only the PH algorithm': { answer: { SigningAlgorithms: ['ED25519_PH_SHA_512'] }, says: /does not offer ED25519_SHA_512/ },
      'no public key': { answer: { PublicKey: undefined }, says: /returned no public key/ },
    };
    for (const [what, { answer, says }] of Object.entries(cases)) {
      const { client, calls } = stubClient(key, { publicKeyAnswer: answer });
      const signer = verifyingSigner(new KmsTransactionSigner(client, KEY_ARN), nodeSignatureVerifier);
      const error = await signer.publicKey().catch((caught: unknown) => caught);
      expect(error, what).toBeInstanceOf(SignerError);
      expect((error as Error).message, what).toMatch(says);
      expect((error as Error).message, what).toContain(KEY_ARN);
      await expect(signer.sign(bodyHash()), what).rejects.toThrow(SignerError);
      // Nothing is signed with a key the signer cannot verify against.
      expect(
        calls.filter((call) => call.command === 'SignCommand'),
        what,
      ).toEqual([]);
      // A refused read is not kept as the answer: the next call asks KMS again.
      expect(calls.filter((call) => call.command === 'GetPublicKeyCommand').length, what).toBe(2);
    }
  });

  it('refuses a body hash that is not 32 bytes before calling KMS', async () => {
    const key = generateKeyPairSync('ed25519');
    const { client, calls } = stubClient(key);
    const signer = new KmsTransactionSigner(client, KEY_ARN);
    await expect(signer.sign(new Uint8Array(64))).rejects.toThrow(/32 bytes; got 64/);
    await expect(verifyingSigner(signer, nodeSignatureVerifier).sign(new Uint8Array(31))).rejects.toThrow(/32 bytes; got 31/);
    expect(calls).toEqual([]);
  });

  it('maps KMS errors: throttling is transient and says so, a disabled key or access denied is not', async () => {
    const key = generateKeyPairSync('ed25519');
    const serviceError = (name: string, fault: 'client' | 'server', message: string): Error =>
      Object.assign(new Error(message), { name, $fault: fault, $metadata: {} });
    const cases: { error: Error; transient: boolean; says: RegExp }[] = [
      { error: serviceError('ThrottlingException', 'client', 'Rate exceeded'), transient: true, says: /throttled/ },
      { error: serviceError('KMSInternalException', 'server', 'internal'), transient: true, says: /internal KMS error/ },
      { error: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), transient: true, says: /could not answer now/ },
      {
        error: new DisabledException({ message: `${KEY_ARN} is disabled.`, $metadata: {} }),
        transient: false,
        says: /the key is disabled/,
      },
      {
        error: new KMSInvalidStateException({ message: `${KEY_ARN} is pending deletion.`, $metadata: {} }),
        transient: false,
        says: /pending deletion/,
      },
      {
        error: serviceError(
          'AccessDeniedException',
          'client',
          'User: arn:aws:sts::1:assumed-role/x is not authorized to perform: kms:Sign',
        ),
        transient: false,
        says: /access denied/,
      },
      { error: serviceError('SomethingNewException', 'client', 'new'), transient: false, says: /KMS refused the request/ },
    ];
    for (const { error, transient, says } of cases) {
      for (const operation of ['publicKey', 'sign'] as const) {
        const { client } = stubClient(key, { failure: error });
        const signer = new KmsTransactionSigner(client, KEY_ARN);
        const caught = await (operation === 'publicKey' ? signer.publicKey() : signer.sign(bodyHash())).catch((e: unknown) => e);
        expect(caught, `${error.name} ${operation}`).toBeInstanceOf(SignerError);
        const signerError = caught as SignerError;
        expect(signerError.transient, error.name).toBe(transient);
        expect(signerError.message, error.name).toMatch(says);
        expect(signerError.message).toContain(KEY_ARN);
        expect(signerError.message).toContain(transient ? 'transient: may be retried' : 'not transient');
        expect(signerError.message).toContain(operation === 'publicKey' ? 'KMS GetPublicKey failed' : 'KMS Sign failed');
        expect(signerError.cause).toBe(error);
      }
    }
  });
});
