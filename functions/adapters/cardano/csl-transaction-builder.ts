/**
 * The payout transaction builder on cardano-serialization-lib (CSL, Rust compiled to WASM): CSL serialises the
 * body, computes the linear fee with a mock vkey witness for the hot wallet's one key, the minimum ADA of each
 * output from `coinsPerUTxOByte`, and the change (splitting a token change larger than `maxValueSize` over several
 * outputs). Coin selection is ours and deterministic, so a request always gives the same transaction:
 *
 * 1. tokens first: for each asset the payouts need (in key order), the available outputs holding the most of it;
 * 2. then ADA, largest first (ties by transaction id and index), until the inputs cover the outputs and the fee;
 *    CSL then balances, and says when the inputs fall short (another input is taken) or the change with tokens
 *    needs more ADA than is left (another input too).
 * 3. An ADA-only change below its minimum ADA cannot be an output: CSL then adds it to the fee instead. We take one
 *    more input when there is one (a change output is then possible and nothing is given away); only when the
 *    wallet has no other output is the remainder (less than one output's minimum ADA, about 1 ADA) left in the fee.
 *
 * Batching: payouts in the order given (oldest first). All of them are tried at once first (the usual case: one
 * build). If that transaction is not possible, the longest prefix that is is found (prefixes of 1, 2, 4… then
 * bisection, assuming what fails fails longer), the payout after it is deferred (`too_large` or
 * `insufficient_funds`, as the failing build said) and the later ones are tried the same way. A later payout is
 * deferred without a build when a bound shows it cannot fit (`cannotFit`) or it needs at least as much as one already
 * deferred (`Refusals`). A deferred payout is tried first at the next build, being the oldest.
 */
import CSL from '@emurgo/cardano-serialization-lib-nodejs';
import type { AssetQuantity, OutputReference } from '../../domain/chain.js';
import {
  assetKey,
  type BuildRequest,
  type BuildResult,
  type BuiltTransaction,
  type DeferralReason,
  type DeferredPayout,
  MAX_QUANTITY,
  type PayoutOutput,
  payoutProblem,
  type ProtocolParameters,
  type SpendableOutput,
  type TransactionBuilder,
} from '../../domain/payouts/transaction-builder.js';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, type VkeyWitness } from '../../domain/payouts/transaction-signer.js';

const KEY_HASH = /^[0-9a-f]{56}$/;
const TRANSACTION_ID = /^[0-9a-f]{64}$/;
const POLICY_ID = /^[0-9a-f]{56}$/;
/** An asset name is at most 32 bytes. */
const ASSET_NAME = /^(?:[0-9a-f]{2}){0,32}$/;

function assetProblem(asset: AssetQuantity): string | undefined {
  if (!POLICY_ID.test(asset.policyId)) return `policy id ${JSON.stringify(asset.policyId)} is not 56 lowercase hex digits`;
  if (!ASSET_NAME.test(asset.assetName)) return `asset name ${JSON.stringify(asset.assetName)} is not 0 to 32 bytes of lowercase hex`;
  if (asset.quantity < 0n || asset.quantity > MAX_QUANTITY)
    return `asset ${assetKey(asset)} quantity ${asset.quantity} is outside 0..2^64-1`;
  return undefined;
}

/** A payout ready to be an output: its CSL output (with the minimum ADA) and what it needs from the inputs. */
interface PreparedPayout {
  payout: PayoutOutput;
  output: CSL.TransactionOutput;
  lovelaceSent: bigint;
  tokens: ReadonlyMap<string, bigint>;
  /** Bytes of its serialised output. */
  outputBytes: number;
}

/** An available output, checked; its CSL input and value are made when it is first selected. */
interface PreparedInput {
  reference: SpendableOutput;
  /** In the request's `required`: spent by every transaction built. */
  required: boolean;
  lovelace: bigint;
  tokens: ReadonlyMap<string, bigint>;
  csl?: { input: CSL.TransactionInput; value: CSL.Value };
}

