/**
 * The container health check of the follower task, for images without curl:
 *
 *   healthCheck: { command: ['CMD', 'node', '/app/health-check.mjs'], interval: 30 s, timeout: 5 s, retries: 3,
 *                  startPeriod: 60 s }
 *
 * Exits 0 when GET http://127.0.0.1:$HEALTH_PORT/health/live answers 200 within 3 s, 1 otherwise. Liveness, not
 * readiness: a standby and a leader catching up are healthy; a process whose event loop is stuck is not.
 */
import { readHealthCheckSettings } from '../config/health-check-settings.js';
import { probeLiveness } from './liveness-probe.js';

const alive = await (async () => {
  try {
    const { port } = readHealthCheckSettings();
    return port > 0 && (await probeLiveness({ port, timeoutMs: 3_000 }));
  } catch {
    return false; // an unusable HEALTH_PORT: the check fails, as ECS should see it
  }
})();
process.exit(alive ? 0 : 1);
