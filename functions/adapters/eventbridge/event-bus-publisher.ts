/**
 * Puts business events on an EventBridge bus: PutEvents with up to 10 entries, in seq order. EventBridge answers
 * per entry; the answer counts the leading entries accepted, so the publisher stops at the first refused one and
 * nothing is published after an event that was not (at-least-once, never reordered: an entry accepted after a
 * refused one in the same call is sent again with it next time).
 */
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE, type EventPublisher, type PublishOutcome, type StoredEvent } from '../../domain/business-events.js';

export const ENTRIES_PER_CALL = 10;

export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: Pick<EventBridgeClient, 'send'>,
    private readonly busName: string,
  ) {}

  async publish(events: readonly StoredEvent[]): Promise<PublishOutcome> {
    let accepted = 0;
    for (let start = 0; start < events.length; start += ENTRIES_PER_CALL) {
      const chunk = events.slice(start, start + ENTRIES_PER_CALL);
      const response = await this.client.send(
        new PutEventsCommand({
          Entries: chunk.map(({ envelope }) => ({
            EventBusName: this.busName,
            Source: EVENT_SOURCE,
            DetailType: envelope.type,
            Detail: JSON.stringify(envelope),
            Time: new Date(envelope.created_at),
            Resources: [],
          })),
        }),
      );
      const entries = response.Entries ?? [];
      for (const [index, event] of chunk.entries()) {
        const entry = entries[index];
        if (!entry?.EventId || entry.ErrorCode) {
          return {
            accepted,
            failure: {
              eventId: event.envelope.id,
              code: entry?.ErrorCode ?? 'NoEntry',
              message: entry?.ErrorMessage ?? 'EventBridge answered without this entry',
            },
          };
        }
        accepted++;
      }
    }
    return { accepted };
  }
}

/** The local stack has no bus: publishing is marking (the pull API and the webhooks read the log itself). */
export class NoBusPublisher implements EventPublisher {
  async publish(events: readonly StoredEvent[]): Promise<PublishOutcome> {
    return { accepted: events.length };
  }
}
