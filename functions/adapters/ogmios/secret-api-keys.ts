/**
 * Ogmios API keys kept in a Secrets Manager secret (`primary`, `secondary`), read through the cached-secret
 * adapter: a rotated key is picked up within the cache's lifetime, or at once after every key was refused.
 */
import type { CachedSecret } from '../secrets/cached-secret.js';
import type { SecretFields } from '../secrets/secret-reader.js';
import type { ApiKeySource } from './endpoints.js';

export function secretApiKeys(secret: CachedSecret): ApiKeySource {
  return {
    read: async () => keysIn(await secret.read()),
    refresh: async () => keysIn(await secret.refresh()),
  };
}

function keysIn(fields: SecretFields): string[] {
  return ['primary', 'secondary']
    .map((name) => (typeof fields[name] === 'string' ? (fields[name] as string).trim() : ''))
    .filter((key) => key !== '');
}
