import { createHmac } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { blake2b } from '@noble/hashes/blake2.js';
import type { Network } from '../network.js';
import { decodeBech32, encodeBech32 } from './bech32.js';
import { DecodeError } from './decode-error.js';

// Watch-only addresses from a business's CIP-1852 account public key (m/1852'/1815'/N', what a wallet exports as
// `acct_xvk1…` or `xpub1…`): BIP32-Ed25519 soft public derivation (Khovratovich–Law, Cardano's "V2" scheme), then a
// CIP-19 key/key base address. The monitor never takes a private key: it could derive addresses from one, and it
// would then hold the business's funds.

const PUBLIC_KEY_BYTES = 32;
const CHAIN_CODE_BYTES = 32;
const EXTENDED_KEY_BYTES = PUBLIC_KEY_BYTES + CHAIN_CODE_BYTES;
const KEY_HASH_BYTES = 28; // blake2b-224, CIP-19's key credential
const HARDENED_OFFSET = 0x8000_0000;
/** `acct_shared_xsk1…` with a 96-byte key is the longest CIP-5 key text; anything longer is not a key at all. */
const MAX_KEY_TEXT_LENGTH = 200;

/** CIP-1852 roles under an account: external (receiving) addresses, internal (change), staking. */
const EXTERNAL_ROLE = 0;
const STAKING_ROLE = 2;
/** CIP-19 header type 0: payment key hash, stake key hash. */
const BASE_ADDRESS_KEY_KEY = 0;

/** A BIP32-Ed25519 public node: an Ed25519 point and the chain code its children are derived with. */
export interface ExtendedPublicKey {
  /** 32 bytes, the compressed Ed25519 point A. */
  readonly publicKey: Uint8Array;
  /** 32 bytes. */
  readonly chainCode: Uint8Array;
}

/** A CIP-1852 account public key (m/1852'/1815'/N'), watch-only. */
export interface AccountPublicKey extends ExtendedPublicKey {
  /** The 64 bytes: public key then chain code. */
  readonly bytes: Uint8Array;
  /** Canonical text, for storage and display: `acct_xvk1…` (CIP-5). */
  readonly bech32: string;
  /** 16 hex characters (blake2b-224 of the 64 bytes, first 8 bytes): names the key in logs without repeating it. */
  readonly fingerprint: string;
}

/**
 * CIP-5 prefixes of private keys: refused before anything else is looked at. Every `…_sk` / `…_xsk` prefix is
 * private (root, account, address, stake, policy, DRep, committee keys, shared or not), and so is `xprv`.
 */
const PRIVATE_PREFIX = /(^|_)x?sk$|^xprv$/;
/** CIP-5 prefixes of public keys that are not an account key, with what each one is. */
const OTHER_PUBLIC_PREFIXES: ReadonlyMap<string, string> = new Map([
  ['root_xvk', 'a root public key (m), not an account key'],
  ['acct_vk', 'an account key without its chain code, from which no address can be derived'],
  ['acct_shared_xvk', 'a multi-signature (CIP-1854) account key; only CIP-1852 single-signature accounts are supported'],
  ['addr_xvk', 'an address-level key (one address), not an account key'],
  ['addr_vk', 'an address-level key (one address), not an account key'],
  ['stake_xvk', 'a staking key, not an account key'],
  ['stake_vk', 'a staking key, not an account key'],
]);
const ACCOUNT_KEY_PREFIXES = new Set(['acct_xvk', 'xpub']);
/** 64 bytes of hex may also be an extended private key without its chain code, which is (almost always) no valid point. */
const NOT_A_PRIVATE_KEY_HINT = ' (if this is a 64-byte private key: the monitor never takes private keys)';
const PRIVATE_KEY_REFUSAL = 'the monitor never takes private keys: export the account PUBLIC key (acct_xvk1… or xpub1…) from the wallet';
const HEX_REFUSAL =
  'account public key in hex is not accepted: 64 bytes of hex may be a private key, and the monitor never takes private keys; give it as acct_xvk1… or xpub1… (CIP-5 bech32), as wallets export it';

