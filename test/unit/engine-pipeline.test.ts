import { describe, expect, it } from 'vitest';
import type { ChainEvent } from '../../functions/domain/chain.js';
import { ChainContinuityError } from '../../functions/domain/errors.js';
import type { ApplyOutcome } from '../../functions/domain/payment-engine.js';
import { EnginePipeline } from '../../functions/local/engine-pipeline.js';
import { ChainBuilder } from '../support/chain-builder.js';
import { RecordingLogger } from '../support/recorders.js';

const unchanged: ApplyOutcome = { kind: 'unchanged', reason: 'test' };

function heights(event: ChainEvent): string {
  return event.type === 'rollForward' ? event.blocks.map((b) => b.height).join(',') : 'back';
}

describe('EnginePipeline', () => {
  it('applies events in order, merging consecutive roll-forwards into batches', async () => {
    const applied: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const pipeline = new EnginePipeline({
      engine: {
        apply: async (event) => {
          await gate;
          applied.push(heights(event));
          return unchanged;
        },
      },
      logger: new RecordingLogger(),
      maxBatchBlocks: 3,
    });
    pipeline.start();
    const chain = new ChainBuilder();
    await pipeline.push(chain.forward([chain.next()])); // taken alone while the engine waits on the gate
    for (let i = 0; i < 4; i++) await pipeline.push(chain.forward([chain.next()]));
    await pipeline.push(chain.backward(3n));
    await pipeline.push(chain.forward([chain.next()]));
    release();
    await pipeline.drained();
    await pipeline.stop();
    expect(applied).toEqual(['1', '2,3,4', '5', 'back', '6']);
  });

  it('retries a failed event until it applies, losing nothing', async () => {
    const logger = new RecordingLogger();
    let failures = 2;
    const applied: string[] = [];
    const pipeline = new EnginePipeline({
      engine: {
        apply: async (event) => {
          if (failures-- > 0) throw new Error('connection terminated');
          applied.push(heights(event));
          return unchanged;
        },
      },
      logger,
      retryDelayMs: 1,
    });
    pipeline.start();
    const chain = new ChainBuilder();
    await pipeline.push(chain.forward([chain.next(), chain.next()]));
    await pipeline.drained();
    await pipeline.stop();
    expect(applied).toEqual(['1,2']);
    expect(logger.events('engine_apply_failed')).toHaveLength(2);
  });

  it('reports a divergence and discards what was queued after it, so the source can re-intersect', async () => {
    const chain = new ChainBuilder();
    const diverged: Error[] = [];
    const pipeline = new EnginePipeline({
      engine: {
        apply: async (event) => {
          throw new ChainContinuityError((event as Extract<ChainEvent, { type: 'rollForward' }>).blocks[0]!, null, 'test');
        },
      },
      logger: new RecordingLogger(),
      onDivergence: (error) => diverged.push(error),
    });
    pipeline.start();
    await pipeline.push(chain.forward([chain.next()]));
    await pipeline.drained();
    expect(diverged).toHaveLength(1);
    expect(pipeline.queued).toBe(0);
    await pipeline.stop();
  });

  it('makes push wait while the queue is full', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const pipeline = new EnginePipeline({
      engine: {
        apply: async () => {
          await gate;
          return unchanged;
        },
      },
      logger: new RecordingLogger(),
      capacity: 2,
    });
    pipeline.start();
    const chain = new ChainBuilder();
    await pipeline.push(chain.forward([chain.next()])); // taken by the worker, which waits on the gate
    await pipeline.push(chain.forward([chain.next()]));
    await pipeline.push(chain.forward([chain.next()]));
    let third = false;
    const pending = pipeline.push(chain.forward([chain.next()])).then(() => (third = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(third).toBe(false);
    release();
    await pending;
    expect(third).toBe(true);
    await pipeline.drained();
    await pipeline.stop();
  });
});
