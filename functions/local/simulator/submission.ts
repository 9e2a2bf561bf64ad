/**
 * The simulator's ledger rules for a submitted transaction (phase 1, no scripts), and the refusals Ogmios sends
 * when one is broken: its codes, messages (Ogmios' own wording) and `data` shapes of
 * `ogmios.json#/definitions/SubmitTransactionFailure`. As the ledger, every rule is checked and one failure is
 * answered, the one Ogmios ranks first (its pickPredicateFailure: e.g. unknown inputs before missing signatures
 * before a small fee, since an unknown input makes the balance fail too).
 *
 * Rules: at least one input; the validity interval holds the current slot; every input exists and is unspent (in
 * the ledger, or created and not spent by transactions already waiting for the next block); every input locked by
 * a payment key (base, pointer and enterprise addresses with a key credential) and every required signer has a
 * vkey witness whose key hashes (blake2b-224) to it, and every vkey witness's Ed25519 signature verifies over the
 * blake2b-256 hash of the body bytes as sent; every output carries the minimum deposit; the transaction fits the
 * size limit; the fee is at least minFeeCoefficient × size + minFeeConstant; inputs = outputs + fee, per asset;
 * addresses and the network id are of the simulator's network. Transactions with fields the simulator has no
 * rules for (certificates, withdrawals, minting, collateral, scripts, Byron inputs…) are refused with 3997.
 */
import { createPublicKey, verify } from 'node:crypto';
import type { AssetQuantity } from '../../domain/chain.js';
import { decodeBech32 } from '../../domain/address/bech32.js';
import type { Network } from '../../domain/network.js';
import { blake2b } from './blake2b.js';
import type { JsonWritable } from './json-writer.js';
import { minimumDeposit, minimumFee, type SimulatorProtocolParameters } from './protocol-parameters.js';
import type { RpcError } from './rpc-messages.js';
import type { DecodedOutput, InputReference, SignedTransaction } from './signed-transaction.js';
import { valueJson } from './synthetic-assets.js';

/** An unspent output as the rules need it. */
export interface ResolvedOutput {
  readonly address: string;
  readonly lovelace: bigint;
  readonly assets: readonly AssetQuantity[];
}

export interface SubmissionContext {
  readonly network: Network;
  /** The slot the transaction is judged at: the next block's. */
  readonly currentSlot: number;
  readonly parameters: SimulatorProtocolParameters;
  /** The output at `reference` if it exists and nothing (in the chain or waiting for the next block) spends it. */
  resolve(reference: InputReference): ResolvedOutput | undefined;
}

interface Failure {
  /** Ogmios' priority: smaller is answered first. */
  readonly priority: number;
  readonly error: RpcError;
}

