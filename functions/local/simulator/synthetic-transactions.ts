/**
 * Synthetic Conway-era transactions in Ogmios v6 JSON, in the shapes a mainnet block carries: wallet transfers,
 * exchange batch withdrawals, script (DEX-style) interactions with collateral, datums and redeemers, token
 * mints, and now and then a transaction that failed phase-2 validation (`spends: "collaterals"`). Inputs are
 * taken from the simulated chain's own unspent outputs. Amounts look realistic but value is not conserved:
 * nothing downstream checks it, and the simulator has no fee or balance rules.
 */
import type { AssetQuantity } from '../../domain/chain.js';
import type { JsonRecord } from './block-effects.js';
import type { BlockDraft, OutputReference } from './block-draft.js';
import type { SimulatedPayment } from './injected-transactions.js';
import type { JsonWritable } from './json-writer.js';
import type { SeededRandom } from './random.js';
import type { AddressBook } from './synthetic-addresses.js';
import { valueJson, type AssetCatalog } from './synthetic-assets.js';

/** An address the simulated chain pays, with a fixed amount or (when absent) a random one. */
export interface PaymentTarget {
  readonly address: string;
  readonly lovelace?: bigint;
  readonly assets?: readonly AssetQuantity[];
}

/**
 * Outputs the chain's first block creates (e.g. a demo hot wallet's spendable funds): `outputs` outputs (default 1),
 * each of `lovelace` and `assets`, at `address`.
 */
export interface FundingTarget {
  readonly address: string;
  readonly lovelace: bigint;
  readonly assets?: readonly AssetQuantity[];
  readonly outputs?: number;
}

type MutableRecord = { [key: string]: JsonWritable | undefined };

/**
 * Size around which the simulated UTxO set settles: above it, transactions take two more inputs, so that they
 * consume more outputs than they create and the simulator's memory stays bounded however long it runs.
 */
const UNSPENT_OUTPUTS_TARGET = 50_000;
const EXTRA_INPUTS_ABOVE_TARGET = 2;

export class SyntheticTransactions {
  constructor(
    private readonly random: SeededRandom,
    private readonly addresses: AddressBook,
    private readonly assets: AssetCatalog,
    private readonly failedTransactionRate: number,
  ) {}

  /** One background transaction, its shape drawn from a mainnet-like mix. */
  background(draft: BlockDraft): JsonRecord {
    if (this.random.chance(this.failedTransactionRate)) return this.scriptInteraction(draft, true);
    const draw = this.random.next();
    if (draw < 0.6) return this.walletTransfer(draft);
    if (draw < 0.67) return this.exchangeBatch(draft);
    if (draw < 0.95) return this.scriptInteraction(draft, false);
    return this.mint(draft);
  }

  /** A transfer that pays `target`; the payment output is at a random position among two. */
  payment(target: PaymentTarget, draft: BlockDraft): { transaction: JsonRecord; payment: SimulatedPayment } {
    const id = this.random.hex(32);
    const lovelace = target.lovelace ?? this.lovelace(2, 3);
    const assets = target.assets ?? [];
    const paymentOutput = this.output(target.address, lovelace, assets);
    const change = this.output(this.addresses.pick(this.random), this.lovelace());
    const index = this.random.integer(0, 1);
    const outputs = index === 0 ? [paymentOutput, change] : [change, paymentOutput];
    const inputs = this.inputs(draft, 1, 2);
    return {
      transaction: this.transaction(id, draft, { inputs, outputs }),
      payment: { txId: id, index, address: target.address, lovelace, assets },
    };
  }

  /** A transaction that spends `inputs` (e.g. payments received) and sends their value on to wallet addresses. */
  spend(inputs: readonly OutputReference[], draft: BlockDraft): JsonRecord {
    const outputs = Array.from({ length: this.random.integer(1, 2) }, () => this.output(this.addresses.pick(this.random), this.lovelace()));
    return this.transaction(this.random.hex(32), draft, { inputs: referencesJson(inputs), outputs });
  }

