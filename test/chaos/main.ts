/**
 * `npm run chaos -- --runs N [--seed S]`: N seeded chaos runs of the AWS path (chaos-run.ts), one after another.
 * Prints each run with the faults it injected, and for a failing run the seed and the command that replays it;
 * exits 1 when any run failed.
 */
import { parseArgs } from 'node:util';
import { runChaos, type ChaosRunResult } from './chaos-run.js';
import { startChaosEnvironment } from './chaos-environment.js';

const USAGE = 'usage: npm run chaos -- --runs <n> [--seed <s>] [--verbose]';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '10' },
      seed: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const runs = Number(values.runs);
  const firstSeed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive whole number\n${USAGE}`);
  if (!Number.isInteger(firstSeed) || firstSeed < 0 || firstSeed >= 2 ** 32)
    throw new Error(`--seed must be a whole number below 2^32\n${USAGE}`);

  const environment = await startChaosEnvironment();
  const results: ChaosRunResult[] = [];
  const started = performance.now();
  try {
    for (let index = 0; index < runs; index++) {
      const seed = (firstSeed + index) >>> 0;
      const result = await runChaos(seed, environment);
      results.push(result);
      const line =
        `run ${index + 1}/${runs} seed ${seed}: ${result.ok ? 'ok' : 'FAILED'} in ${(result.durationMs / 1000).toFixed(1)} s` +
        (result.convergedInMs === null ? '' : `, converged ${(result.convergedInMs / 1000).toFixed(1)} s after the faults`) +
        ` — ${result.faults.length} faults: ${summarise(result.faults)}`;
      console.log(line);
      if (values.verbose || !result.ok) console.log(`  faults: ${result.faults.join('; ')}\n  ${JSON.stringify(result.statistics)}`);
      if (!result.ok) console.log(`  failure: ${result.failure}\n  replay: npm run chaos -- --runs 1 --seed ${seed}`);
    }
  } finally {
    await environment.close();
  }
  const failed = results.filter((result) => !result.ok);
  const totals = sumStatistics(results);
  console.log(
    `\n${results.length} runs, ${failed.length} failures, ${((performance.now() - started) / 1000).toFixed(0)} s; first seed ${firstSeed}`,
  );
  console.log(`injected: ${summarise(results.flatMap((result) => result.faults))}`);
  console.log(`totals: ${JSON.stringify(totals)}`);
  if (failed.length > 0) console.log(`failed seeds: ${failed.map((result) => result.seed).join(', ')}`);
  return failed.length === 0 ? 0 : 1;
}

function summarise(faults: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const fault of faults) {
    const kind = fault.split(' ')[2]!;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts].map(([kind, count]) => `${kind}×${count}`).join(' ');
}

function sumStatistics(results: readonly ChaosRunResult[]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const { statistics } of results) for (const [key, value] of Object.entries(statistics)) totals[key] = (totals[key] ?? 0) + value;
  return totals;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
