/**
 * The rules of the follower lease, free of I/O: when a standby may take the lease, and until when a leader may
 * act on it. The DynamoDB adapter (functions/adapters/dynamodb/) does the conditional writes and the timing.
 *
 * No rule here compares a time written by another host with a time of this host: clocks of different hosts
 * disagree (by seconds, in practice). A standby instead remembers the record version it saw and when it saw it on
 * its *own* monotonic clock; only a version left unchanged for a whole lease duration means the leader is gone
 * (the scheme of the AWS DynamoDB Lock Client). A leader counts its lease from the moment it *sent* the write that
 * started or renewed it, which is never later than the moment any standby could first have seen that write; so
 * the leader's own deadline always comes before a standby's takeover, by at least the safety margin.
 */

/** The lease as stored: one record per chain. */
export interface LeaseRecord {
  /** Who holds (or last held) the lease. */
  holder: string;
  /** Raised by one on every acquisition, never lowered: events stamped with a lower token are refused downstream. */
  fencingToken: bigint;
  /** Changed on every write; the standby's evidence that the holder is alive. */
  recordVersion: string;
  /** How long the holder promises to keep the record fresh; what a standby waits before taking over. */
  leaseDurationMs: number;
  /** Given up on purpose (shutdown): anyone may take it at once. */
  released: boolean;
}

/** What a standby remembers of the record it saw: the version, and when (its own monotonic milliseconds). */
export interface LeaseObservation {
  recordVersion: string;
  seenAt: number;
}

export type TakeReason = 'released' | 'expired' | 'own_record';

export type StandbyStep =
  /** No record yet: create it with the first token. */
  | { kind: 'create'; fencingToken: bigint }
  /** Take the record over, on condition that it still has the version seen. */
  | { kind: 'take'; expectedVersion: string; fencingToken: bigint; reason: TakeReason }
  /** Someone else holds it; look again later. */
  | { kind: 'wait'; observation: LeaseObservation; holder: string; remainingMs: number };

export const FIRST_FENCING_TOKEN = 1n;

/**
 * What a standby does with the record it just read (`null`: there is none) at `now` on its monotonic clock.
 * `previous` is what it saw last time, if anything.
 */
export function nextStandbyStep(record: LeaseRecord | null, previous: LeaseObservation | null, now: number, self: string): StandbyStep {
  if (record === null) return { kind: 'create', fencingToken: FIRST_FENCING_TOKEN };
  const take = (reason: TakeReason): StandbyStep => ({
    kind: 'take',
    expectedVersion: record.recordVersion,
    fencingToken: record.fencingToken + 1n,
    reason,
  });
  if (record.released) return take('released');
  // Only this contender ever writes its own id: a record naming it is one of its own earlier terms (ended by a
  // missed renewal, or an acquisition whose answer was lost), and no other contender can be leader meanwhile.
  if (record.holder === self) return take('own_record');
  const observation = previous?.recordVersion === record.recordVersion ? previous : { recordVersion: record.recordVersion, seenAt: now };
  const unchangedFor = now - observation.seenAt;
  if (unchangedFor >= record.leaseDurationMs) return take('expired');
  return { kind: 'wait', observation, holder: record.holder, remainingMs: record.leaseDurationMs - unchangedFor };
}

/**
 * The last moment (monotonic) a leader may still act, given when it sent the write that started or last renewed
 * its lease. After it, a standby might take over; the margin absorbs timers firing late and clock-rate drift.
 */
export function leaderDeadline(writeSentAt: number, leaseDurationMs: number, safetyMarginMs: number): number {
  return writeSentAt + leaseDurationMs - safetyMarginMs;
}

export interface LeaseTimings {
  /** How long a record stays valid without renewal. */
  leaseDurationMs: number;
  /** How often the leader renews. */
  renewIntervalMs: number;
  /** How long before the lease's end the leader stops acting if it could not renew. */
  safetyMarginMs: number;
  /** How often a standby looks at the record. */
  acquireIntervalMs: number;
}

export const DEFAULT_LEASE_TIMINGS: LeaseTimings = {
  leaseDurationMs: 30_000,
  renewIntervalMs: 10_000,
  safetyMarginMs: 5_000,
  acquireIntervalMs: 3_000,
};

/** Refuses timings under which a leader could not renew in time, with a message that says which rule failed. */
export function validateLeaseTimings(timings: LeaseTimings): LeaseTimings {
  const { leaseDurationMs, renewIntervalMs, safetyMarginMs } = timings;
  for (const [name, value] of Object.entries(timings)) {
    if (!Number.isFinite(value) || value <= 0)
      throw new RangeError(`lease timing ${name} must be a positive number of milliseconds; got ${value}`);
  }
  if (safetyMarginMs >= leaseDurationMs) {
    throw new RangeError(`the safety margin (${safetyMarginMs} ms) must be shorter than the lease (${leaseDurationMs} ms)`);
  }
  // Two renewals must fit before the deadline, so that one failed renewal (a throttle, a timeout) can be retried
  // before the leader has to give up.
  if (renewIntervalMs * 2 > leaseDurationMs - safetyMarginMs) {
    throw new RangeError(
      `the renewal interval (${renewIntervalMs} ms) must be at most half of lease minus safety margin ` +
        `(${leaseDurationMs} − ${safetyMarginMs} ms), so that a failed renewal can be retried in time`,
    );
  }
  return timings;
}
