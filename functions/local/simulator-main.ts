/**
 * npm run simulator — the Ogmios-compatible simulator on its own, for pointing any Ogmios client at it.
 * Environment: SIMULATOR_PORT (default 1337), NETWORK, SIMULATOR_BLOCK_TIME_MS (default 20000),
 * SIMULATOR_INITIAL_BLOCKS (default 0), SIMULATOR_SOURCE (synthetic | fixtures), SIMULATOR_SEED,
 * SIMULATOR_RETAINED_BLOCKS. Prints `ready <ws url>` on stdout once listening.
 */
import { readSimulatorSettings } from '../config/local-settings.js';
import { startOgmiosSimulator } from './simulator/index.js';

const { network, port, source, blockTimeMs, initialBlocks, retainedBlocks, seed } = readSimulatorSettings();
const simulator = await startOgmiosSimulator({ network, port, source, blockTimeMs, initialBlocks, retainedBlocks, seed });
// The bytes of the history served, so a benchmark can report MB/s.
const historyBytes = simulator.chain().reduce((total, block) => total + (simulator.blockJson(block.id)?.length ?? 0), 0);
process.stdout.write(`ready ${simulator.url} blocks=${simulator.chain().length} bytes=${historyBytes}\n`);
const stop = () => void simulator.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
