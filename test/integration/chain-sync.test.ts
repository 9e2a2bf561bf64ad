import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { ChainSyncClient, type ChainSyncClientOptions } from '../../functions/adapters/ogmios/chain-sync-client.js';
import { IntersectionNotFoundError } from '../../functions/adapters/ogmios/errors.js';
import type { ChainEvent, Point } from '../../functions/domain/chain.js';
import { RecordingLogger } from '../support/recorders.js';
import { hashOf, pointOf, refusingUrl, scriptedChain, ScriptedOgmios, waitFor, type ScriptedBlock } from '../support/scripted-ogmios.js';

const servers: ScriptedOgmios[] = [];
const clients: ChainSyncClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.stop()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(chain: ScriptedBlock[]): Promise<ScriptedOgmios> {
  const server = await ScriptedOgmios.start(chain);
  servers.push(server);
  return server;
}

interface Follower {
  client: ChainSyncClient;
  events: ChainEvent[];
  logger: RecordingLogger;
  metrics: InMemoryMetrics;
  run: Promise<void>;
}

/** A client with short timings; `onEvent` records the event (after the optional `consume` step). */
function follow(
  urls: string[],
  options: Partial<ChainSyncClientOptions> & { consume?: (event: ChainEvent) => Promise<void> } = {},
): Follower {
  const events: ChainEvent[] = [];
  const logger = new RecordingLogger();
  const metrics = new InMemoryMetrics();
  const { consume, ...overrides } = options;
  const client = new ChainSyncClient({
    urls,
    knownPoints: ['origin'],
    onEvent: async (event) => {
      await consume?.(event);
      events.push(event);
    },
    logger,
    metrics,
    pipelineDepth: 10,
    connectTimeoutMs: 1_000,
    pingIntervalMs: 1_000,
    pongTimeoutMs: 1_000,
    backoff: { initialDelayMs: 5, maxDelayMs: 20 },
    stopDrainTimeoutMs: 20,
    ...overrides,
  });
  clients.push(client);
  const run = client.run();
  run.catch(() => undefined); // asserted where a test expects it
  return { client, events, logger, metrics, run };
}

/** Events as short labels: `main3` for a block, `back:main7` / `back:origin` for a rollback. */
function summarize(events: readonly ChainEvent[], chains: Record<string, ScriptedBlock[]>): string[] {
  const names = new Map<string, string>();
  for (const [label, chain] of Object.entries(chains))
    for (const block of chain) if (!names.has(block.hash)) names.set(block.hash, `${label}${block.height}`);
  return events.flatMap((event) =>
    event.type === 'rollForward'
      ? event.blocks.map((block) => names.get(block.hash) ?? `?${block.hash.slice(0, 6)}`)
      : [`back:${event.point === 'origin' ? 'origin' : (names.get(event.point.hash) ?? '?')}`],
  );
}

