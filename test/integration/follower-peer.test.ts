/**
 * The project's follower and the official @cardano-ogmios/client follow the same simulated chain through
 * forks, side by side: they must see exactly the same events (every block forward and every rollback point),
 * and both end with the simulator's chain. Each fork is made only once both are at the tip, so neither can
 * legitimately skip a branch the other saw.
 */
import { createChainSynchronizationClient, createInteractionContext, type InteractionContext } from '@cardano-ogmios/client';
import type { Block, Point as OgmiosPoint } from '@cardano-ogmios/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainEvent } from '../../functions/domain/chain.js';
import { ChainSyncClient } from '../../functions/adapters/ogmios/chain-sync-client.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { startOgmiosSimulator, type OgmiosSimulator } from '../../functions/local/simulator/index.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { RecordingLogger } from '../support/recorders.js';

let simulator: OgmiosSimulator;
let context: InteractionContext;

beforeAll(async () => {
  simulator = await startOgmiosSimulator({
    seed: 'follower-peer',
    initialBlocks: 30,
    transactionsPerBlock: { min: 1, max: 6 },
    payTo: [{ address: syntheticAddress('mainnet', 'peer') }],
  });
  context = await createInteractionContext(
    (error) => {
      throw error;
    },
    () => undefined,
    { connection: { address: { http: simulator.httpUrl, webSocket: simulator.url } }, maxEventListeners: 20 },
  );
});
afterAll(async () => {
  if (context.socket.readyState === context.socket.OPEN) context.socket.close();
  await simulator.stop();
});

/** What a follower saw, in one vocabulary: `+<block id>` forward, `-<point id>` backward. */
class Observed {
  readonly events: string[] = [];
  readonly chain: string[] = [];
  forward(id: string): void {
    this.events.push(`+${id}`);
    this.chain.push(id);
  }
  backward(id: string | 'origin'): void {
    this.events.push(`-${id}`);
    this.chain.length = id === 'origin' ? 0 : this.chain.lastIndexOf(id) + 1;
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('project follower and official client side by side', () => {
  it('see exactly the same blocks and rollbacks through forks', async () => {
    const ours = new Observed();
    const theirs = new Observed();
    const follower = new ChainSyncClient({
      urls: [simulator.url],
      knownPoints: ['origin'],
      allowOriginFallback: true,
      pipelineDepth: 10,
      stopDrainTimeoutMs: 100,
      logger: new RecordingLogger(),
      metrics: new InMemoryMetrics(),
      onEvent: async (event: ChainEvent) => {
        if (event.type === 'rollForward') for (const block of event.blocks) ours.forward(block.hash);
        else ours.backward(event.point === 'origin' ? 'origin' : event.point.hash);
      },
    });
    const running = follower.run();

    let swallowedIntersection = false;
    const official = await createChainSynchronizationClient(context, {
      rollForward: async ({ block }: { block: Block }, next: () => void) => {
        theirs.forward(block.id);
        next();
      },
      rollBackward: async ({ point }: { point: OgmiosPoint | 'origin' }, next: () => void) => {
        // the official client reports the roll-backward that opens every intersection; ours swallows it
        if (!swallowedIntersection && point === 'origin' && theirs.events.length === 0) swallowedIntersection = true;
        else theirs.backward(point === 'origin' ? 'origin' : point.id);
        next();
      },
    });
    await official.resume(['origin'], 10);

    const tipId = () => simulator.chain().at(-1)!.id;
    const bothAtTip = () => ours.chain.at(-1) === tipId() && theirs.chain.at(-1) === tipId();
    await until(bothAtTip, 'both followers at the tip');
    for (const depth of [1, 3, 2, 5, 1]) {
      simulator.produceBlocks(3);
      await until(bothAtTip, 'both followers at the tip');
      simulator.rollBack(depth);
      await until(bothAtTip, `both followers on the new branch after a fork of depth ${depth}`);
    }

    await follower.stop();
    await running;
    await official.shutdown();

    expect(ours.events.filter((event) => event.startsWith('-')).length).toBe(5);
    expect(ours.events).toEqual(theirs.events);
    expect(ours.chain).toEqual(simulator.chain().map((block) => block.id));
  });
});
