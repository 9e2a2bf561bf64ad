/**
 * The webhook secret sealer: AES-256-GCM with a random 96-bit nonce per seal; sealed text
 * `v1.<base64url(nonce | tag | ciphertext)>`. The 256-bit key is sha256 of the key material, which comes from a
 * Secrets Manager secret on AWS (`WEBHOOK_SECRETS_KEY_SECRET_ARN`, field `key`, read through the cached-secret
 * adapter) and from a 0600 file under `.data/` locally (created with 32 random bytes on first use). Losing the key
 * loses every endpoint's secret (rotate them all); the key itself is never logged.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SecretSealer } from '../../domain/webhooks/secret-sealer.js';
import type { CachedSecret } from '../secrets/cached-secret.js';
import { requireStringField } from '../secrets/secret-reader.js';

const VERSION = 'v1.';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export class AesGcmSecretSealer implements SecretSealer {
  constructor(private readonly keyMaterial: () => Promise<string>) {}

  private async key(): Promise<Buffer> {
    const material = await this.keyMaterial();
    if (material.length < 32) throw new Error('the webhook secrets key is shorter than 32 characters');
    return createHash('sha256').update(material).digest();
  }

  async seal(secret: string): Promise<string> {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', await this.key(), nonce);
    const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return VERSION + Buffer.concat([nonce, cipher.getAuthTag(), ciphertext]).toString('base64url');
  }

  async unseal(sealed: string): Promise<string> {
    if (!sealed.startsWith(VERSION)) throw new Error('sealed webhook secret in an unknown format');
    const bytes = Buffer.from(sealed.slice(VERSION.length), 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', await this.key(), bytes.subarray(0, NONCE_BYTES));
    decipher.setAuthTag(bytes.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}

/** Key material from a local file, created (mode 0600) with 32 random bytes the first time. */
export function localKeyFile(path: string): () => Promise<string> {
  let cached: Promise<string> | undefined;
  const read = async (): Promise<string> => {
    try {
      return (await readFile(path, 'utf8')).trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    await mkdir(dirname(path), { recursive: true });
    try {
      await writeFile(path, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error; // another process made it first
    }
    return (await readFile(path, 'utf8')).trim();
  };
  return () => {
    cached ??= read().catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
    return cached;
  };
}

/** Key material from the `key` field of a Secrets Manager secret (cached by CachedSecret). */
export function secretsManagerKey(secret: CachedSecret): () => Promise<string> {
  return async () => requireStringField(secret.secretId, await secret.read(), 'key');
}
