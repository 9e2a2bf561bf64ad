/**
 * Where Ogmios is and how to authenticate, as one value: built by the settings (functions/config/ogmios-settings.ts)
 * and handed whole to both clients (chain sync, ledger state).
 */
import { redactUrl } from './redact.js';

export interface OgmiosEndpoints {
  /** Relays in order of preference; the clients fail over from one to the next. */
  readonly urls: readonly string[];
  /** Sent on every upgrade request, as given (a provider's own headers). Never logged. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as the `dmtr-api-key` upgrade header, primary first; the next one is used on 401/403. None: no header. */
  readonly apiKeys?: ApiKeys;
}

/** Fixed keys, or keys read from a secret when a connection opens. */
export type ApiKeys = readonly string[] | ApiKeySource;

/** Keys kept in a secret: `read` may answer from a cache, `refresh` reads again (after every key was refused). */
export interface ApiKeySource {
  read(): Promise<readonly string[]>;
  refresh(): Promise<readonly string[]>;
}

export class OgmiosSettingsError extends Error {
  override readonly name = 'OgmiosSettingsError';
}

/**
 * A comma-separated relay list (OGMIOS_URL). `http(s)://` is accepted for `ws(s)://`, since Ogmios serves both on
 * one port.
 */
export function parseOgmiosUrls(text: string | undefined): string[] {
  const urls = (text ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '')
    .map(toWebSocketUrl);
  if (urls.length === 0) throw new OgmiosSettingsError('OGMIOS_URL is not set: give one or more ws:// or wss:// URLs, comma-separated');
  return urls;
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
