import { randomBytes, randomInt } from 'node:crypto';
import CSL from '@emurgo/cardano-serialization-lib-nodejs';
import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import {
  type ExtendedPublicKey,
  baseAddress,
  deriveAddress,
  keyHash,
  parseAccountPublicKey,
  softDerive,
} from '../../functions/domain/address/account-key.js';
import { decodeBech32, encodeBech32 } from '../../functions/domain/address/bech32.js';
import { DecodeError } from '../../functions/domain/address/decode-error.js';
import type { Network } from '../../functions/domain/network.js';
import {
  DEMO_ACCOUNT_FIRST_MAINNET_ADDRESS,
  DEMO_ACCOUNT_FIRST_TESTNET_ADDRESS,
  DEMO_ACCOUNT_PUBLIC_KEY,
} from '../../functions/local/demo-account.js';

const NETWORKS: readonly Network[] = ['mainnet', 'preprod', 'preview'];
const LAST_SOFT_INDEX = 2 ** 31 - 1;

const harden = (index: number): number => (index | 0x8000_0000) >>> 0;
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** m/1852'/1815'/account' of a wallet restored from `entropy` (BIP-39 entropy, empty passphrase), by CSL. */
function cslAccountKey(entropy: Uint8Array, account = 0): CSL.Bip32PublicKey {
  return CSL.Bip32PrivateKey.from_bip39_entropy(entropy, new Uint8Array())
    .derive(harden(1852))
    .derive(harden(1815))
    .derive(harden(account))
    .to_public();
}

/** The oracle: CSL's own soft derivation and base address, payment key role 0 / index, stake key role 2 / 0. */
function cslAddress(account: CSL.Bip32PublicKey, index: number, network: Network): string {
  const payment = account.derive(0).derive(index).to_raw_key().hash();
  const stake = account.derive(2).derive(0).to_raw_key().hash();
  const networkId = network === 'mainnet' ? CSL.NetworkInfo.mainnet().network_id() : CSL.NetworkInfo.testnet_preprod().network_id();
  return CSL.BaseAddress.new(networkId, CSL.Credential.from_keyhash(payment), CSL.Credential.from_keyhash(stake)).to_address().to_bech32();
}

function refusal(text: string): DecodeError {
  try {
    parseAccountPublicKey(text);
  } catch (error) {
    if (error instanceof DecodeError) return error;
    throw error;
  }
  throw new Error('expected the key to be refused');
}

describe('account public key derivation against cardano-serialization-lib', () => {
  const accounts = Array.from({ length: 4 }, (_, i) => {
    const entropy = randomBytes(i % 2 === 0 ? 16 : 32); // 12- and 24-word wallets
    return { entropy: hex(entropy), csl: cslAccountKey(entropy, i) };
  });

  it.each(accounts)('derives the addresses CSL derives (entropy $entropy)', ({ entropy, csl }) => {
    const key = parseAccountPublicKey(csl.to_bech32()); // CSL writes xpub1…
    expect(hex(key.bytes), entropy).toBe(hex(csl.as_bytes()));
    const indexes = [0, 1, 19, 20, LAST_SOFT_INDEX, randomInt(2 ** 31 - 1), randomInt(1000)];
    for (const index of indexes) {
      for (const network of NETWORKS) {
        expect(deriveAddress(key, index, network), `entropy ${entropy}, index ${index}, ${network}`).toBe(cslAddress(csl, index, network));
      }
    }
  });

  it('derives the same child keys as CSL at every level of a path', () => {
    const csl = cslAccountKey(randomBytes(16));
    const key = parseAccountPublicKey(encodeBech32('acct_xvk', csl.as_bytes()));
    for (const path of [
      [0, 0],
      [1, 7],
      [2, 0],
      [0, LAST_SOFT_INDEX, 5],
    ]) {
      const ours = path.reduce((node, index) => softDerive(node, index), key as ExtendedPublicKey);
      const theirs = path.reduce((node, index) => node.derive(index), csl);
      expect(hex(ours.publicKey), path.join('/')).toBe(hex(theirs.to_raw_key().as_bytes()));
      expect(hex(ours.chainCode), path.join('/')).toBe(hex(theirs.chaincode()));
    }
  });
});