interface Success {
  ok: true;
  built: Omit<BuiltTransaction, 'included' | 'deferred'>;
  /** How it is made up, for the bound on what one payout more could add (`cannotFit`). */
  shape: {
    changeOutputs: number;
    /** Inputs taken for ADA, not for a token. */
    lovelaceInputs: number;
    /** Token quantities the inputs hold beyond what the payouts take: the change's tokens. */
    spare: ReadonlyMap<string, bigint>;
  };
}
interface Failure {
  ok: false;
  reason: DeferralReason;
  detail: string;
}
type Attempt = Success | Failure;

export class CslTransactionBuilder implements TransactionBuilder {
  build(request: BuildRequest): BuildResult {
    const scope = new Scope();
    try {
      return new Build(request, scope).run();
    } finally {
      scope.freeAll();
    }
  }

  withWitnesses(bodyCbor: Uint8Array, witnesses: readonly VkeyWitness[]): Uint8Array {
    if (witnesses.length === 0) throw new RangeError('a signed transaction needs at least one witness');
    const scope = new Scope();
    try {
      const transaction = scope.keep(CSL.FixedTransaction.new_from_body_bytes(bodyCbor));
      for (const { vkey, signature } of witnesses) {
        if (vkey.length !== ED25519_PUBLIC_KEY_BYTES || signature.length !== ED25519_SIGNATURE_BYTES) {
          throw new RangeError(`a vkey witness is a ${ED25519_PUBLIC_KEY_BYTES}-byte key and a ${ED25519_SIGNATURE_BYTES}-byte signature`);
        }
        const publicKey = scope.keep(CSL.PublicKey.from_bytes(vkey));
        const witness = scope.keep(
          CSL.Vkeywitness.new(scope.keep(CSL.Vkey.new(publicKey)), scope.keep(CSL.Ed25519Signature.from_bytes(signature))),
        );
        transaction.add_vkey_witness(witness);
      }
      return transaction.to_bytes();
    } finally {
      scope.freeAll();
    }
  }
}

/** The hex blake2b-256 of a body's exact bytes, as CSL computes it. */
export function transactionIdOf(bodyCbor: Uint8Array): string {
  const scope = new Scope();
  try {
    return scope.keep(scope.keep(CSL.FixedTransaction.new_from_body_bytes(bodyCbor)).transaction_hash()).to_hex();
  } finally {
    scope.freeAll();
  }
}

/** One build: the request's parsed parts and the attempts at a transaction. */
class Build {
  private readonly config: CSL.TransactionBuilderConfig;
  private readonly dataCost: CSL.DataCost;
  private readonly changeAddress: CSL.Address;
  private readonly networkId: number | undefined;
  private readonly keyHash: CSL.Ed25519KeyHash;
  private readonly ttl: CSL.BigNum;
  /** Largest lovelace first; ties by transaction id, then index. */
  private readonly byLovelace: PreparedInput[];
  private readonly holdersOf = new Map<string, PreparedInput[]>();
  /** The fee of a transaction of the largest size. */
  private readonly maximumFee: CSL.BigNum;
  /** The fee of about 200 bytes (an input and an ADA-only change output take about 110). */
  private readonly worthAnInput: bigint;

