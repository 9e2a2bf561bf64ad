import { DecodeError } from './decode-error.js';

// Shelley-era address bytes (CIP-19): a header byte (type in the high nibble, network tag in the low
// nibble) followed by credentials. Stake (reward) addresses share the format with types 14 and 15.

const CREDENTIAL_LENGTH = 28; // blake2b-224 of a key or a script
const HEADER_LENGTH = 1;
const BYRON_HEADER_TYPE = 8;

export type ShelleyAddressKind = 'base' | 'pointer' | 'enterprise' | 'reward';
export type CredentialType = 'key' | 'script';

interface HeaderType {
  readonly kind: ShelleyAddressKind;
  /** The payment credential, or for a reward address the stake credential. */
  readonly credential: CredentialType;
}

const HEADER_TYPES: ReadonlyMap<number, HeaderType> = new Map([
  [0, { kind: 'base', credential: 'key' }],
  [1, { kind: 'base', credential: 'script' }],
  [2, { kind: 'base', credential: 'key' }],
  [3, { kind: 'base', credential: 'script' }],
  [4, { kind: 'pointer', credential: 'key' }],
  [5, { kind: 'pointer', credential: 'script' }],
  [6, { kind: 'enterprise', credential: 'key' }],
  [7, { kind: 'enterprise', credential: 'script' }],
  [14, { kind: 'reward', credential: 'key' }],
  [15, { kind: 'reward', credential: 'script' }],
]);

/** CIP-5 prefixes of the address types handled here, and the network tag each one implies. */
const PREFIXES: ReadonlyMap<string, { readonly family: 'payment' | 'stake'; readonly networkId: number }> = new Map([
  ['addr', { family: 'payment', networkId: 1 }],
  ['addr_test', { family: 'payment', networkId: 0 }],
  ['stake', { family: 'stake', networkId: 1 }],
  ['stake_test', { family: 'stake', networkId: 0 }],
]);

const NETWORK_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'testnet'],
  [1, 'mainnet'],
]);

/** Chain coordinates of the stake registration certificate a pointer address delegates through. */
export interface StakePointer {
  readonly slot: bigint;
  readonly transactionIndex: bigint;
  readonly certificateIndex: bigint;
}

export interface ShelleyAddress {
  readonly kind: ShelleyAddressKind;
  /** 1 = mainnet, 0 = testnet (every test network). */
  readonly networkId: number;
  readonly credential: CredentialType;
  readonly pointer: StakePointer | null;
}

/** Checks the bytes against the CIP-19 layout their header announces, and against their bech32 prefix. */
export function parseShelleyAddress(prefix: string, bytes: Uint8Array): ShelleyAddress {
  const prefixRule = PREFIXES.get(prefix);
  if (prefixRule === undefined) {
    throw new DecodeError(`prefix "${prefix}" is not a Cardano address prefix (addr, addr_test, stake or stake_test)`);
  }
  const header = bytes[0];
  if (header === undefined) throw new DecodeError('holds no bytes');
  const headerTypeNumber = header >>> 4;
  const networkId = header & 0x0f;

  if (headerTypeNumber === BYRON_HEADER_TYPE) {
    throw new DecodeError('header type 8 is a Byron address, which is base58-encoded, never bech32');
  }
  const headerType = HEADER_TYPES.get(headerTypeNumber);
  if (headerType === undefined) {
    throw new DecodeError(`header type ${headerTypeNumber} is not a CIP-19 address type`);
  }
  const family = headerType.kind === 'reward' ? 'stake' : 'payment';
  if (family !== prefixRule.family) {
    throw new DecodeError(
      `prefix "${prefix}" is for ${prefixRule.family} addresses, ` +
        `but header type ${headerTypeNumber} is a ${family} address (${headerType.kind})`,
    );
  }
  const networkName = NETWORK_NAMES.get(networkId);
  if (networkName === undefined) {
    throw new DecodeError(`network tag ${networkId} is reserved (only 0 = testnet and 1 = mainnet are defined)`);
  }
  if (networkId !== prefixRule.networkId) {
    const prefixNetworkName = NETWORK_NAMES.get(prefixRule.networkId);
    throw new DecodeError(`prefix "${prefix}" is for ${prefixNetworkName} but the header says ${networkName} (network tag ${networkId})`);
  }

  const credentialsEnd = HEADER_LENGTH + CREDENTIAL_LENGTH * (headerType.kind === 'base' ? 2 : 1);
  let pointer: StakePointer | null = null;
  if (headerType.kind === 'pointer') {
    if (bytes.length <= credentialsEnd) {
      throw wrongLength(headerType.kind, bytes.length, `more than ${credentialsEnd}`);
    }
    pointer = parsePointer(bytes.subarray(credentialsEnd));
  } else if (bytes.length !== credentialsEnd) {
    throw wrongLength(headerType.kind, bytes.length, String(credentialsEnd));
  }
  return { kind: headerType.kind, networkId, credential: headerType.credential, pointer };
}

function wrongLength(kind: ShelleyAddressKind, actual: number, expected: string): DecodeError {
  return new DecodeError(`a ${kind} address must be ${expected} bytes long, this one is ${actual}`);
}

/** Three naturals, each big-endian in 7-bit groups with the high bit set on every byte but the last. */
function parsePointer(bytes: Uint8Array): StakePointer {
  let offset = 0;
  const readNatural = (name: string): bigint => {
    let value = 0n;
    for (;;) {
      const byte = bytes[offset++];
      if (byte === undefined) throw new DecodeError(`the stake pointer ends inside its ${name}`);
      value = (value << 7n) | BigInt(byte & 0x7f);
      if ((byte & 0x80) === 0) return value;
    }
  };
  const slot = readNatural('slot number');
  const transactionIndex = readNatural('transaction index');
  const certificateIndex = readNatural('certificate index');
  if (offset !== bytes.length) {
    throw new DecodeError(`the stake pointer is followed by ${bytes.length - offset} unexpected bytes`);
  }
  return { slot, transactionIndex, certificateIndex };
}
