export interface BackoffOptions {
  /** Ceiling of the first delay. */
  initialDelayMs?: number;
  /** No delay is longer than this. */
  maxDelayMs?: number;
  /** Uniform in [0, 1); injectable for tests. */
  random?: () => number;
}

export const DEFAULT_INITIAL_DELAY_MS = 1_000;
export const DEFAULT_MAX_DELAY_MS = 60_000;

/**
 * Exponential backoff with full jitter: the n-th consecutive failure waits a uniform random time in
 * [0, min(max, initial × 2^n)). Jitter spreads the reconnects of many followers after a provider outage.
 */
export class ReconnectBackoff {
  private failures = 0;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.initialDelayMs = options.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS;
    this.maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    this.random = options.random ?? Math.random;
  }

  /** The delay before the next attempt; each call counts one more consecutive failure. */
  nextDelayMs(): number {
    const ceiling = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** this.failures);
    // Once at the cap the exponent stops growing (and cannot overflow).
    if (ceiling < this.maxDelayMs) this.failures++;
    return Math.floor(this.random() * ceiling);
  }

  /** After a healthy period: the next failure starts from the initial delay again. */
  reset(): void {
    this.failures = 0;
  }
}
