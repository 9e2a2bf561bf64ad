/**
 * The hot wallet's signer locally and in tests: an Ed25519 private key in a PKCS#8 PEM file (node:crypto), made on
 * first use with mode 0600 in a folder made 0700. A file that group or others may read or write is refused, not
 * repaired: someone may already have copied the key, and funds at its address should move to a new one. The key is
 * read from the file each time it is needed, never kept in an environment variable, never logged, never stored
 * elsewhere; errors name the file, never its content.
 *
 * Not for mainnet funds: the key is on a disk in clear. On AWS the signer is KMS (functions/adapters/kms).
 */
import { type KeyObject, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, unlink, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { SignerError, TRANSACTION_BODY_HASH_BYTES, type TransactionSigner } from '../../domain/payouts/transaction-signer.js';
import { ed25519PublicKeyFromSpki } from './ed25519-keys.js';

/** Permission bits for group and others: none may be set on a key file. */
const GROUP_OR_OTHERS = 0o077;
/** Large enough for any PEM private key a person might put there by mistake, small enough never to be a problem. */
const MAX_KEY_FILE_BYTES = 16 * 1024;

export class FileTransactionSigner implements TransactionSigner {
  readonly keyId: string;
  private readonly path: string;
  private cachedPublicKey: Promise<Uint8Array> | undefined;

  constructor(path: string) {
    this.path = resolve(path);
    this.keyId = `file:${this.path}`;
  }

  publicKey(): Promise<Uint8Array> {
    this.cachedPublicKey ??= this.privateKey()
      .then((key) => ed25519PublicKeyFromSpki(createPublicKey(key).export({ format: 'der', type: 'spki' })))
      .catch((error: unknown) => {
        this.cachedPublicKey = undefined;
        throw error;
      });
    return this.cachedPublicKey.then((key) => key.slice());
  }

  async sign(bodyHash: Uint8Array): Promise<Uint8Array> {
    if (bodyHash.length !== TRANSACTION_BODY_HASH_BYTES) {
      throw new RangeError(`a transaction body hash is ${TRANSACTION_BODY_HASH_BYTES} bytes; got ${bodyHash.length}`);
    }
    return Uint8Array.from(sign(null, bodyHash, await this.privateKey()));
  }

  /** The key, read (and made, the first time) now; a key whose file changed mode is refused from then on. */
  private async privateKey(): Promise<KeyObject> {
    const pem = await this.readOrCreate();
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: pem, format: 'pem' });
    } catch {
      throw new SignerError(this.keyId, 'the file holds no PEM private key node:crypto can read (expected PKCS#8 Ed25519)', false);
    }
    if (key.asymmetricKeyType !== 'ed25519') {
      throw new SignerError(this.keyId, `the file holds a ${key.asymmetricKeyType ?? 'unknown'} key, not an Ed25519 key`, false);
    }
    return key;
  }

  private async readOrCreate(): Promise<string> {
    try {
      return await this.readPrivateFile();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
    // Written whole under a private name, then linked into place: a racing signer sees no file or a complete one.
    const temporary = `${this.path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temporary, pem, { mode: 0o600, flag: 'wx' });
    try {
      await link(temporary, this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error; // another signer made it first: use that one
    } finally {
      await unlink(temporary);
    }
    return this.readPrivateFile();
  }

  /** Opens without following a symbolic link, then checks what was opened (no window between check and read). */
  private async readPrivateFile(): Promise<string> {
    const handle = await open(this.path, constants.O_RDONLY | constants.O_NOFOLLOW).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ELOOP') {
        throw new SignerError(this.keyId, 'the key path is a symbolic link; give the file itself', false);
      }
      throw error;
    });
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw new SignerError(this.keyId, 'the key path is not a regular file', false);
      if ((stats.mode & GROUP_OR_OTHERS) !== 0) {
        const mode = (stats.mode & 0o777).toString(8).padStart(3, '0');
        throw new SignerError(
          this.keyId,
          `the key file has mode ${mode}: group or others may read or change it. Refused; if it may have been copied, ` +
            'move the funds to a new key, otherwise chmod 600 it',
          false,
        );
      }
      if (typeof process.getuid === 'function' && stats.uid !== process.getuid()) {
        throw new SignerError(this.keyId, `the key file belongs to uid ${stats.uid}, not to this process's user`, false);
      }
      if (stats.size > MAX_KEY_FILE_BYTES) throw new SignerError(this.keyId, 'the key file is too large to be a key', false);
      return await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  }
}
