/**
 * The container health check of the follower task, for images without curl:
 *
 *   healthCheck: { command: ['CMD', 'node', '/app/health-check.mjs'], interval: 30 s, timeout: 5 s, retries: 3,
 *                  startPeriod: 60 s }
 *
 * Exits 0 when GET http://127.0.0.1:$HEALTH_PORT/health/live answers 200 within 3 s, 1 otherwise. Liveness, not
 * readiness: a standby and a leader catching up are healthy; a process whose event loop is stuck is not.
 */
import { probeLiveness } from './liveness-probe.js';

const port = Number(process.env.HEALTH_PORT?.trim() || 8080);
const alive = Number.isInteger(port) && port > 0 && port <= 65_535 && (await probeLiveness({ port, timeoutMs: 3_000 }));
process.exit(alive ? 0 : 1);
