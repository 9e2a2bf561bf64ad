/**
 * The event types an endpoint subscribes to: exact types (`payment.confirmed`), a family (`payment.*`) or all (`*`).
 * Which events they match is one SQL rule (adapters/postgres/event-type-match.ts), used by every statement.
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
