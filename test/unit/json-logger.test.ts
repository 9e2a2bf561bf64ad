import { describe, expect, it } from 'vitest';
import { JsonLogger } from '../../functions/adapters/observability/json-logger.js';

describe('JsonLogger', () => {
  it('writes one JSON object per line with bigints as exact decimal strings', () => {
    const lines: string[] = [];
    const logger = new JsonLogger({ service: 'engine' }, 'info', (line) => lines.push(line));
    logger.info('payment_detected', { amount_lovelace: 2n ** 64n - 1n, amount_ada: 1.5 });
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({
      level: 'info',
      event: 'payment_detected',
      service: 'engine',
      amount_lovelace: '18446744073709551615',
      amount_ada: 1.5,
    });
    expect(Date.parse(entry.timestamp)).not.toBeNaN();
  });

  it('drops entries below its level and keeps critical ones', () => {
    const lines: string[] = [];
    const logger = new JsonLogger({}, 'warn', (line) => lines.push(line));
    logger.debug('noise');
    logger.info('noise');
    logger.critical('payment_reversed');
    expect(lines.map((line) => JSON.parse(line).event)).toEqual(['payment_reversed']);
  });

  it('refuses an unknown level rather than logging at another one', () => {
    expect(() => new JsonLogger({}, 'loud')).toThrow('LOG_LEVEL must be one of debug, info, warn, error, critical; got "loud"');
    expect(() => new JsonLogger({}, 'WARN')).not.toThrow();
  });
});