  constructor(
    private readonly request: BuildRequest,
    private readonly scope: Scope,
  ) {
    const parameters = checkedParameters(request.protocolParameters);
    if (request.validUntilSlot < 0n || request.validUntilSlot >= MAX_QUANTITY) {
      throw new RangeError(`validUntilSlot ${request.validUntilSlot} is outside 0..2^64-2`);
    }
    const ids = new Set<string>();
    for (const payout of request.payouts) {
      const problem = payoutProblem(payout);
      if (problem !== undefined) throw new Error(`payout ${payout.payoutId}: ${problem}`);
      if (ids.has(payout.payoutId)) throw new Error(`payout ${payout.payoutId} is in the request twice`);
      ids.add(payout.payoutId);
    }
    this.config = scope.keep(
      CSL.TransactionBuilderConfigBuilder.new()
        .fee_algo(scope.keep(CSL.LinearFee.new(this.bigNum(parameters.minFeeCoefficient), this.bigNum(parameters.minFeeConstant))))
        .coins_per_utxo_byte(this.bigNum(parameters.minUtxoDepositCoefficient))
        // No certificate is ever in a payout transaction: the deposits never count.
        .pool_deposit(this.bigNum(0n))
        .key_deposit(this.bigNum(0n))
        .max_value_size(parameters.maxValueSize)
        .max_tx_size(parameters.maxTransactionSize)
        .build(),
    );
    this.dataCost = scope.keep(CSL.DataCost.new_coins_per_byte(this.bigNum(parameters.minUtxoDepositCoefficient)));
    this.changeAddress = scope.keep(parseAddress(request.changeAddress, 'the change address'));
    this.networkId = networkIdOf(this.changeAddress);
    this.keyHash = this.signingKeyHash();
    this.ttl = this.bigNum(request.validUntilSlot + 1n);
    this.byLovelace = this.prepareInputs();
    this.worthAnInput = parameters.minFeeCoefficient * 200n;
    this.maximumFee = this.bigNum(parameters.minFeeConstant + parameters.minFeeCoefficient * BigInt(parameters.maxTransactionSize));
  }

  run(): BuildResult {
    const deferred = new Map<string, DeferredPayout>();
    const ready: PreparedPayout[] = [];
    for (const payout of this.request.payouts) {
      const prepared = this.preparePayout(payout);
      if ('reason' in prepared) deferred.set(payout.payoutId, { payoutId: payout.payoutId, alone: true, ...prepared });
      else ready.push(prepared);
    }

    const accepted: PreparedPayout[] = [];
    let best: Success | undefined;
    const refusals = new Refusals();
    let rest = ready;
    while (rest.length > 0) {
      const [first] = rest as [PreparedPayout, ...PreparedPayout[]];
      const refused = refusals.of(first);
      if (refused !== undefined) {
        deferred.set(first.payout.payoutId, { payoutId: first.payout.payoutId, alone: accepted.length === 0, ...refused });
        rest = rest.slice(1);
        continue;
      }
      const full = best === undefined ? undefined : this.cannotFit(first, best);
      if (full !== undefined) {
        deferred.set(first.payout.payoutId, { payoutId: first.payout.payoutId, alone: false, reason: 'too_large', detail: full });
        rest = rest.slice(1);
        continue;
      }
      // All the rest at once: the usual case, one transaction library build.
      const all = this.attempt([...accepted, ...rest]);
      if (all.ok) {
        accepted.push(...rest);
        best = all;
        break;
      }
      // Otherwise the longest prefix of the rest that still makes a transaction: prefixes of 1, 2, 4… until one
      // does not, then bisection. (A payout more makes a transaction larger and needs more funds, so a prefix
      // that fails fails longer.) The payout after that prefix is deferred.
      let good = 0;
      let goodAttempt: Success | undefined;
      let bad = rest.length;
      let badAttempt: Failure = all;
      for (let length = 1; length < bad; length *= 2) {
        const attempt = this.attempt([...accepted, ...rest.slice(0, length)]);
        if (!attempt.ok) {
          bad = length;
          badAttempt = attempt;
          break;
        }
        good = length;
        goodAttempt = attempt;
      }
      while (bad - good > 1) {
        const length = (good + bad) >>> 1;
        const attempt = this.attempt([...accepted, ...rest.slice(0, length)]);
        if (attempt.ok) {
          good = length;
          goodAttempt = attempt;
        } else {
          bad = length;
          badAttempt = attempt;
        }
      }
      if (goodAttempt !== undefined) {
        accepted.push(...rest.slice(0, good));
        best = goodAttempt;
      }
      const failed = rest[good] as PreparedPayout;
      refusals.add(failed, badAttempt.reason);
      deferred.set(failed.payout.payoutId, {
        payoutId: failed.payout.payoutId,
        reason: badAttempt.reason,
        alone: accepted.length === 0,
        detail: badAttempt.detail,
      });
      rest = rest.slice(good + 1);
    }

    const deferredInOrder = this.request.payouts.flatMap((payout) => deferred.get(payout.payoutId) ?? []);
    if (best === undefined) return { built: undefined, deferred: deferredInOrder };
    const included = accepted.map((prepared, outputIndex) => ({
      payoutId: prepared.payout.payoutId,
      outputIndex,
      lovelaceSent: prepared.lovelaceSent,
    }));
    return { built: { ...best.built, included, deferred: deferredInOrder }, deferred: deferredInOrder };
  }

