/**
 * A secret read through a SecretReader and kept for a while: long enough that opening connections does not call
 * Secrets Manager each time, short enough that a rotated value is picked up within minutes even when nothing
 * asks for a refresh. `refresh()` reads it again now (after the database refused the cached password).
 */
import type { SecretFields, SecretReader } from './secret-reader.js';

/** How long a read value is trusted without a refresh. */
export const DEFAULT_SECRET_TTL_MS = 5 * 60_000;

export interface CachedSecretOptions {
  secretId: string;
  readSecret: SecretReader;
  ttlMs?: number;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
}

export class CachedSecret {
  readonly secretId: string;
  private readonly readSecret: SecretReader;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private cached: { fields: SecretFields; readAt: number } | undefined;
  /** One read in flight at a time: concurrent connection attempts share it. */
  private pending: Promise<SecretFields> | undefined;

  constructor({ secretId, readSecret, ttlMs = DEFAULT_SECRET_TTL_MS, now = Date.now }: CachedSecretOptions) {
    this.secretId = secretId;
    this.readSecret = readSecret;
    this.ttlMs = ttlMs;
    this.now = now;
  }

  /**
   * The cached fields while they are younger than the TTL, otherwise a fresh read. When that read fails (Secrets
   * Manager unreachable or throttling) the older value is still the best there is: a TTL expiry alone must not
   * cut the database off. Only refresh(), asked for after the database refused the value, insists on a new one.
   */
  async read(): Promise<SecretFields> {
    const cached = this.cached;
    if (cached && this.now() - cached.readAt < this.ttlMs) return cached.fields;
    try {
      return await this.refresh();
    } catch (error) {
      if (cached) return cached.fields;
      throw error;
    }
  }

  /** Reads the secret again now. A failed read keeps nothing, so the next call tries again. */
  refresh(): Promise<SecretFields> {
    this.pending ??= this.readSecret(this.secretId)
      .then((fields) => {
        this.cached = { fields, readAt: this.now() };
        return fields;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }
}
