import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Vitest's default (cores − 1) is one worker on a 2-core machine, and most test time is spent waiting on
    // PostgreSQL, which runs in its own processes: two workers there took the suite from 11.6 to 7.1 min (and
    // passed with two busy loops taking both cores as well).
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
