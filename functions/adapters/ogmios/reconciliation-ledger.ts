/**
 * The chain side of reconciliation: one acquired ledger state per comparison (its tip, the UTxOs at a chunk of
 * addresses), or per opening (the state after the block watching began at), through Ogmios. The client should be the reconciliation's own, created with the bound on one
 * answer's size as its `maxPayloadBytes` (DEFAULT_RECONCILIATION_ANSWER_BYTES).
 */
import type { BlockPoint } from '../../domain/chain.js';
import type { ChainOutput } from '../../domain/reconciliation/classification.js';
import {
  LedgerStateLostError,
  UtxoAnswerTooLargeError,
  type AcquiredLedgerState,
  type ChainLedger,
} from '../../domain/reconciliation/ports.js';
import { OgmiosAnswerTooLargeError, OgmiosConnectionLostError, OgmiosRpcError } from './errors.js';
import type { AcquiredLedgerStateQueries, LedgerStateClient } from './ledger-state-client.js';

/** 16 MiB: about 55,000 plain outputs, ~110 MiB once parsed and decoded; a larger answer is never read. */
export const DEFAULT_RECONCILIATION_ANSWER_BYTES = 16 * 1024 * 1024;

/** 2000: the point could not be acquired (it left the chain, or is too old); 2003: the acquired state expired. */
const STATE_LOST_CODES: ReadonlySet<number> = new Set([2000, 2003]);

export class OgmiosReconciliationLedger implements ChainLedger {
  constructor(private readonly client: Pick<LedgerStateClient, 'withAcquiredTip' | 'withAcquiredPoint'>) {}

  async acquire<T>(queries: (state: AcquiredLedgerState) => Promise<T>, at?: BlockPoint): Promise<T> {
    try {
      const run = (state: AcquiredLedgerStateQueries): Promise<T> =>
        queries({
          tip: () => state.networkTip(),
          utxoAt: async (addresses): Promise<ChainOutput[]> => {
            const utxos = await state.utxoByAddresses(addresses);
            return utxos.map(({ txId, index, address, lovelace, assets }) => ({ txId, index, address, lovelace, assets }));
          },
        });
      return await (at === undefined ? this.client.withAcquiredTip(run) : this.client.withAcquiredPoint(at, run));
    } catch (error) {
      if (error instanceof OgmiosAnswerTooLargeError) throw new UtxoAnswerTooLargeError(error.message);
      if (error instanceof OgmiosConnectionLostError || (error instanceof OgmiosRpcError && STATE_LOST_CODES.has(error.code))) {
        throw new LedgerStateLostError(error.message);
      }
      throw error;
    }
  }
}
