import { OgmiosConnectError } from './errors.js';
import { Redactor, redactUrl, secretsInUrl } from './redact.js';

export interface OgmiosEndpoint {
  readonly url: string;
  /** Sent as the `dmtr-api-key` header on the upgrade; undefined when no key is configured. */
  readonly apiKey: string | undefined;
  /** The URL with anything secret masked: the only form that may be logged. */
  readonly safeUrl: string;
  /** 1-based position in the relay list, for logs. */
  readonly relay: number;
}

/**
 * Which relay and which API key to use next. A refused key moves to the next key (and, once every key was
 * refused, to the next relay); any other failure moves to the next relay. Both lists wrap around: the
 * clients never give up.
 */
export class RelayRotation {
  readonly redactor: Redactor;
  private relayIndex = 0;
  private keyIndex = 0;

  constructor(
    private readonly urls: readonly string[],
    private readonly apiKeys: readonly string[] = [],
  ) {
    if (urls.length === 0) throw new Error('RelayRotation needs at least one Ogmios URL');
    this.redactor = new Redactor([...apiKeys, ...urls.flatMap(secretsInUrl)]);
  }

  get relayCount(): number {
    return this.urls.length;
  }

  /** How many endpoints to try before every combination was seen once. */
  get combinations(): number {
    return this.urls.length * Math.max(1, this.apiKeys.length);
  }

  current(): OgmiosEndpoint {
    const url = this.urls[this.relayIndex] as string;
    return { url, apiKey: this.apiKeys[this.keyIndex], safeUrl: redactUrl(url), relay: this.relayIndex + 1 };
  }

  afterFailure(error: unknown): void {
    if (error instanceof OgmiosConnectError && error.kind === 'unauthorized' && this.apiKeys.length > 1) {
      this.keyIndex = (this.keyIndex + 1) % this.apiKeys.length;
      if (this.keyIndex !== 0) return;
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
