import { createHash, createPublicKey, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ed25519SpkiFromPublicKey, nodeSignatureVerifier } from '../../functions/adapters/crypto/ed25519-keys.js';
import { FileTransactionSigner } from '../../functions/adapters/crypto/file-signer.js';
import { SignerError, verifyingSigner } from '../../functions/domain/payouts/transaction-signer.js';

const bodyHash = (): Uint8Array => Uint8Array.from(createHash('sha256').update(randomBytes(64)).digest());

describe('file signer (local Ed25519 key, node:crypto)', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'file-signer-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('makes a 0600 PKCS#8 key on first use, in a 0700 folder, and signs with it; a second signer on the file is the same key', async () => {
    const file = path.join(directory, 'new', 'hot-wallet.key');
    const signer = verifyingSigner(new FileTransactionSigner(file), nodeSignatureVerifier);
    expect(signer.keyId).toBe(`file:${file}`);

    const publicKey = await signer.publicKey();
    expect(publicKey).toHaveLength(32);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    const pem = await readFile(file, 'utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);

    const hash = bodyHash();
    const signature = await signer.sign(hash);
    expect(signature).toHaveLength(64);
    // Checked here by node:crypto from the public key alone (the CSL check is in transaction-signer.test.ts).
    const spki = createPublicKey({ key: Buffer.from(ed25519SpkiFromPublicKey(publicKey)), format: 'der', type: 'spki' });
    expect(verify(null, hash, spki, signature)).toBe(true);
    expect(verify(null, bodyHash(), spki, signature)).toBe(false);

    const again = new FileTransactionSigner(file);
    expect(await again.publicKey()).toEqual(publicKey);
    expect(await again.sign(hash)).toEqual(signature); // Ed25519 is deterministic
    expect(await readFile(file, 'utf8')).toBe(pem); // not replaced
  });

  it('signers racing to make the same file end with one key', async () => {
    const file = path.join(directory, 'race.key');
    const keys = await Promise.all(Array.from({ length: 8 }, () => new FileTransactionSigner(file).publicKey()));
    for (const key of keys) expect(key).toEqual(keys[0]);
    expect((await readdir(directory)).filter((name) => name.startsWith('race.key'))).toEqual(['race.key']); // no temporary left
  });

  it('refuses a key file that group or others may read or write, before reading the key', async () => {
    const file = path.join(directory, 'open.key');
    await new FileTransactionSigner(file).publicKey();
    for (const mode of [0o640, 0o604, 0o620, 0o602, 0o644, 0o666]) {
      await chmod(file, mode);
      const signer = new FileTransactionSigner(file);
      const error = await signer.sign(bodyHash()).catch((caught: unknown) => caught);
      expect(error, mode.toString(8)).toBeInstanceOf(SignerError);
      expect((error as Error).message).toContain(`mode ${mode.toString(8)}`);
      expect((error as Error).message).toContain(file);
      expect((error as SignerError).transient).toBe(false);
      await expect(signer.publicKey()).rejects.toThrow(/group or others may read or change it/);
    }
    await chmod(file, 0o400);
    await expect(new FileTransactionSigner(file).sign(bodyHash())).resolves.toHaveLength(64);
  });

  it('refuses a symbolic link, a key of another type and a file that is no key, without echoing the file', async () => {
    const target = path.join(directory, 'target.key');
    await new FileTransactionSigner(target).publicKey();
    const link = path.join(directory, 'link.key');
    await symlink(target, link);
    await expect(new FileTransactionSigner(link).publicKey()).rejects.toThrow(/symbolic link/);

    const ecKey = path.join(directory, 'p256.key');
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' });
    await writeFile(ecKey, p256, { mode: 0o600 });
    await expect(new FileTransactionSigner(ecKey).sign(bodyHash())).rejects.toThrow(/holds a ec key, not an Ed25519 key/);

    const garbage = path.join(directory, 'garbage.key');
    const secretLooking = `not-a-key-${randomBytes(8).toString('hex')}`;
    await writeFile(garbage, secretLooking, { mode: 0o600 });
    const error = await new FileTransactionSigner(garbage).publicKey().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SignerError);
    expect((error as Error).message).toMatch(/no PEM private key/);
    expect((error as Error).message).not.toContain(secretLooking);
  });

  it('a key file replaced under a running signer: the cached public key no longer matches, so the verifying signer refuses', async () => {
    const file = path.join(directory, 'replaced.key');
    const signer = verifyingSigner(new FileTransactionSigner(file), nodeSignatureVerifier);
    await signer.sign(bodyHash());
    const other = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' });
    await writeFile(file, other, { mode: 0o600 });
    await expect(signer.sign(bodyHash())).rejects.toThrow(/signature refused: it does not verify/);
  });
});
