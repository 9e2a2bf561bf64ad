/**
 * Issue 13, item 9: RDS's backup and maintenance windows were unset, so RDS picked them, possibly on top of the
 * nightly jobs. They are now set, away from the jobs: checked here against the schedules as synthesized (their cron
 * and time zone, their function's timeout) and the AWS Backup plan, minute by minute on every day of a year, with
 * each day's own UTC offset (daylight-saving days included).
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildStage } from '../../lib/stage.js';
import { databaseWindows, RECONCILIATION_RUN_BUDGET, WINDOW_MARGIN } from '../../lib/stacks/nightly-jobs.js';
import { stageConfig } from './stage-fixture.js';

type Resource = { Type: string; Properties: Record<string, unknown> };
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** The UTC instant at which the clock in `timeZone` reads `hour:minute` on that local date. */
function instantOf(timeZone: string, year: number, month: number, day: number, hour: number, minute: number): number {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  });
  const offsetAt = (instant: number) => {
    const parts = Object.fromEntries(format.formatToParts(instant).map((part) => [part.type, Number(part.value)]));
    return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!) - instant;
  };
  const wall = Date.UTC(year, month, day, hour, minute);
  let instant = wall - offsetAt(wall);
  instant = wall - offsetAt(instant);
  return instant;
}

interface Busy {
  what: string;
  /** Minutes after midnight, on the clock of `timeZone`. */
  at: number;
  timeZone: string;
  lasts: number;
  /** Only on this UTC weekday (0 = Sunday). */
  weekday?: number;
}

/** The daily cron schedules of the operations stack, each lasting its function's timeout (reconciliation: its run budget). */
function scheduledJobs(operations: Template): Busy[] {
  const resources = operations.toJSON().Resources as Record<string, Resource>;
  return Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::Scheduler::Schedule')
    .flatMap((resource) => {
      const cron = /^cron\((\d+) (\d+) \* \* \? \*\)$/.exec(String(resource.Properties.ScheduleExpression));
      if (!cron) return []; // rate(…): every minute or every hour, not a nightly job
      const target = resource.Properties.Target as { Arn: { 'Fn::GetAtt': [string, string] } };
      const fn = resources[target.Arn['Fn::GetAtt'][0]]!;
      const name = String(fn.Properties.FunctionName);
      const lasts = name.endsWith('-reconciliation') ? RECONCILIATION_RUN_BUDGET.toMinutes() : (fn.Properties.Timeout as number) / 60;
      return [
        {
          what: `${resource.Properties.Name} (${name})`,
          at: Number(cron[2]) * 60 + Number(cron[1]),
          timeZone: String(resource.Properties.ScheduleExpressionTimezone ?? 'UTC'),
          lasts,
        },
      ];
    });
}

/** AWS Backup's rules (UTC): a snapshot starts within its start window and takes well under an hour at this size. */
function snapshots(data: Template): Busy[] {
  const plan = Object.values(data.toJSON().Resources as Record<string, Resource>).find((r) => r.Type === 'AWS::Backup::BackupPlan')!;
  const rules = (
    plan.Properties.BackupPlan as { BackupPlanRule: { RuleName: string; ScheduleExpression: string; StartWindowMinutes: number }[] }
  ).BackupPlanRule;
  return rules.map((rule) => {
    const cron = /^cron\((\d+) (\d+) (\S+) \* (\S+) \*\)$/.exec(rule.ScheduleExpression)!;
    const weekday = cron[4] === '?' || cron[4] === '*' ? undefined : ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'].indexOf(cron[4]!);
    return {
      what: `AWS Backup ${rule.RuleName}`,
      at: Number(cron[2]) * 60 + Number(cron[1]),
      timeZone: 'UTC',
      lasts: rule.StartWindowMinutes + 60,
      weekday,
    };
  });
}

/** The RDS windows as UTC instants over [from, to): the daily backup window, the weekly maintenance window. */
function rdsWindows(
  backupWindow: string,
  maintenanceWindow: string,
  from: number,
  to: number,
): { what: string; start: number; end: number }[] {
  const minutes = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));
  const [backupStart, backupEnd] = backupWindow.split('-').map(minutes) as [number, number];
  const days = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
  const [mStart, mEnd] = maintenanceWindow
    .split('-')
    .map((part) => ({ day: days.indexOf(part.slice(0, 3)), minute: minutes(part.slice(4)) }));
  const windows: { what: string; start: number; end: number }[] = [];
  for (let midnight = from - DAY; midnight < to + DAY; midnight += DAY) {
    const backupLength = (backupEnd - backupStart + 24 * 60) % (24 * 60);
    windows.push({
      what: 'RDS backup window',
      start: midnight + backupStart * MINUTE,
      end: midnight + (backupStart + backupLength) * MINUTE,
    });
    if (new Date(midnight).getUTCDay() === mStart!.day) {
      const length = ((mEnd!.day - mStart!.day + 7) % 7) * 24 * 60 + mEnd!.minute - mStart!.minute;
      windows.push({
        what: 'RDS maintenance window',
        start: midnight + mStart!.minute * MINUTE,
        end: midnight + (mStart!.minute + length) * MINUTE,
      });
    }
  }
  return windows;
}