  /**
   * Why `payout` cannot join the transaction `best` without exceeding the maximum size, when a bound says so (no
   * build needed), or undefined. One payout more adds its output; what may shrink at the same time is bounded: its
   * tokens leave the change (each entry at most its name, the quantity's 9 bytes and its policy's 28), the change's
   * coin may take up to 8 bytes less, change outputs split for their size may merge (an address and a coin), and
   * when it needs a token the inputs do not hold, the inputs taken for ADA may all be replaced (45 bytes each).
   */
  private cannotFit(payout: PreparedPayout, best: Success): string | undefined {
    const room = this.request.protocolParameters.maxTransactionSize - best.built.size;
    let shrink = 8 + (best.shape.changeOutputs > 1 ? 100 * (best.shape.changeOutputs - 1) : 0);
    let newHolder = false;
    for (const [key, quantity] of payout.tokens) {
      const spare = best.shape.spare.get(key) ?? 0n;
      if (spare > 0n) shrink += (key.length - 57) / 2 + 3 + 9 + 31;
      if (spare < quantity) newHolder = true;
    }
    if (newHolder) shrink += 45 * best.shape.lovelaceInputs;
    const growth = payout.outputBytes - shrink;
    return growth > room
      ? `not tried: its output adds at least ${growth} bytes, the transaction with the payouts before it has ${room} left`
      : undefined;
  }

  /** A transaction paying `payouts` (in this order), or why there is none. */
  private attempt(payouts: readonly PreparedPayout[]): Attempt {
    const needed = new Map<string, bigint>();
    let lovelaceNeeded = 0n;
    for (const { lovelaceSent, tokens } of payouts) {
      lovelaceNeeded += lovelaceSent;
      for (const [key, quantity] of tokens) needed.set(key, (needed.get(key) ?? 0n) + quantity);
    }

    const selected = new Set<PreparedInput>();
    const held = new Map<string, bigint>();
    let lovelaceHeld = 0n;
    const take = (input: PreparedInput): void => {
      selected.add(input);
      lovelaceHeld += input.lovelace;
      for (const [key, quantity] of input.tokens) held.set(key, (held.get(key) ?? 0n) + quantity);
    };

    for (const input of this.byLovelace) if (input.required) take(input);
    for (const key of [...needed.keys()].sort()) {
      const quantity = needed.get(key) as bigint;
      for (const holder of this.holders(key)) {
        if ((held.get(key) ?? 0n) >= quantity) break;
        if (!selected.has(holder)) take(holder);
      }
      const short = quantity - (held.get(key) ?? 0n);
      if (short > 0n) return { ok: false, reason: 'insufficient_funds', detail: `${short} of ${key} short` };
    }

    let next = 0;
    let lovelaceInputs = 0;
    const takeNext = (): boolean => {
      while (next < this.byLovelace.length) {
        const input = this.byLovelace[next++] as PreparedInput;
        if (!selected.has(input)) {
          take(input);
          lovelaceInputs++;
          return true;
        }
      }
      return false;
    };
    // At least the outputs and the fee's constant part; CSL says if the fee needs more.
    const firstTarget = lovelaceNeeded + this.request.protocolParameters.minFeeConstant;
    while (lovelaceHeld < firstTarget) if (!takeNext()) break;

    for (;;) {
      const balanced = this.balance(payouts, selected);
      if (balanced.kind === 'built') {
        // Only an ADA-only change too small to be an output is added to the fee: another input avoids that.
        // (Not for a few lovelace: the input and the change output would cost more fee than that.)
        if (balanced.burnt > this.worthAnInput && takeNext()) continue;
        const spare = new Map<string, bigint>();
        for (const [key, quantity] of held) {
          const left = quantity - (needed.get(key) ?? 0n);
          if (left > 0n) spare.set(key, left);
        }
        return { ok: true, built: balanced.built, shape: { changeOutputs: balanced.changeOutputs, lovelaceInputs, spare } };
      }
      if (balanced.kind === 'too_large') return { ok: false, reason: 'too_large', detail: balanced.detail };
      if (!takeNext()) {
        return {
          ok: false,
          reason: 'insufficient_funds',
          detail: `the available outputs hold ${lovelaceHeld} lovelace; ${lovelaceNeeded} to be sent plus the fee and the change's minimum ADA`,
        };
      }
    }
  }

