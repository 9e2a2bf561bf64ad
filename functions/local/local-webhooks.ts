/**
 * The outbox publisher and the webhook deliverer inside `npm start`: the same cores as the Lambdas. The publisher
 * has no bus locally (publishing is marking: the pull API and the webhooks read the log itself); it is woken after
 * every engine step that may have written events, then looks for endpoints with work. Each endpoint is served by
 * its own task, one at a time (the same lease as on AWS), so a slow or dead receiver holds only its own task; a
 * poll every second picks up retries that fall due. Plain http goes to loopback only (the client's rule when
 * private destinations are allowed).
 */
import type pg from 'pg';
import { AesGcmSecretSealer, localKeyFile } from '../adapters/crypto/aes-gcm-sealer.js';
import { NoBusPublisher } from '../adapters/eventbridge/event-bus-publisher.js';
import { HttpWebhookClient, type Resolver } from '../adapters/http/webhook-client.js';
import { PostgresOutbox } from '../adapters/postgres/business-events.js';
import { dueEndpoints, PostgresWebhookDeliveryStore } from '../adapters/postgres/webhook-delivery-store.js';
import { describeError, OutboxLogEvent } from '../domain/observability.js';
import type { Clock, Logger, Metrics } from '../domain/ports.js';
import { deliverDue } from '../domain/webhooks/delivery.js';
import type { SecretSealer } from '../domain/webhooks/secret-sealer.js';
import { publishEvents } from '../handlers/event-publisher-core.js';

/** The local sealing key: 32 random bytes made on first use, mode 0600. */
export const LOCAL_WEBHOOK_KEY_FILE = '.data/webhook-secrets.key';

export function localSecretSealer(keyFile = LOCAL_WEBHOOK_KEY_FILE): SecretSealer {
  return new AesGcmSecretSealer(localKeyFile(keyFile));
}

export interface LocalWebhooksOptions {
  pool: pg.Pool;
  sealer: SecretSealer;
  logger: Logger;
  metrics: Metrics;
  clock?: Clock;
  /** How often due retries are looked for. Default 1 s. */
  pollMs?: number;
  /** Name resolution for the deliverer (tests). */
  resolve?: Resolver;
  /** Allow private destinations (default true locally: http to loopback). */
  allowPrivateDestinations?: boolean;
  random?: () => number;
}

export interface LocalWebhooks {
  /** Publish now (and then deliver): after an engine step that may have written events. */
  wake(): void;
  /** Resolves once nothing is publishing or delivering (tests). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export function startLocalWebhooks(options: LocalWebhooksOptions): LocalWebhooks {
  const { pool, logger, metrics } = options;
  const clock = options.clock ?? { now: () => new Date() };
  const outbox = new PostgresOutbox(pool);
  const publisher = new NoBusPublisher();
  const store = new PostgresWebhookDeliveryStore(pool, options.sealer);
  const sender = new HttpWebhookClient({
    allowPrivateDestinations: options.allowPrivateDestinations ?? true,
    ...(options.resolve ? { resolve: options.resolve } : {}),
  });
  const inFlight = new Map<string, Promise<void>>();
  let stopped = false;
  let publishing: Promise<void> | undefined;
  let publishAgain = false;
  let scheduling: Promise<void> | undefined;
  let scheduleAgain = false;

  const failed = (what: string) => (error: unknown) => logger.warn(OutboxLogEvent.localRunFailed, { what, error: describeError(error) });

  const serve = (endpointId: string): void => {
    if (stopped || inFlight.has(endpointId)) return;
    const task = deliverDue(endpointId, {
      store,
      sender,
      clock,
      logger,
      metrics,
      ...(options.random ? { random: options.random } : {}),
      maxEvents: 100,
      shouldStop: () => stopped,
    })
      .then((run) => {
        inFlight.delete(endpointId);
        if (run.more || run.delivered > 0) schedule();
      })
      .catch((error: unknown) => {
        inFlight.delete(endpointId);
        failed('deliver')(error);
      });
    inFlight.set(endpointId, task);
  };

  const schedule = (): void => {
    if (stopped) return;
    if (scheduling) {
      scheduleAgain = true;
      return;
    }
    scheduling = (async () => {
      do {
        scheduleAgain = false;
        for (const endpointId of await dueEndpoints(pool, clock.now())) serve(endpointId);
      } while (scheduleAgain && !stopped);
    })()
      .catch(failed('schedule'))
      .finally(() => {
        scheduling = undefined;
      });
  };

  const publish = (): void => {
    if (stopped) return;
    if (publishing) {
      publishAgain = true;
      return;
    }
    publishing = (async () => {
      do {
        publishAgain = false;
        await publishEvents({ outbox, publisher, clock, logger, metrics });
        schedule();
      } while (publishAgain && !stopped);
    })()
      .catch(failed('publish'))
      .finally(() => {
        publishing = undefined;
      });
  };

  const timer = setInterval(() => {
    publish();
    schedule();
  }, options.pollMs ?? 1_000);
  timer.unref();
  publish();

  const idle = async (): Promise<void> => {
    while (publishing || scheduling || inFlight.size > 0) {
      await Promise.all([publishing, scheduling, ...inFlight.values()]);
    }
  };

  return {
    wake: publish,
    idle,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await idle();
      sender.close();
    },
  };
}