/** Undefined when the transaction may enter the mempool; otherwise the error Ogmios would answer. */
export function judgeSubmission(transaction: SignedTransaction, context: SubmissionContext): RpcError | undefined {
  const failures: Failure[] = [];
  const add = (priority: number, code: number, data?: JsonWritable): void => {
    failures.push({ priority, error: { code, message: MESSAGES[code] as string, ...(data === undefined ? {} : { data }) } });
  };
  const { parameters, currentSlot } = context;

  const resolved = transaction.inputs.map((reference) => ({ reference, output: context.resolve(reference) }));
  const unsupported = [...transaction.unsupported];
  for (const { reference, output } of resolved) {
    if (output !== undefined && paymentCredential(output.address).kind !== 'key') {
      unsupported.push(`input ${reference.txId}#${reference.index} (locked by a script or a Byron address)`);
    }
  }
  if (unsupported.length > 0) {
    add(0, 3997, { error: `The Ogmios simulator has no ledger rules for ${unsupported.join(', ')}.` });
  }

  if (transaction.inputs.length === 0) add(2, 3121);
  const expectedNetworkId = context.network === 'mainnet' ? 1 : 0;
  const expectedNetwork = context.network === 'mainnet' ? 'mainnet' : 'testnet';
  if (transaction.networkId !== undefined && transaction.networkId !== expectedNetworkId) {
    add(2, 3124, { expectedNetwork, discriminatedType: 'transaction' });
  }
  const foreign = transaction.outputs.filter(
    (output) => shelleyNetworkId(output.addressBytes) !== undefined && shelleyNetworkId(output.addressBytes) !== expectedNetworkId,
  );
  if (foreign.length > 0) {
    add(2, 3124, { expectedNetwork, discriminatedType: 'address', invalidEntities: foreign.map((output) => output.address) });
  }
  const { invalidBefore, invalidAfter } = transaction;
  const slot = BigInt(currentSlot);
  if ((invalidBefore !== undefined && slot < invalidBefore) || (invalidAfter !== undefined && slot >= invalidAfter)) {
    add(2, 3118, { validityInterval: validityIntervalJson(transaction), currentSlot: slot });
  }

  const unknown = resolved.filter(({ output }) => output === undefined).map(({ reference }) => reference);
  if (unknown.length > 0) add(4, 3117, { unknownOutputReferences: unknown.map(referenceJson) });

  const invalid = transaction.witnesses.filter((witness) => !signatureVerifies(witness.key, witness.signature, transaction.bodyHash));
  if (invalid.length > 0) add(5, 3100, { invalidSignatories: invalid.map((witness) => hex(witness.key)) });
  const witnessed = new Set(transaction.witnesses.map((witness) => hex(blake2b(witness.key, 28))));
  const needed = new Set<string>(transaction.requiredSigners);
  for (const { output } of resolved) {
    const credential = output === undefined ? undefined : paymentCredential(output.address);
    if (credential?.kind === 'key') needed.add(credential.hash);
  }
  const missing = [...needed].filter((hash) => !witnessed.has(hash)).sort();
  if (missing.length > 0) add(5, 3101, { missingSignatories: missing });

  const underfunded = transaction.outputs.filter((output) => output.lovelace < minimumDeposit(output.size, parameters));
  if (underfunded.length > 0) {
    add(17, 3125, {
      insufficientlyFundedOutputs: underfunded.map((output) => ({
        output: outputJson(output),
        minimumRequiredValue: { ada: { lovelace: minimumDeposit(output.size, parameters) } },
      })),
    });
  }
  if (transaction.size > parameters.maxTransactionSize) {
    add(18, 3119, {
      measuredTransactionSize: { bytes: transaction.size },
      maximumTransactionSize: { bytes: parameters.maxTransactionSize },
    });
  }
  const minimum = minimumFee(transaction.size, parameters);
  if (transaction.fee < minimum) {
    add(19, 3122, { minimumRequiredFee: { ada: { lovelace: minimum } }, providedFee: { ada: { lovelace: transaction.fee } } });
  }

  const consumed = sumValues(resolved.flatMap(({ output }) => (output === undefined ? [] : [output])));
  const produced = sumValues([...transaction.outputs, { lovelace: transaction.fee, assets: [] }]);
  if (!sameValue(consumed, produced)) {
    add(20, 3123, {
      valueConsumed: valueJson(consumed.lovelace, consumed.assets),
      valueProduced: valueJson(produced.lovelace, produced.assets),
    });
  }
  if (!transaction.isValid) {
    add(20, 3136, { declaredSpending: 'collaterals', mismatchReason: 'The transaction is flagged invalid but runs no script that fails.' });
  }

  let first: Failure | undefined;
  for (const failure of failures) if (first === undefined || failure.priority < first.priority) first = failure;
  return first?.error;
}

/** The transaction as Ogmios writes it in a block (only valid ones are accepted: it spends its inputs). */
export function submittedTransactionJson(transaction: SignedTransaction): { [key: string]: JsonWritable | undefined } {
  return {
    id: transaction.id,
    spends: 'inputs',
    inputs: [...transaction.inputs].sort(compareReferences).map(referenceJson),
    outputs: transaction.outputs.map(outputJson),
    requiredExtraSignatories: transaction.requiredSigners.length > 0 ? [...transaction.requiredSigners] : undefined,
    network: transaction.networkId === undefined ? undefined : transaction.networkId === 1 ? 'mainnet' : 'testnet',
    fee: { ada: { lovelace: transaction.fee } },
    validityInterval: validityIntervalJson(transaction),
    // Ogmios v6.6–v6.14 writes an empty `treasury` object on every Conway transaction without a donation.
    treasury: {},
    signatories: transaction.witnesses.map((witness) => ({ key: hex(witness.key), signature: hex(witness.signature) })),
  };
}

