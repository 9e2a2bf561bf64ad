import { CborReader } from './cbor.js';
import { crc32 } from './crc32.js';
import { DecodeError } from './decode-error.js';

// Byron (bootstrap) address, after base58 decoding (CIP-19 annex, CIP-0019-byron-addresses.cddl):
//   [ #6.24(bytes .cbor [ root: bytes .size 28, attributes: { * uint => any }, type: uint ]), crc32: uint ]
// Attribute 1 is the encrypted derivation path; attribute 2 is the protocol magic, itself CBOR (a uint)
// wrapped in a byte string, and present only on test networks.

const CBOR_IN_CBOR_TAG = 24n;
const ROOT_LENGTH = 28; // blake2b-224
const PROTOCOL_MAGIC_ATTRIBUTE = 2n;
const MAX_PROTOCOL_MAGIC = 0xffffffffn; // a Word32 in the ledger

/** Address types the Byron ledger decodes: 0 = public key, 2 = redeem (AVVM). 1 (script) was never used. */
const BYRON_ADDRESS_TYPES: ReadonlyMap<bigint, ByronAddressType> = new Map([
  [0n, 'public-key'],
  [2n, 'redeem'],
]);

export type ByronAddressType = 'public-key' | 'redeem';

export interface ByronAddress {
  readonly root: Uint8Array;
  /** Absent on mainnet addresses. */
  readonly protocolMagic: number | null;
  readonly type: ByronAddressType;
}

export function parseByronAddress(bytes: Uint8Array): ByronAddress {
  const outer = new CborReader(bytes);
  if (outer.readArrayLength() !== 2) {
    throw new DecodeError('expected a 2-element CBOR array [tagged payload, crc32]');
  }
  if (outer.readTag() !== CBOR_IN_CBOR_TAG) {
    throw new DecodeError('the payload is not wrapped in CBOR tag 24');
  }
  const payload = outer.readByteString();
  const expectedCrc = outer.readUnsignedInteger();
  if (!outer.isAtEnd) throw new DecodeError('unexpected bytes after the CRC');
  const actualCrc = crc32(payload);
  if (expectedCrc !== BigInt(actualCrc)) {
    throw new DecodeError(`CRC32 does not match (address says ${expectedCrc}, content gives ${actualCrc})`);
  }
  return parsePayload(payload);
}

function parsePayload(payload: Uint8Array): ByronAddress {
  const reader = new CborReader(payload);
  if (reader.readArrayLength() !== 3) {
    throw new DecodeError('expected the payload to be a 3-element CBOR array [root, attributes, type]');
  }
  const root = reader.readByteString();
  if (root.length !== ROOT_LENGTH) {
    throw new DecodeError(`the address root is ${root.length} bytes; expected ${ROOT_LENGTH}`);
  }
  const protocolMagic = readProtocolMagicFromAttributes(reader);
  const typeCode = reader.readUnsignedInteger();
  const type = BYRON_ADDRESS_TYPES.get(typeCode);
  if (type === undefined) throw new DecodeError(`unknown Byron address type ${typeCode}`);
  if (!reader.isAtEnd) throw new DecodeError('unexpected bytes after the address type');
  return { root, protocolMagic, type };
}

function readProtocolMagicFromAttributes(reader: CborReader): number | null {
  const seenKeys = new Set<bigint>();
  let protocolMagic: number | null = null;
  for (let remaining = reader.readMapSize(); remaining > 0; remaining--) {
    const key = reader.readUnsignedInteger();
    if (seenKeys.has(key)) throw new DecodeError(`attribute ${key} appears twice`);
    seenKeys.add(key);
    if (key === PROTOCOL_MAGIC_ATTRIBUTE) {
      protocolMagic = decodeProtocolMagic(reader.readByteString());
    } else {
      reader.skipItem();
    }
  }
  return protocolMagic;
}

function decodeProtocolMagic(encoded: Uint8Array): number {
  const reader = new CborReader(encoded);
  const magic = reader.readUnsignedInteger();
  if (!reader.isAtEnd || magic > MAX_PROTOCOL_MAGIC) {
    throw new DecodeError('the protocol magic attribute is not a 32-bit unsigned integer');
  }
  return Number(magic);
}
