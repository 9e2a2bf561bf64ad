/**
 * What a chaos run does to the AWS path, and when: drawn from the run's seed, so a failing run is replayed from its
 * seed alone (the interleavings of real timers may differ between two replays; the faults and the chain do not).
 */
import type { Random } from '../support/random.js';

export type FaultKind =
  /** ECS stops the leader task (SIGTERM): it flushes, releases the lease; a new task replaces it. */
  | 'leader_sigterm'
  /** The leader task dies: nothing flushed, nothing released; the lease lapses; a new task replaces it later. */
  | 'leader_crash'
  /** The leader loses DynamoDB for a while: its lease lapses, the standby takes over, and it comes back. */
  | 'lease_loss'
  /** Ogmios drops every connection. */
  | 'ogmios_disconnect'
  /** The database refuses every connection and drops the open ones, longer than the old retry window (15 min). */
  | 'database_outage'
  /** A processor instance dies in the middle of a batch, before or after applying a record. */
  | 'processor_crash'
  /** A message consumed already is delivered again. */
  | 'duplicate_delivery'
  /** A follower's send is held up on the network and lands late (after a takeover, a zombie's message). */
  | 'delayed_delivery'
  /** S3 (the claim-check store) fails every request for a while. */
  | 'claim_check_outage'
  /** The processor stops consuming while the chain moves on past the retained blocks, and the leader changes. */
  | 'processor_far_behind'
  /** An operator rebuilds from a retained block. */
  | 'rebuild'
  /** A business registers a new address, which is then paid. */
  | 'register_address'
  /** The chain forks: up to k blocks replaced. */
  | 'fork'
  /** A message is damaged in the queue: the processor must set it aside and have the chain derived again. */
  | 'poison_message'
  /** A message vanishes from the queue (its retention ran out): the processor must see the gap and recover. */
  | 'lost_message';

export interface Fault {
  kind: FaultKind;
  /** Real milliseconds after the fault phase began. */
  atMs: number;
  /** How long it lasts (outages, held sends), real milliseconds. */
  durationMs: number;
  /** Blocks (forks, the processor's lag beyond the retained blocks). */
  blocks: number;
  /** A free choice in [0, 1): which message, which record, which block. */
  pick: number;
}

export interface FaultPlanSettings {
  /** Real milliseconds faults are injected for. */
  phaseMs: number;
  /** The harness's security parameter: the deepest fork. */
  securityParameter: number;
  /** Blocks the engine retains: "far behind" means more than these. */
  retainedBlocks: number;
  /** Real milliseconds that make 15 minutes of the queue's clock (the old retry window). */
  oldRetryWindowMs: number;
  /** The follower lease's duration, real milliseconds. */
  leaseDurationMs: number;
}

/** Faults every run may draw, with how likely a run is to have each at least once. */
const ODDS: Record<FaultKind, number> = {
  fork: 1,
  leader_sigterm: 0.5,
  leader_crash: 0.4,
  lease_loss: 0.5,
  ogmios_disconnect: 0.5,
  database_outage: 0.4,
  processor_crash: 0.6,
  duplicate_delivery: 0.6,
  delayed_delivery: 0.4,
  claim_check_outage: 0.4,
  processor_far_behind: 0.25,
  rebuild: 0.3,
  register_address: 0.6,
  // At most one of each a run: three recoveries without progress halt the pipeline by design.
  poison_message: 0.3,
  lost_message: 0.3,
};

export function planFaults(random: Random, settings: FaultPlanSettings): Fault[] {
  const faults: Fault[] = [];
  const at = () => random.int(100, settings.phaseMs - 200);
  for (const kind of Object.keys(ODDS) as FaultKind[]) {
    if (!random.chance(ODDS[kind])) continue;
    const times = kind === 'fork' || kind === 'processor_crash' || kind === 'duplicate_delivery' ? random.int(1, 3) : 1;
    for (let n = 0; n < times; n++)
      faults.push({
        kind,
        atMs: at(),
        durationMs: durationOf(kind, random, settings),
        blocks: blocksOf(kind, random, settings),
        pick: random.next(),
      });
  }
  return faults.sort((a, b) => a.atMs - b.atMs);
}

function durationOf(kind: FaultKind, random: Random, settings: FaultPlanSettings): number {
  switch (kind) {
    case 'database_outage':
      // Longer than the old retry window (5 receives × 180 s), up to twice it.
      return random.int(Math.ceil(settings.oldRetryWindowMs * 1.1), settings.oldRetryWindowMs * 2);
    case 'lease_loss':
      return random.int(settings.leaseDurationMs * 2, settings.leaseDurationMs * 4);
    case 'leader_crash':
      return random.int(settings.leaseDurationMs, settings.leaseDurationMs * 3);
    case 'claim_check_outage':
    case 'delayed_delivery':
      return random.int(200, 900);
    default:
      return 0;
  }
}

function blocksOf(kind: FaultKind, random: Random, settings: FaultPlanSettings): number {
  if (kind === 'fork') return random.int(1, settings.securityParameter);
  if (kind === 'processor_far_behind') return settings.retainedBlocks + random.int(5, 20);
  return 0;
}

export function describeFault(fault: Fault): string {
  const extra = [fault.durationMs > 0 ? `${fault.durationMs} ms` : '', fault.blocks > 0 ? `${fault.blocks} blocks` : '']
    .filter(Boolean)
    .join(', ');
  return `${fault.atMs} ms ${fault.kind}${extra ? ` (${extra})` : ''}`;
}
