/**
 * Which chain events from the AWS follower the engine applies: the rules of leader sessions.
 *
 * A leader session is one leader following the chain from the database's points: it is identified by the sync
 * generation and the leader's fencing token, and it numbers its steps from 1 (a block is a step, a rollback is a
 * step). Before it reads where to resume, a new session writes its token into the database (the fence), so from
 * then on:
 *
 * - an event of an earlier session (a deposed leader, an older generation) is stale: acknowledged, nothing applied;
 * - an event of the current session whose steps are all applied already is a duplicate (a repeated delivery);
 * - an event of the current session that starts beyond the next step means steps were lost (a message set aside
 *   or expired): the stream and the database are out of step, and the leader must follow again;
 * - an event of a session the database was never fenced for (newer than the fence: a database restored to an
 *   earlier state) is out of step too;
 * - while the pipeline is halted (see pipeline-recovery.ts), nothing is applied.
 *
 * Everything else is admitted, and its last step becomes the session's applied step in the same transaction.
 */
import type { EventStamp, LeaderSessionState } from './ports.js';

export type Admission =
  | { kind: 'admitted' }
  | { kind: 'stale'; reason: string }
  | { kind: 'duplicate'; reason: string }
  | { kind: 'halted'; reason: string }
  | { kind: 'out_of_step'; reason: string };

/** An event of an earlier leader session: an older generation, or a deposed leader's lower token in this one. */
export function isFromEarlierSession(
  session: Pick<LeaderSessionState, 'generation' | 'fence'>,
  stamp: { generation: bigint; token: bigint },
): boolean {
  return stamp.generation < session.generation || (stamp.generation === session.generation && stamp.token < session.fence);
}

export function admitEvent(session: LeaderSessionState, stamp: EventStamp): Admission {
  const { steps } = stamp;
  if (isFromEarlierSession(session, stamp)) {
    const reason =
      stamp.generation < session.generation
        ? `sync generation ${stamp.generation} is older than the database's ${session.generation}`
        : `fencing token ${stamp.token} belongs to a deposed leader (the database is fenced at ${session.fence})`;
    return { kind: 'stale', reason };
  }
  if (session.haltedReason !== null) return { kind: 'halted', reason: session.haltedReason };
  if (stamp.generation > session.generation || stamp.token > session.fence) {
    return {
      kind: 'out_of_step',
      reason:
        `the event's session (generation ${stamp.generation}, token ${stamp.token}) was never fenced in this database ` +
        `(generation ${session.generation}, token ${session.fence})`,
    };
  }
  if (steps.last <= session.appliedStep) {
    return {
      kind: 'duplicate',
      reason: `steps ${describeSteps(steps)} of this session are applied already (up to ${session.appliedStep})`,
    };
  }
  if (steps.first > session.appliedStep + 1n) {
    return {
      kind: 'out_of_step',
      reason: `steps ${describeSteps(steps)} follow step ${session.appliedStep}: steps ${describeSteps({ first: session.appliedStep + 1n, last: steps.first - 1n })} are missing`,
    };
  }
  return { kind: 'admitted' };
}

export function describeSteps({ first, last }: { first: bigint; last: bigint }): string {
  return first === last ? `${first}` : `${first}..${last}`;
}
