/**
 * The payout transaction builder (issue 16): approved payouts, oldest first, batched into one transaction that
 * spends only the hot wallet's unreserved outputs, pays each payout one output, returns the rest to the hot wallet
 * and is valid until a given slot. The port is pure; the adapter (functions/adapters/cardano) does the CBOR, the
 * fee and the minimum ADA with the transaction library.
 *
 * Rules every builder keeps:
 * - Inputs come only from `required` (all spent) and `available` (the caller reserves them afterwards; two builds
 *   given disjoint sets never share an input). Selection is deterministic: the same request gives the same transaction.
 * - Payouts are taken in the order given (oldest first). One that would push the transaction past the protocol's
 *   maximum size is deferred `too_large`, one the remaining funds cannot cover `insufficient_funds`; later payouts
 *   are still tried and included when they fit (as BTCPay's payout processor does). A deferred payout is the oldest
 *   at the next build, so it goes first then: later ones never starve it of room. (A later payout that needs at
 *   least as much of every asset as one deferred, and for size has an output no smaller, is deferred for the same
 *   reason without being tried.)
 * - Every output carries at least the ledger's minimum ADA for its size: a payout asking less (a token payout with
 *   no lovelace, or a tiny ADA payout) is sent the minimum, `lovelaceSent`. The extra is the business's cost.
 * - The fee is the protocol's linear fee of the signed transaction with one vkey witness (the hot wallet is one key).
 * - Tokens in the inputs that are not paid out go back in the change, to `changeAddress`.
 * - The body's `invalid_hereafter` (its TTL field) is `validUntilSlot + 1`: the ledger accepts the transaction in a
 *   block whose slot is below that, so `validUntilSlot` is the last slot it can be in a block.
 */
import type { AssetQuantity, Hash, OutputReference } from '../chain.js';
import type { VkeyWitness } from './transaction-signer.js';

/** An unspent output of the hot wallet that no live attempt reserves. */
export interface SpendableOutput extends OutputReference {
  address: string;
  lovelace: bigint;
  assets: readonly AssetQuantity[];
}

/** One approved payout: one output of the transaction. */
export interface PayoutOutput {
  payoutId: string;
  /** bech32 (Shelley) or base58 (Byron), validated for the network when requested. */
  address: string;
  lovelace: bigint;
  assets: readonly AssetQuantity[];
}

/** The protocol parameters a payout transaction needs (queried through Ogmios). */
export interface ProtocolParameters {
  /** Lovelace per byte of the signed transaction (`minFeeA`, 44 on mainnet). */
  minFeeCoefficient: bigint;
  /** Lovelace per transaction (`minFeeB`, 155,381 on mainnet). */
  minFeeConstant: bigint;
  /** Bytes of the whole signed transaction (16,384 on mainnet). */
  maxTransactionSize: number;
  /** Bytes of one output's serialised value (5,000 on mainnet). */
  maxValueSize: number;
  /** Lovelace per byte of an output: its minimum ADA is (160 + its size) × this (`coinsPerUTxOByte`, 4,310). */
  minUtxoDepositCoefficient: bigint;
}

export interface BuildRequest {
  /** Oldest first. Ids must be distinct. */
  payouts: readonly PayoutOutput[];
  /** The hot wallet's unspent, unreserved outputs; all at addresses of the one signing key. */
  available: readonly SpendableOutput[];
  /**
   * Outputs the transaction spends whatever it needs (the inputs carried from an earlier transaction of these
   * payouts: spending them all is what keeps the two from both landing); `available` adds what they do not cover.
   */
  required?: readonly SpendableOutput[];
  changeAddress: string;
  /** The last slot in which the transaction may be in a block (see `validUntil`). */
  validUntilSlot: bigint;
  protocolParameters: ProtocolParameters;
  /**
   * The hot wallet's payment key hash (blake2b-224 of its vkey, 56 hex digits). When given, an available output at
   * an address of another credential is refused; when not, all available outputs must share one key credential.
   */
  signerKeyHash?: string;
}

export type DeferralReason = 'too_large' | 'insufficient_funds';

export interface IncludedPayout {
  payoutId: string;
  /** Its output's index in the transaction. */
  outputIndex: number;
  /** The lovelace its output carries: the asked amount raised to the output's minimum ADA. */
  lovelaceSent: bigint;
}

