/** Lets a test's payment engine follow an Ogmios simulator's chain up to its tip, then stop following. */
import { expect, vi } from 'vitest';
import { ChainSyncClient } from '../../functions/adapters/ogmios/chain-sync-client.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { loadResumePoints } from '../../functions/adapters/postgres/resume-points.js';
import type { Point } from '../../functions/domain/chain.js';
import type { OgmiosSimulator } from '../../functions/local/simulator/index.js';
import type { EngineFixture } from './engine-fixture.js';
import { RecordingLogger } from './recorders.js';

/**
 * The engine follows the simulator until it has applied the simulator's tip, then stops following: from the
 * database's own points, or, on a database that has none, from `from`.
 */
export async function applyChainUpToTip(f: EngineFixture, simulator: OgmiosSimulator, from: Point = 'origin'): Promise<void> {
  const tip = simulator.tip();
  if (tip === 'origin') throw new Error('the simulator has no blocks');
  const stored = await loadResumePoints(f.db.pool);
  const client = new ChainSyncClient({
    urls: [simulator.url],
    knownPoints: stored.length > 0 ? stored : [from],
    allowOriginFallback: stored.length === 0 && from === 'origin',
    onEvent: async (event) => {
      await f.engine.apply(event);
    },
    logger: new RecordingLogger(),
    metrics: new InMemoryMetrics(),
    stopDrainTimeoutMs: 20,
  });
  const running = client.run();
  running.catch(() => undefined);
  await vi.waitFor(
    async () => {
      const { rows } = await f.db.pool.query<{ last_block_hash: string | null }>('SELECT last_block_hash FROM sync_state');
      expect(rows[0]?.last_block_hash).toBe(tip.id);
    },
    { timeout: 30_000, interval: 20 },
  );
  await client.stop();
}
