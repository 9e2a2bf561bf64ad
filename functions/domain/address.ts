import { decodeBase58, isBase58 } from './address/base58.js';
import { decodeBech32, type Bech32 } from './address/bech32.js';
import { parseByronAddress, type ByronAddress } from './address/byron.js';
import { DecodeError } from './address/decode-error.js';
import { parseShelleyAddress, type CredentialType, type StakePointer } from './address/shelley.js';
import { NETWORKS, type Network } from './network.js';

// Validates an address a business registers to receive payments: well-formed (CIP-19), a kind that can
// hold funds in a transaction output, and belonging to the network this deployment follows.

export type { Network };

interface CommonAddressInfo {
  /** The address in canonical form: bech32 in lower case (as Ogmios prints it), base58 unchanged. */
  readonly address: string;
  /**
   * CIP-19 network tag semantics for both eras: 1 = mainnet, 0 = a test network. For Byron addresses it is
   * derived from the protocol magic (none = mainnet), as the ledger does; it is NOT the magic itself,
   * because preprod's magic is 1 and would read as mainnet.
   */
  readonly networkId: 0 | 1;
}

export interface ShelleyAddressInfo extends CommonAddressInfo {
  readonly era: 'shelley';
  readonly kind: 'base' | 'pointer' | 'enterprise';
  /** Whether the funds are locked by a key or by a script. */
  readonly paymentCredential: CredentialType;
  /** Only for pointer addresses. */
  readonly stakePointer: StakePointer | null;
}

export interface ByronAddressInfo extends CommonAddressInfo {
  readonly era: 'byron';
  readonly kind: 'byron';
  /** The protocol magic attribute: absent (null) on mainnet, 1 on preprod, 2 on preview. */
  readonly protocolMagic: number | null;
}

export type AddressInfo = ShelleyAddressInfo | ByronAddressInfo;

export class InvalidAddressError extends Error {
  override readonly name = 'InvalidAddressError';

  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(`Invalid Cardano address ${quoteForMessage(address)}: ${reason}`);
  }
}

/** Generous (no BIP-173 90-character cap): a base address is 103 characters, a Daedalus Byron one 104. */
export const MAX_ADDRESS_LENGTH = 1000;

const MESSAGE_ADDRESS_LENGTH = 120;

const NETWORK_ID: Readonly<Record<Network, 0 | 1>> = { mainnet: 1, preprod: 0, preview: 0 };

const BYRON_PROTOCOL_MAGIC: Readonly<Record<Network, number | null>> = {
  mainnet: null,
  preprod: 1,
  preview: 2,
};

const PROTOCOL_MAGIC_NAMES: ReadonlyMap<number, string> = new Map([
  [764824073, 'mainnet'],
  [1, 'preprod'],
  [2, 'preview'],
  [4, 'SanchoNet'],
  [1097911063, 'the retired legacy testnet'],
]);

/**
 * Text with a Cardano bech32 prefix is decoded as bech32. Other text that is valid base58 is tried as Byron;
 * anything else goes to the bech32 decoder too, whose errors are the more precise.
 */
const SHELLEY_PREFIX = /^(addr|stake)(_test)?1/i;

/**
 * `address` is `unknown` because it usually comes straight from a request body.
 * @throws InvalidAddressError when the address cannot receive payments on `network`.
 */
export function validateAddress(address: unknown, network: Network): AddressInfo {
  if (!NETWORKS.includes(network)) {
    throw new TypeError(`Unknown network ${JSON.stringify(network)}; expected one of ${NETWORKS.join(', ')}`);
  }
  if (typeof address !== 'string') {
    // Name what arrived instead of echoing it: it may be a large object.
    const description = address === null ? 'null' : typeof address;
    throw new InvalidAddressError(`<${description}>`, `expected a string, got ${description}`);
  }
  const formatProblem = findFormatProblem(address);
  if (formatProblem !== null) throw new InvalidAddressError(address, formatProblem);

  try {
    return SHELLEY_PREFIX.test(address) || !isBase58(address)
      ? validateShelleyAddress(address, network)
      : validateByronAddress(address, network);
  } catch (error) {
    if (error instanceof DecodeError) throw new InvalidAddressError(address, error.message);
    throw error;
  }
}