  /** CSL's transaction with these outputs and inputs, balanced with change to the change address. */
  private balance(
    payouts: readonly PreparedPayout[],
    inputs: ReadonlySet<PreparedInput>,
  ):
    | { kind: 'built'; built: Omit<BuiltTransaction, 'included' | 'deferred'>; burnt: bigint; changeOutputs: number }
    | { kind: 'too_large'; detail: string }
    | { kind: 'needs_more' } {
    const local = new Scope();
    try {
      const builder = local.keep(CSL.TransactionBuilder.new(this.config));
      for (const input of inputs) {
        const { input: reference, value } = this.cslInput(input);
        builder.add_key_input(this.keyHash, reference, value);
      }
      for (const { output } of payouts) builder.add_output(output);
      builder.set_ttl_bignum(this.ttl);
      const maximum = this.request.protocolParameters.maxTransactionSize;
      let changed: boolean;
      try {
        changed = builder.add_change_if_needed(this.changeAddress);
      } catch (error) {
        const text = errorText(error);
        if (/Maximum transaction size/.test(text)) return { kind: 'too_large', detail: text };
        if (!/Insufficient input|Not enough ADA leftover/.test(text)) throw new Error(`transaction library: ${text}`);
        // Before more inputs are taken: a transaction already too large only grows with them. (Its size needs a
        // fee: the largest there can be, a few bytes more than the real one at most.)
        builder.set_fee(this.maximumFee);
        const size = builder.full_size();
        return size > maximum
          ? { kind: 'too_large', detail: tooLarge(size, maximum, payouts.length, inputs.size) }
          : { kind: 'needs_more' };
      }
      const size = builder.full_size();
      if (size > maximum) return { kind: 'too_large', detail: tooLarge(size, maximum, payouts.length, inputs.size) };
      let body: CSL.TransactionBody;
      try {
        body = local.keep(builder.build());
      } catch (error) {
        const text = errorText(error);
        if (/Maximum transaction size/.test(text)) return { kind: 'too_large', detail: text };
        throw new Error(`transaction library: ${text}`);
      }
      const fee = fromBigNum(local.keep(body.fee()));
      const burnt = changed ? 0n : fee - fromBigNum(local.keep(builder.min_fee()));
      const bodyCbor = body.to_bytes();
      const changeOutputs = local.keep(body.outputs()).len() - payouts.length;
      const bodyInputs = local.keep(body.inputs());
      const references: OutputReference[] = [];
      for (let index = 0; index < bodyInputs.len(); index++) {
        const input = local.keep(bodyInputs.get(index));
        references.push({ txId: local.keep(input.transaction_id()).to_hex(), index: input.index() });
      }
      return {
        kind: 'built',
        burnt,
        changeOutputs,
        built: {
          transactionId: transactionIdOf(bodyCbor),
          bodyCbor,
          inputs: references,
          fee,
          validUntilSlot: this.request.validUntilSlot,
          size,
        },
      };
    } finally {
      local.freeAll();
    }
  }

