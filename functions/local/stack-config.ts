import { parsePoint, type BlockPoint } from '../domain/chain.js';
import { parseNetwork, type Network } from '../domain/network.js';
import { readOgmiosEndpoints, type OgmiosEndpoints } from '../adapters/ogmios/settings.js';

/** The local stack's settings, from the environment; every problem is a clear error before anything starts. */
export interface StackConfig {
  network: Network;
  /** A real Ogmios (OGMIOS_URL), or the built-in simulator when unset. */
  ogmios: OgmiosEndpoints | 'simulator';
  confirmations: number;
  /** Where to start when the database holds no block yet. */
  startPoint: 'origin' | 'tip' | BlockPoint;
  healthPort: number;
}

export function readStackConfig(env: Readonly<Record<string, string | undefined>> = process.env): StackConfig {
  const confirmations = Number(env.CONFIRMATIONS ?? 15);
  if (!Number.isInteger(confirmations) || confirmations < 1) throw new Error(`CONFIRMATIONS must be a whole number ≥ 1; got "${env.CONFIRMATIONS}"`);
  const healthPort = Number(env.HEALTH_PORT ?? 8080);
  if (!Number.isInteger(healthPort) || healthPort < 0 || healthPort > 65_535) throw new Error(`HEALTH_PORT must be a port number; got "${env.HEALTH_PORT}"`);
  const start = env.START_POINT?.trim() || 'tip';
  const startPoint = start === 'tip' ? 'tip' : parsePoint(start);
  return {
    network: parseNetwork(env.NETWORK),
    ogmios: env.OGMIOS_URL?.trim() ? readOgmiosEndpoints(env) : 'simulator',
    confirmations,
    startPoint,
    healthPort,
  };
}
