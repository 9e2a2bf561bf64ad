/**
 * A scripted server speaking just enough Ogmios v6 (findIntersection, nextBlock, queryNetwork/*,
 * queryLedgerState/utxo) to drive the Ogmios clients in tests, with knobs for the failures they must survive:
 * paused answers, dropped sockets, malformed frames, unanswered pings, refused API keys, chain switches.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Point } from '../../functions/domain/chain.js';

export interface ScriptedBlock {
  hash: string;
  height: number;
  /** Absent for an epoch boundary block. */
  slot?: number;
  ancestor: string;
}

/** Blocks `count` long after `after` (or from genesis); heights go on, slots step by 10. */
export function scriptedChain(
  count: number,
  label = 'main',
  after?: ScriptedBlock,
  boundaryBlockAt: readonly number[] = [],
): ScriptedBlock[] {
  const blocks: ScriptedBlock[] = [];
  let previous = after;
  let slot = after?.slot ?? 1_000;
  for (let index = 0; index < count; index++) {
    const height = (previous?.height ?? 0) + 1;
    const boundary = boundaryBlockAt.includes(height);
    if (!boundary) slot += 10;
    const block: ScriptedBlock = {
      hash: hashOf(`${label}:${height}`),
      // An epoch boundary block shares its predecessor's height in Byron; tests only need it slot-less.
      height,
      ancestor: previous?.hash ?? hashOf('genesis'),
      ...(boundary ? {} : { slot }),
    };
    blocks.push(block);
    previous = block;
  }
  return blocks;
}

export function hashOf(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}

export function pointOf(block: ScriptedBlock): Point {
  if (block.slot === undefined) throw new Error('an epoch boundary block has no point');
  return { slot: BigInt(block.slot), hash: block.hash };
}

type WirePoint = 'origin' | { slot: number; id: string };

/** One client connection and what the server saw on it. */
export class ScriptedConnection {
  outstanding = 0;
  maxOutstanding = 0;
  nextBlockRequests = 0;
  answersSent = 0;
  /** The points of each findIntersection, as received. */
  readonly intersections: WirePoint[][] = [];
  closeCode: number | undefined;
  /** Index of the last block sent; -1 before the first. */
  cursor = -1;
  pendingRollback: WirePoint | undefined;
  /** Answers neither requests nor pings: a dead peer behind a live TCP connection. */
  silent = false;
  dropAfterAnswers: number | undefined;
  malformedAfterAnswers: number | undefined;

  constructor(
    readonly socket: WebSocket,
    readonly apiKey: string | undefined,
  ) {}
}

export interface ConnectionScript {
  /** Terminate the socket right after this many nextBlock answers. */
  dropAfterAnswers?: number;
  /** Send a truncated frame in place of the answer after this many. */
  malformedAfterAnswers?: number;
}

export class ScriptedOgmios {
  readonly connections: ScriptedConnection[] = [];
  /** The dmtr-api-key header of every upgrade attempt, accepted or not. */
  readonly upgradeApiKeys: (string | undefined)[] = [];
  /** Scripts for the next connections, in order. */
  readonly scripts: ConnectionScript[] = [];
  /** Every UTxO query's params, as received. */
  readonly utxoQueries: unknown[] = [];
  utxoResult = '[]';
  /** The `result` of queryLedgerState/protocolParameters, as JSON text. */
  protocolParametersResult = '{}';
  /** When set, ledger-state queries are answered with this JSON-RPC error. */
  queryError: { code: number; message: string; data?: unknown } | undefined;
  requiredApiKey: string | undefined;
  private paused = false;
  private answerBudget = 0;

  private constructor(
    private readonly server: WebSocketServer,
    readonly url: string,
    public chain: ScriptedBlock[],
  ) {}

