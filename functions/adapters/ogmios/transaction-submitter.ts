/**
 * Payout transactions submitted through Ogmios (`submitTransaction`), the node's refusals mapped to what the
 * processor decides on (domain/payouts/payout-processor.ts). Codes from Ogmios v6's ledger rejections
 * (../shared/reference/ogmios-protocol.md).
 */
import type { SubmitOutcome, SubmitRefusalKind, TransactionSubmitter } from '../../domain/payouts/payout-processor.js';
import { OgmiosRpcError } from './errors.js';
import type { LedgerStateClient } from './ledger-state-client.js';

/** UnknownOutputReference: an input is unknown to the node's ledger, which is what a spent input looks like. */
const UNKNOWN_OUTPUT_REFERENCE = 3117;
const OUTSIDE_OF_VALIDITY_INTERVAL = 3118;
const TRANSACTION_FEE_TOO_SMALL = 3122;
/** Ledger rejections (3005–3998); any other error is not the node's verdict on the transaction. */
const LEDGER_REJECTIONS = { first: 3005, last: 3998 };

export function submitRefusalOf(code: number): SubmitRefusalKind | undefined {
  if (code === UNKNOWN_OUTPUT_REFERENCE) return 'inputs_spent';
  if (code === OUTSIDE_OF_VALIDITY_INTERVAL) return 'outside_validity';
  if (code === TRANSACTION_FEE_TOO_SMALL) return 'fee_too_small';
  if (code >= LEDGER_REJECTIONS.first && code <= LEDGER_REJECTIONS.last) return 'invalid';
  return undefined;
}

export class OgmiosTransactionSubmitter implements TransactionSubmitter {
  constructor(private readonly client: Pick<LedgerStateClient, 'submitTransaction'>) {}

  async submit(signedCbor: Uint8Array): Promise<SubmitOutcome> {
    try {
      await this.client.submitTransaction(signedCbor);
      return { kind: 'accepted' };
    } catch (error) {
      const reason = error instanceof OgmiosRpcError ? submitRefusalOf(error.code) : undefined;
      // Anything else (a lost connection, a timeout, a JSON-RPC error of the request) decided nothing: thrown.
      if (!reason || !(error instanceof OgmiosRpcError)) throw error;
      return {
        kind: 'refused',
        reason,
        detail: `${error.code} ${error.message}${error.data === undefined ? '' : ` ${JSON.stringify(error.data)}`}`,
      };
    }
  }
}