export interface DeferredPayout {
  payoutId: string;
  reason: DeferralReason;
  /**
   * Whether it was tried with no other payout in the transaction (it was first, or all before it were deferred):
   * then it will not go until something changes (funds arrive; a payout too large alone never goes). When false, it
   * may go in the next build, where it is older than the rest and so tried first.
   */
  alone: boolean;
  /** What fell short, for the logs. */
  detail: string;
}

export interface BuiltTransaction {
  /** Hex blake2b-256 of `bodyCbor`: what is signed and what the chain names the transaction by. */
  transactionId: Hash;
  /** The body's exact bytes: sign their hash, attach witnesses with `withWitnesses`, never re-serialise. */
  bodyCbor: Uint8Array;
  /** The spent outputs, in the body's order. */
  inputs: readonly OutputReference[];
  /** In request order. */
  included: readonly IncludedPayout[];
  /** In request order. */
  deferred: readonly DeferredPayout[];
  fee: bigint;
  validUntilSlot: bigint;
  /** Bytes of the signed transaction (with its one vkey witness). */
  size: number;
}

export interface TransactionBuilder {
  /**
   * The transaction for as many of the payouts as fit and are covered, and the others. Throws (an Error naming the
   * payout or output) for a request no build could ever satisfy: a malformed payout (`payoutProblem`), an address
   * the library cannot read or of another network than the change address, an available output of another key.
   */
  build(request: BuildRequest): BuildResult;
  /** The signed transaction's CBOR: the body's exact bytes, these witnesses, no metadata. */
  withWitnesses(bodyCbor: Uint8Array, witnesses: readonly VkeyWitness[]): Uint8Array;
}

/**
 * `built` is undefined when no payout could be included (then every payout is in `deferred`, and an empty request
 * defers nothing). `deferred` is the same list as `built.deferred` when there is a transaction.
 */
export interface BuildResult {
  built: BuiltTransaction | undefined;
  deferred: readonly DeferredPayout[];
}

/** Every network the monitor runs on (mainnet, preprod, preview) has had one-second slots since Shelley. */
export const SLOT_LENGTH_SECONDS = 1;

/**
 * The last slot in which a transaction built now may be in a block: `ttlSeconds` after the tip's slot. An attempt
 * expires once a confirmed block is past it; only then may its payouts be built again.
 */
export function validUntil(tipSlot: bigint, ttlSeconds: number): bigint {
  if (tipSlot < 0n) throw new RangeError(`a slot is not negative; got ${tipSlot}`);
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0)
    throw new RangeError(`a TTL is a positive whole number of seconds; got ${ttlSeconds}`);
  return tipSlot + BigInt(Math.ceil(ttlSeconds / SLOT_LENGTH_SECONDS));
}

/** `<policy hex>.<name hex>`, the key of an asset in a payout's `assets` JSON. */
export function assetKey(asset: Pick<AssetQuantity, 'policyId' | 'assetName'>): string {
  return `${asset.policyId}.${asset.assetName}`;
}

/** The largest quantity of one asset an output may carry (a CBOR unsigned 64-bit integer), also lovelace's bound. */
export const MAX_QUANTITY = 2n ** 64n - 1n;

/**
 * What is wrong with a payout before any building, or undefined: it must carry lovelace or a token, every amount
 * within 1..2^64-1 (lovelace 0..2^64-1) and no asset twice. Such a payout is refused by the builder with an error.
 */
export function payoutProblem(payout: PayoutOutput): string | undefined {
  if (payout.lovelace < 0n || payout.lovelace > MAX_QUANTITY) return `lovelace ${payout.lovelace} is outside 0..2^64-1`;
  if (payout.lovelace === 0n && payout.assets.length === 0) return 'it pays nothing (no lovelace, no asset)';
  const seen = new Set<string>();
  for (const asset of payout.assets) {
    const key = assetKey(asset);
    if (seen.has(key)) return `asset ${key} appears twice`;
    seen.add(key);
    if (asset.quantity < 1n || asset.quantity > MAX_QUANTITY) return `asset ${key} quantity ${asset.quantity} is outside 1..2^64-1`;
  }
  return undefined;
}
