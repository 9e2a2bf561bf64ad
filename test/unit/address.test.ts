import { readdirSync, readFileSync } from 'node:fs';
import { CHAIN_FIXTURES_DIR, requireShared } from '../support/shared-files.js';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  InvalidAddressError,
  MAX_ADDRESS_LENGTH,
  validateAddress,
  type AddressInfo,
  type Network,
} from '../../functions/domain/address.js';
import { decodeBase58, encodeBase58 } from '../../functions/domain/address/base58.js';
import { decodeBech32, encodeBech32 } from '../../functions/domain/address/bech32.js';
import { crc32 } from '../../functions/domain/address/crc32.js';

const NETWORKS: readonly Network[] = ['mainnet', 'preprod', 'preview'];
const TESTNETS: readonly Network[] = ['preprod', 'preview'];

function rejectionOf(address: unknown, network: Network): InvalidAddressError {
  try {
    validateAddress(address, network);
  } catch (error) {
    if (error instanceof InvalidAddressError) return error;
    throw error;
  }
  throw new Error(`expected ${String(address)} to be rejected on ${network}`);
}

function expectRejected(address: unknown, network: Network, reason: RegExp): InvalidAddressError {
  const error = rejectionOf(address, network);
  expect(error.reason).toMatch(reason);
  return error;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Replaces the character at `index` with a different one from `alphabet`. */
function withCharacterChanged(text: string, index: number, alphabet: string): string {
  const original = text.charAt(index);
  const replacement = [...alphabet].find((char) => char !== original) ?? original;
  return text.slice(0, index) + replacement + text.slice(index + 1);
}

const BECH32_ALPHABET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

// CIP-19 "Test vectors" (cardano-foundation/CIPs, CIP-0019/README.md). All use the same payment key, stake
// key, script and pointer (2498243, 27, 3).
const CIP19_PAYMENT_VECTORS = [
  {
    type: 0,
    kind: 'base',
    credential: 'key',
    mainnet: 'addr1qx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgse35a3x',
    testnet: 'addr_test1qz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgs68faae',
  },
  {
    type: 1,
    kind: 'base',
    credential: 'script',
    mainnet: 'addr1z8phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gten0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgs9yc0hh',
    testnet: 'addr_test1zrphkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gten0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgsxj90mg',
  },
  {
    type: 2,
    kind: 'base',
    credential: 'key',
    mainnet: 'addr1yx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzerkr0vd4msrxnuwnccdxlhdjar77j6lg0wypcc9uar5d2shs2z78ve',
    testnet: 'addr_test1yz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzerkr0vd4msrxnuwnccdxlhdjar77j6lg0wypcc9uar5d2shsf5r8qx',
  },
  {
    type: 3,
    kind: 'base',
    credential: 'script',
    mainnet: 'addr1x8phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gt7r0vd4msrxnuwnccdxlhdjar77j6lg0wypcc9uar5d2shskhj42g',
    testnet: 'addr_test1xrphkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gt7r0vd4msrxnuwnccdxlhdjar77j6lg0wypcc9uar5d2shs4p04xh',
  },
  {
    type: 4,
    kind: 'pointer',
    credential: 'key',
    mainnet: 'addr1gx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer5pnz75xxcrzqf96k',
    testnet: 'addr_test1gz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer5pnz75xxcrdw5vky',
  },
  {
    type: 5,
    kind: 'pointer',
    credential: 'script',
    mainnet: 'addr128phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtupnz75xxcrtw79hu',
    testnet: 'addr_test12rphkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtupnz75xxcryqrvmw',
  },
  {
    type: 6,
    kind: 'enterprise',
    credential: 'key',
    mainnet: 'addr1vx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzers66hrl8',
    testnet: 'addr_test1vz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzerspjrlsz',
  },
  {
    type: 7,
    kind: 'enterprise',
    credential: 'script',
    mainnet: 'addr1w8phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtcyjy7wx',
    testnet: 'addr_test1wrphkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtcl6szpr',
  },
] as const;

const CIP19_STAKE_VECTORS = [
  {
    type: 14,
    mainnet: 'stake1uyehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gh6ffgw',
    testnet: 'stake_test1uqehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gssrtvn',
  },
  {
    type: 15,
    mainnet: 'stake178phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtcccycj5',
    testnet: 'stake_test17rphkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtcljw6kf',
  },
] as const;

const ALL_CIP19_BECH32_VECTORS = [
  ...CIP19_PAYMENT_VECTORS.flatMap((vector) => [vector.mainnet, vector.testnet]),
  ...CIP19_STAKE_VECTORS.flatMap((vector) => [vector.mainnet, vector.testnet]),
];

/** The Byron example in CIP-19's encoding table. Despite appearances it is not a mainnet address: see below. */
const CIP19_BYRON_EXAMPLE =
  '37btjrVyb4KDXBNC4haBVPCrro8AQPHwvCMp3RFhhSVWwfFmZ6wwzSK6JK1hY6wHNmtrpTf1kdbva8TCneM2YsiXT7mrzT21EacHnPpz5YyUdj64na';
const LEGACY_TESTNET_MAGIC = 1097911063;

/** Real mainnet Byron addresses: an Icarus one (Emurgo/cardano-serialization-lib, rust/src/tests/address.rs,
 * "mainnet address w/ protocol magic omitted"), a redeem (AVVM) one from the same file, and a Daedalus one
 * from a real mainnet block in the shared chain fixtures. */
const MAINNET_ICARUS = 'Ae2tdPwUPEZ4YjgvykNpoFeYUxoyhNj2kg8KfKWN2FizsSpLUPv68MpTVDo';
const MAINNET_REDEEM = 'Ae2tdPwUPEZ3MHKkpT5Bpj549vrRH7nBqYjNXnCV8G2Bc2YxNcGHEa8ykDp';
const MAINNET_DAEDALUS = 'DdzFFzCqrht2QdNq1iWh7vZ3si36hCjKDD5nJ3cdSop3thzUwpvDqzPhyhi2G4PP461ExVjdJjyrb7D5jWJnirL7L9LJ8zUYG6HQK499';

/** Preprod Byron address (protocol magic 1): cardano-serialization-lib's `prepod_network_id_test`. */
const PREPROD_BYRON = 'KjgoiXJS2coTnqpCLHXFtd89Hv9ttjsE6yW4msyLXFNkykUpTsyBs85r2rDDia2uKrhdpGKCJnmFXwvPSWLe75564ixZWdTxRh7TnuaDLnHx';

/** Preview Byron addresses (protocol magic 2) with their CBOR, from IntersectMBO/cardano-db-sync,
 * cardano-db-sync/test/Cardano/DbSync/Util/AddressTest.hs (`knownByronAddresses`). */
const PREVIEW_BYRON = [
  {
    address: 'KjgoiXJS2coXLVuJtDXwygCbRigh3rjWFGxRKjNfPbBGZBkNrbbWkn8waRJjy18HWDwF7pucni4jjymEH3BQmVJF2HZvhMuQ1XaXEFa9cNwZ',
    cbor: '82d818584583581c88c83c3233586b4d4b532c28138b14f6a846c1357084f10fb9f127f4a201581e581cc060ac356322c30490e6d3651e06966488c9107790f79637142be660024102001a266025e8',
  },
  {
    address: 'KjgoiXJS2coosFbyBnUaTexmeK4mx3mRk93RvPhBzbZasB4Z6YtWQ52iQ1BBs3u5wLGaPjngMQMNpKU5U4X5fzzWrArPYWwwnjTB2rUK9Spq',
    cbor: '82d818584583581cde01ec5a016bff1d9369bf00e32cc1706a7a9b9afc17a4255140bac3a201581e581cfb9930dad5f5114cb47851ef1fa8945b1c7f2d0a6d4ec7ff0652e382024102001ac617725a',
  },
  {
    address: 'KjgoiXJS2cojCjZuAm1SGgH95DdnczwyQbtxmdC2BLThdt9FLJsxrJbTYbGeNj4rj9Lt6PB8LGudabtEcTUvkN6tSTYiDxdm3MiiRnFpBqWS',
    cbor: '82d818584583581cc5f5ef964d2a688c60788572954b079e914df4408b34bbca7875b504a201581e581caf2aeaa72ba78fffc1e467717359f505edafd7bce21a8d08c32531ff024102001a41121feb',
  },
] as const;

describe('CIP-19 test vectors', () => {
  describe.each(CIP19_PAYMENT_VECTORS)('type $type ($kind, $credential credential)', (vector) => {
    it('mainnet vector is accepted on mainnet', () => {
      expect(validateAddress(vector.mainnet, 'mainnet')).toMatchObject({
        address: vector.mainnet,
        era: 'shelley',
        kind: vector.kind,
        networkId: 1,
        paymentCredential: vector.credential,
      });
    });

    it.each(TESTNETS)('mainnet vector is rejected on %s, naming both networks', (network) => {
      const error = expectRejected(vector.mainnet, network, /mainnet address \(network id 1\)/);
      expect(error.reason).toContain(`NETWORK is ${network}`);
    });

    it.each(TESTNETS)('testnet vector is accepted on %s', (network) => {
      expect(validateAddress(vector.testnet, network)).toMatchObject({
        address: vector.testnet,
        era: 'shelley',
        kind: vector.kind,
        networkId: 0,
        paymentCredential: vector.credential,
      });
    });

    it('testnet vector is rejected on mainnet', () => {
      expectRejected(vector.testnet, 'mainnet', /testnet address \(network id 0\) but NETWORK is mainnet/);
    });
  });

  it.each(CIP19_PAYMENT_VECTORS.filter((vector) => vector.kind === 'pointer'))(
    "type $type decodes the vectors' pointer (2498243, 27, 3)",
    (vector) => {
      const expectedPointer = { slot: 2498243n, transactionIndex: 27n, certificateIndex: 3n };
      expect(validateAddress(vector.mainnet, 'mainnet')).toMatchObject({ stakePointer: expectedPointer });
      expect(validateAddress(vector.testnet, 'preview')).toMatchObject({ stakePointer: expectedPointer });
    },
  );

  describe.each(CIP19_STAKE_VECTORS)('type $type (reward)', (vector) => {
    it.each(NETWORKS)('is rejected as a payment destination on %s', (network) => {
      expectRejected(vector.mainnet, network, /stake \(reward\) address; it cannot receive funds/);
      expectRejected(vector.testnet, network, /stake \(reward\) address; it cannot receive funds/);
    });
  });

  it('rejects the Byron example of the encoding table everywhere: it carries the legacy testnet magic', () => {
    // CIP-19 lists it next to mainnet examples, but its attributes hold protocol magic 1097911063, the
    // retired pre-2022 testnet, so it belongs to none of the networks this monitor follows.
    for (const network of NETWORKS) {
      expectRejected(CIP19_BYRON_EXAMPLE, network, new RegExp(`protocol magic ${LEGACY_TESTNET_MAGIC} \\(the retired legacy testnet\\)`));
    }
  });

  it('rejects the Shelley and stake examples of the encoding table: their header contradicts their prefix', () => {
    // Both carry header 0x60 (enterprise, testnet). Under "addr" the network tag disagrees with the prefix;
    // under "stake" the type does. A wallet would show them as addr_test1vpu5vlrf…
    expectRejected(
      'addr1vpu5vlrf4xkxv2qpwngf6cjhtw542ayty80v8dyr49rf5eg0yu80w',
      'mainnet',
      /prefix "addr" is for mainnet but the header says testnet \(network tag 0\)/,
    );
    expectRejected(
      'stake1vpu5vlrf4xkxv2qpwngf6cjhtw542ayty80v8dyr49rf5egfu2p0u',
      'mainnet',
      /prefix "stake" is for stake addresses, but header type 6 is a payment address \(enterprise\)/,
    );
  });
});

describe('Shelley (bech32) addresses that must be rejected', () => {
  it.each(ALL_CIP19_BECH32_VECTORS)('one changed character in %s breaks the checksum', (address) => {
    const corrupted = withCharacterChanged(address, address.length - 10, BECH32_ALPHABET);
    for (const network of NETWORKS) expectRejected(corrupted, network, /bech32 checksum does not match/);
  });

  it('rejects a dropped character (truncated text)', () => {
    const address = CIP19_PAYMENT_VECTORS[0].mainnet;
    expectRejected(address.slice(0, -1), 'mainnet', /bech32 checksum does not match/);
    expectRejected(address.slice(0, 60), 'mainnet', /bech32 checksum does not match/);
  });

  it('rejects mixed case but accepts all upper case, returning the canonical lower-case form', () => {
    const address = CIP19_PAYMENT_VECTORS[6].mainnet;
    expectRejected(address.slice(0, 10).toUpperCase() + address.slice(10), 'mainnet', /mixes upper and lower case/);
    expectRejected('Addr1vx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzers66hrl8', 'mainnet', /mixes upper and lower case/);
    expect(validateAddress(address.toUpperCase(), 'mainnet').address).toBe(address);
  });

  it('rejects non-zero or excess padding bits under a valid checksum', () => {
    // 29 bytes = 232 bits travel in 47 five-bit words; the last word carries 3 padding bits that must be zero.
    const words = wordsOf(CIP19_PAYMENT_VECTORS[6].mainnet);
    expect(words).toHaveLength(47);
    const nonZeroPadding = [...words.slice(0, -1), (words.at(-1) ?? 0) | 1];
    expectRejected(withChecksum('addr', nonZeroPadding, BECH32_CONSTANT), 'mainnet', /invalid bech32 padding/);
    // Two extra zero words leave 5 bits over: a whole word that no encoder would emit.
    expectRejected(withChecksum('addr', [...words, 0, 0], BECH32_CONSTANT), 'mainnet', /invalid bech32 padding/);
    // The helper itself is sound: the unchanged words give back the vector.
    expect(withChecksum('addr', words, BECH32_CONSTANT)).toBe(CIP19_PAYMENT_VECTORS[6].mainnet);
  });

  it('rejects a character outside the bech32 alphabet', () => {
    const address = CIP19_PAYMENT_VECTORS[6].mainnet.replace('x2f', 'b2f');
    expectRejected(address, 'mainnet', /character "b" at position 6 is not in the bech32 alphabet/);
  });

  describe('a valid checksum over bytes of the wrong shape', () => {
    const baseBytes = decodeBech32(CIP19_PAYMENT_VECTORS[0].mainnet, 1000).bytes;
    const enterpriseBytes = decodeBech32(CIP19_PAYMENT_VECTORS[6].mainnet, 1000).bytes;
    const pointerBytes = decodeBech32(CIP19_PAYMENT_VECTORS[4].mainnet, 1000).bytes;
    const withHeader = (bytes: Uint8Array, header: number): Uint8Array => Uint8Array.from([header, ...bytes.subarray(1)]);

    it('rejects a truncated base address payload', () => {
      expectRejected(encodeBech32('addr', baseBytes.subarray(0, 56)), 'mainnet', /base address must be 57 bytes long, this one is 56/);
      expectRejected(encodeBech32('addr', baseBytes.subarray(0, 29)), 'mainnet', /base address must be 57 bytes long, this one is 29/);
    });

    it('rejects a base address with extra bytes (cardano-serialization-lib malformed-address vector)', () => {
      const malformed =
        'addr1q9d66zzs27kppmx8qc8h43q7m4hkxp5d39377lvxefvxd8j7eukjsdqc5c97t2zg5guqadepqqx6rc9m7wtnxy6tajjvk4a0kze4ljyuvvrpexg5up2sqxj33363v35gtew';
      expectRejected(malformed, 'mainnet', /base address must be 57 bytes long/);
    });

    it('rejects truncated or padded enterprise and reward payloads', () => {
      expectRejected(
        encodeBech32('addr', enterpriseBytes.subarray(0, 28)),
        'mainnet',
        /enterprise address must be 29 bytes long, this one is 28/,
      );
      expectRejected(encodeBech32('addr', Uint8Array.from([...enterpriseBytes, 0])), 'mainnet', /enterprise address must be 29 bytes/);
      const rewardBytes = decodeBech32(CIP19_STAKE_VECTORS[0].mainnet, 1000).bytes;
      expectRejected(encodeBech32('stake', rewardBytes.subarray(0, 20)), 'mainnet', /reward address must be 29 bytes long/);
    });

    it('rejects a pointer that is missing, cut inside a number, or followed by extra bytes', () => {
      expectRejected(encodeBech32('addr', pointerBytes.subarray(0, 29)), 'mainnet', /pointer address must be more than 29 bytes/);
      expectRejected(
        encodeBech32('addr', Uint8Array.from([...pointerBytes.subarray(0, 29), 0x81, 0x80])),
        'mainnet',
        /ends inside its slot number/,
      );
      expectRejected(
        encodeBech32('addr', Uint8Array.from([...pointerBytes.subarray(0, 29), 1, 2])),
        'mainnet',
        /ends inside its certificate index/,
      );
      expectRejected(encodeBech32('addr', Uint8Array.from([...pointerBytes, 0])), 'mainnet', /followed by 1 unexpected bytes/);
    });

    it('accepts pointers with 64-bit coordinates (cardano-serialization-lib `pointer_address_big`)', () => {
      const address = 'addr_test1grqe6lg9ay8wkcu5k5e38lne63c80h3nq6xxhqfmhewf645pllllllllllll7lupllllllllllll7lupllllllllllll7lc9wayvj';
      const max = 2n ** 64n - 1n;
      expect(validateAddress(address, 'preprod')).toMatchObject({
        kind: 'pointer',
        stakePointer: { slot: max, transactionIndex: max, certificateIndex: max },
      });
    });

    it('rejects header type 8 (Byron is never bech32) and the undefined types 9 to 13', () => {
      expectRejected(encodeBech32('addr', withHeader(enterpriseBytes, 0x81)), 'mainnet', /header type 8 is a Byron address/);
      for (const type of [9, 10, 11, 12, 13]) {
        expectRejected(
          encodeBech32('addr', withHeader(enterpriseBytes, (type << 4) | 1)),
          'mainnet',
          new RegExp(`header type ${type} is not a CIP-19 address type`),
        );
      }
    });

    it('rejects reserved network tags', () => {
      expectRejected(encodeBech32('addr', withHeader(enterpriseBytes, 0x62)), 'mainnet', /network tag 2 is reserved/);
    });

    it('rejects an empty payload', () => {
      expectRejected(encodeBech32('addr', new Uint8Array()), 'mainnet', /holds no bytes/);
    });
  });

  describe('wrong prefix', () => {
    const testnetEnterprise = decodeBech32(CIP19_PAYMENT_VECTORS[6].testnet, 1000).bytes;
    const mainnetEnterprise = decodeBech32(CIP19_PAYMENT_VECTORS[6].mainnet, 1000).bytes;

    it('rejects a testnet payload under the mainnet prefix and the other way round', () => {
      expectRejected(encodeBech32('addr', testnetEnterprise), 'mainnet', /prefix "addr" is for mainnet but the header says testnet/);
      expectRejected(
        encodeBech32('addr_test', mainnetEnterprise),
        'preprod',
        /prefix "addr_test" is for testnet but the header says mainnet/,
      );
    });

    it('rejects a payment payload under a stake prefix and a stake payload under a payment prefix', () => {
      expectRejected(encodeBech32('stake', mainnetEnterprise), 'mainnet', /prefix "stake" is for stake addresses/);
      const reward = decodeBech32(CIP19_STAKE_VECTORS[0].mainnet, 1000).bytes;
      expectRejected(
        encodeBech32('addr', reward),
        'mainnet',
        /prefix "addr" is for payment addresses, but header type 14 is a stake address/,
      );
    });

    it('rejects prefixes that are not Cardano address prefixes', () => {
      expectRejected(encodeBech32('addr_vk', mainnetEnterprise), 'mainnet', /prefix "addr_vk" is not a Cardano address prefix/);
      expectRejected(encodeBech32('bc', mainnetEnterprise), 'mainnet', /prefix "bc" is not a Cardano address prefix/);
    });

    it('rejects a bech32m checksum on an otherwise valid address', () => {
      const words = wordsOf(CIP19_PAYMENT_VECTORS[6].mainnet);
      expectRejected(withChecksum('addr', words, BECH32M_CONSTANT), 'mainnet', /bech32m checksum; Cardano addresses use bech32/);
    });

    it('rejects a bech32m checksum (BIP-350 valid vector)', () => {
      expectRejected('abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx', 'mainnet', /bech32m checksum; Cardano addresses use bech32/);
    });
  });
});

describe('Byron (base58) addresses', () => {
  it.each([MAINNET_ICARUS, MAINNET_DAEDALUS, MAINNET_REDEEM])('%s is a mainnet address', (address) => {
    expect(validateAddress(address, 'mainnet')).toEqual<AddressInfo>({
      address,
      era: 'byron',
      kind: 'byron',
      networkId: 1,
      protocolMagic: null,
    });
    for (const network of TESTNETS) {
      expectRejected(address, network, new RegExp(`mainnet Byron address \\(no protocol magic\\) but NETWORK is ${network}`));
    }
  });

  it('accepts a preprod Byron address (protocol magic 1) only on preprod', () => {
    expect(validateAddress(PREPROD_BYRON, 'preprod')).toMatchObject({ era: 'byron', networkId: 0, protocolMagic: 1 });
    expectRejected(
      PREPROD_BYRON,
      'mainnet',
      /carries protocol magic 1 \(preprod\) but NETWORK is mainnet, whose Byron addresses carry none/,
    );
    expectRejected(
      PREPROD_BYRON,
      'preview',
      /carries protocol magic 1 \(preprod\) but NETWORK is preview, whose Byron addresses carry protocol magic 2/,
    );
  });

  it.each(PREVIEW_BYRON)('accepts the preview Byron address $address only on preview', ({ address, cbor }) => {
    expect(hex(decodeBase58(address))).toBe(cbor);
    expect(validateAddress(address, 'preview')).toMatchObject({ era: 'byron', networkId: 0, protocolMagic: 2 });
    expectRejected(address, 'preprod', /carries protocol magic 2 \(preview\) but NETWORK is preprod/);
    expectRejected(address, 'mainnet', /carries protocol magic 2 \(preview\)/);
  });

  it('rejects a corrupted CRC', () => {
    const bytes = decodeBase58(MAINNET_DAEDALUS);
    const lastIndex = bytes.length - 1;
    bytes[lastIndex] = (bytes[lastIndex] ?? 0) ^ 0x01; // the CRC is the last item of the outer array
    expectRejected(encodeBase58(bytes), 'mainnet', /CRC32 does not match/);
  });

  it('rejects content changed under an intact CRC', () => {
    const bytes = decodeBase58(MAINNET_ICARUS);
    bytes[10] = (bytes[10] ?? 0) ^ 0xff; // inside the root
    expectRejected(encodeBase58(bytes), 'mainnet', /CRC32 does not match/);
  });

  it.each([5, 30, 60])('rejects a mistyped base58 character at position %i', (index) => {
    const mistyped = withCharacterChanged(MAINNET_DAEDALUS, index, 'abcdefgh');
    expectRejected(mistyped, 'mainnet', /not a valid base58 Byron address/);
  });

  it('rejects truncated base58 text', () => {
    expectRejected(MAINNET_DAEDALUS.slice(0, -4), 'mainnet', /not a valid base58 Byron address/);
  });

  describe('constructed addresses', () => {
    // Built here with a tiny CBOR encoder to reach the cases no published address exercises. The root is
    // arbitrary: a validator cannot check it (it hashes the spending key, which an address does not carry).
    const root = Uint8Array.from({ length: 28 }, (_, index) => index);

    it('round-trips a preview address like the real ones', () => {
      const address = byronAddress({ root, attributes: [[2, cborBytes(cborUint(2))]], type: 0 });
      expect(validateAddress(address, 'preview')).toMatchObject({ protocolMagic: 2 });
    });

    it('names magics of other networks and unknown ones', () => {
      const sanchonet = byronAddress({ root, attributes: [[2, cborBytes(cborUint(4))]], type: 0 });
      expectRejected(sanchonet, 'preview', /protocol magic 4 \(SanchoNet\)/);
      const unknown = byronAddress({ root, attributes: [[2, cborBytes(cborUint(42))]], type: 0 });
      expectRejected(unknown, 'preprod', /protocol magic 42 \(an unknown network\)/);
    });

    it('skips unknown attributes but rejects duplicated ones', () => {
      const withExtra = byronAddress({
        root,
        attributes: [
          [7, cborUint(5)],
          [2, cborBytes(cborUint(1))],
        ],
        type: 0,
      });
      expect(validateAddress(withExtra, 'preprod')).toMatchObject({ protocolMagic: 1 });
      const duplicated = byronAddress({
        root,
        attributes: [
          [2, cborBytes(cborUint(1))],
          [2, cborBytes(cborUint(1))],
        ],
        type: 0,
      });
      expectRejected(duplicated, 'preprod', /attribute 2 appears twice/);
    });

    it('rejects a protocol magic that is not a 32-bit unsigned integer', () => {
      const tooBig = byronAddress({ root, attributes: [[2, cborBytes([0x1b, 0, 0, 0, 1, 0, 0, 0, 0])]], type: 0 });
      expectRejected(tooBig, 'preprod', /protocol magic attribute is not a 32-bit unsigned integer/);
    });

    it('rejects a root that is not 28 bytes', () => {
      const address = byronAddress({ root: root.subarray(0, 27), attributes: [], type: 0 });
      expectRejected(address, 'mainnet', /root is 27 bytes; expected 28/);
    });

    it('rejects address types other than 0 (public key) and 2 (redeem)', () => {
      expectRejected(byronAddress({ root, attributes: [], type: 1 }), 'mainnet', /unknown Byron address type 1/);
      expect(validateAddress(byronAddress({ root, attributes: [], type: 2 }), 'mainnet')).toMatchObject({ kind: 'byron' });
    });

    it('rejects a payload without tag 24, and trailing bytes', () => {
      const payload = Uint8Array.from(byronPayload(root, [], 0));
      const untagged = [...cborArrayHead(2), ...cborBytes(payload), ...cborUint(crc32(payload))];
      expectRejected(encodeBase58(Uint8Array.from(untagged)), 'mainnet', /expected a tag at CBOR byte 1, found a byte string/);
      const valid = decodeBase58(byronAddress({ root, attributes: [], type: 0 }));
      expectRejected(encodeBase58(Uint8Array.from([...valid, 0])), 'mainnet', /unexpected bytes after the CRC/);
    });

    it('rejects indefinite-length CBOR', () => {
      const payload = Uint8Array.from([0x9f, ...cborBytes(root), 0xa0, 0x00, 0xff]);
      const address = encodeBase58(Uint8Array.from([...cborArrayHead(2), 0xd8, 24, ...cborBytes(payload), ...cborUint(crc32(payload))]));
      expectRejected(address, 'mainnet', /indefinite-length CBOR item/);
    });
  });
});

describe('input hygiene', () => {
  it.each([
    ['', /the address is empty/],
    ['   ', /only whitespace/],
    ['\t\n', /only whitespace/],
    [` ${CIP19_PAYMENT_VECTORS[6].mainnet}`, /leading or trailing whitespace/],
    [`${CIP19_PAYMENT_VECTORS[6].mainnet}\n`, /leading or trailing whitespace/],
    ['addr1vx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jh sydzers66hrl8', /contains whitespace/],
    ['addr1vx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzers66hrl8\u200b', /not printable ASCII/],
    ['аddr1vx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzers66hrl8', /not printable ASCII/], // Cyrillic "а"
    ['hello', /neither a bech32 Shelley address nor a base58 Byron address/],
    ['0x8A7B', /neither a bech32 Shelley address nor a base58 Byron address/],
  ])('rejects %j', (address, reason) => {
    expectRejected(address, 'mainnet', reason);
  });

  it.each([42, null, undefined, { address: 'addr1…' }, ['addr1']])('rejects the non-string %j', (value) => {
    const error = expectRejected(value, 'mainnet', /expected a string, got/);
    expect(error.message).toMatch(/^Invalid Cardano address "<\w+>": expected a string, got \w+$/);
  });

  it(`rejects text longer than ${MAX_ADDRESS_LENGTH} characters and keeps the message short`, () => {
    const tooLong = `addr1${'q'.repeat(MAX_ADDRESS_LENGTH)}`;
    const error = expectRejected(
      tooLong,
      'mainnet',
      new RegExp(`is ${tooLong.length} characters long; the limit is ${MAX_ADDRESS_LENGTH}`),
    );
    expect(error.address).toBe(tooLong);
    expect(error.message.length).toBeLessThan(250);
    expect(error.message).toContain(`"${tooLong.slice(0, 119)}…" (${tooLong.length} characters)`);
  });

  it('does not apply the 90-character limit of BIP-173', () => {
    const base = CIP19_PAYMENT_VECTORS[0].mainnet;
    expect(base.length).toBeGreaterThan(90);
    expect(validateAddress(base, 'mainnet').kind).toBe('base');
  });

  it('refuses an unknown network as a programming error, not as a bad address', () => {
    expect(() => validateAddress(CIP19_PAYMENT_VECTORS[6].mainnet, 'testnet' as Network)).toThrow(TypeError);
  });
});

describe('InvalidAddressError', () => {
  it('names the address and the reason', () => {
    const corrupted = withCharacterChanged(CIP19_PAYMENT_VECTORS[6].mainnet, 20, BECH32_ALPHABET);
    const error = rejectionOf(corrupted, 'mainnet');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('InvalidAddressError');
    expect(error.address).toBe(corrupted);
    expect(error.reason).toBe('bech32 checksum does not match (mistyped or truncated?)');
    expect(error.message).toBe(`Invalid Cardano address "${corrupted}": ${error.reason}`);
  });

  it('names the address when the network is wrong', () => {
    const address = CIP19_PAYMENT_VECTORS[0].mainnet;
    expect(() => validateAddress(address, 'preprod')).toThrow(
      `Invalid Cardano address "${address}": this is a mainnet address (network id 1) but NETWORK is preprod`,
    );
  });
});

describe('codecs', () => {
  it('computes the standard CRC-32 check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array())).toBe(0);
  });

  it('round-trips base58 with leading zero bytes', () => {
    const bytes = Uint8Array.from([0, 0, 1, 2, 255]);
    expect(encodeBase58(bytes).startsWith('11')).toBe(true);
    expect(decodeBase58(encodeBase58(bytes))).toEqual(bytes);
    expect(decodeBase58('')).toEqual(new Uint8Array());
  });

  it('decodes BIP-173 valid vectors (bitcoinjs/bech32 fixtures)', () => {
    expect(decodeBech32('a12uel5l', 90)).toEqual({ prefix: 'a', bytes: new Uint8Array() });
    expect(hex(decodeBech32('abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw', 90).bytes)).toBe('00443214c74254b635cf84653a56d7c675be77df');
  });

  it('encodes what it decodes', () => {
    for (const address of ALL_CIP19_BECH32_VECTORS) {
      const { prefix, bytes } = decodeBech32(address, 1000);
      expect(encodeBech32(prefix, bytes)).toBe(address);
    }
  });
});

