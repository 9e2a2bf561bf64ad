/**
 * When a failed delivery is tried again: exponential backoff with full jitter (a random delay between 0 and
 * min(cap, base · 2^(n−1))), from about 10 s up to 1 h, for 3 days from the first failure of the head event; then
 * the endpoint is disabled. Full jitter spreads the retries of endpoints that failed together (one receiver's
 * outage) instead of sending them back at once.
 */
export const WEBHOOK_RETRY_BASE_MS = 10_000;
export const WEBHOOK_RETRY_CAP_MS = 3_600_000;
export const WEBHOOK_GIVE_UP_AFTER_MS = 3 * 24 * 3_600_000;
/** Every attempt's time limit: connection, request and answer together. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** The delay before attempt n + 1 after n failed attempts (n ≥ 1); `random` in [0, 1). */
export function retryDelayMs(failedAttempts: number, random: () => number): number {
  const ceiling = Math.min(WEBHOOK_RETRY_CAP_MS, WEBHOOK_RETRY_BASE_MS * 2 ** Math.max(0, failedAttempts - 1));
  // Never 0: at least a second, so that a failing endpoint is not hammered when the random draw is tiny.
  return Math.max(1_000, Math.floor(random() * ceiling));
}

export type FailureVerdict = { kind: 'retry'; at: Date } | { kind: 'disable'; reason: string };

/** What to do after a failed attempt of the head event. */
export function afterFailure(failingSince: Date, failedAttempts: number, now: Date, random: () => number): FailureVerdict {
  if (now.getTime() - failingSince.getTime() >= WEBHOOK_GIVE_UP_AFTER_MS) {
    return { kind: 'disable', reason: `deliveries failed for 3 days (since ${failingSince.toISOString()}, ${failedAttempts} attempts)` };
  }
  return { kind: 'retry', at: new Date(now.getTime() + retryDelayMs(failedAttempts, random)) };
}
