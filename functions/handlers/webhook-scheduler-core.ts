/**
 * The scheduler's work (every minute, and the publisher's after it published): every enabled endpoint with
 * something due gets one message on the deliverer queue; the webhook gauges are written.
 */
import { dueEndpointWakes, webhookGauges } from '../adapters/postgres/webhook-delivery-store.js';
import type pg from 'pg';
import { WebhookLogEvent, WebhookMetric } from '../domain/observability.js';
import type { Clock, Logger, Metrics } from '../domain/ports.js';
import type { EndpointWake } from '../domain/webhooks/delivery.js';

export interface WebhookSchedulerOptions {
  db: Pick<pg.Pool, 'query'>;
  enqueue: (wakes: readonly EndpointWake[]) => Promise<void>;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Write the gauges (the scheduler: yes; the publisher's call: no). Default true. */
  gauges?: boolean;
}

export async function scheduleWebhookDeliveries(options: WebhookSchedulerOptions): Promise<{ endpoints: number }> {
  const now = options.clock.now();
  const due = await dueEndpointWakes(options.db, now);
  try {
    await options.enqueue(due);
  } catch (error) {
    options.logger.error(WebhookLogEvent.enqueueFailed, { endpoints: due.length, error });
    throw error;
  }
  if (options.gauges ?? true) {
    const gauges = await webhookGauges(options.db, now);
    options.metrics.gauge(WebhookMetric.longestFailingSeconds, gauges.longestFailingSeconds);
    options.metrics.gauge(WebhookMetric.endpointsDisabled, gauges.endpointsDisabled);
  }
  return { endpoints: due.length };
}
