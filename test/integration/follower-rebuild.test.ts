/**
 * A rebuild seen from the follower: the leader notices the new sync generation, ends its session and follows
 * again in the same term, from the database's new points, stamping the new generation. The simulator serves the
 * chain, dynalite the lease; the database is a stand-in whose generation and points the test moves as the
 * rebuild's reset does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlockPoint, ChainEvent } from '../../functions/domain/chain.js';
import { assessReadiness, type Readiness } from '../../functions/domain/readiness.js';
import { FollowerLease } from '../../functions/adapters/dynamodb/follower-lease.js';
import { createLeaseTable, LeaseTable } from '../../functions/adapters/dynamodb/lease-table.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { LedgerStateClient } from '../../functions/adapters/ogmios/ledger-state-client.js';
import type { ChainEventEmitter, EmissionStamp } from '../../functions/domain/chain-event-emitter.js';
import type { FollowerDatabase, SessionStart } from '../../functions/adapters/postgres/follower-database.js';
import { FollowerService } from '../../functions/follower/follower-service.js';
import { startOgmiosSimulator, type OgmiosSimulator } from '../../functions/local/simulator/index.js';
import { startDynalite, type LocalDynamoDb } from '../support/dynalite.js';
import { RecordingLogger } from '../support/recorders.js';

const TABLE = 'follower-leases';

class StandInDatabase implements FollowerDatabase {
  generation = 1n;
  points: BlockPoint[] = [];
  async beginSession(): Promise<SessionStart> {
    return { generation: this.generation, resumePoints: this.points };
  }
  async syncGeneration(): Promise<bigint> {
    return this.generation;
  }
  async readiness(freshTipHeight: () => bigint | undefined): Promise<Readiness> {
    return assessReadiness({ databaseReachable: true, appliedHeight: null, networkTipHeight: freshTipHeight() ?? null });
  }
}

class RecordingEmitter implements ChainEventEmitter {
  readonly emitted: { event: ChainEvent; stamp: EmissionStamp }[] = [];
  async emit(events: readonly ChainEvent[], stamp: EmissionStamp): Promise<void> {
    for (const event of events) this.emitted.push({ event, stamp });
  }
}

let dynamo: LocalDynamoDb;
let simulator: OgmiosSimulator;
beforeAll(async () => {
  dynamo = await startDynalite();
  await createLeaseTable(dynamo.client(), TABLE);
  simulator = await startOgmiosSimulator({
    seed: 'follower-rebuild',
    network: 'preprod',
    initialBlocks: 40,
    transactionsPerBlock: { min: 1, max: 2 },
  });
});
afterAll(async () => {
  await simulator.stop();
  await dynamo.stop();
});

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('follower after a rebuild', () => {
  it('re-intersects at the rebuild point in the same term and stamps the new generation from then on', async () => {
    const logger = new RecordingLogger();
    const database = new StandInDatabase();
    const emitter = new RecordingEmitter();
    const lease = new FollowerLease({
      table: new LeaseTable({ client: dynamo.client(), tableName: TABLE, leaseName: 'follower#rebuild-test', requestTimeoutMs: 200 }),
      holderId: 'task-a',
      timings: { leaseDurationMs: 600, renewIntervalMs: 100, safetyMarginMs: 100, acquireIntervalMs: 50 },
      logger,
    });
    const service = new FollowerService({
      lease,
      emitter,
      database,
      ogmios: { urls: [simulator.url], apiKeys: [] },
      ogmiosQueries: new LedgerStateClient({ urls: [simulator.url], logger }),
      startPoint: 'origin',
      logger,
      metrics: new InMemoryMetrics(),
      chainSync: { pipelineDepth: 10, stopDrainTimeoutMs: 100, connectTimeoutMs: 500 },
      generationCheckIntervalMs: 20,
    });
    service.start();
    try {
      const tipHeight = () => BigInt(simulator.chain().at(-1)!.height);
      const lastHeight = () => emitter.emitted.flatMap(({ event }) => (event.type === 'rollForward' ? event.blocks : [])).at(-1)?.height;
      await until(() => lastHeight() === tipHeight(), 'the first session to reach the tip');
      const firstToken = emitter.emitted[0]!.stamp.fence;

      // The rebuild's reset: a new generation, and the database's points now end at the rebuild point.
      const point = simulator.chain()[10]!;
      database.points = [{ slot: BigInt(point.slot), hash: point.id }];
      const before = emitter.emitted.length;
      database.generation = 2n;
      await until(() => emitter.emitted.slice(before).some(({ event }) => event.type === 'rollForward'), 'the new session to emit');

      expect(logger.events('sync_generation_changed')).toHaveLength(1);
      expect(logger.events('sync_generation_changed')[0]!.fields).toMatchObject({ from: 1n, to: 2n, fencingToken: firstToken });
      const after = emitter.emitted.slice(before);
      const firstNew = after.findIndex(({ stamp }) => stamp.generation === 2n);
      // Nothing of the old generation is emitted once the new one has started, and the term is the same.
      expect(after.slice(firstNew).every(({ stamp }) => stamp.generation === 2n && stamp.fence === firstToken)).toBe(true);
      const firstForward = after.slice(firstNew).find(({ event }) => event.type === 'rollForward')!.event;
      expect(firstForward.type === 'rollForward' && firstForward.blocks[0]!.ancestor).toBe(point.id);
      await until(
        () => lastHeight() === tipHeight() && emitter.emitted.at(-1)!.stamp.generation === 2n,
        'the new session to reach the tip',
      );
      expect(service.liveness()).toMatchObject({ role: 'leader', generation: 2n });
    } finally {
      await service.stop(2_000);
    }
  });
});