/** Every occurrence in `year` of each busy interval, checked against every RDS window: the smallest gap, and any overlap. */
function conflicts(busy: Busy[], backupWindow: string, maintenanceWindow: string, year = 2026): string[] {
  const from = Date.UTC(year, 0, 1);
  const to = Date.UTC(year + 1, 0, 1);
  const windows = rdsWindows(backupWindow, maintenanceWindow, from, to);
  const margin = WINDOW_MARGIN.toMilliseconds();
  const found: string[] = [];
  for (let midnight = from; midnight < to; midnight += DAY) {
    const date = new Date(midnight);
    for (const job of busy) {
      const start = instantOf(
        job.timeZone,
        date.getUTCFullYear(),
        date.getUTCMonth(),
        date.getUTCDate(),
        Math.floor(job.at / 60),
        job.at % 60,
      );
      if (job.weekday !== undefined && new Date(start).getUTCDay() !== job.weekday) continue;
      const end = start + job.lasts * MINUTE;
      for (const window of windows) {
        if (start < window.end + margin && window.start < end + margin) {
          found.push(
            `${date.toISOString().slice(0, 10)}: ${job.what} ${new Date(start).toISOString()}–${new Date(end).toISOString()} meets the ${window.what} ${new Date(window.start).toISOString()}`,
          );
        }
      }
    }
  }
  return found;
}

function synthesize(timeZone?: string): {
  data: Template;
  operations: Template;
  windows: { backupWindow: string; maintenanceWindow: string };
} {
  const config = stageConfig('prod', timeZone ? { scheduleTimeZone: timeZone } : {});
  const stage = buildStage(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), config);
  const data = Template.fromStack(stage.data);
  const instance = Object.values(data.toJSON().Resources as Record<string, Resource>).find((r) => r.Type === 'AWS::RDS::DBInstance')!;
  return {
    data,
    operations: Template.fromStack(stage.operations),
    windows: {
      backupWindow: String(instance.Properties.PreferredBackupWindow),
      maintenanceWindow: String(instance.Properties.PreferredMaintenanceWindow),
    },
  };
}

describe("the database's backup and maintenance windows", () => {
  let prod: ReturnType<typeof synthesize>;
  beforeAll(() => {
    prod = synthesize();
  }, 120_000);

  it('are set on the instance, in the format RDS takes, and do not overlap each other', () => {
    expect(prod.windows).toEqual({ backupWindow: '22:00-22:30', maintenanceWindow: 'sun:23:00-mon:00:00' });
    expect(prod.windows).toEqual(databaseWindows('UTC'));
    expect(prod.windows.backupWindow).toMatch(/^\d\d:\d\d-\d\d:\d\d$/);
    expect(prod.windows.maintenanceWindow).toMatch(/^(sun|mon|tue|wed|thu|fri|sat):\d\d:\d\d-(sun|mon|tue|wed|thu|fri|sat):\d\d:\d\d$/);
  });

  it('find the nightly jobs the stage schedules: partition maintenance, the daily exports, reconciliation', () => {
    const jobs = scheduledJobs(prod.operations);
    expect(jobs.map((job) => [job.what.replace(/ \(.*/, ''), job.at, job.lasts])).toEqual(
      expect.arrayContaining([
        ['payment-monitor-prod-reconciliation-daily', 180, 120],
        ['payment-monitor-prod-partition-maintenance-daily', 90, 5],
        ['payment-monitor-prod-backup-payment-addresses', 120, 15],
        ['payment-monitor-prod-backup-incoming-payments', 120, 15],
      ]),
    );
    expect(jobs).toHaveLength(4);
    expect(snapshots(prod.data).map((s) => [s.at, s.weekday])).toEqual([
      [60, undefined],
      [300, 0],
    ]);
  });

  it('stay 30 minutes clear of every nightly job and AWS Backup snapshot on every day of the year (UTC stage)', () => {
    const busy = [...scheduledJobs(prod.operations), ...snapshots(prod.data)];
    expect(conflicts(busy, prod.windows.backupWindow, prod.windows.maintenanceWindow)).toEqual([]);
  });

  it.each(['Europe/Paris', 'America/New_York', 'Australia/Sydney'])(
    'follow the schedules to %s, across its daylight-saving changes',
    (timeZone) => {
      const stage = synthesize(timeZone);
      expect(stage.windows).toEqual(databaseWindows(timeZone));
      const busy = [...scheduledJobs(stage.operations), ...snapshots(stage.data)];
      expect(busy.filter((job) => job.timeZone === timeZone)).toHaveLength(4);
      expect(conflicts(busy, stage.windows.backupWindow, stage.windows.maintenanceWindow)).toEqual([]);
    },
    120_000,
  );

  it('would be caught on a job: a backup window at 03:00 UTC meets reconciliation (the check can fail)', () => {
    const busy = [...scheduledJobs(prod.operations), ...snapshots(prod.data)];
    const found = conflicts(busy, '03:00-03:30', prod.windows.maintenanceWindow);
    expect(found.filter((conflict) => conflict.includes('reconciliation-daily'))).toHaveLength(365);
    expect(conflicts(busy, '22:00-22:30', 'sun:01:00-sun:02:00').length).toBeGreaterThanOrEqual(52);
  });
});
