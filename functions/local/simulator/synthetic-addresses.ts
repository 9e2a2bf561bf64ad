/**
 * Well-formed addresses for synthetic blocks, drawn from a seeded generator: mostly base addresses (key payment
 * and stake credentials), some enterprise and script addresses, and a few Byron bootstrap addresses, in the
 * proportions seen on mainnet. Addresses are reused from a fixed-size book, as wallets and exchanges reuse them.
 */
import { encodeBase58 } from '../../domain/address/base58.js';
import { encodeBech32 } from '../../domain/address/bech32.js';
import { crc32 } from '../../domain/address/crc32.js';
import type { Network } from '../../domain/network.js';
import type { SeededRandom } from './random.js';

const CREDENTIAL_BYTES = 28;

// CIP-19 header types (high nibble of the first byte).
const BASE_KEY_KEY = 0x0;
const BASE_SCRIPT_KEY = 0x1;
const ENTERPRISE_KEY = 0x6;
const ENTERPRISE_SCRIPT = 0x7;
const REWARD_KEY = 0xe;

/** Byron protocol magic carried by testnet bootstrap addresses (mainnet addresses carry none). */
const PROTOCOL_MAGIC: Record<Network, number | undefined> = { mainnet: undefined, preprod: 1, preview: 2 };

export class AddressBook {
  private readonly addresses: string[];
  /** Script addresses (DEX pools, contracts): outputs there usually carry a datum. */
  readonly scriptAddresses: readonly string[];
  private readonly stakeAddresses: readonly string[];

  constructor(
    private readonly network: Network,
    random: SeededRandom,
    size = 2_000,
  ) {
    this.addresses = Array.from({ length: size }, () => this.randomKeyAddress(random));
    this.scriptAddresses = Array.from({ length: Math.max(4, Math.floor(size / 50)) }, () => this.randomScriptAddress(random));
    this.stakeAddresses = Array.from({ length: Math.max(4, Math.floor(size / 20)) }, () =>
      this.rewardAddress(random.bytes(CREDENTIAL_BYTES)),
    );
  }

  /** A wallet address: reused from the book. */
  pick(random: SeededRandom): string {
    return random.pick(this.addresses);
  }

  pickScript(random: SeededRandom): string {
    return random.pick(this.scriptAddresses);
  }

  /** A reward (stake) address, for withdrawals. */
  pickStake(random: SeededRandom): string {
    return random.pick(this.stakeAddresses);
  }

  private rewardAddress(stake: Uint8Array): string {
    const bytes = new Uint8Array(1 + CREDENTIAL_BYTES);
    bytes[0] = (REWARD_KEY << 4) | (this.network === 'mainnet' ? 1 : 0);
    bytes.set(stake, 1);
    return encodeBech32(this.network === 'mainnet' ? 'stake' : 'stake_test', bytes);
  }

  private randomKeyAddress(random: SeededRandom): string {
    const draw = random.next();
    if (draw < 0.01) return byronAddress(this.network, random.bytes(CREDENTIAL_BYTES));
    if (draw < 0.1) return this.shelleyAddress(ENTERPRISE_KEY, random.bytes(CREDENTIAL_BYTES));
    return this.shelleyAddress(BASE_KEY_KEY, random.bytes(CREDENTIAL_BYTES), random.bytes(CREDENTIAL_BYTES));
  }

  private randomScriptAddress(random: SeededRandom): string {
    if (random.chance(0.5)) return this.shelleyAddress(ENTERPRISE_SCRIPT, random.bytes(CREDENTIAL_BYTES));
    return this.shelleyAddress(BASE_SCRIPT_KEY, random.bytes(CREDENTIAL_BYTES), random.bytes(CREDENTIAL_BYTES));
  }

  private shelleyAddress(type: number, payment: Uint8Array, stake?: Uint8Array): string {
    const networkId = this.network === 'mainnet' ? 1 : 0;
    const bytes = new Uint8Array(1 + CREDENTIAL_BYTES + (stake ? CREDENTIAL_BYTES : 0));
    bytes[0] = (type << 4) | networkId;
    bytes.set(payment, 1);
    if (stake) bytes.set(stake, 1 + CREDENTIAL_BYTES);
    return encodeBech32(this.network === 'mainnet' ? 'addr' : 'addr_test', bytes);
  }
}

/**
 * A Byron public-key address: base58 of `[#6.24(bytes .cbor [root, attributes, 0]), crc32]`, with the protocol
 * magic as attribute 2 on test networks (as ../../domain/address/byron.ts expects when it validates one).
 */
export function byronAddress(network: Network, root: Uint8Array): string {
  const magic = PROTOCOL_MAGIC[network];
  const attributes = magic === undefined ? cborMapHead(0) : concat(cborMapHead(1), cborUnsigned(2), cborBytes(cborUnsigned(magic)));
  const payload = concat(cborArrayHead(3), cborBytes(root), attributes, cborUnsigned(0));
  const address = concat(cborArrayHead(2), cborTag(24), cborBytes(payload), cborUnsigned(crc32(payload)));
  return encodeBase58(address);
}

// Minimal CBOR encoding (definite lengths, arguments below 2^32) for the Byron address above.
function cborHead(majorType: number, argument: number): Uint8Array {
  if (argument < 24) return Uint8Array.of((majorType << 5) | argument);
  if (argument < 0x100) return Uint8Array.of((majorType << 5) | 24, argument);
  if (argument < 0x1_0000) return Uint8Array.of((majorType << 5) | 25, argument >>> 8, argument & 0xff);
  return Uint8Array.of((majorType << 5) | 26, argument >>> 24, (argument >>> 16) & 0xff, (argument >>> 8) & 0xff, argument & 0xff);
}
const cborUnsigned = (value: number): Uint8Array => cborHead(0, value);
const cborBytes = (bytes: Uint8Array): Uint8Array => concat(cborHead(2, bytes.length), bytes);
const cborArrayHead = (length: number): Uint8Array => cborHead(4, length);
const cborMapHead = (size: number): Uint8Array => cborHead(5, size);
const cborTag = (tag: number): Uint8Array => cborHead(6, tag);

function concat(...parts: Uint8Array[]): Uint8Array {
  const result = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    result.set(part, offset);
    offset += part.length;
  }
  return result;
}
