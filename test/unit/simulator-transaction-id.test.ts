import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blake2b, blake2b256Hex } from '../../functions/local/simulator/blake2b.js';
import { TransactionCborError, transactionIdFromCbor } from '../../functions/local/simulator/transaction-cbor.js';

const hex = (text: string): Buffer => Buffer.from(text, 'hex');

describe('blake2b', () => {
  it('gives the published BLAKE2b-256 digests', () => {
    expect(blake2b256Hex(new Uint8Array())).toBe('0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8');
    expect(blake2b256Hex(Buffer.from('abc'))).toBe('bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319');
  });

  it('agrees with node:crypto blake2b512 at every block boundary', () => {
    for (const length of [0, 1, 63, 64, 127, 128, 129, 255, 256, 257, 1_000, 16_384]) {
      const data = randomBytes(length);
      expect(Buffer.from(blake2b(data, 64)).toString('hex')).toBe(createHash('blake2b512').update(data).digest('hex'));
    }
  });

  it('rejects digest lengths outside 1 to 64 bytes', () => {
    expect(() => blake2b(new Uint8Array(), 0)).toThrow(RangeError);
    expect(() => blake2b(new Uint8Array(), 65)).toThrow(RangeError);
  });
});

describe('transactionIdFromCbor', () => {
  // Conway transaction [body, witnesses, isValid, auxiliaryData] whose body is {0: [[txid, 0]], 1: [], 2: 200000}.
  const body = `a3008182582000${'11'.repeat(31)}000180021a00030d40`;

  it('hashes the body bytes exactly as sent (the Cardano transaction id)', () => {
    expect(transactionIdFromCbor(hex(`84${body}a0f5f6`))).toBe(blake2b256Hex(hex(body)));
  });

  it('accepts three-element (Shelley) and indefinite-length transaction arrays', () => {
    expect(transactionIdFromCbor(hex(`83${body}a0f6`))).toBe(blake2b256Hex(hex(body)));
    expect(transactionIdFromCbor(hex(`9f${body}a0f5f6ff`))).toBe(blake2b256Hex(hex(body)));
    // An indefinite-length body map is hashed as sent too.
    const indefiniteBody = `bf00${'80'}ff`;
    expect(transactionIdFromCbor(hex(`84${indefiniteBody}a0f5f6`))).toBe(blake2b256Hex(hex(indefiniteBody)));
  });

  it('rejects what is not a transaction', () => {
    const cases = [
      '', // nothing
      '00', // an integer
      '820102', // an array of two integers
      `84${body}a0f5`, // a missing item
      `84${body}a0f5f600`, // trailing bytes
      `8401a0f5f6`, // the body is not a map
      '84a1005820', // a byte string running past the end
      `84a100${'81'.repeat(300)}00a0f5f6`, // nested deeper than allowed
    ];
    for (const cbor of cases) expect(() => transactionIdFromCbor(hex(cbor)), cbor).toThrow(TransactionCborError);
  });
});
