/**
 * npm run simulator — the Ogmios-compatible simulator on its own, for pointing any Ogmios client at it.
 * `--port N` (or SIMULATOR_PORT, default 1337); NETWORK, SIMULATOR_BLOCK_TIME_MS (default 2000, as `npm start`),
 * SIMULATOR_INITIAL_BLOCKS (default 300), SIMULATOR_SOURCE (synthetic | fixtures, with CHAIN_FIXTURES_DIR),
 * SIMULATOR_SEED, SIMULATOR_RETAINED_BLOCKS: the README's configuration table. Prints `ready <ws url>` on stdout
 * once listening; a start that fails (bad settings, a busy port, no fixtures) says why on stderr and exits 1.
 */
import { parseArgs } from 'node:util';
import { readSimulatorSettings } from '../config/local-settings.js';
import { startOgmiosSimulator } from './simulator/index.js';

const USAGE = 'usage: npm run simulator -- [--port <port>]   (the other settings: SIMULATOR_* in the environment)';

/** `--port` wins over SIMULATOR_PORT; anything else on the command line is refused, not ignored. */
function portFromArguments(): number | undefined {
  let values: { port?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({ options: { port: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    process.exit(1);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (values.port === undefined) return undefined;
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65_535) {
    process.stderr.write(`--port must be a port number from 0 to 65535 (0: a free one); got ${JSON.stringify(values.port)}\n${USAGE}\n`);
    process.exit(1);
  }
  return port;
}

/** Why the simulator could not start, in one sentence (no stack trace: none of these is a bug). */
function startFailure(error: unknown, port: number | undefined): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE')
    return `port ${port} is already in use: pass another with --port <port> (or SIMULATOR_PORT; 0 picks a free one)`;
  if (code === 'EACCES') return `port ${port} may not be opened by this user: pass another with --port <port> (above 1023)`;
  return error instanceof Error ? error.message : String(error);
}

const portArgument = portFromArguments();
let port: number | undefined = portArgument;
try {
  const settings = readSimulatorSettings();
  const { network, source, blockTimeMs, initialBlocks, retainedBlocks, seed } = settings;
  port = portArgument ?? settings.port;
  const simulator = await startOgmiosSimulator({ network, port, source, blockTimeMs, initialBlocks, retainedBlocks, seed });
  // The bytes of the history served, so a benchmark can report MB/s.
  const historyBytes = simulator.chain().reduce((total, block) => total + (simulator.blockJson(block.id)?.length ?? 0), 0);
  process.stdout.write(`ready ${simulator.url} blocks=${simulator.chain().length} bytes=${historyBytes}\n`);
  const stop = () => void simulator.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (error) {
  process.stderr.write(`The simulator could not start: ${startFailure(error, port)}\n`);
  process.exit(1);
}