/**
 * Reads an account public key in its self-describing forms, CIP-5 bech32 `acct_xvk1…` or `xpub1…`. Bare hex is
 * refused: 64 bytes of hex may just as well be a private key (about one in sixteen passes every check a public key
 * can be put to), and a private key taken for a public one would be stored and shown. Throws a `DecodeError` naming
 * what is wrong; the message never repeats the text (it might be a secret).
 */
export function parseAccountPublicKey(text: string): AccountPublicKey {
  const trimmed = text.trim();
  if (trimmed.length === 0) throw new DecodeError('account public key is empty');
  if (/^[0-9a-fA-F]+$/.test(trimmed)) throw new DecodeError(HEX_REFUSAL);

  const separator = trimmed.lastIndexOf('1');
  const prefix = separator > 0 ? trimmed.slice(0, separator).toLowerCase() : '';
  if (PRIVATE_PREFIX.test(prefix)) {
    throw new DecodeError(`"${prefix}" is a private key; ${PRIVATE_KEY_REFUSAL}`);
  }
  if (separator <= 0) {
    throw new DecodeError('account public key is not bech32 (acct_xvk1… or xpub1…)');
  }
  const other = OTHER_PUBLIC_PREFIXES.get(prefix);
  if (other !== undefined) throw new DecodeError(`"${prefix}" is ${other}; give the account public key (acct_xvk1… or xpub1…)`);
  if (!ACCOUNT_KEY_PREFIXES.has(prefix)) {
    const shown = /^[a-z_]{1,20}$/.test(prefix) ? `prefix "${prefix}"` : 'its prefix'; // never echo a long paste
    throw new DecodeError(`${shown} is not an account public key prefix (acct_xvk or xpub)`);
  }
  let decoded: ReturnType<typeof decodeBech32>;
  try {
    decoded = decodeBech32(trimmed, MAX_KEY_TEXT_LENGTH);
  } catch (error) {
    if (error instanceof DecodeError) throw new DecodeError(`account public key ${error.message}`);
    throw error;
  }
  return accountKeyFromBytes(decoded.bytes);
}

function accountKeyFromBytes(bytes: Uint8Array): AccountPublicKey {
  if (bytes.length === 96) {
    throw new DecodeError(`account key is 96 bytes long, the size of an extended PRIVATE key; ${PRIVATE_KEY_REFUSAL}`);
  }
  if (bytes.length !== EXTENDED_KEY_BYTES) {
    throw new DecodeError(
      `account public key must be ${EXTENDED_KEY_BYTES} bytes (32-byte public key then 32-byte chain code); got ${bytes.length}`,
    );
  }
  const publicKey = bytes.slice(0, PUBLIC_KEY_BYTES);
  let point: ReturnType<typeof ed25519.Point.fromBytes>;
  try {
    point = ed25519.Point.fromBytes(publicKey);
  } catch {
    throw new DecodeError(`account public key: the first 32 bytes are not a valid Ed25519 point${NOT_A_PRIVATE_KEY_HINT}`);
  }
  // A wallet's key is kL·G with kL a multiple of 8: always in the prime-order subgroup, never of small order.
  if (point.isSmallOrder() || !point.isTorsionFree()) {
    throw new DecodeError(
      `account public key: the Ed25519 point is not in the prime-order subgroup, so no wallet produced it${NOT_A_PRIVATE_KEY_HINT}`,
    );
  }
  const copy = bytes.slice();
  return {
    bytes: copy,
    publicKey,
    chainCode: copy.slice(PUBLIC_KEY_BYTES),
    bech32: encodeBech32('acct_xvk', copy),
    fingerprint: Buffer.from(keyHash(copy).subarray(0, 8)).toString('hex'),
  };
}

/**
 * The CIP-1852 external (role 0) base address at `index`: payment key m/…/0/index, stake key m/…/2/0 (the wallet's
 * usual staking key), header type 0, network tag 1 on mainnet and 0 on every testnet. What a wallet restored from
 * the same mnemonic shows as its receiving addresses. `index` is 0 … 2^31−1 (public keys only derive soft children).
 */
