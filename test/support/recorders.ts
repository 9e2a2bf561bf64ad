import type { Clock, LogFields, Logger } from '../../functions/domain/ports.js';
import type { CorrelatingLogger } from '../../functions/handlers/processor-core.js';

export interface LogEntry {
  level: string;
  event: string;
  fields: LogFields;
}

/** Keeps every log entry so a test can assert on what operators would see. */
export class RecordingLogger implements Logger {
  readonly entries: LogEntry[] = [];
  debug(event: string, fields: LogFields = {}) {
    this.entries.push({ level: 'debug', event, fields });
  }
  info(event: string, fields: LogFields = {}) {
    this.entries.push({ level: 'info', event, fields });
  }
  warn(event: string, fields: LogFields = {}) {
    this.entries.push({ level: 'warn', event, fields });
  }
  error(event: string, fields: LogFields = {}) {
    this.entries.push({ level: 'error', event, fields });
  }
  critical(event: string, fields: LogFields = {}) {
    this.entries.push({ level: 'critical', event, fields });
  }

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

/** Records like RecordingLogger, with the processor's correlation keys merged into every entry. */
export class CorrelatingRecordingLogger extends RecordingLogger implements CorrelatingLogger {
  private keys: LogFields = {};
  appendKeys(keys: LogFields): void {
    this.keys = { ...this.keys, ...keys };
  }
  removeKeys(keys: readonly string[]): void {
    this.keys = Object.fromEntries(Object.entries(this.keys).filter(([key]) => !keys.includes(key)));
  }
  override debug(event: string, fields: LogFields = {}) {
    super.debug(event, { ...this.keys, ...fields });
  }
  override info(event: string, fields: LogFields = {}) {
    super.info(event, { ...this.keys, ...fields });
  }
  override warn(event: string, fields: LogFields = {}) {
    super.warn(event, { ...this.keys, ...fields });
  }
  override error(event: string, fields: LogFields = {}) {
    super.error(event, { ...this.keys, ...fields });
  }
  override critical(event: string, fields: LogFields = {}) {
    super.critical(event, { ...this.keys, ...fields });
  }
}
