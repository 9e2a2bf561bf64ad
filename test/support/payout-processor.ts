/**
 * A real payout processor beside an engine fixture, for tests that follow payout transactions on real PostgreSQL: it
 * builds with the transaction library (CSL), signs with an Ed25519 file key (node:crypto, the local signer's kind),
 * and submits to a recorder (the tests put what was submitted in a block themselves: payout-chain.ts decodes it).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CslTransactionBuilder } from '../../functions/adapters/cardano/csl-transaction-builder.js';
import { nodeSignatureVerifier } from '../../functions/adapters/crypto/ed25519-keys.js';
import { FileTransactionSigner } from '../../functions/adapters/crypto/file-signer.js';
import { PostgresPayoutExecutionStore } from '../../functions/adapters/postgres/payout-execution-store.js';
import { requestPayout } from '../../functions/adapters/postgres/payout-requests.js';
import { inTransaction } from '../../functions/adapters/postgres/pool.js';
import {
  PayoutProcessor,
  type PayoutProcessorOptions,
  type SubmitOutcome,
  type TransactionSubmitter,
} from '../../functions/domain/payouts/payout-processor.js';
import type { ProtocolParameters } from '../../functions/domain/payouts/transaction-builder.js';
import { signerHotWallet, type TransactionSigner, verifyingSigner } from '../../functions/domain/payouts/transaction-signer.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import type { EngineFixture } from './engine-fixture.js';

export const ADA = 1_000_000n;

/** Mainnet's fee and deposit parameters (what Ogmios answers), small enough limits for the tests. */
export const PAYOUT_PARAMETERS: ProtocolParameters = {
  minFeeCoefficient: 44n,
  minFeeConstant: 155_381n,
  maxTransactionSize: 16_384,
  maxValueSize: 5_000,
  minUtxoDepositCoefficient: 4_310n,
};

export const PAYOUT_POLICY = { maxLovelace: 10_000n * ADA, dailyLimitLovelace: 100_000n * ADA, approvalThresholdLovelace: 1_000n * ADA };

/** Records what the processor submits; answers as told (accepted by default). */
export class RecordingSubmitter implements TransactionSubmitter {
  readonly submitted: Uint8Array[] = [];
  answer: SubmitOutcome = { kind: 'accepted' };
  async submit(signedCbor: Uint8Array): Promise<SubmitOutcome> {
    this.submitted.push(signedCbor);
    return this.answer;
  }
  last(): Uint8Array {
    const last = this.submitted.at(-1);
    if (!last) throw new Error('nothing was submitted');
    return last;
  }
}

/** A verifying signer over a fresh file key, and its hot wallet (the key's enterprise address on mainnet). */
export async function fileSignerHotWallet(): Promise<{ signer: TransactionSigner; hotWallet: { address: string; keyHash: string } }> {
  const signer = verifyingSigner(
    new FileTransactionSigner(join(await mkdtemp(join(tmpdir(), 'payout-key-')), 'hot.key')),
    nodeSignatureVerifier,
  );
  return { signer, hotWallet: await signerHotWallet(signer, 'mainnet') };
}

/** How long the processors of payoutProcessorOn make a transaction valid. */
export const PAYOUT_VALIDITY_SECONDS = 600;

/** A processor on the fixture's database, clock and observability (validity 600 s, resubmission after 60 s). */
export function payoutProcessorOn(
  f: EngineFixture,
  parts: Pick<PayoutProcessorOptions, 'signer' | 'submitter' | 'hotWallet' | 'confirmations'>,
  overrides: Partial<PayoutProcessorOptions> = {},
): PayoutProcessor {
  return new PayoutProcessor({
    store: new PostgresPayoutExecutionStore(f.db.pool),
    builder: new CslTransactionBuilder(),
    protocolParameters: async () => PAYOUT_PARAMETERS,
    network: 'mainnet',
    clock: f.clock,
    logger: f.logger,
    metrics: f.metrics,
    validitySeconds: PAYOUT_VALIDITY_SECONDS,
    resubmitAfterSeconds: 60,
    ...parts,
    ...overrides,
  });
}

/** Requests an ADA payout (operator alice, PAYOUT_POLICY) to a synthetic destination; its id. */
export async function requestAdaPayout(
  f: EngineFixture,
  lovelace: bigint,
  options: { userId?: string; reference?: string } = {},
): Promise<string> {
  const payout = await inTransaction(f.db.pool, (client) =>
    requestPayout(
      client,
      {
        referenceId: options.reference ?? 'withdrawal-1',
        userId: options.userId ?? null,
        destination: syntheticAddress('mainnet', `destination:${options.reference ?? 1}`),
        amount: { lovelace: lovelace.toString() },
        actor: 'operator:alice',
      },
      { network: 'mainnet', policy: PAYOUT_POLICY, now: f.clock.now() },
    ),
  );
  return payout.id;
}
