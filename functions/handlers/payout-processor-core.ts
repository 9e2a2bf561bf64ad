/**
 * The payout processor put together, independent of where it runs: the Lambda (signer in KMS) and the local stack
 * (signer in a file) build it here from the same parts. The hot wallet is the signer's enterprise address; it is
 * registered as the hot wallet's address (idempotent) so that the engine keeps its outputs: the coins payouts spend.
 */
import type pg from 'pg';
import { CslTransactionBuilder } from '../adapters/cardano/csl-transaction-builder.js';
import { nodeSignatureVerifier } from '../adapters/crypto/ed25519-keys.js';
import type { LedgerStateClient } from '../adapters/ogmios/ledger-state-client.js';
import { OgmiosTransactionSubmitter } from '../adapters/ogmios/transaction-submitter.js';
import { PostgresAddressRegistry } from '../adapters/postgres/address-registry.js';
import { PostgresPayoutExecutionStore } from '../adapters/postgres/payout-execution-store.js';
import { HOT_WALLET_REFERENCE_ID, HOT_WALLET_REFERENCE_TYPE } from '../domain/hot-wallet.js';
import type { Network } from '../domain/network.js';
import { LogEvent } from '../domain/observability.js';
import { PayoutProcessor } from '../domain/payouts/payout-processor.js';
import { PROCESSOR_ACTOR } from '../domain/payouts/payout-rules.js';
import { signerHotWallet, type TransactionSigner, verifyingSigner } from '../domain/payouts/transaction-signer.js';
import type { Clock, Logger, Metrics } from '../domain/ports.js';

export interface PayoutProcessorParts {
  pool: pg.Pool;
  /** Protocol parameters and submission, through Ogmios. */
  ledger: Pick<LedgerStateClient, 'protocolParameters' | 'submitTransaction'>;
  /** The hot wallet's key: KMS on AWS, a file locally. Every signature is verified before it is kept. */
  signer: TransactionSigner;
  network: Network;
  confirmations: number;
  validitySeconds: number;
  resubmitAfterSeconds: number;
  clock?: Clock;
  logger: Logger;
  metrics: Metrics;
}

export interface AssembledPayoutProcessor {
  processor: PayoutProcessor;
  hotWallet: { address: string; keyHash: string };
}

export async function assemblePayoutProcessor(parts: PayoutProcessorParts): Promise<AssembledPayoutProcessor> {
  const signer = verifyingSigner(parts.signer, nodeSignatureVerifier);
  const hotWallet = await signerHotWallet(signer, parts.network);
  const registration = await new PostgresAddressRegistry(parts.pool, parts.network).register(
    // A fixed reference: the same key named another way (an alias, a moved key file) is the same hot wallet.
    [{ address: hotWallet.address, referenceType: HOT_WALLET_REFERENCE_TYPE, referenceId: HOT_WALLET_REFERENCE_ID, userId: null }],
    PROCESSOR_ACTOR,
  );
  if (registration.registered > 0) parts.logger.info(LogEvent.hotWalletRegistered, { address: hotWallet.address, key_id: signer.keyId });
  const processor = new PayoutProcessor({
    store: new PostgresPayoutExecutionStore(parts.pool),
    builder: new CslTransactionBuilder(),
    signer,
    submitter: new OgmiosTransactionSubmitter(parts.ledger),
    protocolParameters: () => parts.ledger.protocolParameters(),
    hotWallet,
    network: parts.network,
    clock: parts.clock ?? { now: () => new Date() },
    logger: parts.logger,
    metrics: parts.metrics,
    confirmations: parts.confirmations,
    validitySeconds: parts.validitySeconds,
    resubmitAfterSeconds: parts.resubmitAfterSeconds,
  });
  return { processor, hotWallet };
}
