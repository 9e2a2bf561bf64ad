/**
 * CachedSecret: a secret kept for its TTL and read again on demand. The reader is a stub (Secrets Manager has no
 * local implementation); the clock is a variable, so no test waits.
 */
import { describe, expect, it } from 'vitest';
import { CachedSecret } from '../../functions/adapters/secrets/cached-secret.js';
import type { SecretFields } from '../../functions/adapters/secrets/secret-reader.js';

function versionedSecret() {
  const state = { version: 1, reads: 0, failNext: false };
  const readSecret = async (): Promise<SecretFields> => {
    state.reads += 1;
    if (state.failNext) {
      state.failNext = false;
      throw new Error('Secrets Manager unreachable');
    }
    return { password: `password-${state.version}` };
  };
  return { state, readSecret };
}

describe('CachedSecret', () => {
  it('reads once while the value is younger than the TTL, and again once it is older', async () => {
    const { state, readSecret } = versionedSecret();
    let now = 1_000_000;
    const secret = new CachedSecret({ secretId: 'db', readSecret, ttlMs: 300_000, now: () => now });
    expect(await secret.read()).toEqual({ password: 'password-1' });
    state.version = 2;
    now += 299_999;
    expect(await secret.read()).toEqual({ password: 'password-1' });
    expect(state.reads).toBe(1);
    now += 1;
    expect(await secret.read()).toEqual({ password: 'password-2' });
    expect(state.reads).toBe(2);
  });

  it('reads again at once on refresh, sharing one read between concurrent callers', async () => {
    const { state, readSecret } = versionedSecret();
    const secret = new CachedSecret({ secretId: 'db', readSecret });
    await secret.read();
    state.version = 2;
    const refreshed = await Promise.all([secret.refresh(), secret.refresh(), secret.refresh()]);
    expect(refreshed).toEqual([{ password: 'password-2' }, { password: 'password-2' }, { password: 'password-2' }]);
    expect(state.reads).toBe(2);
    expect(await secret.read()).toEqual({ password: 'password-2' });
    expect(state.reads).toBe(2);
  });

  it('keeps nothing from a failed read: the next call reads again', async () => {
    const { state, readSecret } = versionedSecret();
    const secret = new CachedSecret({ secretId: 'db', readSecret });
    state.failNext = true;
    await expect(secret.read()).rejects.toThrow('Secrets Manager unreachable');
    expect(await secret.read()).toEqual({ password: 'password-1' });
    expect(state.reads).toBe(2);
  });

  it('keeps using an expired value when the read after the TTL fails, but a refresh still insists', async () => {
    const { state, readSecret } = versionedSecret();
    let now = 0;
    const secret = new CachedSecret({ secretId: 'db', readSecret, ttlMs: 300_000, now: () => now });
    await secret.read();
    now += 300_000;
    state.failNext = true;
    expect(await secret.read()).toEqual({ password: 'password-1' });
    expect(state.reads).toBe(2);
    state.failNext = true;
    await expect(secret.refresh()).rejects.toThrow('Secrets Manager unreachable');
    state.version = 2;
    expect(await secret.read()).toEqual({ password: 'password-2' });
  });
});
