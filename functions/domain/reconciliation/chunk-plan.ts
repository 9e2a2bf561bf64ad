/**
 * How many addresses one comparison takes: as many as fit both the address limit and the bound on the outputs
 * one comparison holds in memory, counted from what the database holds unspent at each (the chain should hold the
 * same). Never fewer than one: an address over the bound alone is left unjudged by the runner, not split.
 */
import type { RegisteredAddress } from './ports.js';

export function nextChunk(addresses: readonly RegisteredAddress[], maxAddresses: number, maxUtxos: number): RegisteredAddress[] {
  let taken = 0;
  let utxos = 0;
  for (const address of addresses) {
    if (taken >= maxAddresses || (taken > 0 && utxos + address.recordedUnspent > maxUtxos)) break;
    utxos += address.recordedUnspent;
    taken++;
  }
  return addresses.slice(0, Math.max(1, taken));
}
