/**
 * The ledger-state queries of one client connection. Without an acquired point, each query reads the tip, as
 * Ogmios does; after `acquireLedgerState`, queries read the state after the acquired block until it is released,
 * `queryNetwork/tip` and `queryNetwork/blockHeight` included: Ogmios asks the node's GetChainPoint and
 * GetChainBlockNo for them, which answer from the acquired state, not from the node's newest block. Those two
 * never fail (the schema has no error for them): once the acquired state is gone they answer the tip.
 * A point can be acquired while it is on the current chain and among the last k blocks, whose ledger states a
 * node keeps (2000 otherwise); an acquired state that a fork or time has since dropped answers 2003, as an
 * expired state does in Ogmios.
 */
import type { Network } from '../../domain/network.js';
import type { UtxoEntry } from './block-effects.js';
import { writeJson } from './json-writer.js';
import type { Ledger, LedgerView } from './ledger.js';
import { epochOf, systemStart } from './network-parameters.js';
import { protocolParametersJson } from './protocol-parameters.js';
import { errorMessage, resultMessage, type MessageSink } from './rpc-messages.js';
import type { RequestedPoint, UtxoFilter } from './request-params.js';
import { pointOf, type ChainPoint, type SimulatedChain } from './simulated-chain.js';

const PARAMETERS_JSON = writeJson(protocolParametersJson());

interface AcquiredState {
  readonly point: ChainPoint;
  readonly height: number;
}

export class LedgerStateSession {
  private acquired: AcquiredState | undefined;

  constructor(
    private readonly network: Network,
    private readonly chain: SimulatedChain,
    private readonly ledger: Ledger,
    private readonly sink: MessageSink,
  ) {}

  acquire(point: RequestedPoint, idJson: string): void {
    const state = this.stateAt(point);
    if (state === undefined) {
      const failure = { code: 2000, message: 'Failed to acquire requested point.', data: this.acquireFailureReason(point) };
      this.sink.send(errorMessage('acquireLedgerState', failure, idJson), 'error');
      return;
    }
    this.acquired = state;
    this.sink.send(resultMessage('acquireLedgerState', `{"acquired":"ledgerState","point":${writeJson(state.point)}}`, idJson), 'result');
  }

  release(idJson: string): void {
    this.acquired = undefined;
    this.sink.send(resultMessage('releaseLedgerState', '{"released":"ledgerState"}', idJson), 'result');
  }

  ledgerTip(idJson: string): void {
    this.withView('queryLedgerState/tip', idJson, (_, point) => writeJson(point));
  }

  epoch(idJson: string): void {
    this.withView('queryLedgerState/epoch', idJson, (_, point) => String(point === 'origin' ? 0 : epochOf(this.network, point.slot).epoch));
  }

  /** The simulator's fixed protocol parameters (protocol-parameters.ts), the ones its submission rules apply. */
  protocolParameters(idJson: string): void {
    this.withView('queryLedgerState/protocolParameters', idJson, () => PARAMETERS_JSON);
  }

  utxo(filter: UtxoFilter, idJson: string): void {
    this.withView('queryLedgerState/utxo', idJson, (view) => utxoJson(selectUtxo(view, filter)));
  }

  networkTip(idJson: string): void {
    this.sink.send(resultMessage('queryNetwork/tip', writeJson(this.chainPoint().point), idJson), 'result');
  }

  networkBlockHeight(idJson: string): void {
    const { height } = this.chainPoint();
    this.sink.send(resultMessage('queryNetwork/blockHeight', height < 0 ? '"origin"' : String(height), idJson), 'result');
  }

  networkStartTime(idJson: string): void {
    // Ogmios writes UTC times to the second, without milliseconds.
    const startTime = systemStart(this.network)
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    this.sink.send(resultMessage('queryNetwork/startTime', JSON.stringify(startTime), idJson), 'result');
  }

  /** Runs a ledger query against the acquired state (or the tip), answering 2003 if that state is gone. */
  /** The acquired state while it is still held, else the tip. */
  private chainPoint(): AcquiredState {
    const acquired = this.acquired;
    if (acquired !== undefined && this.chain.contains(acquired.point) && this.ledger.viewAt(acquired.height) !== undefined) return acquired;
    return { point: pointOf(this.chain.tip), height: this.chain.tip?.height ?? -1 };
  }

  private withView(method: string, idJson: string, query: (view: LedgerView, point: ChainPoint) => string): void {
    const acquired = this.acquired;
    const point = acquired?.point ?? pointOf(this.chain.tip);
    const height = acquired?.height ?? this.chain.tip?.height ?? -1;
    const view = acquired === undefined || this.chain.contains(acquired.point) ? this.ledger.viewAt(height) : undefined;
    if (view === undefined) {
      this.sink.send(
        errorMessage(
          method,
          {
            code: 2003,
            message: 'Previously acquired ledger state is no longer available.',
            data: 'The acquired point is no longer on the chain or within the retained window.',
          },
          idJson,
        ),
        'error',
      );
      return;
    }
    this.sink.send(resultMessage(method, query(view, point), idJson), 'result');
  }

  /** Ogmios' two reasons: older than the states kept, or a point that is not (or no longer) on the chain. */
  private acquireFailureReason(point: RequestedPoint): string {
    if (point === 'origin') return 'Acquired point is now too old.';
    const block = this.chain.blockWithId(point.id);
    const oldest = this.chain.oldestRetained;
    const heldButExpired = block !== undefined && BigInt(block.slot) === BigInt(point.slot);
    const beforeWindow = oldest !== undefined && BigInt(point.slot) < BigInt(oldest.slot);
    return heldButExpired || beforeWindow ? 'Acquired point is now too old.' : 'Acquired point no longer on chain.';
  }

  /** The state at `point` if it can be acquired: on the chain, with its ledger state still held. */
  private stateAt(point: RequestedPoint): AcquiredState | undefined {
    let state: AcquiredState | undefined;
    if (point === 'origin') {
      state = this.chain.retainsOrigin ? { point: 'origin', height: -1 } : undefined;
    } else {
      const block = this.chain.blockWithId(point.id);
      state =
        block !== undefined && BigInt(block.slot) === BigInt(point.slot) ? { point: pointOf(block), height: block.height } : undefined;
    }
    return state !== undefined && this.ledger.viewAt(state.height) !== undefined ? state : undefined;
  }
}

function selectUtxo(view: LedgerView, filter: UtxoFilter): UtxoEntry[] {
  switch (filter.kind) {
    case 'whole':
      return view.all();
    case 'addresses':
      return view.atAddresses(filter.addresses);
    case 'outputReferences': {
      const found = new Map<string, UtxoEntry>();
      for (const { txId, index } of filter.references) {
        const entry = view.get(txId, index);
        if (entry !== undefined) found.set(`${txId}#${index}`, entry);
      }
      return [...found.values()].sort((left, right) =>
        left.txId === right.txId ? left.index - right.index : left.txId < right.txId ? -1 : 1,
      );
    }
  }
}

/** `[{"transaction":{"id"},"index","address","value",…}]`: the output's own JSON, after the reference. */
function utxoJson(entries: readonly UtxoEntry[]): string {
  return `[${entries.map((entry) => `{"transaction":{"id":"${entry.txId}"},"index":${entry.index},${entry.outputJson.slice(1)}`).join(',')}]`;
}