/** An output as Ogmios writes it. */
export function outputJson(output: DecodedOutput): { [key: string]: JsonWritable | undefined } {
  return { address: output.address, value: valueJson(output.lovelace, output.assets), datumHash: output.datumHash, datum: output.datum };
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function signatureVerifies(key: Uint8Array, signature: Uint8Array, message: Uint8Array): boolean {
  try {
    const publicKey = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, key]), format: 'der', type: 'spki' });
    return verify(null, message, publicKey, signature);
  } catch {
    return false; // not a point of the curve
  }
}

type PaymentCredential = { readonly kind: 'key'; readonly hash: string } | { readonly kind: 'script' | 'byron' };

/** The payment credential of an address the simulated ledger holds (bech32 Shelley or base58 Byron). */
function paymentCredential(address: string): PaymentCredential {
  if (!address.startsWith('addr')) return { kind: 'byron' };
  const { bytes } = decodeBech32(address, 1000);
  const type = (bytes[0] ?? 0xff) >>> 4;
  if (type > 7) return { kind: 'byron' };
  if (type % 2 === 1) return { kind: 'script' };
  return { kind: 'key', hash: hex(bytes.subarray(1, 29)) };
}

function shelleyNetworkId(address: Uint8Array): number | undefined {
  const header = address[0] ?? 0xff;
  return header >>> 4 <= 7 ? header & 0x0f : undefined;
}

function validityIntervalJson(transaction: SignedTransaction): JsonWritable {
  return { invalidBefore: transaction.invalidBefore, invalidAfter: transaction.invalidAfter };
}

function referenceJson(reference: InputReference): JsonWritable {
  return { transaction: { id: reference.txId }, index: reference.index };
}

function compareReferences(left: InputReference, right: InputReference): number {
  return left.txId === right.txId ? left.index - right.index : left.txId < right.txId ? -1 : 1;
}

interface Value {
  readonly lovelace: bigint;
  readonly assets: readonly AssetQuantity[];
}

function sumValues(values: readonly Value[]): Value {
  let lovelace = 0n;
  const tokens = new Map<string, AssetQuantity>();
  for (const value of values) {
    lovelace += value.lovelace;
    for (const asset of value.assets) {
      const key = `${asset.policyId}.${asset.assetName}`;
      tokens.set(key, { ...asset, quantity: (tokens.get(key)?.quantity ?? 0n) + asset.quantity });
    }
  }
  return { lovelace, assets: [...tokens.values()] };
}