function labels(chain: readonly ScriptedBlock[], label = 'main'): string[] {
  return chain.map((block) => `${label}${block.height}`);
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

function isBlock(event: ChainEvent, block: ScriptedBlock | undefined): boolean {
  return event.type === 'rollForward' && event.blocks[0]?.hash === block?.hash;
}

const unknownPoint = (label: string): Point => ({ slot: 5n, hash: hashOf(`nowhere:${label}`) });

describe('ChainSyncClient pipelining and order', () => {
  it('keeps exactly N nextBlock requests in flight and sends each refill before the event is processed', async () => {
    const chain = scriptedChain(40);
    const server = await serve(chain);
    server.pause();
    const pipelineSeenByConsumer: number[] = [];
    const follower = follow([server.url], {
      pipelineDepth: 5,
      consume: async () => {
        const { inFlight, buffered } = follower.client.health();
        pipelineSeenByConsumer.push(inFlight + buffered);
      },
    });

    await waitFor(() => server.connections[0]?.outstanding === 5, 'the initial burst');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(server.latest.nextBlockRequests).toBe(5);

    server.answer(2); // the intersection roll-backward (swallowed) and block 1
    await waitFor(() => follower.events.length === 1, 'block 1');
    // While block 1 was being processed the server was still paused: the refills had left already.
    expect(follower.client.health().inFlight).toBe(5);
    await waitFor(() => server.latest.outstanding === 5, 'the refills');

    server.resume();
    await waitFor(() => follower.events.length === 40, 'the whole chain');
    expect(server.latest.maxOutstanding).toBe(5);
    expect(pipelineSeenByConsumer.every((count) => count === 5)).toBe(true);
  });

  it('delivers every block once, in chain order, with the default depth of 100', async () => {
    const chain = scriptedChain(300);
    const server = await serve(chain);
    const follower = follow([server.url], {
      pipelineDepth: undefined,
      consume: () => new Promise((resolve) => setImmediate(resolve)),
    });
    await waitFor(() => follower.events.length === 300, 'the whole chain');
    expect(summarize(follower.events, { main: chain })).toEqual(labels(chain));
    expect(server.latest.maxOutstanding).toBe(100);
    expect(follower.metrics.snapshot().counters.chain_events_delivered).toBe(300);
    expect(follower.metrics.snapshot().gauges.chain_tip_height).toBe(300);
    expect(follower.client.health()).toMatchObject({ connected: true, reconnects: 0, position: pointOf(chain[299]!) });
  });

  it('stops refilling while the consumer is slow: nothing beyond the pipeline depth is requested or held', async () => {
    const chain = scriptedChain(60);
    const server = await serve(chain);
    const gate = deferred();
    const follower = follow([server.url], {
      pipelineDepth: 8,
      consume: async (event) => {
        if (isBlock(event, chain[0])) await gate.promise;
      },
    });
    await waitFor(() => server.connections[0]?.outstanding === 0 && follower.client.health().buffered === 8, 'a full buffer');
    const requestsWhileBlocked = server.latest.nextBlockRequests;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.latest.nextBlockRequests).toBe(requestsWhileBlocked);
    // 8 up front, 1 refill for the swallowed roll-backward, 1 for block 1 when it was taken.
    expect(requestsWhileBlocked).toBe(10);
    expect(follower.client.health()).toMatchObject({ inFlight: 0, buffered: 8 });

    gate.resolve();
    await waitFor(() => follower.events.length === 60, 'the whole chain');
    expect(summarize(follower.events, { main: chain })).toEqual(labels(chain));
  });
});

describe('ChainSyncClient intersection', () => {
  it('swallows the roll-backward to where the consumer already is', async () => {
    const chain = scriptedChain(20);
    const server = await serve(chain);
    const follower = follow([server.url], { knownPoints: [pointOf(chain[9]!), pointOf(chain[4]!)] });
    await waitFor(() => follower.events.length === 10, 'blocks 11 to 20');
    expect(summarize(follower.events, { main: chain })).toEqual(labels(chain.slice(10)));
    expect(server.latest.intersections[0]).toEqual([{ slot: chain[9]!.slot, id: chain[9]!.hash }]);
    expect(follower.logger.events('intersection_found')[0]?.fields).toMatchObject({ round: 'recent' });
  });

  it('delivers the roll-backward when the chain switched while the client was away', async () => {
    const main = scriptedChain(10);
    const server = await serve(main);
    const follower = follow([server.url]);
    await waitFor(() => follower.events.length === 10, 'the main chain');

    const fork = scriptedChain(5, 'fork', main[6]);
    server.dropAll();
    server.switchChain([...main.slice(0, 7), ...fork]);

    await waitFor(() => follower.events.length === 16, 'the fork');
    expect(summarize(follower.events, { main, fork })).toEqual([...labels(main), 'back:main7', ...labels(fork, 'fork')]);
    expect(follower.client.health().position).toEqual(pointOf(fork[4]!));
  });

  it('falls back from the recent points to the checkpoints when the recent ones left the chain', async () => {
    const main = scriptedChain(10);
    const server = await serve(main);
    const follower = follow([server.url], { knownPoints: [pointOf(main[1]!)], recentPointsLimit: 3 });
    await waitFor(() => follower.events.length === 8, 'blocks 3 to 10');

    const fork = scriptedChain(4, 'fork', main[4]);
    server.dropAll();
    server.switchChain([...main.slice(0, 5), ...fork]);

    await waitFor(() => follower.events.length === 16, 'the fork');
    expect(summarize(follower.events, { main, fork })).toEqual([
      ...labels(main.slice(2)),
      'back:main2',
      ...labels(main.slice(2, 5)),
      ...labels(fork, 'fork'),
    ]);
    const reconnection = server.connections[1]!;
    expect(reconnection.intersections.map((points) => points.length)).toEqual([3, 1]);
    expect(follower.logger.events('intersection_not_found')[0]?.fields).toMatchObject({ round: 'recent', pointsTried: 3 });
    expect(follower.logger.events('intersection_found')[1]?.fields).toMatchObject({ round: 'checkpoints' });
  });

  it('starts from origin only when allowed, and then tells the consumer to roll back to it', async () => {
    const chain = scriptedChain(5);
    const server = await serve(chain);
    const follower = follow([server.url], { knownPoints: [unknownPoint('a')], allowOriginFallback: true });
    await waitFor(() => follower.events.length === 6, 'the chain');
    expect(summarize(follower.events, { main: chain })).toEqual(['back:origin', ...labels(chain)]);
    expect(server.latest.intersections).toEqual([[{ slot: 5, id: hashOf('nowhere:a') }], ['origin']]);
  });

  it('fails loudly with the points tried and the server tip when nothing intersects', async () => {
    const chain = scriptedChain(5);
    const server = await serve(chain);
    const follower = follow([server.url], { knownPoints: [unknownPoint('a'), unknownPoint('b')] });

    const error = await follower.run.then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(IntersectionNotFoundError);
    const notFound = error as IntersectionNotFoundError;
    expect(notFound.pointsTried).toEqual([unknownPoint('a'), unknownPoint('b')]);
    expect(notFound.serverTip).toEqual({ slot: BigInt(chain[4]!.slot!), hash: chain[4]!.hash, height: 5n });
    expect(notFound.message).toContain(`5.${hashOf('nowhere:a')}`);
    expect(notFound.message).toContain('origin not allowed');
    expect(notFound.message).toContain(`height 5`);
    expect(follower.events).toEqual([]);
    expect(follower.logger.events('chain_sync_failed')).toHaveLength(1);
    await waitFor(() => server.latest.closeCode !== undefined, 'the close frame');
    expect(server.latest.closeCode).toBe(1000);
  });

  it('tries the other relays before failing: a relay on another chain is skipped', async () => {
    const chain = scriptedChain(6);
    const elsewhere = await serve(scriptedChain(6, 'other'));
    const server = await serve(chain);
    const follower = follow([elsewhere.url, server.url], { knownPoints: [pointOf(chain[2]!)] });
    await waitFor(() => follower.events.length === 3, 'blocks 4 to 6');
    expect(summarize(follower.events, { main: chain })).toEqual(labels(chain.slice(3)));
    expect(follower.logger.events('intersection_not_found')).toHaveLength(1);
  });
});