export function deriveAddress(key: AccountPublicKey, index: number, network: Network): string {
  const { external, externalPoint, stakeKeyHash } = accountBranches(key);
  const paymentKey = deriveChild(external, externalPoint, index);
  return baseAddress(keyHash(paymentKey.publicKey), stakeKeyHash, network);
}

interface AccountBranches {
  /** Role 0 (external addresses), with its point decoded once. */
  readonly external: ExtendedPublicKey;
  readonly externalPoint: EdwardsPoint;
  readonly stakeKeyHash: Uint8Array;
}

type EdwardsPoint = ReturnType<typeof ed25519.Point.fromBytes>;

/** Role 0 and the staking key are the same for every address of an account: derived once per key object. */
const branchesByKey = new WeakMap<AccountPublicKey, AccountBranches>();

function accountBranches(key: AccountPublicKey): AccountBranches {
  let branches = branchesByKey.get(key);
  if (branches === undefined) {
    const external = softDerive(key, EXTERNAL_ROLE);
    branches = {
      external,
      externalPoint: ed25519.Point.fromBytes(external.publicKey),
      stakeKeyHash: keyHash(softDerive(softDerive(key, STAKING_ROLE), 0).publicKey),
    };
    branchesByKey.set(key, branches);
  }
  return branches;
}

/**
 * BIP32-Ed25519 soft (non-hardened) public child derivation, Cardano's V2 scheme:
 * Z = HMAC-SHA512(c, 0x02‖A‖i), A' = A + (8·ZL[0..28])·G, c' = right half of HMAC-SHA512(c, 0x03‖A‖i), i as 32-bit
 * little-endian.
 */
export function softDerive(parent: ExtendedPublicKey, index: number): ExtendedPublicKey {
  return deriveChild(parent, ed25519.Point.fromBytes(parent.publicKey), index);
}

function deriveChild(parent: ExtendedPublicKey, parentPoint: EdwardsPoint, index: number): ExtendedPublicKey {
  if (!Number.isInteger(index) || index < 0 || index >= HARDENED_OFFSET) {
    throw new RangeError(`derivation index must be an integer from 0 to ${HARDENED_OFFSET - 1} (soft derivation only); got ${index}`);
  }
  const data = new Uint8Array(1 + PUBLIC_KEY_BYTES + 4);
  data.set(parent.publicKey, 1);
  new DataView(data.buffer).setUint32(1 + PUBLIC_KEY_BYTES, index, true);

  data[0] = 0x02;
  const z = createHmac('sha512', parent.chainCode).update(data).digest();
  data[0] = 0x03;
  const chainCode = Uint8Array.from(createHmac('sha512', parent.chainCode).update(data).digest().subarray(32));

  const tweak = 8n * littleEndianInteger(z.subarray(0, 28));
  const child = tweak === 0n ? parentPoint : parentPoint.add(ed25519.Point.BASE.multiply(tweak));
  return { publicKey: child.toBytes(), chainCode };
}

function littleEndianInteger(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i] as number);
  return value;
}

/** blake2b-224: the hash of a verification key that CIP-19 addresses carry as a key credential. */
export function keyHash(publicKey: Uint8Array): Uint8Array {
  return blake2b(publicKey, { dkLen: KEY_HASH_BYTES });
}

/** A CIP-19 key/key base address (header type 0) in bech32: `addr1…` on mainnet, `addr_test1…` on a testnet. */
export function baseAddress(paymentKeyHash: Uint8Array, stakeKeyHash: Uint8Array, network: Network): string {
  if (paymentKeyHash.length !== KEY_HASH_BYTES || stakeKeyHash.length !== KEY_HASH_BYTES) {
    throw new RangeError(`key hashes must be ${KEY_HASH_BYTES} bytes`);
  }
  const mainnet = network === 'mainnet';
  const bytes = new Uint8Array(1 + 2 * KEY_HASH_BYTES);
  bytes[0] = (BASE_ADDRESS_KEY_KEY << 4) | (mainnet ? 1 : 0);
  bytes.set(paymentKeyHash, 1);
  bytes.set(stakeKeyHash, 1 + KEY_HASH_BYTES);
  return encodeBech32(mainnet ? 'addr' : 'addr_test', bytes);
}
