import type { Network } from '../network.js';
import { keyHash } from './account-key.js';
import { encodeBech32 } from './bech32.js';

// CIP-19 enterprise address with a key credential: header type 6 in the high nibble, the network tag in the low
// one (1 mainnet, 0 every testnet), then blake2b-224 of the 32-byte verification key. No stake part, so funds at
// it are not delegated: the hot wallet's address, derived from its signing key (a plain Ed25519 key, e.g. in AWS
// KMS, has no BIP32 chain code and no stake key of its own).

const ENTERPRISE_KEY_HEADER_TYPE = 6;
const PUBLIC_KEY_BYTES = 32;

/** `addr1…` (mainnet) or `addr_test1…` (preprod, preview) of the enterprise address of `publicKey`. */
export function enterpriseAddress(publicKey: Uint8Array, network: Network): string {
  if (publicKey.length !== PUBLIC_KEY_BYTES) {
    throw new RangeError(`an Ed25519 public key is ${PUBLIC_KEY_BYTES} bytes; got ${publicKey.length}`);
  }
  const mainnet = network === 'mainnet';
  const credential = keyHash(publicKey);
  const bytes = new Uint8Array(1 + credential.length);
  bytes[0] = (ENTERPRISE_KEY_HEADER_TYPE << 4) | (mainnet ? 1 : 0);
  bytes.set(credential, 1);
  return encodeBech32(mainnet ? 'addr' : 'addr_test', bytes);
}