/** Problems to report before any decoding, in words a person pasting an address understands. */
function findFormatProblem(address: string): string | null {
  if (address.length === 0) return 'the address is empty';
  if (address.trim().length === 0) return 'the address is only whitespace';
  if (address.trim() !== address) return 'the address has leading or trailing whitespace';
  if (/\s/.test(address)) return 'the address contains whitespace';
  if (!/^[\x21-\x7e]*$/.test(address)) return 'the address contains characters that are not printable ASCII';
  if (address.length > MAX_ADDRESS_LENGTH) {
    return `the address is ${address.length} characters long; the limit is ${MAX_ADDRESS_LENGTH}`;
  }
  return null;
}

function validateShelleyAddress(address: string, network: Network): ShelleyAddressInfo {
  const { prefix, bytes } = decodeBech32Address(address);
  const parsed = parseShelleyAddress(prefix, bytes);
  if (parsed.kind === 'reward') {
    throw new DecodeError(
      'this is a stake (reward) address; it cannot receive funds in a transaction output, ' + 'use a payment address (addr…)',
    );
  }
  requireNetworkId(parsed.networkId, network);
  return {
    address: address.toLowerCase(),
    era: 'shelley',
    kind: parsed.kind,
    networkId: parsed.networkId === 1 ? 1 : 0,
    paymentCredential: parsed.credential,
    stakePointer: parsed.pointer,
  };
}

function decodeBech32Address(address: string): Bech32 {
  try {
    return decodeBech32(address, MAX_ADDRESS_LENGTH);
  } catch (error) {
    // Without a Cardano prefix we only got here because the text is not base58 either: say both.
    if (error instanceof DecodeError && !SHELLEY_PREFIX.test(address)) {
      throw new DecodeError(`neither a bech32 Shelley address nor a base58 Byron address (${error.message})`);
    }
    throw error;
  }
}

function validateByronAddress(address: string, network: Network): ByronAddressInfo {
  const { protocolMagic } = decodeByronAddress(address);
  const expectedMagic = BYRON_PROTOCOL_MAGIC[network];
  if (protocolMagic !== expectedMagic) {
    const actual =
      protocolMagic === null
        ? 'this is a mainnet Byron address (no protocol magic)'
        : `this Byron address carries protocol magic ${protocolMagic} (${describeProtocolMagic(protocolMagic)})`;
    const expected = expectedMagic === null ? 'none' : `protocol magic ${expectedMagic}`;
    throw new DecodeError(`${actual} but NETWORK is ${network}, whose Byron addresses carry ${expected}`);
  }
  return {
    address,
    era: 'byron',
    kind: 'byron',
    networkId: protocolMagic === null ? 1 : 0,
    protocolMagic,
  };
}

function decodeByronAddress(address: string): ByronAddress {
  try {
    return parseByronAddress(decodeBase58(address));
  } catch (error) {
    if (error instanceof DecodeError) {
      throw new DecodeError(`not a bech32 Shelley address, and not a valid base58 Byron address: ${error.message}`);
    }
    throw error;
  }
}

function requireNetworkId(networkId: number, network: Network): void {
  if (networkId === NETWORK_ID[network]) return;
  const addressNetwork = networkId === 1 ? 'a mainnet address (network id 1)' : 'a testnet address (network id 0)';
  throw new DecodeError(`this is ${addressNetwork} but NETWORK is ${network}`);
}

function describeProtocolMagic(magic: number): string {
  return PROTOCOL_MAGIC_NAMES.get(magic) ?? 'an unknown network';
}

/** JSON-quoted so control characters show; long input is cut so one bad field cannot flood the logs. */
function quoteForMessage(address: string): string {
  if (address.length <= MESSAGE_ADDRESS_LENGTH) return JSON.stringify(address);
  return `${JSON.stringify(`${address.slice(0, MESSAGE_ADDRESS_LENGTH - 1)}…`)} (${address.length} characters)`;
}
