import { describe, expect, it } from 'vitest';
import { admitEvent } from '../../functions/domain/event-admission.js';
import type { EventStamp, LeaderSessionState } from '../../functions/domain/ports.js';

const session: LeaderSessionState = { generation: 4n, fence: 7n, appliedStep: 10n, haltedReason: null };
const stamp = (token: bigint, generation: bigint, first: bigint, last = first): EventStamp => ({
  token,
  generation,
  steps: { first, last },
});

describe('admission of a chain event by the rules of leader sessions', () => {
  it('admits the next step of the current session, and a message that overlaps what is applied', () => {
    expect(admitEvent(session, stamp(7n, 4n, 11n))).toEqual({ kind: 'admitted' });
    expect(admitEvent(session, stamp(7n, 4n, 11n, 40n))).toEqual({ kind: 'admitted' });
    expect(admitEvent(session, stamp(7n, 4n, 9n, 12n))).toEqual({ kind: 'admitted' });
    expect(admitEvent({ ...session, appliedStep: 0n }, stamp(7n, 4n, 1n))).toEqual({ kind: 'admitted' });
  });

  it('refuses an event of a deposed leader or of an older generation as stale, whatever its steps', () => {
    expect(admitEvent(session, stamp(6n, 4n, 11n))).toMatchObject({ kind: 'stale', reason: expect.stringMatching(/deposed leader/) });
    expect(admitEvent(session, stamp(99n, 3n, 11n))).toMatchObject({
      kind: 'stale',
      reason: expect.stringMatching(/generation 3 is older/),
    });
    expect(admitEvent(session, stamp(6n, 4n, 500n))).toMatchObject({ kind: 'stale' });
  });

  it('recognises a repeated delivery of steps applied already', () => {
    expect(admitEvent(session, stamp(7n, 4n, 10n))).toMatchObject({ kind: 'duplicate' });
    expect(admitEvent(session, stamp(7n, 4n, 1n, 10n))).toMatchObject({ kind: 'duplicate' });
  });

  it('finds an event out of step when steps are missing before it, naming them', () => {
    expect(admitEvent(session, stamp(7n, 4n, 12n))).toEqual({
      kind: 'out_of_step',
      reason: 'steps 12 follow step 10: steps 11 are missing',
    });
    expect(admitEvent(session, stamp(7n, 4n, 15n, 16n))).toMatchObject({
      kind: 'out_of_step',
      reason: expect.stringMatching(/steps 11\.\.14 are missing/),
    });
  });

  it('finds an event of a session the database was never fenced for out of step (a database restored to an earlier state)', () => {
    expect(admitEvent(session, stamp(8n, 4n, 1n))).toMatchObject({ kind: 'out_of_step', reason: expect.stringMatching(/never fenced/) });
    expect(admitEvent(session, stamp(7n, 5n, 1n))).toMatchObject({ kind: 'out_of_step' });
  });

  it('applies nothing of the current session while the pipeline is halted, but still calls stale what is stale', () => {
    const halted = { ...session, haltedReason: 'three recoveries' };
    expect(admitEvent(halted, stamp(7n, 4n, 11n))).toEqual({ kind: 'halted', reason: 'three recoveries' });
    expect(admitEvent(halted, stamp(6n, 4n, 11n))).toMatchObject({ kind: 'stale' });
  });
});
