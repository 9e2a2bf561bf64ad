import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import type { LogFields, Logger } from '../../domain/ports.js';
import type { ObservabilitySettings } from './settings.js';

/**
 * The domain's Logger on Powertools Logger: one JSON object per line with the event name as `message`, the
 * service, the stage, the Lambda context and any correlation keys appended for the record being processed.
 */
export class LambdaLogger implements Logger {
  constructor(readonly powertools: PowertoolsLogger) {}

  debug(event: string, fields?: LogFields): void {
    this.powertools.debug(event, fields ?? {});
  }
  info(event: string, fields?: LogFields): void {
    this.powertools.info(event, fields ?? {});
  }
  warn(event: string, fields?: LogFields): void {
    this.powertools.warn(event, fields ?? {});
  }
  error(event: string, fields?: LogFields): void {
    this.powertools.error(event, fields ?? {});
  }
  critical(event: string, fields?: LogFields): void {
    this.powertools.critical(event, fields ?? {});
  }

  /** Keys added to every line until removed: the correlation of one message's work. */
  appendKeys(keys: LogFields): void {
    this.powertools.appendKeys(keys);
  }
  removeKeys(keys: readonly string[]): void {
    this.powertools.removeKeys([...keys]);
  }
  /** Function name, request id and cold start on every line of this invocation. */
  addContext(context: Context): void {
    this.powertools.addContext(context);
  }
}

export function createLambdaLogger(settings: ObservabilitySettings): LambdaLogger {
  return new LambdaLogger(
    new PowertoolsLogger({
      serviceName: settings.serviceName,
      logLevel: settings.logLevel === 'critical' ? 'CRITICAL' : (settings.logLevel.toUpperCase() as 'DEBUG' | 'INFO' | 'WARN' | 'ERROR'),
      persistentKeys: { stage: settings.stage },
    }),
  );
}