describe('the published test mnemonic', () => {
  // "test walk nut penalty hip pave soap entry language right filter choice": its BIP-39 entropy, as
  // cardano-serialization-lib's own tests write it (rust/src/tests/address.rs, root_key_12).
  const ENTROPY = Uint8Array.from(Buffer.from('df9ed25ed146bf43336a5d7cf7395994', 'hex'));
  // m/1852'/1815'/0', public: 32-byte key then chain code (also published by wallets' tests as this mnemonic's
  // account xpub).
  const ACCOUNT_0_HEX =
    'cf779aa32f35083707808532471cb64ee41426c9bbd46134dac2ac5b2a0ec0e98fa5fcd46abd9d46d4d8a97a8f3465e2c4e8f3c9dad9ff66823a161ecadca604';

  // CIP-19 "Test vectors" (cardano-foundation/CIPs, CIP-0019/README.md): the payment key is this mnemonic's
  // m/1852'/1815'/0'/0/0, the stake key its m/1852'/1815'/1'/2/0 (account 1's staking key: found by derivation,
  // the CIP does not say), so the type-00 addresses combine two accounts.
  const CIP19_PAYMENT_VK = 'addr_vk1w0l2sr2zgfm26ztc6nl9xy8ghsk5sh6ldwemlpmp9xylzy4dtf7st80zhd';
  const CIP19_STAKE_VK = 'stake_vk1px4j0r2fk7ux5p23shz8f3y5y2qam7s954rgf3lg5merqcj6aetsft99wu';
  const CIP19_TYPE_00 = {
    mainnet: 'addr1qx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgse35a3x',
    testnet: 'addr_test1qz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgs68faae',
  };

  it('has the account key the demo registers, derived by CSL from the entropy', () => {
    const csl = cslAccountKey(ENTROPY);
    expect(hex(csl.as_bytes())).toBe(ACCOUNT_0_HEX);
    const demo = parseAccountPublicKey(DEMO_ACCOUNT_PUBLIC_KEY);
    expect(hex(demo.bytes)).toBe(ACCOUNT_0_HEX);
    expect(demo.bech32).toBe(DEMO_ACCOUNT_PUBLIC_KEY);
  });

  it('gives the demo first address, on mainnet and every testnet, as CSL does', () => {
    const key = parseAccountPublicKey(DEMO_ACCOUNT_PUBLIC_KEY);
    const csl = cslAccountKey(ENTROPY);
    expect(deriveAddress(key, 0, 'mainnet')).toBe(DEMO_ACCOUNT_FIRST_MAINNET_ADDRESS);
    expect(deriveAddress(key, 0, 'preprod')).toBe(DEMO_ACCOUNT_FIRST_TESTNET_ADDRESS);
    expect(deriveAddress(key, 0, 'preview')).toBe(DEMO_ACCOUNT_FIRST_TESTNET_ADDRESS);
    expect(cslAddress(csl, 0, 'mainnet')).toBe(DEMO_ACCOUNT_FIRST_MAINNET_ADDRESS);
    expect(cslAddress(csl, 0, 'preprod')).toBe(DEMO_ACCOUNT_FIRST_TESTNET_ADDRESS);
  });

  it("derives CIP-19's published keys and type-00 base addresses", () => {
    const account0 = parseAccountPublicKey(encodeBech32('acct_xvk', Buffer.from(ACCOUNT_0_HEX, 'hex')));
    const account1 = parseAccountPublicKey(cslAccountKey(ENTROPY, 1).to_bech32());
    const paymentKey = softDerive(softDerive(account0, 0), 0).publicKey;
    const stakeKey = softDerive(softDerive(account1, 2), 0).publicKey;
    expect(hex(paymentKey)).toBe(hex(decodeBech32(CIP19_PAYMENT_VK, 200).bytes));
    expect(hex(stakeKey)).toBe(hex(decodeBech32(CIP19_STAKE_VK, 200).bytes));
    expect(baseAddress(keyHash(paymentKey), keyHash(stakeKey), 'mainnet')).toBe(CIP19_TYPE_00.mainnet);
    expect(baseAddress(keyHash(paymentKey), keyHash(stakeKey), 'preprod')).toBe(CIP19_TYPE_00.testnet);
    // deriveAddress uses account 0's own staking key: same payment credential as CIP-19's address, other stake part.
    const ours = decodeBech32(deriveAddress(account0, 0, 'mainnet'), 200).bytes;
    const cip19 = decodeBech32(CIP19_TYPE_00.mainnet, 200).bytes;
    expect(hex(ours.subarray(0, 29))).toBe(hex(cip19.subarray(0, 29)));
  });

  it('gives distinct addresses for distinct indexes', () => {
    const key = parseAccountPublicKey(DEMO_ACCOUNT_PUBLIC_KEY);
    const addresses = new Set(Array.from({ length: 50 }, (_, index) => deriveAddress(key, index, 'preprod')));
    expect(addresses.size).toBe(50);
  });

  it('refuses an index outside 0 … 2^31−1 (hardened or not an integer)', () => {
    const key = parseAccountPublicKey(DEMO_ACCOUNT_PUBLIC_KEY);
    for (const index of [-1, 2 ** 31, 2 ** 32, 1.5, Number.NaN]) {
      expect(() => deriveAddress(key, index, 'mainnet'), String(index)).toThrow(RangeError);
    }
  });
});

