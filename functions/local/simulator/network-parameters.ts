import { slotToTime, type Network } from '../../domain/network.js';

/**
 * Network parameters the simulator needs: wall-clock time to slot and slot to epoch for the Shelley-based part
 * of each network (the simulator only produces Praos blocks, so every slot it deals with is past the Byron era),
 * and the security parameter k. Slot to time itself comes from ../../domain/network.ts, so the simulator and the
 * monitor agree on block times.
 */

interface ShelleyEpochs {
  /** First slot of the Shelley era (the end of the 20-second Byron slots). */
  firstSlot: number;
  /** Epoch number of that slot. */
  firstEpoch: number;
  /** Slots per epoch from then on (one slot per second). */
  epochLength: number;
}

// From each network's Shelley genesis (epochLength) and its Byron-to-Shelley transition: mainnet after 208 Byron
// epochs of 21,600 slots, preprod after 4, preview with no Byron slots at all.
const SHELLEY_EPOCHS: Record<Network, ShelleyEpochs> = {
  mainnet: { firstSlot: 4_492_800, firstEpoch: 208, epochLength: 432_000 },
  preprod: { firstSlot: 86_400, firstEpoch: 4, epochLength: 432_000 },
  preview: { firstSlot: 0, firstEpoch: 0, epochLength: 86_400 },
};

/** The slot in progress at `timeMs` (Unix milliseconds). Times before the Shelley era map to its first slot. */
export function slotAt(network: Network, timeMs: number): number {
  const { firstSlot } = SHELLEY_EPOCHS[network];
  const firstSlotTimeMs = slotToTime(network, BigInt(firstSlot)).getTime();
  return firstSlot + Math.max(0, Math.floor((timeMs - firstSlotTimeMs) / 1000));
}

export function epochOf(network: Network, slot: number): { epoch: number; slotInEpoch: number } {
  const { firstSlot, firstEpoch, epochLength } = SHELLEY_EPOCHS[network];
  const sinceShelley = Math.max(0, slot - firstSlot);
  return { epoch: firstEpoch + Math.floor(sinceShelley / epochLength), slotInEpoch: sinceShelley % epochLength };
}

/** Unix milliseconds at which `slot` starts. */
export function slotTimeMs(network: Network, slot: number): number {
  return slotToTime(network, BigInt(slot)).getTime();
}

/** The network's system start (slot 0), as Ogmios reports it for `queryNetwork/startTime`. */
export function systemStart(network: Network): Date {
  return slotToTime(network, 0n);
}

/**
 * The security parameter k (Shelley genesis `securityParam`): no rollback goes deeper, and a node keeps the
 * ledger states of the last k blocks only, so points older than that cannot be acquired.
 */
export function securityParameter(network: Network): number {
  return SECURITY_PARAMETER[network];
}

const SECURITY_PARAMETER: Record<Network, number> = { mainnet: 2160, preprod: 2160, preview: 432 };