  private preparePayout(payout: PayoutOutput): PreparedPayout | { reason: DeferralReason; detail: string } {
    const address = this.scope.keep(parseAddress(payout.address, `payout ${payout.payoutId}'s destination`));
    const network = networkIdOf(address);
    if (network !== undefined && this.networkId !== undefined && network !== this.networkId) {
      throw new Error(`payout ${payout.payoutId}'s destination is for network ${network}, the hot wallet for ${this.networkId}`);
    }
    const multiAsset = payout.assets.length === 0 ? undefined : this.multiAsset(payout.assets, `payout ${payout.payoutId}`);
    let lovelace = payout.lovelace;
    for (;;) {
      const value = this.scope.keep(
        multiAsset ? CSL.Value.new_with_assets(this.bigNum(lovelace), multiAsset) : CSL.Value.new(this.bigNum(lovelace)),
      );
      const output = this.scope.keep(CSL.TransactionOutput.new(address, value));
      const valueSize = value.to_bytes().length;
      if (valueSize > this.request.protocolParameters.maxValueSize) {
        return {
          reason: 'too_large',
          detail: `its output's value is ${valueSize} bytes, above the protocol's ${this.request.protocolParameters.maxValueSize}`,
        };
      }
      // The minimum grows with the coin's own encoding: raise until it holds.
      const minimum = fromBigNum(this.scope.keep(CSL.min_ada_for_output(output, this.dataCost)));
      if (lovelace >= minimum) {
        const tokens = new Map(payout.assets.map((asset) => [assetKey(asset), asset.quantity]));
        return { payout, output, lovelaceSent: lovelace, tokens, outputBytes: output.to_bytes().length };
      }
      lovelace = minimum;
    }
  }

  private prepareInputs(): PreparedInput[] {
    const seen = new Set<string>();
    const required = new Set(this.request.required ?? []);
    const prepared = this.allInputs().map((reference): PreparedInput => {
      const name = `${reference.txId}#${reference.index}`;
      if (seen.has(name)) throw new Error(`available output ${name} is in the request twice`);
      seen.add(name);
      if (
        !TRANSACTION_ID.test(reference.txId) ||
        !Number.isSafeInteger(reference.index) ||
        reference.index < 0 ||
        reference.index > 0xffff_ffff
      ) {
        throw new Error(`available output ${JSON.stringify(name)} is not an output reference (64 lowercase hex digits, #, an index)`);
      }
      if (reference.lovelace < 0n || reference.lovelace > MAX_QUANTITY) throw new Error(`available output ${name}: lovelace out of range`);
      const tokens = new Map<string, bigint>();
      for (const asset of reference.assets) {
        const problem = assetProblem(asset);
        if (problem !== undefined) throw new Error(`available output ${name}: ${problem}`);
        if (asset.quantity !== 0n) tokens.set(assetKey(asset), (tokens.get(assetKey(asset)) ?? 0n) + asset.quantity);
      }
      return { reference, required: required.has(reference), lovelace: reference.lovelace, tokens };
    });
    return prepared.sort(
      (a, b) =>
        compareBigIntDescending(a.lovelace, b.lovelace) ||
        compareText(a.reference.txId, b.reference.txId) ||
        a.reference.index - b.reference.index,
    );
  }

  private cslInput(prepared: PreparedInput): { input: CSL.TransactionInput; value: CSL.Value } {
    if (prepared.csl === undefined) {
      const { reference } = prepared;
      const assets = reference.assets.filter((asset) => asset.quantity !== 0n);
      const multiAsset = assets.length === 0 ? undefined : this.multiAsset(assets, `available output ${reference.txId}#${reference.index}`);
      const coin = this.bigNum(reference.lovelace);
      prepared.csl = {
        input: this.scope.keep(CSL.TransactionInput.new(this.scope.keep(CSL.TransactionHash.from_hex(reference.txId)), reference.index)),
        value: this.scope.keep(multiAsset ? CSL.Value.new_with_assets(coin, multiAsset) : CSL.Value.new(coin)),
      };
    }
    return prepared.csl;
  }

