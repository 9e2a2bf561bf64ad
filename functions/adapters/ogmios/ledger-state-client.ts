/**
 * One-shot ledger-state queries (network tip, block height, UTxO) for the health endpoint and reconciliation.
 *
 * Uses its own connection, never the chain-sync one: queries must not queue behind a pipeline of blocks. The
 * connection is opened on first use and reopened on demand (Ogmios closes idle ones after 90 s); opening tries
 * each relay and key once. Queries run against the node's current tip, unacquired, except within
 * `withAcquiredTip`, which pins one ledger state on one connection for a series of queries.
 */
import type WebSocket from 'ws';
import type { OutputReference, Point } from '../../domain/chain.js';
import type { JsonValue } from '../../domain/ogmios/lossless-json.js';
import type { Logger } from '../../domain/ports.js';
import { closeSocket, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_MAX_PAYLOAD_BYTES, openOgmiosSocket } from './connection.js';
import { OgmiosConnectionLostError, OgmiosProtocolError } from './errors.js';
import { isObject, RpcChannel } from './json-rpc.js';
import type { OgmiosEndpoints } from './endpoints.js';
import { RelayRotation } from './relays.js';
import { OgmiosLogEvent } from '../../domain/observability.js';
import { decodeUtxoList, type Utxo } from './utxo-decoder.js';
import { decodePoint, decodeUnsigned, encodePoint } from './wire-format.js';
import type { ProtocolParameters } from '../../domain/payouts/transaction-builder.js';
import { decodeProtocolParameters, PROTOCOL_PARAMETERS_QUERY } from './protocol-parameters.js';

export type { Utxo } from './utxo-decoder.js';

/** The endpoints value, whole (relays, headers, keys), and how patient to be. */
export interface LedgerStateClientOptions extends OgmiosEndpoints {
  logger: Logger;
  connectTimeoutMs?: number;
  /** A by-address UTxO query is a scan of the whole UTxO set on the node: allow it time. Default 60 s. */
  requestTimeoutMs?: number;
  maxPayloadBytes?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

/** Queries against one acquired ledger state, all on the connection that acquired it. */
export interface AcquiredLedgerStateQueries {
  /** The acquired point, as Ogmios confirmed it. */
  readonly point: Point;
  /** The acquired state's point (Ogmios answers `queryNetwork/tip` from the acquired state: GetChainPoint). */
  networkTip(): Promise<Point>;
  utxoByAddresses(addresses: readonly string[]): Promise<Utxo[]>;
}

export class LedgerStateClient {
  private readonly relays: RelayRotation;
  private connection: { socket: WebSocket; channel: RpcChannel } | undefined;
  private connecting: Promise<RpcChannel> | undefined;
  private closed = false;

  constructor(private readonly options: LedgerStateClientOptions) {
    this.relays = new RelayRotation(options);
  }

  /** The node's tip (a point: slot and hash, no height). */
  async networkTip(): Promise<Point> {
    return decodePoint(await this.query('queryNetwork/tip'), 'queryNetwork/tip result');
  }

  async networkBlockHeight(): Promise<bigint | 'origin'> {
    const result = await this.query('queryNetwork/blockHeight');
    return result === 'origin' ? 'origin' : decodeUnsigned(result, 'queryNetwork/blockHeight result');
  }

  /** The current protocol parameters a payout transaction needs (fee, sizes, minimum ADA). */
  async protocolParameters(): Promise<ProtocolParameters> {
    return decodeProtocolParameters(await this.query(PROTOCOL_PARAMETERS_QUERY));
  }

  /**
   * Submits a signed transaction; answers its id. A node's refusal throws `OgmiosRpcError` with the ledger's code
   * (3005–3998) and its data. Submitting the same transaction twice is harmless, so a lost connection is retried.
   */
  async submitTransaction(cbor: Uint8Array): Promise<JsonValue> {
    return this.query('submitTransaction', { transaction: { cbor: Buffer.from(cbor).toString('hex') } });
  }

  /** Slow on mainnet (the node scans the whole UTxO set); prefer `utxoByOutputReferences`. */
  async utxoByAddresses(addresses: readonly string[]): Promise<Utxo[]> {
    // An empty filter would ask for the whole UTxO set: gigabytes on mainnet.
    if (addresses.length === 0) return [];
    return decodeUtxoList(await this.query('queryLedgerState/utxo', { addresses: [...addresses] }));
  }

