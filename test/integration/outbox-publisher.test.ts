/**
 * The outbox publisher: in seq order, stopping at the first refused entry (never reordering), one publisher at a
 * time, against real PostgreSQL. EventBridge has no faithful local implementation, so the EventBridge adapter is
 * tested against a stubbed client (the only stub here): what it sends and how it reads per-entry failures.
 */
import type { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventBridgePublisher } from '../../functions/adapters/eventbridge/event-bus-publisher.js';
import { outboxBacklog, PostgresOutbox } from '../../functions/adapters/postgres/business-events.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import type { EventPublisher, PublishOutcome, StoredEvent } from '../../functions/domain/business-events.js';
import { publishEvents } from '../../functions/handlers/event-publisher-core.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { RecordingLogger } from '../support/recorders.js';

let db: TestDatabase;
let counter = 0;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());
beforeEach(async () => {
  await db.pool.query('UPDATE business_events SET published_at = now() WHERE published_at IS NULL');
});

async function addEvents(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const resource = `pub${++counter}#0`;
    const { rows } = await db.pool.query(
      `INSERT INTO business_events (id, type, resource_type, resource_id, version, data)
       VALUES (business_event_id('payment.detected', $1, 1), 'payment.detected', 'payment', $1, 1, '{}') RETURNING id`,
      [resource],
    );
    ids.push(rows[0].id);
  }
  return ids;
}

/** A bus that accepts everything, or refuses the event with the given id (every time it is offered). */
class RecordingBus implements EventPublisher {
  readonly published: string[] = [];
  refuse: string | undefined;
  async publish(events: readonly StoredEvent[]): Promise<PublishOutcome> {
    for (const [index, event] of events.entries()) {
      if (event.envelope.id === this.refuse) {
        return { accepted: index, failure: { eventId: event.envelope.id, code: 'InternalFailure', message: 'refused' } };
      }
      this.published.push(event.envelope.id);
    }
    return { accepted: events.length };
  }
}

const run = (bus: EventPublisher, extra: Partial<Parameters<typeof publishEvents>[0]> = {}) =>
  publishEvents({
    outbox: new PostgresOutbox(db.pool),
    publisher: bus,
    clock: { now: () => new Date() },
    logger: new RecordingLogger(),
    metrics: new InMemoryMetrics(),
    batchSize: 7,
    ...extra,
  });

const unpublished = async () =>
  (await db.pool.query<{ id: string }>('SELECT id FROM business_events WHERE published_at IS NULL ORDER BY seq')).rows.map((r) => r.id);