describe('parseAccountPublicKey', () => {
  const csl = cslAccountKey(randomBytes(16));
  const bytes = csl.as_bytes();
  const acctXvk = encodeBech32('acct_xvk', bytes);

  it('accepts acct_xvk1… and xpub1… in either case, with the same canonical form', () => {
    const forms = [acctXvk, csl.to_bech32(), acctXvk.toUpperCase(), `  ${acctXvk}\n`];
    for (const form of forms) {
      const key = parseAccountPublicKey(form);
      expect(hex(key.bytes), form).toBe(hex(bytes));
      expect(hex(key.publicKey)).toBe(hex(bytes.subarray(0, 32)));
      expect(hex(key.chainCode)).toBe(hex(bytes.subarray(32)));
      expect(key.bech32).toBe(acctXvk);
      expect(key.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    }
    expect(csl.to_bech32()).toMatch(/^xpub1/);
  });

  it('refuses private keys, saying the monitor never takes them, without repeating the key', () => {
    const root = CSL.Bip32PrivateKey.from_bip39_entropy(randomBytes(16), new Uint8Array());
    const accountPrivate = root.derive(harden(1852)).derive(harden(1815)).derive(harden(0));
    const privateForms = [
      root.to_bech32(), // xprv1…
      accountPrivate.to_bech32(),
      encodeBech32('acct_xsk', accountPrivate.as_bytes()),
      encodeBech32('root_xsk', root.as_bytes()),
      encodeBech32('addr_xsk', accountPrivate.derive(0).derive(0).as_bytes()),
      encodeBech32('acct_sk', accountPrivate.as_bytes().subarray(0, 64)),
      hex(accountPrivate.as_bytes()), // 96 bytes in hex
      encodeBech32('acct_xsk', accountPrivate.as_bytes()).slice(0, -1), // even with a broken checksum
    ];
    for (const text of privateForms) {
      const error = refusal(text);
      expect(error.message, text.slice(0, 12)).toMatch(/never takes private keys/);
      expect(error.message).not.toContain(text.slice(-20));
    }
  });

  it('refuses hex, even a valid public key: 64 bytes of hex may be a private key (one in sixteen would pass as a point)', () => {
    for (const text of [hex(bytes), hex(bytes).toUpperCase(), hex(csl.to_raw_key().as_bytes())]) {
      const error = refusal(text);
      expect(error.message).toMatch(/in hex is not accepted.*never takes private keys.*acct_xvk1/);
      expect(error.message).not.toContain(text.slice(-20));
    }
  });

  it('refuses a bad checksum', () => {
    const last = acctXvk.at(-1);
    const broken = acctXvk.slice(0, -1) + (last === 'q' ? 'p' : 'q');
    expect(refusal(broken).message).toMatch(/checksum/);
  });

  it('refuses the wrong length', () => {
    expect(refusal(encodeBech32('acct_xvk', bytes.subarray(0, 63))).message).toMatch(/must be 64 bytes.*got 63/);
    expect(refusal(encodeBech32('xpub', bytes.subarray(0, 32))).message).toMatch(/must be 64 bytes.*got 32/);
  });

  it('refuses other keys and prefixes, naming what they are', () => {
    expect(refusal(encodeBech32('root_xvk', bytes)).message).toMatch(/root public key/);
    expect(refusal(encodeBech32('addr_xvk', bytes)).message).toMatch(/address-level key/);
    expect(refusal(encodeBech32('acct_shared_xvk', bytes)).message).toMatch(/multi-signature/);
    expect(refusal(encodeBech32('acct_vk', bytes.subarray(0, 32))).message).toMatch(/without its chain code/);
    expect(refusal(encodeBech32('addr', bytes)).message).toMatch(/prefix "addr" is not an account public key prefix/);
    expect(refusal('not a key').message).toMatch(/not bech32/);
    const pasted = 'some words pasted by mistake before a key 1qqqqqq';
    expect(refusal(pasted).message).toMatch(/^its prefix is not an account public key prefix/);
    expect(refusal('').message).toMatch(/empty/);
  });

  it('refuses bytes that are not a valid Ed25519 point, or not in the prime-order subgroup', () => {
    const notOnCurve = Uint8Array.from(bytes);
    for (let y = 2; ; y++) {
      notOnCurve[0] = y;
      notOnCurve.fill(0, 1, 32);
      try {
        ed25519.Point.fromBytes(notOnCurve.subarray(0, 32));
      } catch {
        break; // found a y with no x on the curve
      }
    }
    expect(refusal(encodeBech32('acct_xvk', notOnCurve)).message).toMatch(/not a valid Ed25519 point/);

    const identity = Uint8Array.from(bytes);
    identity.set(ed25519.Point.ZERO.toBytes(), 0);
    expect(refusal(encodeBech32('acct_xvk', identity)).message).toMatch(/prime-order subgroup/);

    // A wallet key plus a point of order 8: on the curve, never a wallet's.
    const torsion = ed25519.Point.fromHex(ED25519_TORSION_SUBGROUP[1] as string);
    const mixed = Uint8Array.from(bytes);
    mixed.set(ed25519.Point.fromBytes(bytes.subarray(0, 32)).add(torsion).toBytes(), 0);
    expect(refusal(encodeBech32('acct_xvk', mixed)).message).toMatch(/prime-order subgroup/);
  });
});
