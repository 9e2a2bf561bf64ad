/**
 * The publisher's work: as the only publisher (an advisory lock; another run at the same time skips), read the
 * oldest unpublished events in seq order, put them on the bus, mark the accepted ones published in the same order,
 * and stop at the first refusal (the rest waits for the next run: never reordered). Writes the outbox gauges, and
 * tells the webhook scheduler when something was published (on AWS it then enqueues the endpoints with work).
 */
import { chunks, type EventPublisher, type Outbox, type PublishOutcome } from '../domain/business-events.js';
import { describeError, OutboxLogEvent, OutboxMetric } from '../domain/observability.js';
import type { Clock, Logger, Metrics } from '../domain/ports.js';

export interface EventPublisherOptions {
  outbox: Outbox;
  publisher: EventPublisher;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Events per round (one transaction); rounds go on until the outbox is empty or maxRounds. Default 100. */
  batchSize?: number;
  maxRounds?: number;
  /** Called after a run that published something. */
  afterPublished?: (published: number) => Promise<void>;
}

export interface PublishRun {
  published: number;
  /** False when another publisher held the turn. */
  ran: boolean;
  failed: boolean;
}

export async function publishEvents(options: EventPublisherOptions): Promise<PublishRun> {
  const { outbox, publisher, clock, logger, metrics } = options;
  const batchSize = options.batchSize ?? 100;
  const maxRounds = options.maxRounds ?? 50;
  const run: PublishRun = { published: 0, ran: true, failed: false };
  for (let round = 0; round < maxRounds && !run.failed; round++) {
    const result = await outbox.asOnlyPublisher(async (turn) => {
      const events = await turn.unpublished(batchSize);
      let published = 0;
      for (const chunk of chunks(events, 10)) {
        // A call that fails as a whole (network, throttling) is a refusal of its first event: what this turn
        // published before it is still marked when the turn commits.
        const outcome = await publisher.publish(chunk).catch(
          (error: unknown): PublishOutcome => ({
            accepted: 0,
            failure: { eventId: chunk[0]!.envelope.id, code: error instanceof Error ? error.name : 'Error', message: describeError(error) },
          }),
        );
        await turn.markPublished(
          chunk.slice(0, outcome.accepted).map((event) => event.seq),
          clock.now(),
        );
        published += outcome.accepted;
        if (outcome.failure) {
          metrics.count(OutboxMetric.publishFailures);
          logger.error(OutboxLogEvent.publishFailed, {
            event_id: outcome.failure.eventId,
            error_code: outcome.failure.code,
            error: outcome.failure.message,
            published,
          });
          run.failed = true;
          break;
        }
      }
      const backlog = await turn.backlog(clock.now());
      return { fetched: events.length, published, backlog };
    });
    if (result === null) {
      run.ran = round > 0;
      break;
    }
    run.published += result.published;
    metrics.gauge(OutboxMetric.oldestUnpublishedAgeSeconds, result.backlog.oldestAgeSeconds);
    metrics.gauge(OutboxMetric.unpublishedEvents, result.backlog.unpublished);
    // An empty turn ends the run, not a short one: a publisher that found the turn taken returned at once, trusting
    // the holder with the events committed before it tried; this next turn, begun after the holder's commit, sees them.
    if (result.fetched === 0) break;
  }
  if (run.published > 0) {
    metrics.count(OutboxMetric.eventsPublished, run.published);
    logger.info(OutboxLogEvent.published, { events: run.published });
    await options.afterPublished?.(run.published);
  }
  return run;
}
