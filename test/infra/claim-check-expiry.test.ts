/**
 * The claim-check bucket's lifecycle against the chain-event queue, across stacks: a stage whose claim checks
 * would expire before a message pointing to one fails `cdk synth` with a message saying why and what is needed.
 * retention.ts is replaced by a copy with a 15-day expiry (the value this repository shipped before 14-day
 * queue retention), so the real stage composition is what refuses it.
 */
import { Duration } from 'aws-cdk-lib';
import { describe, expect, it, vi } from 'vitest';

vi.mock('../../lib/stacks/retention.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../lib/stacks/retention.js')>()),
  CLAIM_CHECK_EXPIRY: Duration.days(15),
}));

const { ChainEventQueueConfigError } = await import('../../lib/constructs/chain-event-queue.js');
const { stageConfig, synthesizeStage } = await import('./stage-fixture.js');

describe('claim checks shorter than the queue can hold a message', () => {
  it('fail the stage at synth, naming the expiry, the retentions and the minimum', () => {
    const build = () => synthesizeStage(stageConfig('dev'));
    expect(build).toThrow(ChainEventQueueConfigError);
    expect(build).toThrow(
      'ChainEventQueue "ChainEvents": claim checks expire after 15 days, but a message pointing to one may live 14 days in the queue and then 14 days in the DLQ',
    );
    expect(build).toThrow(/the claim-check lifecycle expiry must be at least 29 days/);
  });
});
