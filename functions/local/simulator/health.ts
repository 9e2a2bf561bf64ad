/**
 * `GET /health` as Ogmios answers it (openapi.yaml `Health`): 200 when synchronised, 202 while syncing.
 * Synchronisation is computed like Ogmios: how far the tip's time is between the system start and now, to five
 * digits. `lastTipUpdate` is never null, since the official client refuses to connect when it is.
 */
import type { Network } from '../../domain/network.js';
import type { JsonWritable } from './json-writer.js';
import { epochOf, slotTimeMs, systemStart } from './network-parameters.js';
import type { SimulatedBlock } from './simulated-chain.js';

export interface HealthInputs {
  readonly network: Network;
  readonly now: number;
  readonly startedAt: number;
  readonly lastTipUpdate: number;
  readonly tip: SimulatedBlock | undefined;
  readonly activeConnections: number;
  readonly totalConnections: number;
  /** Durations (ms) of the sessions that have ended. */
  readonly sessionDurations: { readonly max: number; readonly mean: number; readonly min: number };
  readonly totalMessages: number;
  readonly totalUnrouted: number;
}

export const SIMULATED_OGMIOS_VERSION = 'v6.14.0';

export function healthReport(inputs: HealthInputs): { status: number; body: JsonWritable } {
  const { tip, network } = inputs;
  const synchronization = tip === undefined ? 0 : synchronizationOf(network, tip.slot, inputs.now);
  const epoch = tip === undefined ? undefined : epochOf(network, tip.slot);
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  const body = {
    startTime: new Date(inputs.startedAt).toISOString(),
    lastKnownTip: tip === undefined ? 'origin' : { slot: tip.slot, id: tip.id, height: tip.height },
    lastTipUpdate: new Date(inputs.lastTipUpdate).toISOString(),
    networkSynchronization: synchronization,
    currentEra: tip?.era ?? null,
    metrics: {
      runtimeStats: {
        maxHeapSize: Math.round(memory.heapTotal / 1024),
        currentHeapSize: Math.round(memory.heapUsed / 1024),
        cpuTime: (cpu.user + cpu.system) * 1000,
        gcCpuTime: 0,
      },
      activeConnections: inputs.activeConnections,
      totalConnections: inputs.totalConnections,
      sessionDurations: inputs.sessionDurations,
      totalMessages: inputs.totalMessages,
      totalUnrouted: inputs.totalUnrouted,
    },
    connectionStatus: 'connected',
    currentEpoch: epoch?.epoch ?? null,
    slotInEpoch: epoch?.slotInEpoch ?? null,
    version: SIMULATED_OGMIOS_VERSION,
    network,
  };
  return { status: synchronization >= 1 ? 200 : 202, body };
}

function synchronizationOf(network: Network, tipSlot: number, now: number): number {
  const start = systemStart(network).getTime();
  const progress = (slotTimeMs(network, tipSlot) - start) / Math.max(1, now - start);
  return Math.min(1, Math.round(progress * 100_000) / 100_000);
}
