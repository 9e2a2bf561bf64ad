import type { Clock, LogFields, Logger } from '../../functions/domain/ports.js';

export interface LogEntry {
  level: string;
  event: string;
  fields: LogFields;
}

/** Keeps every log entry so a test can assert on what operators would see. */
export class RecordingLogger implements Logger {
  readonly entries: LogEntry[] = [];
  debug(event: string, fields: LogFields = {}) { this.entries.push({ level: 'debug', event, fields }); }
  info(event: string, fields: LogFields = {}) { this.entries.push({ level: 'info', event, fields }); }
  warn(event: string, fields: LogFields = {}) { this.entries.push({ level: 'warn', event, fields }); }
  error(event: string, fields: LogFields = {}) { this.entries.push({ level: 'error', event, fields }); }
  critical(event: string, fields: LogFields = {}) { this.entries.push({ level: 'critical', event, fields }); }

  events(name: string): LogEntry[] {
    return this.entries.filter((entry) => entry.event === name);
  }
}

export class FixedClock implements Clock {
  constructor(private time = new Date('2026-01-15T12:00:00Z')) {}
  now(): Date {
    return this.time;
  }
  advance(seconds: number): void {
    this.time = new Date(this.time.getTime() + seconds * 1000);
  }
}