describe('ChainSyncClient resumption', () => {
  it('resumes after the server drops the socket mid-stream: every block exactly once, no gap', async () => {
    const chain = scriptedChain(150);
    const server = await serve(chain);
    server.scripts.push({ dropAfterAnswers: 25 }, { dropAfterAnswers: 40 });
    const follower = follow([server.url], { consume: () => new Promise((resolve) => setImmediate(resolve)) });

    await waitFor(() => follower.events.length === 150, 'the whole chain');
    expect(summarize(follower.events, { main: chain })).toEqual(labels(chain));
    expect(server.connections).toHaveLength(3);
    expect(follower.client.health().reconnects).toBe(2);
    expect(follower.logger.events('ogmios_disconnected')).toHaveLength(2);
  });

  it('lets an event in progress finish when the connection drops, then resumes right after it', async () => {
    const chain = scriptedChain(30);
    const server = await serve(chain);
    // Nothing beyond block 12 is sent on the first connection: the resume point cannot depend on timing.
    server.pause();
    server.answer(13);
    const follower = follow([server.url], {
      consume: async (event) => {
        if (!isBlock(event, chain[11])) return;
        server.dropAll();
        server.resume();
        await new Promise((resolve) => setTimeout(resolve, 30));
      },
    });
    await waitFor(() => follower.events.length === 30, 'the whole chain');
    expect(summarize(follower.events, { main: chain })).toEqual(labels(chain));
    expect(server.connections[1]?.intersections[0]?.[0]).toEqual({ slot: chain[11]!.slot, id: chain[11]!.hash });
  });

  it('never resumes from an epoch boundary block, and does not deliver it twice', async () => {
    const chain = scriptedChain(12, 'byron', undefined, [6]);
    const server = await serve(chain);
    // The first connection sends up to the boundary block (after the intersection roll-backward) and no further.
    server.pause();
    server.answer(7);
    const follower = follow([server.url], {
      consume: async (event) => {
        if (!isBlock(event, chain[5]) || server.connections.length > 1) return;
        server.dropAll();
        server.resume();
      },
    });
    await waitFor(() => follower.events.length === 12, 'the whole chain');
    expect(summarize(follower.events, { byron: chain })).toEqual(labels(chain, 'byron'));
    const offered = server.connections.flatMap((connection) => connection.intersections.flat());
    expect(offered).not.toContainEqual(expect.objectContaining({ id: chain[5]!.hash }));
    // Resumed from the block before the boundary block; its replay was recognised and skipped.
    expect(server.connections[1]?.intersections[0]?.[0]).toEqual({ slot: chain[4]!.slot, id: chain[4]!.hash });
    expect(follower.events.filter((event) => event.type === 'rollBackward')).toEqual([]);
  });

  it('logs a malformed frame, recycles the connection and loses nothing', async () => {
    const chain = scriptedChain(30);
    const server = await serve(chain);
    server.scripts.push({ malformedAfterAnswers: 9 });
    const follower = follow([server.url]);
    await waitFor(() => follower.events.length === 30, 'the whole chain');
    expect(summarize(follower.events, { main: chain })).toEqual(labels(chain));
    expect(server.connections).toHaveLength(2);
    const [invalid] = follower.logger.events('ogmios_message_invalid');
    expect(invalid?.level).toBe('error');
    expect(String(invalid?.fields.reason)).toMatch(/undecodable nextBlock response: .*not valid JSON/);
  });

  it('detects a dead socket by its missing pong and reconnects', async () => {
    const chain = scriptedChain(10);
    const server = await serve(chain);
    const follower = follow([server.url], { pingIntervalMs: 20, pongTimeoutMs: 40 });
    await waitFor(() => follower.events.length === 10, 'the chain');
    server.goSilent();
    await waitFor(() => server.connections.length === 2, 'a new connection');
    expect(follower.client.health().lastError).toMatch(/no pong within 40 ms/);

    server.extend(3);
    await waitFor(() => follower.events.length === 13, 'the new blocks');
    expect(summarize(follower.events, { main: server.chain })).toEqual(labels(server.chain));
    expect(follower.client.health()).toMatchObject({ connected: true, reconnects: 1 });
  });

  it('hands the consumer error back from run() and stops', async () => {
    const chain = scriptedChain(10);
    const server = await serve(chain);
    const failure = new Error('database unavailable');
    const follower = follow([server.url], {
      consume: async (event) => {
        if (isBlock(event, chain[2])) throw failure;
      },
    });
    await expect(follower.run).rejects.toBe(failure);
    expect(follower.events).toHaveLength(2);
    expect(follower.client.health().connected).toBe(false);
    expect(follower.logger.events('chain_sync_failed')[0]?.fields.reason).toBe('database unavailable');
  });
});

