/**
 * A few chaos runs of the AWS path in every `npm test` (the full series: `npm run chaos -- --runs 500`). The seeds
 * were chosen so that together they inject every kind of fault (fault-plan.ts). Two negative controls show that
 * the harness tells a broken pipeline apart: a processor that silently loses a payment, and the retry settings
 * before issue 10 (dead-letter after 5 receives, no postponement) under a database outage.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runChaos } from './chaos-run.js';
import { startChaosEnvironment, type StartedChaosEnvironment } from './chaos-environment.js';

/** Together every fault kind (seed 153: twelve of them; seed 10 adds SIGTERM, far behind, duplicates). */
const SEEDS = [153, 10];

let environment: StartedChaosEnvironment;
beforeAll(async () => {
  environment = await startChaosEnvironment({ adminUrl: inject('adminDatabaseUrl'), templateDatabase: inject('templateDatabase') });
});
afterAll(async () => environment?.close());

describe('chaos runs of the AWS path', () => {
  for (const seed of SEEDS) {
    it(`converges by itself after the faults of seed ${seed}, equal to an undisturbed run (replay: npm run chaos -- --runs 1 --seed ${seed})`, async () => {
      const result = await runChaos(seed, environment);
      expect(result.failure, `faults: ${result.faults.join('; ')}`).toBeUndefined();
      expect(result.ok).toBe(true);
      expect(result.statistics.deadLetters).toBe(0);
    }, 180_000);
  }

  it('catches a processor that silently loses a payment', async () => {
    const result = await runChaos(7, environment, 'lose_a_payment');
    expect(result.ok).toBe(false);
    expect(result.failure).toMatch(/payments differ from the undisturbed run/);
  }, 180_000);

  it('catches valid events dead-lettered under the old retry settings during a database outage', async () => {
    const result = await runChaos(7, environment, 'old_retry_settings');
    expect(result.ok).toBe(false);
    expect(result.failure).toMatch(/messages in the DLQ/);
    expect(result.faults.some((fault) => fault.includes('database_outage'))).toBe(true);
  }, 180_000);
});
