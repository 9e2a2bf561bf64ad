import { describe, expect, it } from 'vitest';
import { assessReadiness } from '../../functions/domain/readiness.js';

describe('readiness', () => {
  it('is ready within 100 blocks of the tip, with height, tip and lag', () => {
    expect(assessReadiness({ databaseReachable: true, appliedHeight: 1000n, networkTipHeight: 1100n })).toEqual({
      ready: true, status: 'ready', synced_height: 1000n, tip_height: 1100n, lag: 100,
    });
  });

  it('is not ready with reason sync_lag beyond 100 blocks', () => {
    expect(assessReadiness({ databaseReachable: true, appliedHeight: 1000n, networkTipHeight: 1101n })).toMatchObject({ ready: false, reason: 'sync_lag', lag: 101 });
  });

  it('is not ready when the database is unreachable, whatever the lag', () => {
    expect(assessReadiness({ databaseReachable: false, appliedHeight: 5n, networkTipHeight: 5n })).toMatchObject({ ready: false, reason: 'database_unreachable' });
  });

  it('is not ready before anything is synced', () => {
    expect(assessReadiness({ databaseReachable: true, appliedHeight: null, networkTipHeight: 10n })).toMatchObject({ ready: false, reason: 'not_synced' });
  });
});
