/**
 * The simulator's decoding of submitted transactions, against transactions the transaction library
 * (@emurgo/cardano-serialization-lib-nodejs) serialises: both output forms (legacy array with a datum hash,
 * post-Alonzo map with an inline datum), tokens, ttl, validity start, witnesses; indefinite lengths; and hostile
 * or broken input refused as a deserialisation failure, never a crash.
 */
import CSL from '@emurgo/cardano-serialization-lib-nodejs';
import { describe, expect, it } from 'vitest';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { decodeSignedTransaction } from '../../functions/local/simulator/signed-transaction.js';
import { TransactionCborError } from '../../functions/local/simulator/transaction-cbor.js';
import { signedTransaction, testKey } from '../support/signed-transactions.js';

const KEY = testKey('preprod', new Uint8Array(32).fill(7));
const PAYEE = syntheticAddress('preprod', 'decode-payee');
const POLICY = '12'.repeat(28);
const DATUM_HASH = '3f'.repeat(32);

function withDatums(): { cbor: Uint8Array; id: string } {
  const inputs = CSL.TransactionInputs.new();
  inputs.add(CSL.TransactionInput.new(CSL.TransactionHash.from_hex('aa'.repeat(32)), 2));
  const outputs = CSL.TransactionOutputs.new();
  const inline = CSL.TransactionOutput.new(CSL.Address.from_bech32(PAYEE), CSL.Value.new(CSL.BigNum.from_str('2000000')));
  inline.set_plutus_data(CSL.PlutusData.new_integer(CSL.BigInt.from_str('42')));
  outputs.add(inline);
  const hashed = CSL.TransactionOutput.new(CSL.Address.from_bech32(KEY.address), CSL.Value.new(CSL.BigNum.from_str('3000000')));
  hashed.set_data_hash(CSL.DataHash.from_hex(DATUM_HASH));
  outputs.add(hashed);
  const body = CSL.TransactionBody.new_tx_body(inputs, outputs, CSL.BigNum.from_str('170000'));
  const transaction = CSL.Transaction.new(body, CSL.TransactionWitnessSet.new());
  return { cbor: transaction.to_bytes(), id: CSL.FixedTransaction.from_bytes(transaction.to_bytes()).transaction_hash().to_hex() };
}

/** [{0: [[aa…, first], [aa…, second]], 1: [], 2: 10}, {}, true, null] */
function twoInputs(first: string, second: string): string {
  return `84a30082825820${'aa'.repeat(32)}${first}825820${'aa'.repeat(32)}${second}0180020aa0f5f6`;
}

describe('decodeSignedTransaction', () => {
  it('reads what the transaction library writes: inputs, outputs with tokens, fee, validity interval, witnesses', () => {
    const built = signedTransaction({
      inputs: [
        { txId: 'bb'.repeat(32), index: 1 },
        { txId: 'aa'.repeat(32), index: 0 },
      ],
      outputs: [
        { address: PAYEE, lovelace: 1_500_000n, assets: [{ policyId: POLICY, assetName: '', quantity: 2n ** 64n - 1n }] },
        { address: KEY.address, lovelace: 9_000_000n },
      ],
      fee: 180_000n,
      ttl: 123_456n,
      validFrom: 100n,
      signers: [KEY],
    });
    const decoded = decodeSignedTransaction(Buffer.from(built.cbor, 'hex'));
    expect(decoded.id).toBe(built.id);
    expect(decoded.size).toBe(built.size);
    expect(new Set(decoded.inputs.map((input) => `${input.txId}#${input.index}`))).toEqual(
      new Set([`${'bb'.repeat(32)}#1`, `${'aa'.repeat(32)}#0`]),
    );
    expect(decoded.outputs.map(({ address, lovelace, assets }) => ({ address, lovelace, assets }))).toEqual([
      { address: PAYEE, lovelace: 1_500_000n, assets: [{ policyId: POLICY, assetName: '', quantity: 2n ** 64n - 1n }] },
      { address: KEY.address, lovelace: 9_000_000n, assets: [] },
    ]);
    expect(decoded).toMatchObject({ fee: 180_000n, invalidAfter: 123_456n, invalidBefore: 100n, isValid: true, unsupported: [] });
    expect(decoded.witnesses.map((witness) => Buffer.from(witness.key).toString('hex'))).toEqual([
      Buffer.from(KEY.publicKey).toString('hex'),
    ]);
  });

  it('reads both output forms: a map with an inline datum, an array with a datum hash', () => {
    const { cbor, id } = withDatums();
    const decoded = decodeSignedTransaction(cbor);
    expect(decoded.id).toBe(id);
    expect(decoded.outputs[0]).toMatchObject({ address: PAYEE, lovelace: 2_000_000n, datum: '182a' });
    expect(decoded.outputs[1]).toMatchObject({ address: KEY.address, lovelace: 3_000_000n, datumHash: DATUM_HASH });
    expect(decoded.invalidAfter).toBeUndefined();
  });

  it('takes an indefinite-length transaction array with the same body (and so the same id)', () => {
    const { cbor, id } = withDatums();
    expect(cbor[0]).toBe(0x84);
    const indefinite = Buffer.concat([Buffer.from([0x9f]), cbor.subarray(1), Buffer.from([0xff])]);
    expect(decodeSignedTransaction(indefinite).id).toBe(id);
  });

  it('refuses broken and hostile input as a deserialisation failure', () => {
    const { cbor } = withDatums();
    const refusals = [
      cbor.subarray(0, cbor.length - 1), // truncated
      Buffer.concat([cbor, Buffer.from([0x00])]), // trailing bytes
      Buffer.from(`${'81'.repeat(100_000)}00`, 'hex'), // nested far too deep
      Buffer.from('84a20080018002a0f5f6', 'hex'), // no fee (key 2 missing: {0: [], 1: []})
      Buffer.from('5bffffffffffffffff00', 'hex'), // a byte string longer than the input
      Buffer.from('9bffffffffffffffff', 'hex'), // an array longer than the input
      Buffer.from('820102', 'hex'),
      Buffer.from(twoInputs('00', '00'), 'hex'), // an input twice
    ];
    for (const bytes of refusals)
      expect(() => decodeSignedTransaction(bytes), Buffer.from(bytes).toString('hex').slice(0, 40)).toThrow(TransactionCborError);
  });

  it('takes two distinct inputs (the same shape with an input twice is refused above)', () => {
    expect(decodeSignedTransaction(Buffer.from(twoInputs('00', '01'), 'hex')).inputs).toHaveLength(2);
  });

  it('lists body fields the simulator has no rules for', () => {
    // {0: [], 1: [], 2: 10, 9: {}} (mint), no witnesses
    expect(decodeSignedTransaction(Buffer.from('84a400800180020a09a0a0f5f6', 'hex')).unsupported).toEqual(['body field 9 (mint)']);
  });
});
