/**
 * API keys: their form, their hash and their scopes. A key is 32 random bytes in base64url after a prefix naming
 * the network (`pm_live_` on mainnet, `pm_test_` on the test networks); only its SHA-256 is stored, with a short
 * visible prefix to recognise it in a list.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Network } from './network.js';

/** Scopes nest: admin implies write, write implies read. */
export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Every scope a key of this scope holds. */
export function impliedScopes(scope: Scope): Scope[] {
  return SCOPES.slice(0, SCOPES.indexOf(scope) + 1);
}

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && (SCOPES as readonly string[]).includes(value);
}

/** Who calls: an API key (its id), or an IAM caller on AWS (its role's ARN, with the scope the stage configures). */
export interface Principal {
  /** The actor written to audit_log and the idempotency principal: the API key's id, or the IAM role's ARN. */
  keyId: string;
  scopes: readonly Scope[];
  /**
   * Where it comes from when not looked up just now: `authorizer`, API Gateway's Lambda authorizer, whose answer is
   * cached (a key revoked since may still be in it); `iam`, a SigV4 caller mapped to a configured role.
   */
  source?: 'authorizer' | 'iam';
}

/** At most this many active keys per scope: one in use and its successor during a rotation. */
export const MAX_ACTIVE_KEYS_PER_SCOPE = 2;

/** A key's display prefix: the network prefix and four characters of the secret part. */
const DISPLAY_PREFIX_LENGTH = 12;

/** The shortest key accepted as a bootstrap key (a key chosen by the operator locally). */
export const MIN_BOOTSTRAP_KEY_LENGTH = 24;

export function apiKeyPrefix(network: Network): string {
  return network === 'mainnet' ? 'pm_live_' : 'pm_test_';
}

export interface NewApiKey {
  id: string;
  /** The key itself: shown once, never stored. */
  key: string;
  hash: Buffer;
  displayPrefix: string;
}

export function newApiKeyId(): string {
  return `key_${randomBytes(12).toString('base64url')}`;
}

export function generateApiKey(network: Network): NewApiKey {
  return describeApiKey(`${apiKeyPrefix(network)}${randomBytes(32).toString('base64url')}`);
}

/** The stored form of a given key (a bootstrap key chosen by the operator). */
export function describeApiKey(key: string): NewApiKey {
  return { id: newApiKeyId(), key, hash: hashApiKey(key), displayPrefix: key.slice(0, DISPLAY_PREFIX_LENGTH) };
}

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** The key of an `Authorization: Bearer <key>` header; undefined when the header is absent or of another kind. */
export function bearerKey(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}
