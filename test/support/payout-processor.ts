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
import type { ChainTransaction } from '../../functions/domain/chain.js';
import { HOT_WALLET_REFERENCE_TYPE } from '../../functions/domain/hot-wallet.js';
import { timeToSlot } from '../../functions/domain/network.js';
import { ChainBuilder } from './chain-builder.js';
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

/** Slots between two blocks of payoutChainOn's chains. */
export const PAYOUT_SLOTS_PER_BLOCK = 20n;

/** A chain whose slots follow the fixture's clock, as a node's do: validity intervals are counted from the clock. */
export function payoutChainOn(f: EngineFixture): ChainBuilder {
  return new ChainBuilder('main', timeToSlot('mainnet', f.clock.now()), PAYOUT_SLOTS_PER_BLOCK);
}

/** Applies the next block of `chain` with these transactions to the engine, moving the clock with the slots. */
export async function applyNextBlock(f: EngineFixture, chain: ChainBuilder, transactions: ChainTransaction[] = []): Promise<void> {
  const added = chain.next(transactions);
  f.clock.advance(Number(PAYOUT_SLOTS_PER_BLOCK));
  await f.engine.apply(chain.forward([added]));
}

/**
 * A hot wallet with a fresh file key, registered with the engine (reference type hot_wallet), and a processor on it
 * that submits to a recorder.
 */
export async function registeredHotWallet(
  f: EngineFixture,
  confirmations: number,
  referenceId: string,
): Promise<{
  signer: TransactionSigner;
  hotWallet: { address: string; keyHash: string };
  submitter: RecordingSubmitter;
  processor: PayoutProcessor;
}> {
  const { signer, hotWallet } = await fileSignerHotWallet();
  const submitter = new RecordingSubmitter();
  const processor = payoutProcessorOn(f, { signer, submitter, hotWallet, confirmations });
  await f.registry.register([{ address: hotWallet.address, referenceType: HOT_WALLET_REFERENCE_TYPE, referenceId, userId: null }], 'test');
  return { signer, hotWallet, submitter, processor };
}
