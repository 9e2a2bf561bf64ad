/**
 * Chain sync over one open socket: findIntersection, then pipelined nextBlock requests read in order.
 *
 * Flow control: every request is either in flight or, once answered, a decoded event waiting in the buffer,
 * and the two together never exceed the pipeline depth. A new request is sent when the reader takes an event
 * out (which, for a reader that keeps up, is the moment the response arrives and before the reader processes
 * it). A slow reader therefore stops the refills, and at most `depth` decoded events are ever held. The
 * requests sent while one batch of socket reads is handled leave in a single TCP write (CoalescedSender).
 *
 * The session does not reconnect: any failure (close, error, missing pong, undecodable message) ends it, and
 * `next()` rejects with the reason. Events still buffered then are dropped; the caller resumes from the last
 * event it processed, so they come again.
 */
import type WebSocket from 'ws';
import type { ChainEvent, Point, Tip } from '../../domain/chain.js';
import { decodeNextBlockFrame } from '../../domain/ogmios/fast-block-decoder.js';
import { closeSocket, CoalescedSender, messageFrame, watchLiveness, type LivenessOptions } from './connection.js';
import { OgmiosConnectionLostError, OgmiosProtocolError, OgmiosRpcError } from './errors.js';
import { encodeRequest, isObject, parseResponse, type RpcResponse } from './json-rpc.js';
import { decodePoint, decodeTip, encodePoint } from './wire-format.js';
import type { Redactor } from './redact.js';

export const DEFAULT_PIPELINE_DEPTH = 100;
const INTERSECTION_NOT_FOUND = 1000;

/** Always the same bytes: Ogmios skips decoding a request identical to the previous one. */
const NEXT_BLOCK_REQUEST = encodeRequest('nextBlock');

export type IntersectionOutcome =
  | { found: true; intersection: Point; tip: Tip | 'origin' }
  | { found: false; tip: Tip | 'origin' | undefined };

export interface ChainSyncSessionOptions {
  pipelineDepth: number;
  liveness: LivenessOptions;
  redactor: Redactor;
  /** Called for every message received, before it is handled (for health reporting). */
  onMessage: () => void;
}

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

export class ChainSyncSession {
  private inFlight = 0;
  private readonly buffer: ChainEvent[] = [];
  private reader: Waiter<ChainEvent | null> | undefined;
  private intersection: (Waiter<IntersectionOutcome> & { id: string }) | undefined;
  private intersectionCount = 0;
  private following = false;
  private stopped = false;
  private failure: Error | undefined;
  private drained: (() => void) | undefined;
  private readonly stopWatchingLiveness: () => void;
  private readonly sender: CoalescedSender;

  constructor(
    private readonly socket: WebSocket,
    private readonly options: ChainSyncSessionOptions,
  ) {
    if (!Number.isInteger(options.pipelineDepth) || options.pipelineDepth < 1) throw new Error('pipelineDepth must be a positive integer');
    this.sender = new CoalescedSender(socket);
    socket.on('message', (data) => this.onMessage(data));
    socket.on('close', (code, reason) =>
      this.fail(new OgmiosConnectionLostError(describeClose(code, reason.toString(), options.redactor))),
    );
    socket.on('error', (error) => this.fail(new OgmiosConnectionLostError(`connection failed: ${options.redactor.errorMessage(error)}`)));
    this.stopWatchingLiveness = watchLiveness(socket, options.liveness, (reason) =>
      this.fail(new OgmiosConnectionLostError(`connection is dead: ${reason}`)),
    );
  }

  /** Requests in flight and decoded events not yet taken, for health reporting. */
  get pipeline(): { inFlight: number; buffered: number } {
    return { inFlight: this.inFlight, buffered: this.buffer.length };
  }