// Real blocks (Ogmios v6 JSON) recorded from each network: every output address in them must pass.
const CHAIN_FIXTURES = requireShared(CHAIN_FIXTURES_DIR);

describe('real addresses from the chain fixtures', () => {
  const mainnet = outputAddresses(['mainnet', ...sequenceFolders('mainnet-')]);
  const preprod = outputAddresses(['preprod', ...sequenceFolders('preprod-')]);
  const preview = outputAddresses(['preview', ...sequenceFolders('preview-')]);

  it('finds addresses of every era', () => {
    expect(mainnet.size).toBeGreaterThan(1000);
    expect([...mainnet.keys()].some((address) => address.startsWith('DdzFF'))).toBe(true);
    expect([...mainnet.keys()].some((address) => address.startsWith('Ae2td'))).toBe(true);
    expect(preprod.size).toBeGreaterThan(100);
    expect(preview.size).toBeGreaterThan(50);
  });

  it('accepts every output address of the mainnet blocks on mainnet, and rejects them on preprod', () => {
    const failures = [...mainnet].flatMap(([address, file]) => failureOf(address, 'mainnet', file));
    expect(failures).toEqual([]);
    const acceptedOnPreprod = [...mainnet.keys()].filter((address) => failureOf(address, 'preprod', '').length === 0);
    expect(acceptedOnPreprod).toEqual([]);
  });

  it('accepts every output address of the preprod blocks on preprod', () => {
    const failures = [...preprod].flatMap(([address, file]) => failureOf(address, 'preprod', file));
    expect(failures).toEqual([]);
  });

  it('accepts every preview output address on preview, except Byron ones made for the legacy testnet', () => {
    // The ledger only checks mainnet-vs-testnet for Byron outputs, so a wallet still configured for the retired
    // testnet (magic 1097911063) could pay these on preview. We reject them deliberately: a business
    // registering one has its wallet pointed at the wrong network.
    const failures = [...preview].flatMap(([address, file]) => failureOf(address, 'preview', file));
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) {
      expect(failure).toMatch(/^2cWKMJemoBa\w+: this Byron address carries protocol magic 1097911063 \(the retired legacy testnet\)/);
    }
  });
});

