/**
 * One client connection (a WebSocket, or a single HTTP request): routes each JSON-RPC message to its
 * mini-protocol (chain sync, ledger state, transaction submission) and keeps that connection's state.
 */
import type { Network } from '../../domain/network.js';
import type { ChainProducer } from './chain-producer.js';
import { ChainSyncSession, type ChainSyncHooks } from './chain-sync.js';
import { LedgerStateSession } from './ledger-state.js';
import { validateAddress } from '../../domain/address.js';
import {
  InvalidParams,
  readAcquirePoint,
  readIntersectionPoints,
  readPaymentTarget,
  readRollBack,
  type RollBackRequest,
  readTransactionCbor,
  readUtxoFilter,
} from './request-params.js';
import type { PaymentTarget } from './synthetic-transactions.js';
import { parseRequest, type ParsedMessage, type RpcRequest } from './rpc-request.js';
import { errorMessage, invalidRequestMessage, resultMessage, type MessageSink } from './rpc-messages.js';
import type { ChainPoint } from './simulated-chain.js';
import { TransactionCborError } from './transaction-cbor.js';

/** Methods the simulator serves. */
const SERVED_METHODS = [
  'findIntersection',
  'nextBlock',
  'acquireLedgerState',
  'releaseLedgerState',
  'queryLedgerState/tip',
  'queryLedgerState/utxo',
  'queryLedgerState/epoch',
  'queryLedgerState/protocolParameters',
  'queryNetwork/tip',
  'queryNetwork/blockHeight',
  'queryNetwork/startTime',
  'submitTransaction',
] as const;

/**
 * The other Ogmios v6.14 methods. Real Ogmios serves them; the simulator answers them with -32601 and `method`,
 * so that a client learns at once that the simulator lacks them (instead of an "unknown method" that would be
 * untrue, or silence).
 */
const UNSUPPORTED_METHODS = [
  'evaluateTransaction',
  'acquireMempool',
  'nextTransaction',
  'hasTransaction',
  'sizeOfMempool',
  'releaseMempool',
  'queryLedgerState/constitution',
  'queryLedgerState/constitutionalCommittee',
  'queryLedgerState/delegateRepresentatives',
  'queryLedgerState/dump',
  'queryLedgerState/eraStart',
  'queryLedgerState/eraSummaries',
  'queryLedgerState/governanceProposals',
  'queryLedgerState/liveStakeDistribution',
  'queryLedgerState/nonces',
  'queryLedgerState/operationalCertificates',
  'queryLedgerState/projectedRewards',
  'queryLedgerState/rewardAccountSummaries',
  'queryLedgerState/rewardsProvenance',
  'queryLedgerState/stakePools',
  'queryLedgerState/stakePoolsPerformances',
  'queryLedgerState/treasuryAndReserves',
  'queryNetwork/genesisConfiguration',
] as const;

/**
 * Controls of the simulated chain, for the local stack's walkthroughs (`npm run cli -- simulate …`): not Ogmios
 * methods (a real Ogmios answers them -32601), so a client of a real node can never reach them.
 */
const CONTROL_METHODS = ['simulator/queuePayment', 'simulator/rollBack'] as const;

const KNOWN_METHODS: ReadonlySet<string> = new Set<string>([...SERVED_METHODS, ...UNSUPPORTED_METHODS, ...CONTROL_METHODS]);
const UNSUPPORTED: ReadonlySet<string> = new Set<string>(UNSUPPORTED_METHODS);

/** Eras a submitted transaction is tried in, for the per-era reasons of a deserialisation failure. */
const SUBMISSION_ERAS = ['shelley', 'allegra', 'mary', 'alonzo', 'babbage', 'conway'] as const;

export interface SessionCounters {
  totalMessages: number;
  /** Messages that could not be routed (answered with -32600). */
  totalUnrouted: number;
}

export class ClientSession {
  readonly chainSync: ChainSyncSession;
  private readonly ledgerState: LedgerStateSession;
  private readonly unobserve: () => void;
  /** Ogmios skips decoding when a message repeats the previous one byte for byte (pipelined `nextBlock`s do). */
  private lastText = '';
  private lastParsed: ParsedMessage | undefined;

  constructor(
    private readonly network: Network,
    private readonly producer: ChainProducer,
    private readonly sink: MessageSink,
    private readonly counters: SessionCounters,
    chainSyncHooks: ChainSyncHooks,
  ) {
    this.chainSync = new ChainSyncSession(producer.chain, sink, chainSyncHooks);
    this.ledgerState = new LedgerStateSession(network, producer.chain, producer.ledger, sink);
    this.unobserve = producer.observe({
      onRollBack: (point: ChainPoint, height: number) => this.chainSync.onRollBack(point, height),
      onChainChanged: () => this.chainSync.onChainChanged(),
    });
  }

