/**
 * The nightly jobs and the database's own windows, kept apart: RDS's daily automated backup and weekly maintenance
 * (a restart or failover may come with it) are placed where neither the scheduled jobs (in the stage's time zone,
 * both its standard and its daylight-saving offset) nor the AWS Backup snapshots (UTC) run.
 */
import { Duration } from 'aws-cdk-lib';
import { DAILY_SNAPSHOT_UTC, SNAPSHOT_START_WINDOW, WEEKLY_SNAPSHOT_UTC } from '../constructs/database-backup-plan.js';
import type { DailyTime } from '../constructs/function-schedule.js';

/** Reconciliation's daily run, in the stage's scheduleTimeZone. */
export const RECONCILIATION_TIME: DailyTime = { hour: '3', minute: '0' };
/** Daily exports and partition maintenance run before reconciliation, in the stage's scheduleTimeZone. */
export const DAILY_BACKUP_TIME: DailyTime = { hour: '2', minute: '0' };
export const PARTITION_MAINTENANCE_TIME: DailyTime = { hour: '1', minute: '30' };

/**
 * How long a reconciliation run is given before the database's windows may start: it continues itself across
 * invocations; a million addresses took under a minute against the simulator, a real node answers more slowly.
 */
export const RECONCILIATION_RUN_BUDGET = Duration.hours(2);

/** A daily job in the stage's time zone, and how long it may last (its function's timeout, or its run budget). */
export interface NightlyJob {
  readonly name: string;
  readonly time: DailyTime;
  readonly lasts: Duration;
}

export const NIGHTLY_JOBS: readonly NightlyJob[] = [
  { name: 'partition maintenance', time: PARTITION_MAINTENANCE_TIME, lasts: Duration.minutes(5) },
  { name: 'daily exports', time: DAILY_BACKUP_TIME, lasts: Duration.minutes(15) },
  { name: 'reconciliation', time: RECONCILIATION_TIME, lasts: RECONCILIATION_RUN_BUDGET },
];

/** Kept clear on both sides of every job and snapshot. */
export const WINDOW_MARGIN = Duration.minutes(30);
/** RDS's minimum for the backup window. */
export const BACKUP_WINDOW_LENGTH = Duration.minutes(30);
export const MAINTENANCE_WINDOW_LENGTH = Duration.hours(1);
export const MAINTENANCE_DAY = 'sun';
/** Where the search for the windows starts: late evening in the stage's time zone, before the nightly jobs. */
const PREFERRED_LOCAL_START_MINUTE = 22 * 60;

const DAY = 24 * 60;
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** Minutes of the UTC day: [start, start + length), wrapping past midnight. */
export interface UtcInterval {
  readonly what: string;
  readonly start: number;
  readonly length: number;
}

export interface DatabaseWindows {
  /** RDS PreferredBackupWindow, UTC: `hh:mm-hh:mm`. */
  readonly backupWindow: string;
  /** RDS PreferredMaintenanceWindow, UTC: `ddd:hh:mm-ddd:hh:mm`. */
  readonly maintenanceWindow: string;
}

export class DatabaseWindowsError extends Error {
  override readonly name = 'DatabaseWindowsError';
}

const mod = (minutes: number) => ((minutes % DAY) + DAY) % DAY;
const minutesOf = (time: DailyTime) => Number(time.hour) * 60 + Number(time.minute);

/** The zone's distinct offsets from UTC (minutes east) over a year: its standard and, if any, daylight-saving one. */
export function utcOffsets(timeZone: string, year = 2026): number[] {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  });
  const offsets = new Set<number>();
  for (let month = 0; month < 12; month += 1) {
    for (const day of [1, 15]) {
      const instant = Date.UTC(year, month, day, 12, 0);
      const parts = Object.fromEntries(format.formatToParts(instant).map((part) => [part.type, Number(part.value)]));
      const local = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!);
      offsets.add((local - instant) / 60_000);
    }
  }
  return [...offsets].sort((a, b) => a - b);
}

/** When the nightly jobs (at every offset of the zone) and the AWS Backup snapshots run, in minutes of the UTC day. */
export function busyUtcIntervals(timeZone: string): UtcInterval[] {
  const jobs = utcOffsets(timeZone).flatMap((offset) =>
    NIGHTLY_JOBS.map((job) => ({ what: job.name, start: mod(minutesOf(job.time) - offset), length: job.lasts.toMinutes() })),
  );
  // A snapshot starts within its start window and takes minutes; the weekly one is kept clear every day.
  const snapshots = [DAILY_SNAPSHOT_UTC, WEEKLY_SNAPSHOT_UTC].map((time, i) => ({
    what: i === 0 ? 'daily AWS Backup snapshot' : 'weekly AWS Backup snapshot',
    start: minutesOf(time),
    length: SNAPSHOT_START_WINDOW.toMinutes() + 60,
  }));
  return [...jobs, ...snapshots];
}

/** Whether two intervals of the circular UTC day share a minute. */
export function overlaps(a: UtcInterval, b: UtcInterval): boolean {
  return mod(b.start - a.start) < a.length || mod(a.start - b.start) < b.length;
}

const clock = (minutes: number) =>
  `${String(Math.floor(mod(minutes) / 60)).padStart(2, '0')}:${String(mod(minutes) % 60).padStart(2, '0')}`;

/**
 * The database's backup and maintenance windows for a stage whose jobs run in `timeZone`: the first half-hour slots,
 * from 22:00 there, clear by WINDOW_MARGIN of every busy interval, the maintenance window after the backup window.
 * Throws when the day has no room (it always has with the shipped schedules).
 */
export function databaseWindows(timeZone: string): DatabaseWindows {
  const margin = WINDOW_MARGIN.toMinutes();
  const busy = busyUtcIntervals(timeZone).map((interval) => ({
    ...interval,
    start: mod(interval.start - margin),
    length: interval.length + 2 * margin,
  }));
  const anchor = mod(PREFERRED_LOCAL_START_MINUTE - utcOffsets(timeZone)[0]!);
  const firstClear = (from: number, length: number, alsoAvoid: UtcInterval[]) => {
    for (let step = 0; step < DAY / 30; step += 1) {
      const slot = { what: 'window', start: mod(from + step * 30), length };
      if (![...busy, ...alsoAvoid].some((interval) => overlaps(slot, interval))) return slot;
    }
    throw new DatabaseWindowsError(`No ${length}-minute window clear of the nightly jobs and snapshots in ${timeZone}`);
  };
  const backup = firstClear(anchor, BACKUP_WINDOW_LENGTH.toMinutes(), []);
  const aroundBackup = { what: 'backup window', start: mod(backup.start - margin), length: backup.length + 2 * margin };
  const maintenance = firstClear(backup.start + backup.length + margin, MAINTENANCE_WINDOW_LENGTH.toMinutes(), [aroundBackup]);
  const day = WEEKDAYS.indexOf(MAINTENANCE_DAY);
  const endDay = WEEKDAYS[(day + Math.floor((maintenance.start + maintenance.length) / DAY)) % 7];
  return {
    backupWindow: `${clock(backup.start)}-${clock(backup.start + backup.length)}`,
    maintenanceWindow: `${MAINTENANCE_DAY}:${clock(maintenance.start)}-${endDay}:${clock(maintenance.start + maintenance.length)}`,
  };
}
