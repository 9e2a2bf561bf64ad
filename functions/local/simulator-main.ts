/**
 * npm run simulator — the Ogmios-compatible simulator on its own, for pointing any Ogmios client at it.
 * Environment: SIMULATOR_PORT (default 1337), NETWORK, SIMULATOR_BLOCK_TIME_MS (default 20000),
 * SIMULATOR_INITIAL_BLOCKS (default 0), SIMULATOR_SOURCE (synthetic | fixtures), SIMULATOR_SEED,
 * SIMULATOR_RETAINED_BLOCKS. Prints `ready <ws url>` on stdout once listening.
 */
import { parseNetwork } from '../domain/network.js';
import { startOgmiosSimulator } from './simulator/index.js';

const numberFrom = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number; got "${process.env[name]}"`);
  return value;
};

const source = process.env.SIMULATOR_SOURCE ?? 'synthetic';
if (source !== 'synthetic' && source !== 'fixtures') throw new Error('SIMULATOR_SOURCE must be synthetic or fixtures');
const simulator = await startOgmiosSimulator({
  network: parseNetwork(process.env.NETWORK),
  port: numberFrom('SIMULATOR_PORT', 1337),
  source,
  blockTimeMs: numberFrom('SIMULATOR_BLOCK_TIME_MS', 20_000),
  initialBlocks: numberFrom('SIMULATOR_INITIAL_BLOCKS', 0),
  retainedBlocks: numberFrom('SIMULATOR_RETAINED_BLOCKS', 10_000),
  seed: process.env.SIMULATOR_SEED ?? 'simulator',
});
// The bytes of the history served, so a benchmark can report MB/s.
const historyBytes = simulator.chain().reduce((total, block) => total + (simulator.blockJson(block.id)?.length ?? 0), 0);
process.stdout.write(`ready ${simulator.url} blocks=${simulator.chain().length} bytes=${historyBytes}\n`);
const stop = () => void simulator.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
