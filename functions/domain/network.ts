/** The Cardano networks the monitor can follow, and how their slots map to wall-clock time. */
export const NETWORKS = ['mainnet', 'preprod', 'preview'] as const;
export type Network = (typeof NETWORKS)[number];

export function parseNetwork(value: string | undefined): Network {
  const network = value ?? 'mainnet';
  if (!(NETWORKS as readonly string[]).includes(network)) {
    throw new Error(`NETWORK must be one of ${NETWORKS.join(', ')}; got "${network}"`);
  }
  return network as Network;
}

interface SlotClock {
  /** Unix time (seconds) of slot 0. */
  systemStart: number;
  /** Slots before the Shelley hard fork, each of byronSlotSeconds. */
  byronSlots: bigint;
  byronSlotSeconds: number;
  byronEpochSlots: bigint;
}

// From each network's Byron and Shelley genesis files: system start, Byron slot length (20 s) and the
// slot at which Shelley (1 s slots) began.
const CLOCKS: Record<Network, SlotClock> = {
  mainnet: { systemStart: 1_506_203_091, byronSlots: 4_492_800n, byronSlotSeconds: 20, byronEpochSlots: 21_600n },
  preprod: { systemStart: 1_654_041_600, byronSlots: 86_400n, byronSlotSeconds: 20, byronEpochSlots: 21_600n },
  preview: { systemStart: 1_666_656_000, byronSlots: 0n, byronSlotSeconds: 20, byronEpochSlots: 4_320n },
};

export function slotToTime(network: Network, slot: bigint): Date {
  const clock = CLOCKS[network];
  const byron = slot < clock.byronSlots ? slot : clock.byronSlots;
  const seconds = clock.systemStart + Number(byron) * clock.byronSlotSeconds + Number(slot - byron);
  return new Date(seconds * 1000);
}

/** The slot that `time` falls in (after the Shelley hard fork: one-second slots). */
export function timeToSlot(network: Network, time: Date): bigint {
  const clock = CLOCKS[network];
  const shelleyStart = clock.systemStart + Number(clock.byronSlots) * clock.byronSlotSeconds;
  const seconds = Math.floor(time.getTime() / 1000);
  if (seconds < shelleyStart) throw new RangeError(`${time.toISOString()} is before ${network}'s Shelley era`);
  return clock.byronSlots + BigInt(seconds - shelleyStart);
}

/**
 * An epoch boundary block has no slot: it sits at the first slot of the epoch that follows its
 * predecessor's slot (slot 0 when it is the first block of the chain).
 */
export function epochBoundarySlot(network: Network, previousSlot: bigint | undefined): bigint {
  if (previousSlot === undefined) return 0n;
  const epochSlots = CLOCKS[network].byronEpochSlots;
  return (previousSlot / epochSlots + 1n) * epochSlots;
}