  /** The available outputs holding `key`, most first (ties in the largest-lovelace order). */
  private holders(key: string): PreparedInput[] {
    let holders = this.holdersOf.get(key);
    if (holders === undefined) {
      holders = this.byLovelace
        .filter((input) => input.tokens.has(key))
        .sort((a, b) => compareBigIntDescending(a.tokens.get(key) as bigint, b.tokens.get(key) as bigint));
      this.holdersOf.set(key, holders);
    }
    return holders;
  }

  /** The required outputs, then the available ones: every output the transaction may spend. */
  private allInputs(): readonly SpendableOutput[] {
    return this.request.required ? [...this.request.required, ...this.request.available] : this.request.available;
  }

  /** The payment key of the hot wallet: every available output must be locked by it alone. */
  private signingKeyHash(): CSL.Ed25519KeyHash {
    const { signerKeyHash } = this.request;
    if (signerKeyHash !== undefined && !KEY_HASH.test(signerKeyHash)) {
      throw new Error(`signerKeyHash must be 56 lowercase hex digits; got ${JSON.stringify(signerKeyHash)}`);
    }
    let expected = signerKeyHash;
    const keyOf = new Map<string, string>(); // the hot wallet has one or a few addresses: each read once
    for (const output of this.allInputs()) {
      const name = `${output.txId}#${output.index}`;
      let hex = keyOf.get(output.address);
      if (hex === undefined) {
        const address = this.scope.keep(parseAddress(output.address, `available output ${name}'s address`));
        const credential = address.payment_cred();
        const keyHash = credential === undefined ? undefined : this.scope.keep(credential).to_keyhash();
        if (keyHash === undefined) throw new Error(`available output ${name} is not locked by a key (a script or Byron address)`);
        hex = this.scope.keep(keyHash).to_hex();
        keyOf.set(output.address, hex);
      }
      expected ??= hex;
      if (hex !== expected) {
        throw new Error(`available output ${name} is locked by key ${hex}, not the hot wallet's ${expected}: one witness would not do`);
      }
    }
    // No available output: any 28 bytes do, nothing will be spent.
    return this.scope.keep(CSL.Ed25519KeyHash.from_hex(expected ?? '0'.repeat(56)));
  }

  private multiAsset(assets: readonly AssetQuantity[], owner: string): CSL.MultiAsset {
    try {
      const multiAsset = this.scope.keep(CSL.MultiAsset.new());
      const byPolicy = new Map<string, AssetQuantity[]>();
      for (const asset of assets) byPolicy.set(asset.policyId, [...(byPolicy.get(asset.policyId) ?? []), asset]);
      for (const [policyId, policyAssets] of byPolicy) {
        const inner = this.scope.keep(CSL.Assets.new());
        for (const asset of policyAssets) {
          const name = this.scope.keep(CSL.AssetName.new(hexBytes(asset.assetName)));
          const previous = inner.get(name);
          const quantity = (previous === undefined ? 0n : fromBigNum(this.scope.keep(previous))) + asset.quantity;
          if (quantity > MAX_QUANTITY) throw new Error(`asset ${assetKey(asset)} adds up to more than 2^64-1`);
          const replaced = inner.insert(name, this.bigNum(quantity));
          if (replaced !== undefined) replaced.free();
        }
        const replaced = multiAsset.insert(this.scope.keep(CSL.ScriptHash.from_hex(policyId)), inner);
        if (replaced !== undefined) replaced.free();
      }
      return multiAsset;
    } catch (error) {
      throw new Error(`${owner}: an asset the transaction library refuses: ${errorText(error)}`);
    }
  }

  private bigNum(value: bigint): CSL.BigNum {
    return this.scope.keep(CSL.BigNum.from_str(value.toString()));
  }
}