  handleMessage(text: string): void {
    this.counters.totalMessages++;
    const parsed = text === this.lastText && this.lastParsed !== undefined ? this.lastParsed : parseRequest(text, KNOWN_METHODS);
    this.lastText = text;
    this.lastParsed = parsed;
    if (parsed.kind === 'invalid') {
      this.counters.totalUnrouted++;
      this.sink.send(invalidRequestMessage(parsed.message, parsed.idJson), 'error');
      return;
    }
    const { request } = parsed;
    try {
      this.route(request);
    } catch (error) {
      if (error instanceof InvalidParams) {
        this.counters.totalUnrouted++;
        this.sink.send(invalidRequestMessage(error.message, request.idJson), 'error');
        return;
      }
      // A fault of the simulator itself: answer it as Ogmios answers an internal error, and keep serving.
      const message = `Internal error while handling '${request.method}': ${error instanceof Error ? error.message : String(error)}`;
      this.sink.send(errorMessage(request.method, { code: -32603, message }, request.idJson), 'error');
    }
  }

  /** Stops following the chain (the connection is gone). */
  close(): void {
    this.unobserve();
  }

  private route({ method, params, idJson }: RpcRequest): void {
    switch (method) {
      case 'findIntersection':
        return this.chainSync.findIntersection(readIntersectionPoints(params), idJson);
      case 'nextBlock':
        return this.chainSync.nextBlock(idJson);
      case 'acquireLedgerState':
        return this.ledgerState.acquire(readAcquirePoint(params), idJson);
      case 'releaseLedgerState':
        return this.ledgerState.release(idJson);
      case 'queryLedgerState/tip':
        return this.ledgerState.ledgerTip(idJson);
      case 'queryLedgerState/utxo':
        return this.ledgerState.utxo(readUtxoFilter(params), idJson);
      case 'queryLedgerState/epoch':
        return this.ledgerState.epoch(idJson);
      case 'queryLedgerState/protocolParameters':
        return this.ledgerState.protocolParameters(idJson);
      case 'queryNetwork/tip':
        return this.ledgerState.networkTip(idJson);
      case 'queryNetwork/blockHeight':
        return this.ledgerState.networkBlockHeight(idJson);
      case 'queryNetwork/startTime':
        return this.ledgerState.networkStartTime(idJson);
      case 'submitTransaction':
        return this.submitTransaction(readTransactionCbor(params), idJson);
      case 'simulator/queuePayment':
        return this.queuePayment(readPaymentTarget(params), idJson);
      case 'simulator/rollBack':
        return this.rollBack(readRollBack(params), idJson);
      default:
        if (UNSUPPORTED.has(method)) {
          this.sink.send(
            errorMessage(method, { code: -32601, message: `The Ogmios simulator does not implement '${method}'.` }, idJson),
            'error',
          );
          return;
        }
        throw new Error(`no route for ${method}`);
    }
  }

  private queuePayment(target: PaymentTarget, idJson: string): void {
    try {
      validateAddress(target.address, this.network);
    } catch (error) {
      throw new InvalidParams(`Invalid request: field 'params.address': ${error instanceof Error ? error.message : String(error)}`);
    }
    const payment = this.producer.queuePayment(target);
    const result = JSON.stringify({ transaction: { id: payment.txId }, index: payment.index, lovelace: String(payment.lovelace) });
    this.sink.send(resultMessage('simulator/queuePayment', result, idJson), 'result');
  }

  private rollBack(request: RollBackRequest, idJson: string): void {
    const depth = 'depth' in request ? request.depth : this.depthBefore(request.beforeTransaction);
    try {
      this.producer.switchToFork(depth, depth + 1, request.requeueTransactions);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      throw new InvalidParams(`Invalid request: field 'params.depth': ${error.message}`);
    }
    const tip = this.producer.chain.tip;
    this.sink.send(resultMessage('simulator/rollBack', JSON.stringify({ depth, tip_height: tip?.height ?? -1 }), idJson), 'result');
  }

  /** How many blocks to drop so that the block carrying this injected transaction goes. */
  private depthBefore(transactionId: string): number {
    const blocks = this.producer.chain.retainedBlocks();
    const carrier = blocks.find((block) => block.injected.some((transaction) => transaction.id === transactionId));
    if (!carrier) {
      throw new InvalidParams(`Invalid request: field 'params.beforeTransaction': ${transactionId} is in none of the retained blocks.`);
    }
    return (this.producer.chain.tip?.height ?? carrier.height) - carrier.height + 1;
  }

  /**
   * Judges the transaction by the simulated ledger's rules (ChainProducer.submitTransaction): accepted, it goes
   * into the next block; refused, the answer is Ogmios' error for the first broken rule.
   */
  private submitTransaction(cbor: Uint8Array, idJson: string): void {
    let outcome: ReturnType<ChainProducer['submitTransaction']>;
    try {
      outcome = this.producer.submitTransaction(cbor);
    } catch (error) {
      if (!(error instanceof TransactionCborError)) throw error;
      const reason = `DeserialiseFailure: ${error.message}`;
      const data = Object.fromEntries(SUBMISSION_ERAS.map((era) => [era, reason]));
      this.sink.send(
        errorMessage(
          'submitTransaction',
          { code: -32602, message: 'Invalid transaction; it could not be deserialised in any era.', data },
          idJson,
        ),
        'error',
      );
      return;
    }
    if ('error' in outcome) {
      this.sink.send(errorMessage('submitTransaction', outcome.error, idJson), 'error');
      return;
    }
    this.sink.send(resultMessage('submitTransaction', `{"transaction":{"id":"${outcome.id}"}}`, idJson), 'result');
  }
}