  /** Asks for the first of `points` on the server's chain. Only before `startFollowing` (Ogmios error 1001 otherwise). */
  findIntersection(points: readonly Point[]): Promise<IntersectionOutcome> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.stopped) return Promise.reject(new OgmiosConnectionLostError('stopped before intersecting'));
    if (this.following || this.intersection)
      throw new Error('findIntersection must not overlap nextBlock requests or another findIntersection');
    const id = `findIntersection-${++this.intersectionCount}`;
    return new Promise((resolve, reject) => {
      this.intersection = { id, resolve, reject };
      this.send(encodeRequest('findIntersection', { points: points.map(encodePoint) }, id));
    });
  }

  /** Fills the pipeline; from now on the server streams from the intersection. */
  startFollowing(): void {
    this.following = true;
    this.refill();
  }

  /** The next event in chain order; null once `stopRequesting` was called. Rejects when the session failed. */
  next(): Promise<ChainEvent | null> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.stopped) return Promise.resolve(null);
    const event = this.buffer.shift();
    if (event !== undefined) {
      this.refill();
      return Promise.resolve(event);
    }
    return new Promise((resolve, reject) => {
      this.reader = { resolve, reject };
    });
  }

  /** No more requests; buffered events are dropped and `next()` answers null. */
  stopRequesting(): void {
    this.stopped = true;
    this.buffer.length = 0;
    this.takeReader()?.resolve(null);
    if (this.intersection) {
      this.intersection.reject(new OgmiosConnectionLostError('stopped while intersecting'));
      this.intersection = undefined;
    }
  }

  /** After `stopRequesting`: waits (at most `timeoutMs`) for the answers still in flight, and discards them. */
  drain(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0 || this.failure) return Promise.resolve();
    return new Promise((resolve) => {
      // At the tip, a nextBlock is only answered when a block arrives: do not wait for that.
      const timer = setTimeout(finish, timeoutMs);
      function finish(): void {
        clearTimeout(timer);
        resolve();
      }
      this.drained = finish;
    });
  }

  async close(): Promise<void> {
    this.stopWatchingLiveness();
    await closeSocket(this.socket);
  }

  private onMessage(data: WebSocket.RawData): void {
    this.options.onMessage();
    if (this.failure) return;
    if (this.intersection) return this.onIntersectionResponse(data, this.intersection);
    if (this.inFlight === 0) return this.fail(new OgmiosProtocolError('the server sent a message that answers no request'));
    this.inFlight--;
    if (this.stopped) {
      // Draining: the answer is read only so that the protocol ends in a clean state.
      if (this.inFlight === 0) this.drained?.();
      return;
    }
    let event: ChainEvent;
    try {
      const { bytes, text } = messageFrame(data);
      event = decodeNextBlockFrame(bytes, text);
    } catch (error) {
      return this.fail(new OgmiosProtocolError(`undecodable nextBlock response: ${this.options.redactor.errorMessage(error)}`));
    }
    const reader = this.takeReader();
    if (reader === undefined) {
      this.buffer.push(event);
      return;
    }
    // The reader was waiting: the event goes straight to it, and its replacement request leaves first.
    this.refill();
    reader.resolve(event);
  }

  private onIntersectionResponse(data: WebSocket.RawData, request: Waiter<IntersectionOutcome> & { id: string }): void {
    this.intersection = undefined;
    let response: RpcResponse;
    let outcome: IntersectionOutcome;
    try {
      response = parseResponse(data);
      if (response.id !== request.id || (response.method !== undefined && response.method !== 'findIntersection')) {
        throw new OgmiosProtocolError(`expected the answer to ${request.id}, got a message for ${response.method ?? 'an unnamed method'}`);
      }
      outcome = this.intersectionOutcome(response);
    } catch (error) {
      const failure = error instanceof Error ? error : new OgmiosProtocolError(String(error));
      request.reject(failure);
      return this.fail(failure);
    }
    request.resolve(outcome);
  }

  private intersectionOutcome(response: RpcResponse): IntersectionOutcome {
    if (response.error) {
      const { code, message, data } = response.error;
      if (code !== INTERSECTION_NOT_FOUND) throw new OgmiosRpcError('findIntersection', code, this.options.redactor.text(message), data);
      const tip = isObject(data) && data.tip !== undefined ? decodeTip(data.tip, 'error.data.tip') : undefined;
      return { found: false, tip };
    }
    const result = response.result;
    if (!isObject(result)) throw new OgmiosProtocolError('findIntersection result is not an object');
    return { found: true, intersection: decodePoint(result.intersection, 'result.intersection'), tip: decodeTip(result.tip, 'result.tip') };
  }

  private refill(): void {
    while (this.following && !this.stopped && !this.failure && this.inFlight + this.buffer.length < this.options.pipelineDepth) {
      this.inFlight++;
      this.send(NEXT_BLOCK_REQUEST);
    }
  }

  private send(text: string): void {
    // Requests sent while handling one batch of socket reads leave in one write (see CoalescedSender).
    this.sender.send(text);
  }

  private takeReader(): Waiter<ChainEvent | null> | undefined {
    const reader = this.reader;
    this.reader = undefined;
    return reader;
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.buffer.length = 0;
    this.stopWatchingLiveness();
    this.takeReader()?.reject(error);
    this.intersection?.reject(error);
    this.intersection = undefined;
    this.drained?.();
    this.socket.terminate();
  }
}

function describeClose(code: number, reason: string, redactor: Redactor): string {
  // Ogmios closes with a JSON fault as the reason when it loses its node (-32000). Redact before shortening,
  // so that a secret cut in two cannot slip through.
  const because = reason.length > 0 ? `: ${redactor.text(reason).slice(0, 300)}` : '';
  return `connection closed (code ${code})${because}`;
}