function sameValue(left: Value, right: Value): boolean {
  if (left.lovelace !== right.lovelace || left.assets.length !== right.assets.length) return false;
  const quantities = new Map(left.assets.map((asset) => [`${asset.policyId}.${asset.assetName}`, asset.quantity]));
  return right.assets.every((asset) => quantities.get(`${asset.policyId}.${asset.assetName}`) === asset.quantity);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Ogmios v6's messages for the refusals the simulator answers (server/src/Ogmios/Data/Json/Ledger/PredicateFailure.hs). */
const MESSAGES: Readonly<Record<number, string>> = {
  3100:
    "Some signatures are invalid. 'data.invalidSignatories' contains a list of keys for which the signature didn't verify. " +
    'As a reminder, you must only sign the serialised transaction *body*, without metadata or witnesses.',
  3101:
    'Some signatures are missing. A signed transaction must carry signatures for all inputs locked by verification keys or a ' +
    'native script. Transaction may also need signatures for each required extra signatories often required by Plutus Scripts. ' +
    "The field 'data.missingSignatories' contains the verification key hashes of expected but missing signatories.",
  3117:
    "The transaction contains unknown UTxO references as inputs. This can happen if the inputs you're trying to spend have " +
    "already been spent, or if you've simply referred to non-existing UTxO altogether. The field 'data.unknownOutputReferences' " +
    'indicates all unknown inputs.',
  3118:
    'The transaction is outside of its validity interval. It was either submitted too early or too late. A transaction that has ' +
    "a lower validity bound can only be accepted by the ledger (and make it to the mempool) if the ledger's current slot is " +
    "greater than the specified bound. The upper bound works similarly, as a time to live. The field 'data.currentSlot' contains " +
    'the current slot as known of the ledger (this may be different from the current network slot if the ledger is still ' +
    "catching up). The field 'data.validityInterval' is a reminder of the validity interval provided with the transaction.",
  3119:
    'The transaction exceeds the maximum size allowed by the protocol. Indeed, once serialized, transactions must be under a ' +
    "bytes limit specified by a protocol parameter. The field 'data.measuredTransactionSize' indicates the actual measured size " +
    "of your serialized transaction, whereas 'data.maximumTransactionSize' indicates the current maximum size enforced by the ledger.",
  3121:
    'Transaction must have at least one input, but this one has an empty input set. One input is necessary to prevent ' +
    'replayability of transactions, as it piggybacks on the unique spendable property of UTxO.',
  3122:
    "Insufficient fee! The transaction doesn't not contain enough fee to cover the minimum required by the protocol. Note that " +
    'fee depends on (a) a flat cost fixed by the protocol, (b) the size of the serialized transaction, (c) the budget allocated ' +
    "for Plutus script execution. The field 'data.minimumRequiredFee' indicates the minimum required fee whereas " +
    "'data.providedFee' refers to the fee currently supplied with the transaction.",
  3123: "In and out value not conserved. The transaction must *exactly* balance: every input must be accounted for. There are various things counting as 'in balance': (a) the total value locked by inputs (or collateral inputs in case of a failing script), (b) rewards coming from withdrawals and (c) return deposits from stake credential or pool de-registration. In a similar fashion, various things count towards the 'out balance': (a) the total value assigned to each transaction output, (b) the fee and (c) any deposit for stake credential or pool registration. The field 'data.valueConsumed' contains the total 'in balance', and 'data.valueProduced' indicates the total amount counting as 'out balance'.",
  3124:
    'Some discriminated entities in the transaction are configured for another network. In fact, payment addresses, stake ' +
    'addresses and stake pool registration certificates are bound to a specific network identifier. This identifier must match ' +
    "the network you're trying to submit them to. Since the Alonzo era, transactions themselves may also contain a network " +
    "identifier. The field 'data.expectedNetwork' indicates what is the currrently expected network. The field " +
    "'data.discriminatedType' indicates what type of entity is causing an issue here. And 'data.invalidEntities' lists all the " +
    "culprits found in the transaction. The latter isn't present when the transaction's network identifier itself is wrong.",
  3125:
    'Some outputs have an insufficient amount of Ada attached to them. In fact, any new output created in a system must pay for ' +
    'the resources it occupies. Because user-created assets are worthless (from the point of view of the protocol), those ' +
    'resources must be paid in the form of a Ada deposit. The exact depends on the size of the serialized output: the more ' +
    "assets, the higher the amount. The field 'data.insufficientlyFundedOutputs.[].output' contains a list of all transaction " +
    "outputs that are insufficiently funded. Starting from the Babbage era, the field 'data.insufficientlyFundedOutputs.[].minimumRequiredValue' " +
    'indicates the required amount of Lovelace (1e6 Lovelace = 1 Ada) needed for each output.',
  3136:
    'Invalid transaction submitted as valid, or vice-versa. Since Alonzo, the ledger may allow invalid transactions to be ' +
    'submitted and included on-chain, provided that they leave a collateral value as compensation. This prevent certain class ' +
    'of attacks. As a consequence, transactions now have a validity tag with them. Your transaction did not match what that ' +
    "validity tag is stating. The field 'data.declaredSpending' indicates what the transaction is said to consume (collaterals " +
    "or inputs) and the field 'data.mismatchReason' provides more information about the mismatch.",
  3997: "A transaction was rejected due to custom rules that prevented it from entering the mempool. A justification is given as 'data.error'.",
};
