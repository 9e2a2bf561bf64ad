/**
 * The follower's emitter port: where the leader's chain events go. On AWS the SQS FIFO emitter implements it
 * (functions/adapters/sqs/chain-event-emitter.ts); tests use an in-memory one.
 */
import type { ChainEvent } from './chain.js';

/** Who emits: the lease's fencing token and the sync generation, carried by every message (one leader session). */
export interface SessionStamp {
  fence: bigint;
  generation: bigint;
}

/** A session's stamp, and the step of that session the first event offered holds (steps are numbered from 1). */
export interface EmissionStamp extends SessionStamp {
  firstStep: bigint;
}

export interface EmitOptions {
  /**
   * Aborts when the leader's term ends (lease lost, or its deadline passed): the emitter must start no further
   * send and give up its retries at once, rejecting. A request already on the wire may still land; the fencing
   * token makes the processor drop it if a newer leader has been heard from.
   */
  signal?: AbortSignal;
}

export interface ChainEventEmitter {
  /**
   * Sends `events` (consecutive chain-sync events, oldest first; it may merge consecutive roll-forwards into one
   * message) stamped with `stamp`, in order. Resolves only once every event is durably accepted by the transport;
   * the follower then counts them as emitted and never offers them again. Rejects otherwise: then any prefix of
   * them may have been accepted, and the follower offers the same events again, in the same order, with the same
   * stamp (so deduplication on the event's identity makes the retry harmless). Every message carries the steps
   * it holds: the i-th event offered holds step firstStep + i (a rollback), or one step per block from there.
   */
  emit(events: readonly ChainEvent[], stamp: EmissionStamp, options?: EmitOptions): Promise<void>;
}