  /** The first block's transaction that creates the `fund` outputs, in the order given. */
  funding(targets: readonly FundingTarget[], draft: BlockDraft): JsonRecord {
    const outputs = targets.flatMap((target) =>
      Array.from({ length: target.outputs ?? 1 }, () => this.output(target.address, target.lovelace, target.assets ?? [])),
    );
    return this.transaction(this.random.hex(32), draft, { inputs: this.inputs(draft, 1, 1), outputs });
  }

  private walletTransfer(draft: BlockDraft): JsonRecord {
    const outputs = Array.from({ length: this.random.integer(1, 2) }, () =>
      this.output(this.addresses.pick(this.random), this.lovelace(), this.random.chance(0.15) ? this.assets.randomBundle(this.random) : []),
    );
    outputs.push(this.output(this.addresses.pick(this.random), this.lovelace())); // change
    return this.transaction(this.random.hex(32), draft, {
      inputs: this.inputs(draft, 1, 3),
      outputs,
      withdrawals: this.random.chance(0.03)
        ? { [this.addresses.pickStake(this.random)]: { ada: { lovelace: this.lovelace(0, 2) } } }
        : undefined,
      metadata: this.random.chance(0.05) ? this.messageMetadata(`Payment for order #${this.random.integer(1, 99_999)}`) : undefined,
    });
  }

  private exchangeBatch(draft: BlockDraft): JsonRecord {
    const outputs = Array.from({ length: this.random.integer(5, 25) }, () =>
      this.output(this.addresses.pick(this.random), this.lovelace()),
    );
    return this.transaction(this.random.hex(32), draft, { inputs: this.inputs(draft, 1, 2), outputs, fee: this.fee(250_000, 600_000) });
  }

  /** A DEX-style script interaction; with `failed`, phase-2 validation failed and only the collateral is taken. */
  private scriptInteraction(draft: BlockDraft, failed: boolean): JsonRecord {
    const wallet = this.addresses.pick(this.random);
    const scriptAddress = this.addresses.pickScript(this.random);
    // A failed transaction's inputs are not consumed, so they stay available to others; its collateral is consumed.
    const inputs = failed ? this.inputs(draft, 2, 3, false) : this.inputs(draft, 2, 3);
    const collateral = draft.claimRandomInput();
    const collateralLovelace = this.lovelace(5, 7);
    const totalCollateral = BigInt(this.random.integer(400_000, 3_000_000));
    const transaction = this.transaction(this.random.hex(32), draft, {
      spends: failed ? 'collaterals' : 'inputs',
      inputs,
      references: this.outsideReferences(1, 3),
      outputs: [
        { ...this.output(scriptAddress, this.lovelace(6, 10), this.assets.randomBundle(this.random, 2)), datum: this.datum() },
        this.output(wallet, this.lovelace(), this.random.chance(0.5) ? this.assets.randomBundle(this.random, 2) : []),
      ],
      collaterals: [referenceJson(collateral)],
      collateralReturn: this.output(wallet, collateralLovelace),
      totalCollateral: { ada: { lovelace: totalCollateral } },
      requiredExtraSignatories: this.random.chance(0.4) ? [this.random.hex(28)] : undefined,
      scriptIntegrityHash: this.random.hex(32),
      fee: failed ? { ada: { lovelace: totalCollateral } } : this.fee(300_000, 1_500_000),
      metadata: this.random.chance(0.3) ? this.messageMetadata('DEX: Order Executed') : undefined,
      redeemers: [
        {
          validator: { index: 0, purpose: 'spend' },
          redeemer: 'd87980',
          executionUnits: { memory: this.random.integer(50_000, 3_000_000), cpu: this.random.integer(20_000_000, 1_000_000_000) },
        },
      ],
    });
    return transaction;
  }

  private mint(draft: BlockDraft): JsonRecord {
    const minted = this.assets.randomMint(this.random);
    const name = Buffer.from(minted.assetName, 'hex').toString('utf8');
    return this.transaction(this.random.hex(32), draft, {
      inputs: this.inputs(draft, 1, 2),
      outputs: [
        this.output(this.addresses.pick(this.random), this.lovelace(1, 2), [minted]),
        this.output(this.addresses.pick(this.random), this.lovelace()),
      ],
      mint: { [minted.policyId]: { [minted.assetName]: 1n } },
      metadata: {
        hash: this.random.hex(32),
        labels: {
          '721': { json: { [minted.policyId]: { [name]: { name, image: `ipfs://Qm${this.random.hex(22)}`, mediaType: 'image/png' } } } },
        },
      },
    });
  }

