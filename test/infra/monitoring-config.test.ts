import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readStageConfig, StageConfigError } from '../../lib/config.js';
import { DEFAULT_ALARM_THRESHOLDS, resolveAlarmThresholds } from '../../lib/constructs/monitoring/index.js';

const stages = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')).context.stages;

describe('alarm thresholds in the stage config', () => {
  it('defaults to the tutorial rules', () => {
    expect(DEFAULT_ALARM_THRESHOLDS.syncLag).toEqual({
      warning: { threshold: 50, forMinutes: 5, enabled: true },
      critical: { threshold: 200, forMinutes: 2, enabled: true },
    });
    expect(DEFAULT_ALARM_THRESHOLDS.noPaymentsDetected.warning).toEqual({ threshold: 1, forMinutes: 360, enabled: true });
    expect(DEFAULT_ALARM_THRESHOLDS.hotWalletBalance).toEqual({
      warning: { threshold: 50_000, forMinutes: 5, enabled: true },
      critical: { threshold: 10_000, forMinutes: 1, enabled: true },
    });
    expect(resolveAlarmThresholds(undefined)).toEqual({ thresholds: DEFAULT_ALARM_THRESHOLDS, problems: [] });
  });

  it("reads each stage's overrides from cdk.json on top of the defaults", () => {
    const dev = readStageConfig(stages, 'dev').alarms;
    const prod = readStageConfig(stages, 'prod').alarms;
    expect(dev.noPaymentsDetected.warning.enabled).toBe(false);
    expect(dev.syncLag).toEqual(DEFAULT_ALARM_THRESHOLDS.syncLag);
    expect(prod.databaseConnections.warning).toEqual({ threshold: 700, forMinutes: 10, enabled: true });
    expect(prod.noPaymentsDetected.warning.enabled).toBe(true);
  });

  it('merges a partial setting field by field', () => {
    const { thresholds, problems } = resolveAlarmThresholds({ syncLag: { critical: { forMinutes: 4 } } });
    expect(problems).toEqual([]);
    expect(thresholds.syncLag.critical).toEqual({ threshold: 200, forMinutes: 4, enabled: true });
    expect(thresholds.syncLag.warning).toEqual(DEFAULT_ALARM_THRESHOLDS.syncLag.warning);
    expect(DEFAULT_ALARM_THRESHOLDS.syncLag.critical.forMinutes).toBe(2); // the defaults are not mutated
  });

  it.each<[string, unknown, RegExp]>([
    ['an unknown alarm', { synclag: {} }, /alarms\.synclag is not an alarm; known: syncLag, /],
    [
      'a severity the alarm does not have',
      { deadLetterQueue: { warning: { threshold: 1 } } },
      /alarms\.deadLetterQueue\.warning: deadLetterQueue has no warning alarm \(it has critical\)/,
    ],
    ['an unknown field', { syncLag: { warning: { treshold: 10 } } }, /alarms\.syncLag\.warning: unknown field\(s\) treshold/],
    [
      'a negative threshold',
      { queueAge: { warning: { threshold: -1 } } },
      /alarms\.queueAge\.warning\.threshold must be a number ≥ 0 \(got -1\)/,
    ],
    [
      'a percentage over 100',
      { databaseCpu: { warning: { threshold: 120 } } },
      /alarms\.databaseCpu\.warning\.threshold is a percentage and must be ≤ 100/,
    ],
    [
      'a duration that is not whole periods',
      { noPaymentsDetected: { warning: { forMinutes: 90 } } },
      /forMinutes must be a whole multiple of the 60-minute period \(got 90\)/,
    ],
    ["a duration beyond CloudWatch's range", { syncLag: { warning: { forMinutes: 1441 } } }, /forMinutes must be at most 1440/],
    ['enabled that is not a boolean', { syncLag: { warning: { enabled: 'no' } } }, /enabled must be true or false \(got "no"\)/],
    [
      'a critical level not worse than the warning one',
      { hotWalletBalance: { critical: { threshold: 60_000 } } },
      /critical threshold \(60000\) must be below the warning threshold \(50000\)/,
    ],
    [
      'a stale-events level not above the queue-age warning',
      { queueAge: { critical: { threshold: 300 } } },
      /alarms\.queueAge: the critical threshold \(300\) must be above the warning threshold \(300\)/,
    ],
    ['a section that is not an object', [1], /alarms must be an object of alarm settings/],
  ])('refuses %s', (_name, overrides, message) => {
    const { problems } = resolveAlarmThresholds(overrides);
    expect(problems.join('\n')).toMatch(message);
  });

  it('accepts 26 hours for an hourly alarm (CloudWatch allows 7 days from a 1-hour period)', () => {
    expect(resolveAlarmThresholds({ reconciliationRuns: { warning: { forMinutes: 48 * 60 } } }).problems).toEqual([]);
  });

  it('fails the stage with every alarm problem next to the others', () => {
    const broken = { ...stages.prod, confirmations: 0, alarms: { syncLag: { warning: { threshold: 'high' } }, nope: {} } };
    const read = () => readStageConfig({ prod: broken }, 'prod');
    expect(read).toThrow(StageConfigError);
    expect(read).toThrow(
      /confirmations must be a whole number[\s\S]*alarms\.nope is not an alarm[\s\S]*alarms\.syncLag\.warning\.threshold must be a number/,
    );
  });
});
