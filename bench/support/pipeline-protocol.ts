/**
 * What the processes of `npm run bench:pipeline` tell each other over their IPC channels: the benchmark (the
 * simulator and the local AWS APIs) forks a follower process (the Fargate task) and a processor process (the
 * Lambda) per repetition. Times are wall-clock milliseconds with sub-millisecond precision
 * (performance.timeOrigin + performance.now()), comparable between processes of the same machine.
 */
import type { ChildProcess } from 'node:child_process';
import type { Network } from '../../functions/domain/network.js';

export const REGION = 'us-east-1';
/** local-aws-sqs and dynalite accept any credentials; s3rver checks signatures against its own fixed ones. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export const wallClockMs = (): number => performance.timeOrigin + performance.now();

export interface FollowerStart {
  type: 'start';
  network: Network;
  simulatorUrl: string;
  databaseUrl: string;
  dynamoEndpoint: string;
  leaseTable: string;
  leaseName: string;
  sqsEndpoint: string;
  queueUrl: string;
  s3Endpoint: string;
  bucket: string;
  /** The follower reports when it has emitted up to this height. */
  targetHeight: number;
  /** Bodies above this go to S3 (undefined: the deployed limit, 1 MiB minus the attributes). */
  maxInlineBodyBytes?: number;
}

export type ToFollower = FollowerStart | { type: 'stop' };

/** What the follower had emitted when everything up to the target height was in the queue. */
export interface FollowerStatistics {
  emits: number;
  blocksEmitted: number;
  messagesSent: number;
  claimChecksStored: number;
  /** CPU time of the follower process since its first emission. */
  cpuMicros: number;
}

export type FromFollower =
  | { type: 'firstEmit'; at: number }
  | { type: 'emittedTarget'; at: number; statistics: FollowerStatistics }
  /** After the target, at the tip: these blocks are in the queue (SQS accepted them). */
  | { type: 'emitted'; heights: number[]; at: number }
  | { type: 'stopped'; peakRssBytes: number };

export interface ProcessorStart {
  type: 'start';
  network: Network;
  databaseUrl: string;
  sqsEndpoint: string;
  queueUrl: string;
  s3Endpoint: string;
  bucket: string;
  confirmations: number;
  /** Long polling: how long a receive may wait for a first message. */
  waitTimeSeconds: number;
  /** The processor reports when the database's applied height reaches this. */
  targetHeight: number;
}

export type ToProcessor =
  | ProcessorStart
  /** From now on, report the height of every block in which payments were detected, with the commit time. */
  | { type: 'reportDetections' }
  | { type: 'stop' }
  /** Apply the messages of the catch-up again, straight to an engine on this (fresh) database. */
  | { type: 'engineAlone'; databaseUrl: string }
  | { type: 'exit' };

export interface CatchUpStatistics {
  messages: number;
  batches: number;
  largestBatch: number;
  claimChecks: number;
  failedRecords: number;
  blocksApplied: number;
  /** CPU time of the processor process from its first message to the target. */
  cpuMicros: number;
  /** Bytes of the message bodies kept for the engine-alone run (held in this process's memory). */
  capturedBytes: number;
  /** Peak RSS of the processor process when it reached the target. */
  peakRssBytes: number;
}

export interface EngineAloneResult {
  messages: number;
  blocks: number;
  seconds: number;
  /** Decoding the captured bodies beforehand (not part of `seconds`). */
  decodeSeconds: number;
  /** The first message that applied blocks: it loads the candidate filters (a cold start). */
  firstMillis: number;
  /** The other messages, sorted. */
  messageMillis: number[];
}

export type FromProcessor =
  | { type: 'polling' }
  | { type: 'reachedTarget'; at: number; statistics: CatchUpStatistics }
  /** Payments of these blocks were committed at `at`; the batch holding them was received at `receivedAt`. */
  | { type: 'detected'; heights: number[]; at: number; receivedAt: number }
  | { type: 'stopped'; failedRecords: number; recoveries: number }
  | { type: 'engineAloneDone'; result: EngineAloneResult }
  | { type: 'exiting'; peakRssBytes: number };

/** The next message of `type` from a child process; rejects if the child exits first or the wait times out. */
export function nextMessage<M extends { type: string }, T extends M['type']>(
  child: ChildProcess,
  type: T,
  timeoutMs: number,
): Promise<Extract<M, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`no '${type}' from process ${child.pid} within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (message: M) => {
      if (message.type === type) finish(undefined, message as Extract<M, { type: T }>);
    };
    const onExit = (code: number | null) => finish(new Error(`process ${child.pid} exited (code ${code}) before sending '${type}'`));
    const finish = (error?: Error, message?: Extract<M, { type: T }>) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(message!);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** A child's side of the channel; resolves once the message is handed to the channel. */
export function sendToParent<M>(message: M): Promise<void> {
  const send = process.send?.bind(process);
  if (!send) throw new Error('this process must be forked with an IPC channel (bench/pipeline.bench.ts does)');
  return new Promise((resolve, reject) =>
    send(message, undefined, undefined, (error: Error | null) => (error ? reject(error) : resolve())),
  );
}