describe('ChainSyncClient reconnection policy', () => {
  it('backs off exponentially with full jitter up to the cap, without giving up', async () => {
    const delays: number[] = [];
    const follower = follow([await refusingUrl()], {
      backoff: { initialDelayMs: 1_000, maxDelayMs: 8_000, random: () => 0.999 },
      sleep: async (ms) => {
        delays.push(ms);
        if (delays.length === 7) void follower.client.stop();
        await new Promise((resolve) => setImmediate(resolve));
      },
    });
    await follower.run;
    expect(delays).toEqual([999, 1998, 3996, 7992, 7992, 7992, 7992]);
    expect(follower.client.health()).toMatchObject({ connected: false, reconnects: 7 });
    expect(follower.client.health().lastError).toMatch(/ECONNREFUSED/);
    expect(follower.metrics.snapshot().counters.ogmios_reconnects).toBe(7);
  });

  it('resets the backoff after a connection that followed for the healthy period', async () => {
    const chain = scriptedChain(10);
    const server = await serve(chain);
    server.scripts.push({ dropAfterAnswers: 3 }, { dropAfterAnswers: 3 }, { dropAfterAnswers: 3 });
    // Time only passes while the second connection is open: it alone counts as healthy.
    let time = Date.parse('2026-01-15T12:00:00Z');
    const clock = { now: () => new Date(server.connections.length === 2 ? (time += 31_000) : time) };
    const delays: number[] = [];
    const follower = follow([server.url], {
      clock,
      healthyAfterMs: 30_000,
      backoff: { initialDelayMs: 1_000, maxDelayMs: 60_000, random: () => 0.999 },
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    await waitFor(() => follower.events.length === 10, 'the whole chain');
    expect(server.connections).toHaveLength(4);
    expect(delays).toEqual([999, 999, 1998]);
  });

  it('fails over to the next relay when one refuses connections', async () => {
    const chain = scriptedChain(5);
    const server = await serve(chain);
    const refusing = await refusingUrl();
    const follower = follow([refusing, server.url]);
    await waitFor(() => follower.events.length === 5, 'the chain');
    const [disconnected] = follower.logger.events('ogmios_disconnected');
    expect(disconnected?.fields).toMatchObject({ url: refusing, nextUrl: server.url });
    expect(follower.logger.events('ogmios_connected')[0]?.fields).toMatchObject({ url: server.url, relay: 2 });
  });

  it('rotates to the secondary key on 401 and never reveals a key in logs, health or errors', async () => {
    const primary = 'dmtr_ogmios1primarysecretkey0000000000aaaa';
    const secondary = 'dmtr_ogmios1secondarysecretkey00000000bbbb';
    const hostnameKey = 'dmtr_ogmios1hostnamesecretkey000000000cccc';
    const chain = scriptedChain(5);
    const server = await serve(chain);
    server.requiredApiKey = secondary;
    const keyInHostname = `ws://${hostnameKey}.invalid:1/`;
    const follower = follow([keyInHostname, `${server.url}/?api-key=${hostnameKey}`], { apiKeys: [primary, secondary] });
    await waitFor(() => follower.events.length === 5, 'the chain');

    expect(server.upgradeApiKeys).toEqual([primary, secondary]);
    const [dnsFailure, refused] = follower.logger.events('ogmios_disconnected');
    expect(dnsFailure?.fields).toMatchObject({ url: 'ws://***.invalid:1' });
    expect(String(dnsFailure?.fields.reason)).toContain('***');
    expect(String(refused?.fields.reason)).toContain('HTTP 401 (the API key was refused)');

    // And when every key is refused, for a while:
    server.requiredApiKey = 'another key';
    server.dropAll();
    await waitFor(() => follower.client.health().reconnects >= 6, 'several refused attempts');

    const everything = JSON.stringify(
      [follower.logger.entries, follower.client.health(), follower.metrics.snapshot()],
      (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value),
    ).toLowerCase();
    for (const secret of [primary, secondary, hostnameKey]) expect(everything).not.toContain(secret.toLowerCase());
    expect(everything).toContain('***');
  });
});

describe('ChainSyncClient stop()', () => {
  it('lets the current event finish, delivers nothing after it, drains the pipeline and closes normally', async () => {
    const chain = scriptedChain(50);
    const server = await serve(chain);
    const gate = deferred();
    const follower = follow([server.url], {
      consume: async (event) => {
        if (isBlock(event, chain[4])) await gate.promise;
      },
    });
    // Block 5 in progress and every request answered: the server has seen all the client ever sent.
    await waitFor(() => follower.client.health().buffered === 10 && follower.client.health().inFlight === 0, 'a full buffer');
    let stopped = false;
    const stopping = follower.client.stop().then(() => (stopped = true));
    const requestsAtStop = server.latest.nextBlockRequests;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(stopped).toBe(false);

    gate.resolve();
    await stopping;
    await follower.run;
    expect(summarize(follower.events, { main: chain })).toEqual(labels(chain.slice(0, 5)));
    expect(server.latest.nextBlockRequests).toBe(requestsAtStop);
    expect(server.latest.outstanding).toBe(0);
    await waitFor(() => server.latest.closeCode !== undefined, 'the close frame');
    expect(server.latest.closeCode).toBe(1000);
    expect(follower.client.health().connected).toBe(false);
    expect(follower.logger.events('chain_sync_stopped')).toHaveLength(1);
  });

  it('does not wait for blocks at the tip longer than the drain timeout', async () => {
    const chain = scriptedChain(3);
    const server = await serve(chain);
    const follower = follow([server.url], { stopDrainTimeoutMs: 50 });
    await waitFor(() => follower.events.length === 3, 'the chain');
    const started = Date.now();
    await follower.client.stop();
    // At the tip no block ever comes: without the drain timeout stop() would not return at all.
    expect(Date.now() - started).toBeLessThan(30_000);
    await waitFor(() => server.latest.closeCode !== undefined, 'the close frame');
    expect(server.latest.closeCode).toBe(1000);
  });

  it('interrupts a backoff wait', async () => {
    const follower = follow([await refusingUrl()], { backoff: { initialDelayMs: 60_000, maxDelayMs: 60_000, random: () => 0.999 } });
    await waitFor(() => follower.client.health().reconnects === 1, 'the first failure');
    const started = Date.now();
    await follower.client.stop();
    await follower.run;
    expect(Date.now() - started).toBeLessThan(30_000); // half the 60 s backoff it would otherwise sit out
  });
});
