import { redactUrl } from './redact.js';

/** Where Ogmios is and how to authenticate, as read from the environment. */
export interface OgmiosEndpoints {
  /** Relays in order of preference; the client fails over from one to the next. */
  urls: string[];
  /** Primary key first; sent as the `dmtr-api-key` upgrade header. Empty when the URLs need no key. */
  apiKeys: string[];
}

export class OgmiosSettingsError extends Error {
  override readonly name = 'OgmiosSettingsError';
}

/**
 * Reads `OGMIOS_URL` (comma-separated relay list), `OGMIOS_API_KEY` and `OGMIOS_API_KEY_SECONDARY`.
 * `http(s)://` is accepted for `ws(s)://`, since Ogmios serves both on one port.
 */
export function readOgmiosEndpoints(env: Readonly<Record<string, string | undefined>> = process.env): OgmiosEndpoints {
  const urls = (env.OGMIOS_URL ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '')
    .map(toWebSocketUrl);
  if (urls.length === 0) throw new OgmiosSettingsError('OGMIOS_URL is not set: give one or more ws:// or wss:// URLs, comma-separated');
  const apiKeys = [env.OGMIOS_API_KEY, env.OGMIOS_API_KEY_SECONDARY].map((key) => key?.trim() ?? '').filter((key) => key !== '');
  return { urls, apiKeys };
}

function toWebSocketUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The text itself is not repeated: it may hold a key.
    throw new OgmiosSettingsError('OGMIOS_URL holds an entry that is not a URL');
  }
  switch (parsed.protocol) {
    case 'ws:':
    case 'wss:':
      return url;
    case 'http:':
    case 'https:':
      return `ws${url.slice('http'.length)}`;
    default:
      throw new OgmiosSettingsError(`OGMIOS_URL entry ${redactUrl(url)} must use ws://, wss://, http:// or https://`);
  }
}