function checkedParameters(parameters: ProtocolParameters): ProtocolParameters {
  const { minFeeCoefficient, minFeeConstant, maxTransactionSize, maxValueSize, minUtxoDepositCoefficient } = parameters;
  for (const [name, value] of Object.entries({ minFeeCoefficient, minFeeConstant, minUtxoDepositCoefficient })) {
    if (value < 0n || value > MAX_QUANTITY) throw new RangeError(`protocol parameter ${name} ${value} is outside 0..2^64-1`);
  }
  for (const [name, value] of Object.entries({ maxTransactionSize, maxValueSize })) {
    if (!Number.isSafeInteger(value) || value <= 0 || value > 0xffff_ffff)
      throw new RangeError(`protocol parameter ${name} ${value} is not a size`);
  }
  return parameters;
}

/** bech32 (Shelley and later) or base58 (Byron). */
function parseAddress(text: string, what: string): CSL.Address {
  try {
    return CSL.Address.from_bech32(text);
  } catch {
    // not bech32: perhaps Byron
  }
  if (CSL.ByronAddress.is_valid(text)) {
    const byron = CSL.ByronAddress.from_base58(text);
    try {
      return byron.to_address();
    } finally {
      byron.free();
    }
  }
  throw new Error(`${what} is not an address the transaction library reads: ${JSON.stringify(text.slice(0, 120))}`);
}

/** The network id of a Shelley-era address; Byron ones carry a protocol magic instead and are not compared. */
function networkIdOf(address: CSL.Address): number | undefined {
  const byron = CSL.ByronAddress.from_address(address);
  if (byron === undefined) return address.network_id();
  byron.free();
  return undefined;
}

function tooLarge(size: number, maximum: number, outputs: number, inputs: number): string {
  return `${size} bytes with ${outputs} payout output(s) and ${inputs} input(s), above the protocol's ${maximum}`;
}

function fromBigNum(value: CSL.BigNum): bigint {
  return BigInt(value.to_str());
}

function hexBytes(hex: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(hex)) throw new Error(`${JSON.stringify(hex)} is not lowercase hex`);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function compareBigIntDescending(a: bigint, b: bigint): number {
  return a > b ? -1 : a < b ? 1 : 0;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Payouts deferred in this build, and the rule that defers later ones without another attempt: as payouts are
 * included the transaction only grows and the funds left only shrink, so a payout that needs at least as much of
 * everything as one the funds could not cover cannot be covered either, and one that also has an output no smaller
 * than one that made the transaction too large would make it too large too. (Needing as much matters for size too:
 * a payout too large because it needed many small inputs says nothing about a smaller one.)
 */
class Refusals {
  private readonly failed: { payout: PreparedPayout; reason: DeferralReason }[] = [];

  add(payout: PreparedPayout, reason: DeferralReason): void {
    this.failed.push({ payout, reason });
  }

  of(payout: PreparedPayout): { reason: DeferralReason; detail: string } | undefined {
    for (const { payout: other, reason } of this.failed) {
      if (!needsAtLeast(payout, other)) continue;
      if (reason === 'insufficient_funds') {
        return {
          reason,
          detail: `not tried: it needs at least what payout ${other.payout.payoutId} needed, which the funds could not cover`,
        };
      }
      if (payout.outputBytes >= other.outputBytes) {
        return {
          reason,
          detail: `not tried: it needs as much as payout ${other.payout.payoutId}, which did not fit, and its output is no smaller`,
        };
      }
    }
    return undefined;
  }
}

function needsAtLeast(payout: PreparedPayout, other: PreparedPayout): boolean {
  if (payout.lovelaceSent < other.lovelaceSent) return false;
  for (const [key, quantity] of other.tokens) if ((payout.tokens.get(key) ?? 0n) < quantity) return false;
  return true;
}

/**
 * CSL objects live in the WASM heap. wasm-bindgen frees what the garbage collector finds unreachable, but a build
 * makes thousands of them: they are freed as soon as the build is over instead.
 */
class Scope {
  private readonly objects: { free(): void }[] = [];

  keep<T extends { free(): void }>(object: T): T {
    this.objects.push(object);
    return object;
  }

  freeAll(): void {
    for (const object of this.objects.splice(0).reverse()) {
      try {
        object.free();
      } catch {
        // already freed or consumed by CSL: nothing to release
      }
    }
  }
}
