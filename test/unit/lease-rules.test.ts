import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LEASE_TIMINGS,
  leaderDeadline,
  nextStandbyStep,
  validateLeaseTimings,
  type LeaseRecord,
} from '../../functions/domain/lease.js';

const held: LeaseRecord = { holder: 'task-a', fencingToken: 7n, recordVersion: 'v1', leaseDurationMs: 30_000, released: false };

describe('standby rules', () => {
  it('creates the record with token 1 when there is none', () => {
    expect(nextStandbyStep(null, null, 0, 'task-b')).toEqual({ kind: 'create', fencingToken: 1n });
  });

  it('waits a whole lease duration from first seeing a version, on its own clock', () => {
    const first = nextStandbyStep(held, null, 1_000, 'task-b');
    expect(first).toEqual({ kind: 'wait', observation: { recordVersion: 'v1', seenAt: 1_000 }, holder: 'task-a', remainingMs: 30_000 });
    const later = nextStandbyStep(held, first.kind === 'wait' ? first.observation : null, 25_000, 'task-b');
    expect(later).toMatchObject({ kind: 'wait', observation: { seenAt: 1_000 }, remainingMs: 6_000 });
  });

  it('takes over, raising the token, once one version stayed unchanged for the lease duration', () => {
    expect(nextStandbyStep(held, { recordVersion: 'v1', seenAt: 1_000 }, 31_000, 'task-b')).toEqual({
      kind: 'take',
      expectedVersion: 'v1',
      fencingToken: 8n,
      reason: 'expired',
    });
  });

  it('starts waiting afresh when the version changed (the holder renewed)', () => {
    const renewed = { ...held, recordVersion: 'v2' };
    expect(nextStandbyStep(renewed, { recordVersion: 'v1', seenAt: 1_000 }, 50_000, 'task-b')).toMatchObject({
      kind: 'wait',
      observation: { recordVersion: 'v2', seenAt: 50_000 },
      remainingMs: 30_000,
    });
  });

  it('waits the duration the holder wrote, not its own', () => {
    const short = { ...held, leaseDurationMs: 500 };
    expect(nextStandbyStep(short, { recordVersion: 'v1', seenAt: 0 }, 500, 'task-b')).toMatchObject({ kind: 'take', reason: 'expired' });
  });

  it('takes a released record at once', () => {
    expect(nextStandbyStep({ ...held, released: true }, null, 0, 'task-b')).toMatchObject({
      kind: 'take',
      fencingToken: 8n,
      reason: 'released',
    });
  });

  it('takes back a record naming itself at once (an earlier term of its own), with a new token', () => {
    expect(nextStandbyStep(held, null, 0, 'task-a')).toMatchObject({ kind: 'take', fencingToken: 8n, reason: 'own_record' });
  });

  it('never reads a time from the record: only versions and its own clock decide', () => {
    // Same record, same observation: the decision depends on `now` alone.
    const observation = { recordVersion: 'v1', seenAt: -5_000 };
    expect(nextStandbyStep(held, observation, 24_999, 'task-b').kind).toBe('wait');
    expect(nextStandbyStep(held, observation, 25_000, 'task-b').kind).toBe('take');
  });
});

describe('leader deadline', () => {
  it('is the send time of the last successful write plus lease minus margin', () => {
    expect(leaderDeadline(10_000, 30_000, 5_000)).toBe(35_000);
  });

  it('comes at least the margin before any standby could take over', () => {
    // The standby can first see the write only after it was sent; it then waits a whole lease.
    const sentAt = 0;
    const earliestObservation = sentAt;
    const earliestTakeover = earliestObservation + 30_000;
    expect(earliestTakeover - leaderDeadline(sentAt, 30_000, 5_000)).toBe(5_000);
  });
});

describe('lease timings', () => {
  it('accepts the defaults: 30 s lease, renewal every 10 s, 5 s margin, standby every 3 s', () => {
    expect(validateLeaseTimings(DEFAULT_LEASE_TIMINGS)).toEqual({
      leaseDurationMs: 30_000,
      renewIntervalMs: 10_000,
      safetyMarginMs: 5_000,
      acquireIntervalMs: 3_000,
    });
  });

  it('refuses a margin as long as the lease', () => {
    expect(() => validateLeaseTimings({ ...DEFAULT_LEASE_TIMINGS, safetyMarginMs: 30_000 })).toThrow(/safety margin/);
  });

  it('refuses a renewal interval that leaves no room to retry a failed renewal before the deadline', () => {
    expect(() => validateLeaseTimings({ ...DEFAULT_LEASE_TIMINGS, renewIntervalMs: 15_000 })).toThrow(/retried in time/);
  });

  it('refuses zero, negative and non-numeric timings', () => {
    expect(() => validateLeaseTimings({ ...DEFAULT_LEASE_TIMINGS, acquireIntervalMs: 0 })).toThrow(/acquireIntervalMs/);
    expect(() => validateLeaseTimings({ ...DEFAULT_LEASE_TIMINGS, leaseDurationMs: Number.NaN })).toThrow(/leaseDurationMs/);
  });
});