  async utxoByOutputReferences(references: readonly OutputReference[]): Promise<Utxo[]> {
    if (references.length === 0) return [];
    const outputReferences = references.map((reference) => ({ transaction: { id: reference.txId }, index: reference.index }));
    return decodeUtxoList(await this.query('queryLedgerState/utxo', { outputReferences }));
  }

  /**
   * Acquires the node's current tip and runs `queries` against that ledger state, then releases it. The queries
   * go to the acquiring connection only, never retried on another: a lost connection rejects them with
   * `OgmiosConnectionLostError` (a new connection may reach another node), an expired state with `OgmiosRpcError`
   * 2003, a tip that could not be acquired (it moved off the chain meanwhile) with 2000. While this runs, every
   * query of this client reads the acquired state: a caller that pins states should have a client of its own.
   */
  async withAcquiredTip<T>(queries: (state: AcquiredLedgerStateQueries) => Promise<T>): Promise<T> {
    return this.withAcquiredPoint(await this.networkTip(), queries);
  }

  /**
   * As `withAcquiredTip`, for the ledger state after the block `at`. A node keeps the states of its last k blocks
   * only: an older point, or one not on its chain, is refused with `OgmiosRpcError` 2000.
   */
  async withAcquiredPoint<T>(at: Point, queries: (state: AcquiredLedgerStateQueries) => Promise<T>): Promise<T> {
    const channel = await this.open();
    const point = decodeAcquired(await channel.request('acquireLedgerState', { point: encodePoint(at) }));
    try {
      return await queries({
        point,
        networkTip: async () => decodePoint(await channel.request('queryNetwork/tip'), 'queryNetwork/tip result'),
        utxoByAddresses: async (addresses) =>
          addresses.length === 0 ? [] : decodeUtxoList(await channel.request('queryLedgerState/utxo', { addresses: [...addresses] })),
      });
    } finally {
      // A state left acquired would pin the next queries of this connection: a failed release ends the connection.
      if (channel.isOpen) await channel.request('releaseLedgerState').catch(() => this.discard(channel));
    }
  }

  /** Closes the connection; later queries fail. */
  async close(): Promise<void> {
    this.closed = true;
    await this.connecting?.catch(() => undefined);
    const connection = this.connection;
    this.connection = undefined;
    if (connection) await closeSocket(connection.socket);
  }

  private async query(method: string, params?: JsonValue): Promise<JsonValue> {
    try {
      return await (await this.open()).request(method, params);
    } catch (error) {
      // Queries are reads, so one retry is safe; it covers an idle socket the server closed just as we used it.
      if (!(error instanceof OgmiosConnectionLostError)) throw error;
      return (await this.open()).request(method, params);
    }
  }

  private async discard(channel: RpcChannel): Promise<void> {
    const connection = this.connection;
    if (connection?.channel !== channel) return;
    this.connection = undefined;
    await closeSocket(connection.socket);
  }

  private async open(): Promise<RpcChannel> {
    if (this.closed) throw new OgmiosConnectionLostError('the ledger-state client is closed');
    const connection = this.connection;
    if (connection?.channel.isOpen) {
      // A connection kept open between invocations must not outlive the key it was opened with (keyless included).
      if (!(await this.relays.keysChanged())) return connection.channel;
      this.options.logger.info(OgmiosLogEvent.keysChanged, { purpose: 'ledger-state' });
      await this.discard(connection.channel);
    }
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<RpcChannel> {
    let lastError: unknown;
    for (let attempt = 0; attempt < this.relays.combinations; attempt++) {
      const endpoint = this.relays.current();
      try {
        const socket = await openOgmiosSocket(await this.relays.connectTo(), {
          connectTimeoutMs: this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
          maxPayloadBytes: this.options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
          redactor: this.relays.redactor,
        });
        const channel = new RpcChannel(socket, this.relays.redactor, this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
        this.connection = { socket, channel };
        this.options.logger.debug(OgmiosLogEvent.connected, { url: endpoint.safeUrl, relay: endpoint.relay, purpose: 'ledger-state' });
        return channel;
      } catch (error) {
        lastError = error;
        this.relays.afterFailure(error);
        this.options.logger.warn(OgmiosLogEvent.disconnected, {
          url: endpoint.safeUrl,
          reason: this.relays.redactor.errorMessage(error),
          purpose: 'ledger-state',
          nextUrl: this.relays.current().safeUrl,
        });
      }
    }
    throw lastError;
  }
}

function decodeAcquired(result: JsonValue): Point {
  if (!isObject(result) || result.acquired !== 'ledgerState')
    throw new OgmiosProtocolError('acquireLedgerState result is not an acquired ledger state');
  return decodePoint(result.point, 'acquireLedgerState result.point');
}
