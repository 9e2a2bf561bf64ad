import { LOG_LEVELS, parseLogLevel, type LogLevel } from '../../domain/log-level.js';
import type { LogFields, Logger } from '../../domain/ports.js';

/** Structured logs as one JSON object per line (stdout locally; CloudWatch picks the same lines up). */
export class JsonLogger implements Logger {
  private readonly threshold: number;

  constructor(
    private readonly context: LogFields = {},
    /** Its threshold; an unknown level is refused, as the settings refuse it. */
    level: string = 'info',
    private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  ) {
    this.threshold = LOG_LEVELS.indexOf(parseLogLevel(level));
  }

  debug(event: string, fields?: LogFields): void {
    this.log('debug', event, fields);
  }
  info(event: string, fields?: LogFields): void {
    this.log('info', event, fields);
  }
  warn(event: string, fields?: LogFields): void {
    this.log('warn', event, fields);
  }
  error(event: string, fields?: LogFields): void {
    this.log('error', event, fields);
  }
  critical(event: string, fields?: LogFields): void {
    this.log('critical', event, fields);
  }

  private log(level: LogLevel, event: string, fields: LogFields = {}): void {
    if (LOG_LEVELS.indexOf(level) < this.threshold) return;
    const entry = { timestamp: new Date().toISOString(), level, event, ...this.context, ...fields };
    this.write(JSON.stringify(entry, jsonSafe));
  }
}

/** bigint becomes a decimal string and an Error its message: JSON.stringify handles neither. */
export function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}
