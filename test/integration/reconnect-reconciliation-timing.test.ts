/**
 * The reconnect reconciliation starts only once the follower has caught up with the node's tip as reported on the
 * new connection, never on the tip known from before the outage (issue 11, item 3). A real chain-sync client
 * follows a scripted Ogmios; the watcher is fed as the follower task (emitted height) and the local stack
 * (delivered block) feed it, and is asked at the exact moments that matter: when the new socket opens (logged
 * before the intersection is asked for), and when the intersection is found.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { ChainSyncClient } from '../../functions/adapters/ogmios/chain-sync-client.js';
import { OgmiosLogEvent, ReconnectReconciliationLogEvent } from '../../functions/domain/observability.js';
import type { LogFields } from '../../functions/domain/ports.js';
import {
  deliveredTelemetry,
  emittedTelemetry,
  ReconnectReconciliation,
  type ConnectionTelemetry,
} from '../../functions/follower/reconnect-reconciliation.js';
import { RecordingLogger } from '../support/recorders.js';
import { scriptedChain, ScriptedOgmios, waitFor } from '../support/scripted-ogmios.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Calls `onEvent` synchronously as the client logs, so the watcher is asked at that very point of the client's work. */
class HookedLogger extends RecordingLogger {
  constructor(private readonly onEvent: (event: string, fields: LogFields) => void) {
    super();
  }
  override info(event: string, fields: LogFields = {}): void {
    super.info(event, fields);
    this.onEvent(event, fields);
  }
}

type Feed = (client: ChainSyncClient, emittedHeight: bigint | null) => ConnectionTelemetry;
const feeds: Record<string, Feed> = {
  'the follower task (emitted height)': (client, emittedHeight) => emittedTelemetry(client.health(), emittedHeight),
  'the local stack (delivered block)': (client) => deliveredTelemetry(client.health()),
};

describe.each(Object.entries(feeds))('reconnect reconciliation fed as %s', (_name, feed) => {
  it('waits for the intersection and the tip reported with it, then for the follower to reach that tip', async () => {
    const server = await ScriptedOgmios.start(scriptedChain(20));
    cleanups.push(() => server.close());

    let emittedHeight: bigint | null = null;
    const reconciliations: string[] = [];
    const watcherLogger = new RecordingLogger();
    let client: ChainSyncClient | undefined;
    const watcher = new ReconnectReconciliation({
      observe: () => (client === undefined ? undefined : feed(client, emittedHeight)),
      reconcile: async () => void reconciliations.push(`started at emitted height ${emittedHeight}`),
      logger: watcherLogger,
      minIntervalMs: 10 * 60_000,
      now: () => 0,
    });
    cleanups.push(() => watcher.stop());

    // What the watcher answered at each moment of the reconnect, as the client reached it.
    const answers: { moment: string; started: boolean; emittedHeight: bigint | null }[] = [];
    let outage = false;
    const logger = new HookedLogger((event) => {
      if (!outage) return;
      if (event === OgmiosLogEvent.connected) answers.push({ moment: 'socket open', started: watcher.check(), emittedHeight });
      if (event === OgmiosLogEvent.intersectionFound)
        answers.push({ moment: 'intersection found', started: watcher.check(), emittedHeight });
    });
    // The first wait before reconnecting lasts until the test lets it go: the node moves on meanwhile.
    let releaseReconnect!: () => void;
    const reconnectReleased = new Promise<void>((resolve) => (releaseReconnect = resolve));
    let waits = 0;
    client = new ChainSyncClient({
      urls: [server.url],
      knownPoints: ['origin'],
      onEvent: async (event) => {
        if (event.type === 'rollForward') emittedHeight = event.blocks.at(-1)!.height;
      },
      logger,
      metrics: new InMemoryMetrics(),
      pipelineDepth: 10,
      stopDrainTimeoutMs: 20,
      sleep: () => (waits++ === 0 ? reconnectReleased : Promise.resolve()),
    });
    const running = client.run();
    running.catch(() => undefined);
    cleanups.push(() => client!.stop());

    await waitFor(() => emittedHeight === 20n && client!.health().tipSinceIntersection?.height === 20n, 'the follower at the tip, 20');
    expect(watcher.check()).toBe(false); // the first connection is no reconnect

    outage = true;
    server.dropAll();
    await waitFor(() => client!.health().reconnects === 1, 'the connection lost');
    expect(watcher.check()).toBe(false); // away
    server.extend(100); // the node reaches 120 while the follower is away, at 20
    releaseReconnect();

    await waitFor(() => emittedHeight === 120n, 'the catch-up to 120');
    expect(answers).toEqual([
      // The socket is open, the intersection not yet asked for: the only tip known is 20, from before the outage.
      { moment: 'socket open', started: false, emittedHeight: 20n },
      // The intersection's answer says the tip is 120: the follower, at 20, has the outage's blocks to catch up on.
      { moment: 'intersection found', started: false, emittedHeight: 20n },
    ]);
    expect(reconciliations).toEqual([]);

    await waitFor(() => watcher.check(), 'the reconciliation once caught up');
    expect(reconciliations).toEqual(['started at emitted height 120']);
    expect(watcherLogger.events(ReconnectReconciliationLogEvent.triggered)).toEqual([
      expect.objectContaining({ fields: { reconnects: 1, tipHeight: 120n } }),
    ]);
  });
});
