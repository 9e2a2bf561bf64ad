import { describe, expect, it } from 'vitest';
import { assessReadiness } from '../../functions/domain/readiness.js';

describe('readiness', () => {
  it('is ready within 100 blocks of the tip, with height, tip and lag', () => {
    expect(assessReadiness({ databaseReachable: true, appliedHeight: 1000n, networkTipHeight: 1100n })).toEqual({
      ready: true,
      status: 'ready',
      synced_height: 1000n,
      tip_height: 1100n,
      lag: 100,
    });
  });

  it('is not ready with reason sync_lag beyond 100 blocks', () => {
    expect(assessReadiness({ databaseReachable: true, appliedHeight: 1000n, networkTipHeight: 1101n })).toMatchObject({
      ready: false,
      reason: 'sync_lag',
      lag: 101,
    });
  });

  it('is not ready when the database is unreachable, whatever the lag', () => {
    expect(assessReadiness({ databaseReachable: false, appliedHeight: 5n, networkTipHeight: 5n })).toMatchObject({
      ready: false,
      reason: 'database_unreachable',
    });
  });

  it('is not ready before anything is synced', () => {
    expect(assessReadiness({ databaseReachable: true, appliedHeight: null, networkTipHeight: 10n })).toMatchObject({
      ready: false,
      reason: 'not_synced',
    });
  });

  const halt = { halted_at: new Date('2026-11-20T10:00:00Z'), halted_reason: '3 recoveries in a row at height 1000 without progress' };

  it('is not ready while the pipeline is halted, with when and why, even within the lag', () => {
    expect(assessReadiness({ databaseReachable: true, appliedHeight: 1000n, networkTipHeight: 1005n, halt })).toEqual({
      ready: false,
      status: 'not_ready',
      reason: 'pipeline_halted',
      synced_height: 1000n,
      tip_height: 1005n,
      lag: 5,
      halted_at: halt.halted_at,
      halted_reason: halt.halted_reason,
    });
  });

  it('reports the halt before a rebuild or the lag, and the unreachable database before the halt', () => {
    const rebuild = { run: 1n, point_height: 10n, target_height: 20n, progress_height: 15n, percent: 50, payments_held: 0 };
    expect(assessReadiness({ databaseReachable: true, appliedHeight: 10n, networkTipHeight: 500n, halt, rebuild })).toMatchObject({
      reason: 'pipeline_halted',
      lag: 490,
    });
    expect(assessReadiness({ databaseReachable: true, appliedHeight: null, networkTipHeight: null, halt })).toMatchObject({
      reason: 'pipeline_halted',
      lag: 0,
    });
    expect(assessReadiness({ databaseReachable: false, appliedHeight: 10n, networkTipHeight: 10n, halt })).toEqual({
      ready: false,
      status: 'not_ready',
      reason: 'database_unreachable',
    });
  });

  it('is ready again once the halt is cleared (null)', () => {
    expect(assessReadiness({ databaseReachable: true, appliedHeight: 1000n, networkTipHeight: 1005n, halt: null })).toMatchObject({
      ready: true,
      lag: 5,
    });
  });
});