  static async start(chain: ScriptedBlock[] = []): Promise<ScriptedOgmios> {
    let instance: ScriptedOgmios | undefined;
    const server = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      autoPong: false,
      verifyClient: (info, callback) => {
        const header = info.req.headers['dmtr-api-key'];
        const apiKey = Array.isArray(header) ? header[0] : header;
        instance?.upgradeApiKeys.push(apiKey);
        if (instance?.requiredApiKey !== undefined && apiKey !== instance.requiredApiKey) callback(false, 401, 'Unauthorized');
        else callback(true);
      },
    });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    instance = new ScriptedOgmios(server, `ws://127.0.0.1:${port}`, chain);
    const ready = instance;
    server.on('connection', (socket, request) => ready.accept(socket, request.headers['dmtr-api-key'] as string | undefined));
    return instance;
  }

  get latest(): ScriptedConnection {
    const connection = this.connections[this.connections.length - 1];
    if (!connection) throw new Error('no connection yet');
    return connection;
  }

  /** Stop answering nextBlock requests (they keep counting as outstanding). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.flushAll();
  }

  /** While paused: answer this many more requests. */
  answer(count: number): void {
    this.answerBudget += count;
    this.flushAll();
  }

  extend(count: number, label = 'main'): void {
    this.chain = [...this.chain, ...scriptedChain(count, label, this.chain[this.chain.length - 1])];
    this.flushAll();
  }

  /** Replaces the chain; connections past the fork are rolled back to the last common block. */
  switchChain(chain: ScriptedBlock[]): void {
    let common = 0;
    while (common < chain.length && common < this.chain.length && chain[common]?.hash === this.chain[common]?.hash) common++;
    this.chain = chain;
    for (const connection of this.connections) {
      if (connection.cursor < common) continue;
      connection.cursor = common - 1;
      connection.pendingRollback = common === 0 ? 'origin' : wirePoint(chain[common - 1] as ScriptedBlock);
    }
    this.flushAll();
  }

  /** Every open connection stops answering anything, pings included. */
  goSilent(): void {
    for (const connection of this.connections) connection.silent = true;
  }

  dropAll(): void {
    for (const connection of this.connections) connection.socket.terminate();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: WebSocket, apiKey: string | undefined): void {
    const connection = new ScriptedConnection(socket, apiKey);
    const script = this.scripts.shift();
    connection.dropAfterAnswers = script?.dropAfterAnswers;
    connection.malformedAfterAnswers = script?.malformedAfterAnswers;
    this.connections.push(connection);
    socket.on('ping', (data) => {
      if (!connection.silent) socket.pong(data);
    });
    socket.on('close', (code) => {
      connection.closeCode = code;
    });
    socket.on('message', (data) => this.onRequest(connection, JSON.parse(data.toString()) as Request));
  }

  private onRequest(connection: ScriptedConnection, request: Request): void {
    if (connection.silent) return;
    switch (request.method) {
      case 'findIntersection':
        return this.findIntersection(connection, request);
      case 'nextBlock':
        connection.outstanding++;
        connection.nextBlockRequests++;
        connection.maxOutstanding = Math.max(connection.maxOutstanding, connection.outstanding);
        // Answer on the next turn, so that requests arriving together are counted together.
        setImmediate(() => this.flush(connection));
        return;
      case 'queryNetwork/tip':
        return this.reply(
          connection,
          request,
          this.tip() === 'origin' ? '"origin"' : JSON.stringify(wirePoint(this.chain[this.chain.length - 1] as ScriptedBlock)),
        );
      case 'queryNetwork/blockHeight':
        return this.reply(connection, request, String(this.chain[this.chain.length - 1]?.height ?? '"origin"'));
      case 'queryLedgerState/utxo':
        this.utxoQueries.push(request.params);
        return this.reply(connection, request, this.utxoResult);
      case 'queryLedgerState/protocolParameters':
        return this.reply(connection, request, this.protocolParametersResult);
      default:
        connection.socket.send(
          JSON.stringify({ jsonrpc: '2.0', error: { code: -32600, message: 'Invalid request: unknown method' }, id: request.id ?? null }),
        );
    }
  }

  private findIntersection(connection: ScriptedConnection, request: Request): void {
    const points = (request.params?.points ?? []) as WirePoint[];
    connection.intersections.push(points);
    for (const point of points) {
      const index = point === 'origin' ? -1 : this.chain.findIndex((block) => block.hash === point.id && block.slot === point.slot);
      if (point !== 'origin' && index === -1) continue;
      connection.cursor = index;
      connection.pendingRollback = point;
      return this.reply(connection, request, JSON.stringify({ intersection: point, tip: this.tip() }));
    }
    const error = { code: 1000, message: 'No intersection found.', data: { tip: this.tip() } };
    connection.socket.send(JSON.stringify({ jsonrpc: '2.0', method: 'findIntersection', error, id: request.id ?? null }));
  }

  private flushAll(): void {
    for (const connection of this.connections) this.flush(connection);
  }

  private flush(connection: ScriptedConnection): void {
    while (connection.outstanding > 0 && !connection.silent && connection.socket.readyState === connection.socket.OPEN) {
      if (this.paused && this.answerBudget === 0) return;
      const answer = this.nextAnswer(connection);
      if (answer === undefined) return; // at the tip: the request waits for a block, as with Ogmios
      if (this.paused) this.answerBudget--;
      connection.outstanding--;
      connection.answersSent++;
      const malformed = connection.answersSent === connection.malformedAfterAnswers;
      connection.socket.send(malformed ? answer.slice(0, answer.length / 2) : answer);
      if (connection.answersSent === connection.dropAfterAnswers) {
        connection.socket.terminate();
        return;
      }
    }
  }

  private nextAnswer(connection: ScriptedConnection): string | undefined {
    const tip = this.tip();
    if (connection.pendingRollback !== undefined) {
      const point = connection.pendingRollback;
      connection.pendingRollback = undefined;
      return JSON.stringify({ jsonrpc: '2.0', method: 'nextBlock', result: { direction: 'backward', point, tip }, id: null });
    }
    const block = this.chain[connection.cursor + 1];
    if (block === undefined) return undefined;
    connection.cursor++;
    return JSON.stringify({
      jsonrpc: '2.0',
      method: 'nextBlock',
      result: { direction: 'forward', block: blockJson(block), tip },
      id: null,
    });
  }

  private reply(connection: ScriptedConnection, request: Request, resultJson: string): void {
    if (this.queryError !== undefined && request.method.startsWith('query')) {
      connection.socket.send(JSON.stringify({ jsonrpc: '2.0', method: request.method, error: this.queryError, id: request.id ?? null }));
      return;
    }
    connection.socket.send(
      `{"jsonrpc":"2.0","method":${JSON.stringify(request.method)},"result":${resultJson},"id":${JSON.stringify(request.id ?? null)}}`,
    );
  }

  private tip(): 'origin' | { slot: number; id: string; height: number } {
    const last = this.chain.findLast((block) => block.slot !== undefined);
    return last === undefined ? 'origin' : { slot: last.slot as number, id: last.hash, height: last.height };
  }
}

interface Request {
  method: string;
  params?: { points?: unknown[] } & Record<string, unknown>;
  id?: unknown;
}

function wirePoint(block: ScriptedBlock): WirePoint {
  return { slot: block.slot as number, id: block.hash };
}

function blockJson(block: ScriptedBlock): Record<string, unknown> {
  if (block.slot === undefined) return { type: 'ebb', era: 'byron', id: block.hash, ancestor: block.ancestor, height: block.height };
  return {
    type: 'praos',
    era: 'babbage',
    id: block.hash,
    ancestor: block.ancestor,
    height: block.height,
    slot: block.slot,
    size: { bytes: 0 },
    protocol: { version: { major: 9, minor: 0 } },
    transactions: [],
  };
}

/** A ws:// URL on which nothing listens: connecting is refused. */
export async function refusingUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `ws://127.0.0.1:${port}`;
}

/** Polls until `condition` holds; fails the test with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
