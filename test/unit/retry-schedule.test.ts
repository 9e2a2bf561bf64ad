import { describe, expect, it } from 'vitest';
import {
  MAX_RETRY_DELAY_SECONDS,
  MIN_RETRY_DELAY_SECONDS,
  receivesWithin,
  retryDelaySeconds,
} from '../../functions/domain/retry-schedule.js';

const DAY = 86_400;

describe('retry schedule of a chain event failing for a transient reason', () => {
  it('waits a tenth of the time the message has been failing, between 5 s and 30 min', () => {
    expect(retryDelaySeconds(0)).toBe(MIN_RETRY_DELAY_SECONDS);
    expect(retryDelaySeconds(-3)).toBe(MIN_RETRY_DELAY_SECONDS);
    expect(retryDelaySeconds(49)).toBe(MIN_RETRY_DELAY_SECONDS);
    expect(retryDelaySeconds(600)).toBe(60);
    expect(retryDelaySeconds(601)).toBe(61);
    expect(retryDelaySeconds(18_000)).toBe(MAX_RETRY_DELAY_SECONDS);
    expect(retryDelaySeconds(30 * DAY)).toBe(MAX_RETRY_DELAY_SECONDS);
  });

  it('keeps the receive count of a message failing for the whole 14-day retention below SQS maxReceiveCount 1000', () => {
    const receives = receivesWithin(14 * DAY);
    expect(receives).toBeLessThan(1000);
    // and the schedule is not so lax that an outage of an hour is retried only a handful of times
    expect(receivesWithin(3600)).toBeGreaterThan(40);
  });

  it('counts receives: the first, then one after each delay that still falls within the time', () => {
    expect(receivesWithin(0)).toBe(1);
    expect(receivesWithin(4)).toBe(1);
    expect(receivesWithin(5)).toBe(2);
    expect(receivesWithin(10)).toBe(3);
  });
});
