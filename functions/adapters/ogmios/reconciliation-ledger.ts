/** The chain side of reconciliation: the node's tip and the UTxOs at a chunk of addresses, through Ogmios. */
import type { Point } from '../../domain/chain.js';
import type { ChainOutput } from '../../domain/reconciliation/classification.js';
import type { ChainLedger } from '../../domain/reconciliation/ports.js';
import type { LedgerStateClient } from './ledger-state-client.js';

export class OgmiosReconciliationLedger implements ChainLedger {
  constructor(private readonly client: Pick<LedgerStateClient, 'networkTip' | 'utxoByAddresses'>) {}

  tip(): Promise<Point> {
    return this.client.networkTip();
  }

  async utxoAt(addresses: readonly string[]): Promise<ChainOutput[]> {
    const utxos = await this.client.utxoByAddresses(addresses);
    return utxos.map(({ txId, index, address, lovelace, assets }) => ({ txId, index, address, lovelace, assets }));
  }
}
