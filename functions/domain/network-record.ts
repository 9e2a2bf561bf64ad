/**
 * A database holds one network's data: its registered addresses are validated against that network, its blocks'
 * times come from that network's slot clock. The network is recorded in the database the first time a process
 * follows the chain or registers addresses on it (adapters/postgres/network-record.ts); a process configured for
 * another network is refused with this error rather than mixing two chains in one database.
 */
import { validateAddress } from './address.js';
import { NETWORKS, type Network } from './network.js';

export class NetworkMismatchError extends Error {
  override readonly name = 'NetworkMismatchError';
  constructor(
    /** The network(s) the data belongs to: one when recorded; a test address may fit preprod and preview. */
    readonly held: readonly Network[],
    readonly configured: Network,
    evidence: string,
    advice: string,
  ) {
    const use = held.length === 1 ? `NETWORK=${held[0]}` : `NETWORK to ${held.join(' or ')}`;
    super(
      `This database holds ${held.join(' or ')} data (${evidence}), but NETWORK is ${configured}. ` +
        `Set ${use} to use it, or ${advice}. Nothing was changed.`,
    );
  }
}

/** What to do instead, where no caller says better: a database (and, on AWS, a stage) of the network's own. */
export function defaultNetworkAdvice(configured: Network): string {
  return `give ${configured} a database of its own`;
}

/** What the database says of its network: the recorded one, else its oldest registered address (from before the record). */
export interface DatabaseNetworkEvidence {
  recorded: Network | null;
  firstAddress: string | null;
}

/**
 * Undefined when the configured network may use the database; otherwise the error to refuse with. A database
 * without a record (older than the record, or new) is judged by its oldest registered address: an address valid
 * on no network (a test's placeholder) proves nothing.
 */
export function networkMismatch(
  evidence: DatabaseNetworkEvidence,
  configured: Network,
  advice = defaultNetworkAdvice(configured),
): NetworkMismatchError | undefined {
  if (evidence.recorded !== null) {
    return evidence.recorded === configured
      ? undefined
      : new NetworkMismatchError([evidence.recorded], configured, 'recorded when it was first used', advice);
  }
  const address = evidence.firstAddress;
  if (address === null) return undefined;
  const validOn = NETWORKS.filter((network) => {
    try {
      validateAddress(address, network);
      return true;
    } catch {
      return false;
    }
  });
  if (validOn.length === 0 || validOn.includes(configured)) return undefined;
  const shown = address.length > 24 ? `${address.slice(0, 20)}…` : address;
  return new NetworkMismatchError(
    validOn,
    configured,
    `its first registered address, ${shown}, is a ${validOn.join(' or ')} address`,
    advice,
  );
}
