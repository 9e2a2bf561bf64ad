/**
 * The event types an endpoint subscribes to: exact types (`payment.confirmed`), a family (`payment.*`) or all (`*`).
 */
import { BUSINESS_EVENT_TYPES } from '../business-events.js';
import { WebhookValidationError } from './validation-error.js';

const MAX_PATTERNS = 50;

export function validateEventTypes(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new WebhookValidationError('events', 'events must be a non-empty array of event types, e.g. ["payment.*"]');
  }
  if (value.length > MAX_PATTERNS) throw new WebhookValidationError('events', `events has more than ${MAX_PATTERNS} entries`);
  const families = new Set(BUSINESS_EVENT_TYPES.map((type) => `${type.split('.')[0]}.*`));
  const patterns: string[] = [];
  for (const [index, pattern] of value.entries()) {
    if (typeof pattern !== 'string' || !(pattern === '*' || families.has(pattern) || BUSINESS_EVENT_TYPES.includes(pattern))) {
      throw new WebhookValidationError(
        `events[${index}]`,
        `unknown event type ${JSON.stringify(pattern)}: one of ${[...BUSINESS_EVENT_TYPES, ...families, '*'].join(', ')}`,
      );
    }
    if (!patterns.includes(pattern)) patterns.push(pattern);
  }
  return patterns;
}

export function matchesEventTypes(type: string, patterns: readonly string[]): boolean {
  return patterns.some(
    (pattern) => pattern === '*' || pattern === type || (pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1))),
  );
}

/** The same patterns as SQL LIKE patterns ('payment.*' → 'payment.%'; no type contains % or _ other than as written). */
export function likePatterns(patterns: readonly string[]): string[] {
  return patterns.map((pattern) => pattern.replace(/\*$/, '%'));
}
