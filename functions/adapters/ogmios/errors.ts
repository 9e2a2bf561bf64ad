/**
 * Errors of the Ogmios adapters. Every message is built from redacted text only (see redact.ts), and none
 * carries a `cause`: a raw ws or DNS error could echo a URL-embedded API key.
 */
import { describePoint, type Point, type Tip } from '../../domain/chain.js';
import type { JsonValue } from '../../domain/ogmios/lossless-json.js';

export type ConnectFailureKind =
  /** HTTP 401/403 on the upgrade: the API key was refused. */
  | 'unauthorized'
  /** Any other HTTP answer instead of an upgrade (404, 502, 503…). */
  | 'rejected'
  | 'timeout'
  /** DNS, TCP or TLS failure. */
  | 'network'
  /** stop() was called while connecting. */
  | 'aborted';

export class OgmiosConnectError extends Error {
  override readonly name = 'OgmiosConnectError';
  constructor(
    readonly kind: ConnectFailureKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** An established connection ended: closed by either side, dead (no pong), or unusable (bad message). */
export class OgmiosConnectionLostError extends Error {
  override readonly name = 'OgmiosConnectionLostError';
}

/** An answer exceeded the connection's limit on one message (ws closes the connection with 1009 after it). */
export class OgmiosAnswerTooLargeError extends Error {
  override readonly name = 'OgmiosAnswerTooLargeError';
}

/** A request got no answer in time; its connection is abandoned (its state is unknown). */
export class OgmiosRequestTimeoutError extends Error {
  override readonly name = 'OgmiosRequestTimeoutError';
}

/** The server sent something the protocol does not allow at that moment (or that does not decode). */
export class OgmiosProtocolError extends Error {
  override readonly name = 'OgmiosProtocolError';
}

/** A JSON-RPC error answer, e.g. 2001 EraMismatch to a ledger-state query. */
export class OgmiosRpcError extends Error {
  override readonly name = 'OgmiosRpcError';
  constructor(
    readonly method: string,
    readonly code: number,
    serverMessage: string,
    readonly data?: JsonValue,
  ) {
    super(`${method} failed with JSON-RPC error ${code}: ${serverMessage}`);
  }
}

export interface IntersectionRoundReport {
  round: string;
  points: readonly Point[];
}

/**
 * None of the points the client could offer is on the server's chain: wrong network, a relay far behind, or
 * checkpoints from a chain that no longer exists. Following cannot continue without an operator.
 */
export class IntersectionNotFoundError extends Error {
  override readonly name = 'IntersectionNotFoundError';
  readonly pointsTried: readonly Point[];

  constructor(
    readonly rounds: readonly IntersectionRoundReport[],
    readonly serverTip: Tip | 'origin' | undefined,
    /** The redacted URLs of the relays that were asked. */
    readonly relays: readonly string[],
    originAllowed: boolean,
  ) {
    const pointsTried = rounds.flatMap((round) => round.points);
    const tried = rounds.map((round) => `${round.round} ${summarizePoints(round.points)}`).join('; then ');
    const origin = originAllowed || pointsTried.includes('origin') ? '' : ' (origin not allowed)';
    super(
      `No intersection with the chain of ${relays.join(', ')}: tried ${pointsTried.length} point(s): ${tried}${origin}; ` +
        `the server's tip is ${describeTip(serverTip)}`,
    );
    this.pointsTried = pointsTried;
  }
}

export function describeTip(tip: Tip | 'origin' | undefined): string {
  if (tip === undefined) return 'unknown';
  return tip === 'origin' ? 'origin (empty chain)' : `${tip.slot}.${tip.hash} (height ${tip.height})`;
}

/** At most the first two and the last point, so that a message stays readable with 200 points. */
function summarizePoints(points: readonly Point[]): string {
  if (points.length <= 3) return `[${points.map(describePoint).join(', ')}]`;
  const first = points.slice(0, 2).map(describePoint).join(', ');
  return `[${first}, … ${points.length - 3} more …, ${describePoint(points[points.length - 1] as Point)}]`;
}