  /** Completes a transaction with fee, validity interval, the Conway `treasury` quirk and signatures. */
  private transaction(id: string, draft: BlockDraft, fields: MutableRecord): JsonRecord {
    const inputCount = Array.isArray(fields.inputs) ? fields.inputs.length : 1;
    return {
      id,
      spends: fields.spends ?? 'inputs',
      inputs: fields.inputs,
      references: fields.references,
      outputs: fields.outputs,
      collaterals: fields.collaterals,
      collateralReturn: fields.collateralReturn,
      totalCollateral: fields.totalCollateral,
      withdrawals: fields.withdrawals,
      mint: fields.mint,
      requiredExtraSignatories: fields.requiredExtraSignatories,
      scriptIntegrityHash: fields.scriptIntegrityHash,
      fee: fields.fee ?? this.fee(165_000, 400_000),
      validityInterval: this.validityInterval(draft.slot),
      // Ogmios v6.6–v6.14 writes an empty `treasury` object on every Conway transaction without a donation.
      treasury: {},
      metadata: fields.metadata,
      signatories: Array.from({ length: Math.min(2, inputCount) || 1 }, () => ({
        key: this.random.hex(32),
        signature: this.random.hex(64),
      })),
      redeemers: fields.redeemers,
    };
  }

  /** Unspent outputs of the simulated chain; `claim` false for inputs that will not be consumed. */
  private inputs(draft: BlockDraft, min: number, max: number, claim = true): JsonWritable[] {
    const extra = claim && draft.unspentCount > UNSPENT_OUTPUTS_TARGET ? EXTRA_INPUTS_ABOVE_TARGET : 0;
    const count = this.random.integer(min, max) + extra;
    return referencesJson(Array.from({ length: count }, () => (claim ? draft.claimRandomInput() : draft.randomInput())));
  }

  /** References to outputs outside the simulated chain (reference inputs, which are only read). */
  private outsideReferences(min: number, max: number): JsonWritable[] {
    return referencesJson(
      Array.from({ length: this.random.integer(min, max) }, () => ({ txId: this.random.hex(32), index: this.random.integer(0, 3) })),
    );
  }

  private output(address: string, lovelace: bigint, assets: readonly AssetQuantity[] = []): MutableRecord {
    return { address, value: valueJson(lovelace, assets) };
  }

  /** Lovelace spread log-uniformly between 10^minAdaDigits and 10^maxAdaDigits ADA. */
  private lovelace(minAdaDigits = 0, maxAdaDigits = 4.5): bigint {
    const ada = 10 ** (minAdaDigits + this.random.next() * (maxAdaDigits - minAdaDigits));
    return BigInt(Math.floor(ada * 1_000_000));
  }

  private fee(min: number, max: number): JsonWritable {
    return { ada: { lovelace: BigInt(this.random.integer(min, max)) } };
  }

  private validityInterval(slot: number): JsonWritable {
    const draw = this.random.next();
    if (draw < 0.8) return { invalidAfter: slot + this.random.integer(600, 10_800) };
    if (draw < 0.9)
      return { invalidBefore: Math.max(0, slot - this.random.integer(10, 300)), invalidAfter: slot + this.random.integer(300, 1_800) };
    return {};
  }

  /** An inline datum: Plutus data `Constr 0 [bytes(28), int]` as CBOR hex. */
  private datum(): string {
    return `d8799f581c${this.random.hex(28)}1a${this.random.hex(4)}ff`;
  }

  private messageMetadata(message: string): JsonWritable {
    return { hash: this.random.hex(32), labels: { '674': { json: { msg: [message] } } } };
  }
}

function referenceJson(reference: OutputReference): JsonWritable {
  return { transaction: { id: reference.txId }, index: reference.index };
}

/** References in ledger set order (by transaction id, then index), as Ogmios lists inputs. */
function referencesJson(references: readonly OutputReference[]): JsonWritable[] {
  return [...references]
    .sort((left, right) => (left.txId === right.txId ? left.index - right.index : left.txId < right.txId ? -1 : 1))
    .map(referenceJson);
}
