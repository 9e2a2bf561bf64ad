import { describe, expect, it } from 'vitest';
import { decideRecovery, HALT_AFTER_RECOVERIES_WITHOUT_PROGRESS, type RecoveryState } from '../../functions/domain/pipeline-recovery.js';

const state: RecoveryState = {
  session: { generation: 4n, fence: 7n, appliedStep: 10n, haltedReason: null },
  appliedHeight: 100n,
  streak: 0,
  streakHeight: null,
};
const divergence = { kind: 'divergence' as const, reason: 'steps missing', message: { id: 'm', generation: 4n, fence: 7n } };

describe('recovery from an event that cannot apply', () => {
  it('makes the leader follow again: a new generation, a streak of one at the applied height', () => {
    expect(decideRecovery(state, divergence)).toEqual({ action: 'follow_again', generation: 5n, streak: 1, streakHeight: 100n });
  });

  it('changes nothing for an event of an earlier session', () => {
    expect(decideRecovery(state, { ...divergence, message: { id: 'm', generation: 3n, fence: 9n } })).toMatchObject({ action: 'none' });
    expect(decideRecovery(state, { ...divergence, message: { id: 'm', generation: 4n, fence: 6n } })).toMatchObject({ action: 'none' });
  });

  it('recovers from a poison message whose session is unknown', () => {
    expect(decideRecovery(state, { kind: 'poison', reason: 'not JSON', message: { id: 'm', body: '{' } })).toMatchObject({
      action: 'follow_again',
      generation: 5n,
    });
  });

  it('goes past the generation of a session the database was never fenced for', () => {
    expect(decideRecovery(state, { ...divergence, message: { id: 'm', generation: 9n, fence: 7n } })).toMatchObject({
      action: 'follow_again',
      generation: 10n,
    });
  });

  it(`halts after ${HALT_AFTER_RECOVERIES_WITHOUT_PROGRESS} recoveries in a row that the engine did not get past`, () => {
    let current = state;
    for (let n = 1; n < HALT_AFTER_RECOVERIES_WITHOUT_PROGRESS; n++) {
      // each time, an event of the session that followed again
      const decision = decideRecovery(current, { ...divergence, message: { id: 'm', generation: current.session.generation, fence: 7n } });
      expect(decision).toMatchObject({ action: 'follow_again', streak: n, streakHeight: 100n });
      if (decision.action !== 'follow_again') throw new Error('unreachable');
      current = {
        ...current,
        streak: decision.streak,
        streakHeight: decision.streakHeight,
        session: { ...current.session, generation: decision.generation },
      };
    }
    const last = decideRecovery(
      { ...current, appliedHeight: 98n },
      { ...divergence, message: { id: 'm', generation: current.session.generation, fence: 7n } },
    );
    expect(last).toMatchObject({
      action: 'halt',
      streak: HALT_AFTER_RECOVERIES_WITHOUT_PROGRESS,
      reason: expect.stringMatching(/without the engine getting past height 100; the last: divergence: steps missing/),
    });
  });

  it('starts a new streak once the engine got past the height where the last one started', () => {
    const decision = decideRecovery({ ...state, streak: 2, streakHeight: 100n, appliedHeight: 101n }, divergence);
    expect(decision).toMatchObject({ action: 'follow_again', streak: 1, streakHeight: 101n });
  });

  it('changes nothing while halted', () => {
    expect(decideRecovery({ ...state, session: { ...state.session, haltedReason: 'x' } }, divergence)).toMatchObject({ action: 'none' });
  });
});