// --- helpers -------------------------------------------------------------------------------------------------

function failureOf(address: string, network: Network, file: string): string[] {
  try {
    validateAddress(address, network);
    return [];
  } catch (error) {
    if (error instanceof InvalidAddressError) return [`${address}: ${error.reason} (${file})`];
    throw error;
  }
}

function sequenceFolders(prefix: string): string[] {
  return readdirSync(join(CHAIN_FIXTURES, 'sequences'))
    .filter((name) => name.startsWith(prefix))
    .map((name) => join('sequences', name));
}

/** Output and collateral-return addresses, each with the first file it appears in. */
function outputAddresses(folders: readonly string[]): Map<string, string> {
  const addresses = new Map<string, string>();
  for (const folder of folders) {
    for (const name of readdirSync(join(CHAIN_FIXTURES, folder)).filter((file) => file.endsWith('.json'))) {
      const file = join(folder, name);
      // Plain JSON.parse loses precision on big quantities, which does not matter here: addresses are strings.
      const block: unknown = JSON.parse(readFileSync(join(CHAIN_FIXTURES, file), 'utf8'));
      for (const address of addressesInBlock(block)) if (!addresses.has(address)) addresses.set(address, file);
    }
  }
  return addresses;
}

function addressesInBlock(block: unknown): string[] {
  const transactions = field(block, 'transactions');
  if (!Array.isArray(transactions)) return [];
  return transactions.flatMap((transaction: unknown) => {
    const outputs = field(transaction, 'outputs');
    const collateralReturn = field(transaction, 'collateralReturn');
    return [...(Array.isArray(outputs) ? outputs : []), collateralReturn]
      .map((output: unknown) => field(output, 'address'))
      .filter((address): address is string => typeof address === 'string');
  });
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

// An independent bech32 checksum (the BIP-173 reference algorithm), to build strings that our encoder refuses
// to produce: bech32m checksums and non-canonical padding.
const BECH32_CONSTANT = 1;
const BECH32M_CONSTANT = 0x2bc830a3;

function wordsOf(address: string): number[] {
  return [...address.slice(address.lastIndexOf('1') + 1, -6)].map((char) => BECH32_ALPHABET.indexOf(char));
}

function withChecksum(prefix: string, words: readonly number[], constant: number): string {
  const generators = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  const codes = [...prefix].map((char) => char.charCodeAt(0));
  const values = [...codes.map((code) => code >> 5), 0, ...codes.map((code) => code & 31), ...words, 0, 0, 0, 0, 0, 0];
  let checksum = 1;
  for (const value of values) {
    const top = checksum >>> 25;
    checksum = ((checksum & 0x1ffffff) << 5) ^ value;
    generators.forEach((generator, bit) => {
      if ((top >>> bit) & 1) checksum ^= generator;
    });
  }
  checksum ^= constant;
  const checksumWords = [0, 1, 2, 3, 4, 5].map((index) => (checksum >>> (5 * (5 - index))) & 31);
  return `${prefix}1${[...words, ...checksumWords].map((word) => BECH32_ALPHABET.charAt(word)).join('')}`;
}

// A minimal CBOR encoder, just for building Byron addresses (definite lengths, values below 2^32).
function cborHead(majorType: number, value: number): number[] {
  const major = majorType << 5;
  if (value < 24) return [major | value];
  if (value < 0x100) return [major | 24, value];
  if (value < 0x10000) return [major | 25, value >>> 8, value & 0xff];
  return [major | 26, value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}
function cborUint(value: number): number[] {
  return cborHead(0, value);
}
function cborBytes(bytes: ArrayLike<number>): number[] {
  return [...cborHead(2, bytes.length), ...Array.from(bytes)];
}
function cborArrayHead(length: number): number[] {
  return cborHead(4, length);
}

function byronPayload(root: Uint8Array, attributes: ReadonlyArray<readonly [number, number[]]>, type: number): number[] {
  const attributeMap = [...cborHead(5, attributes.length), ...attributes.flatMap(([key, value]) => [...cborUint(key), ...value])];
  return [...cborArrayHead(3), ...cborBytes(root), ...attributeMap, ...cborUint(type)];
}

/** `[ #6.24(bytes payload), crc32(payload) ]`, base58-encoded. */
function byronAddress(parts: { root: Uint8Array; attributes: ReadonlyArray<readonly [number, number[]]>; type: number }): string {
  const payload = Uint8Array.from(byronPayload(parts.root, parts.attributes, parts.type));
  const outer = [...cborArrayHead(2), 0xd8, 24, ...cborBytes(payload), ...cborUint(crc32(payload))];
  return encodeBase58(Uint8Array.from(outer));
}