describe('the publisher', () => {
  it('publishes everything in seq order across rounds and marks it published', async () => {
    const ids = await addEvents(23);
    const bus = new RecordingBus();
    const metrics = new InMemoryMetrics();
    expect(await run(bus, { metrics })).toMatchObject({ published: 23, failed: false });
    expect(bus.published).toEqual(ids);
    expect(await unpublished()).toEqual([]);
    expect(metrics.snapshot().gauges).toMatchObject({ outbox_oldest_unpublished_age_seconds: 0 });
  });

  it('stops at the first refused event: what follows waits, and nothing is published out of order', async () => {
    const ids = await addEvents(12);
    const bus = new RecordingBus();
    bus.refuse = ids[4];
    const logger = new RecordingLogger();
    expect(await run(bus, { logger })).toMatchObject({ published: 4, failed: true });
    expect(bus.published).toEqual(ids.slice(0, 4));
    expect(await unpublished()).toEqual(ids.slice(4));
    expect(logger.events('outbox_publish_failed')).toMatchObject([{ level: 'error', fields: { event_id: ids[4] } }]);
    expect((await outboxBacklog(db.pool, new Date())).unpublished).toBe(8);

    bus.refuse = undefined;
    expect(await run(bus)).toMatchObject({ published: 8, failed: false });
    expect(bus.published).toEqual(ids);
  });

  it('a call that fails as a whole stops the run; what was accepted before it stays published', async () => {
    const ids = await addEvents(15);
    let calls = 0;
    const flaky: EventPublisher = {
      async publish(events) {
        if (++calls === 2) throw new Error('socket hang up');
        return { accepted: events.length };
      },
    };
    expect(await run(flaky)).toMatchObject({ published: 7, failed: true });
    expect(await unpublished()).toEqual(ids.slice(7));
  });

  it('one publisher at a time: a second one skips while the first holds the turn', async () => {
    await addEvents(3);
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const slowBus: EventPublisher = {
      async publish(events) {
        entered();
        await held;
        return { accepted: events.length };
      },
    };
    const first = run(slowBus);
    await inside;
    const second = new RecordingBus();
    expect(await run(second)).toMatchObject({ ran: false, published: 0 });
    expect(second.published).toEqual([]);
    release();
    expect(await first).toMatchObject({ published: 3 });
  });

  it('an event committed while the turn is held, whose publisher found the turn taken, is published by the holder', async () => {
    const [first] = await addEvents(1);
    let late: string[] = [];
    const bus = new RecordingBus();
    const holder: EventPublisher = {
      async publish(events) {
        if (late.length === 0) {
          // committed after the holder read the outbox; its own publisher finds the turn taken and returns
          late = await addEvents(1);
          expect(await run(new RecordingBus())).toMatchObject({ ran: false });
        }
        return bus.publish(events);
      },
    };
    expect(await run(holder, { batchSize: 100 })).toMatchObject({ published: 2 });
    expect(bus.published).toEqual([first, ...late]);
    expect(await unpublished()).toEqual([]);
  });

  it('calls afterPublished (the webhook scheduler on AWS) only when it published something', async () => {
    const calls: number[] = [];
    await run(new RecordingBus(), { afterPublished: async (n) => void calls.push(n) });
    await addEvents(2);
    await run(new RecordingBus(), { afterPublished: async (n) => void calls.push(n) });
    expect(calls).toEqual([2]);
  });
});

describe('the EventBridge adapter (stubbed client: EventBridge has no local implementation)', () => {
  const events = (n: number): StoredEvent[] =>
    Array.from({ length: n }, (_, i) => ({
      seq: BigInt(i + 1),
      envelope: { id: `evt_${i}`, type: 'payment.confirmed', created_at: '2026-01-01T00:00:00.000Z', version: 1, data: { n: i } },
    }));

  it('sends up to 10 entries per call, in order, with source, detail-type and the envelope as detail', async () => {
    const calls: PutEventsCommand['input'][] = [];
    const client = {
      send: async (command: PutEventsCommand) => {
        calls.push(command.input);
        return { FailedEntryCount: 0, Entries: command.input.Entries!.map((_, i) => ({ EventId: `e${i}` })) };
      },
    };
    const publisher = new EventBridgePublisher(client as never, 'bus-test');
    expect(await publisher.publish(events(23))).toEqual({ accepted: 23 });
    expect(calls.map((call) => call.Entries!.length)).toEqual([10, 10, 3]);
    const entry = calls[0]!.Entries![0]!;
    expect(entry).toMatchObject({ EventBusName: 'bus-test', Source: 'payment-monitor', DetailType: 'payment.confirmed' });
    expect(JSON.parse(entry.Detail!)).toEqual(events(1)[0]!.envelope);
    expect(calls.flatMap((call) => call.Entries!.map((e) => JSON.parse(e.Detail!).id))).toEqual(events(23).map((e) => e.envelope.id));
  });

  it('counts the entries accepted before the first failed one, and sends nothing after it', async () => {
    let calls = 0;
    const client = {
      send: async (command: PutEventsCommand) => {
        calls++;
        return {
          FailedEntryCount: 1,
          Entries: command.input.Entries!.map((_, i) =>
            i === 3 ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' } : { EventId: `e${i}` },
          ),
        };
      },
    };
    const outcome = await new EventBridgePublisher(client as never, 'bus-test').publish(events(25));
    expect(outcome).toEqual({ accepted: 3, failure: { eventId: 'evt_3', code: 'ThrottlingException', message: 'slow down' } });
    expect(calls).toBe(1);
  });
});
