import type { ApiKeySource, OgmiosEndpoints } from './endpoints.js';
import { OgmiosConnectError } from './errors.js';
import { Redactor, redactUrl, secretsInUrl } from './redact.js';

/** Hosted providers (Demeter) take the key in this upgrade header. */
export const API_KEY_HEADER = 'dmtr-api-key';

/** The relay to use now, as far as logs may know it. */
export interface OgmiosRelay {
  readonly url: string;
  /** The key the next attempt sends; undefined when none is configured (or none read from its secret yet). */
  readonly apiKey: string | undefined;
  /** The URL with anything secret masked: the only form that may be logged. */
  readonly safeUrl: string;
  /** 1-based position in the relay list, for logs. */
  readonly relay: number;
}

/** What a connection attempt needs: the relay and the headers of its upgrade request (key included). */
export interface OgmiosEndpoint extends OgmiosRelay {
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Which relay and which API key to use next. A refused key moves to the next key (and, once every key was
 * refused, to the next relay, and has keys kept in a secret read again); any other failure moves to the next
 * relay. Both lists wrap around: the clients never give up.
 */
export class RelayRotation {
  readonly redactor: Redactor;
  private readonly urls: readonly string[];
  private readonly headers: Readonly<Record<string, string>>;
  private readonly keySource: ApiKeySource;
  private readonly keysInSecret: boolean;
  private keys: readonly string[];
  private relayIndex = 0;
  private keyIndex = 0;
  /** Every key was refused: read the secret again before the next attempt (a rotation may have replaced them). */
  private keysRefused = false;

  constructor(endpoints: OgmiosEndpoints) {
    if (endpoints.urls.length === 0) throw new Error('RelayRotation needs at least one Ogmios URL');
    this.urls = endpoints.urls;
    this.headers = endpoints.headers ?? {};
    const apiKeys = endpoints.apiKeys ?? [];
    this.keys = isKeyList(apiKeys) ? apiKeys : [];
    this.keySource = isKeyList(apiKeys) ? { read: async () => apiKeys, refresh: async () => apiKeys } : apiKeys;
    this.keysInSecret = !isKeyList(apiKeys);
    this.redactor = new Redactor([...this.keys, ...Object.values(this.headers), ...this.urls.flatMap(secretsInUrl)]);
  }

  get relayCount(): number {
    return this.urls.length;
  }

  /**
   * How many endpoints to try before every combination was seen once; with keys in a secret, twice (the second
   * round with the keys read again, in case they were rotated).
   */
  get combinations(): number {
    return this.urls.length * Math.max(1, this.keys.length) * (this.keysInSecret ? 2 : 1);
  }

  current(): OgmiosRelay {
    const url = this.urls[this.relayIndex] as string;
    return { url, apiKey: this.keys[this.keyIndex], safeUrl: redactUrl(url), relay: this.relayIndex + 1 };
  }

  /** The current relay with its upgrade headers; keys kept in a secret are read first (from its cache). */
  async connectTo(): Promise<OgmiosEndpoint> {
    const keys = this.keysRefused ? await this.keySource.refresh() : await this.keySource.read();
    this.keysRefused = false;
    if (keys !== this.keys) {
      this.redactor.add(keys);
      this.keys = keys;
      if (this.keyIndex >= keys.length) this.keyIndex = 0;
    }
    const relay = this.current();
    return { ...relay, headers: relay.apiKey === undefined ? this.headers : { ...this.headers, [API_KEY_HEADER]: relay.apiKey } };
  }

  /**
   * Whether the keys kept in a secret differ from those the last connection was opened with (read from the
   * secret's cache, so at most one Secrets Manager call per cache lifetime). An open connection outlives its key:
   * one opened keyless while the secret was still empty, or with a key since replaced, would otherwise be kept
   * for as long as it is used. Fixed keys never change; an unreadable secret counts as unchanged.
   */
  async keysChanged(): Promise<boolean> {
    if (!this.keysInSecret) return false;
    const keys = await this.keySource.read().catch(() => this.keys);
    return keys.length !== this.keys.length || keys.some((key, index) => key !== this.keys[index]);
  }

  afterFailure(error: unknown): void {
    if (error instanceof OgmiosConnectError && error.kind === 'unauthorized') {
      if (this.keys.length > 1) {
        this.keyIndex = (this.keyIndex + 1) % this.keys.length;
        if (this.keyIndex !== 0) return;
      }
      this.keysRefused = true;
    }
    this.failOver();
  }

  failOver(): void {
    this.relayIndex = (this.relayIndex + 1) % this.urls.length;
  }

  /** All relay URLs, redacted. */
  safeUrls(): string[] {
    return this.urls.map(redactUrl);
  }
}

function isKeyList(apiKeys: OgmiosEndpoints['apiKeys']): apiKeys is readonly string[] {
  return Array.isArray(apiKeys);
}
