/**
 * Ogmios as the settings give it: the relays, any extra headers, and the API keys (fixed, or the ARN of the secret
 * that holds them). `ogmiosEndpoints` turns this into the one value both clients take.
 */
import { parseOgmiosUrls, type OgmiosEndpoints } from '../adapters/ogmios/endpoints.js';
import { secretApiKeys } from '../adapters/ogmios/secret-api-keys.js';
import { CachedSecret } from '../adapters/secrets/cached-secret.js';
import { secretsManagerReader, type SecretReader } from '../adapters/secrets/secret-reader.js';
import type { Environment } from './environment.js';
import type { SettingsReader } from './settings-reader.js';
import { OGMIOS_API_KEY, OGMIOS_API_KEY_SECONDARY, OGMIOS_API_KEYS_SECRET_ARN, OGMIOS_URL } from './variables.js';

export interface OgmiosSettings {
  urls: string[];
  /** Extra upgrade headers; none are configured today (the key travels in its own header). */
  headers?: Record<string, string>;
  /** OGMIOS_API_KEY, OGMIOS_API_KEY_SECONDARY: fixed keys, primary first. */
  apiKeys: string[];
  /** OGMIOS_API_KEYS_SECRET_ARN: the keys are read from this secret instead (what AWS uses). */
  apiKeysSecretArn?: string;
}

/** OGMIOS_URL is required here; throws an OgmiosSettingsError that never repeats a key. */
export function readOgmiosSettings(env: Environment): OgmiosSettings {
  const urls = parseOgmiosUrls(OGMIOS_URL.read(env));
  const apiKeysSecretArn = OGMIOS_API_KEYS_SECRET_ARN.read(env);
  if (apiKeysSecretArn) return { urls, apiKeys: [], apiKeysSecretArn };
  const apiKeys = [OGMIOS_API_KEY.read(env), OGMIOS_API_KEY_SECONDARY.read(env)].filter((key): key is string => key !== undefined);
  return { urls, apiKeys };
}

/** As above, the problem kept in `reader` with the others. */
export function readOgmiosSettingsWith(reader: SettingsReader): OgmiosSettings {
  return reader.attempt(() => readOgmiosSettings(reader.env), { urls: [], apiKeys: [] });
}

/** Ogmios when OGMIOS_URL is set, undefined otherwise (a process that can do without it). */
export function readOptionalOgmiosSettingsWith(reader: SettingsReader): OgmiosSettings | undefined {
  return reader.read(OGMIOS_URL) === undefined ? undefined : readOgmiosSettingsWith(reader);
}

/**
 * The value the clients take. Keys kept in a secret are read when a connection opens, through the cached-secret
 * adapter, and read again after every key was refused: a rotated key needs no restart.
 */
export function ogmiosEndpoints(settings: OgmiosSettings, readSecret?: SecretReader): OgmiosEndpoints {
  const secretId = settings.apiKeysSecretArn;
  const apiKeys = secretId
    ? secretApiKeys(new CachedSecret({ secretId, readSecret: readSecret ?? secretsManagerReader() }))
    : settings.apiKeys;
  return { urls: settings.urls, ...(settings.headers ? { headers: settings.headers } : {}), apiKeys };
}
