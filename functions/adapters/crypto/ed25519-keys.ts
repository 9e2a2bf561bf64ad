/**
 * Ed25519 public keys in their DER SubjectPublicKeyInfo form (RFC 8410: what KMS GetPublicKey returns and what
 * node:crypto exports) and pure Ed25519 verification with node:crypto (OpenSSL).
 */
import { createPublicKey, verify } from 'node:crypto';
import { ED25519_PUBLIC_KEY_BYTES, type SignatureVerifier } from '../../domain/payouts/transaction-signer.js';

/**
 * SEQUENCE(42) { SEQUENCE(5) { OID 1.3.101.112 (id-Ed25519) }, BIT STRING(33) { 0 unused bits, key } }: the
 * 12 bytes in front of the 32-byte key. RFC 8410 forbids parameters after the OID, so the encoding is unique.
 */
const ED25519_SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
export const ED25519_SPKI_BYTES = ED25519_SPKI_PREFIX.length + ED25519_PUBLIC_KEY_BYTES; // 44
const ED25519_OID = Uint8Array.from([0x06, 0x03, 0x2b, 0x65, 0x70]);

/** The raw 32-byte key from its 44-byte SubjectPublicKeyInfo. Anything else throws an Error saying what it is. */
export function ed25519PublicKeyFromSpki(der: Uint8Array): Uint8Array {
  const samePrefix = ED25519_SPKI_PREFIX.every((byte, index) => der[index] === byte);
  if (der.length === ED25519_SPKI_BYTES && samePrefix) return der.slice(ED25519_SPKI_PREFIX.length);
  const what = containsBytes(der, ED25519_OID)
    ? `an Ed25519 SubjectPublicKeyInfo encoded differently (${der.length} bytes)`
    : `${der.length} bytes without the Ed25519 OID 1.3.101.112 (another key type?)`;
  throw new Error(`public key is not a ${ED25519_SPKI_BYTES}-byte Ed25519 SubjectPublicKeyInfo: ${what}`);
}

export function ed25519SpkiFromPublicKey(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new RangeError(`an Ed25519 public key is ${ED25519_PUBLIC_KEY_BYTES} bytes; got ${publicKey.length}`);
  }
  const der = new Uint8Array(ED25519_SPKI_BYTES);
  der.set(ED25519_SPKI_PREFIX);
  der.set(publicKey, ED25519_SPKI_PREFIX.length);
  return der;
}

/** Pure Ed25519 (no context, not ph) verification by OpenSSL. */
export const nodeSignatureVerifier: SignatureVerifier = {
  verify(publicKey, message, signature) {
    let key: ReturnType<typeof createPublicKey>;
    try {
      key = createPublicKey({ key: Buffer.from(ed25519SpkiFromPublicKey(publicKey)), format: 'der', type: 'spki' });
    } catch {
      return false; // not a point on the curve, or not 32 bytes
    }
    return verify(null, message, key, signature);
  },
};

function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  for (let start = 0; start + needle.length <= haystack.length; start++) {
    if (needle.every((byte, index) => haystack[start + index] === byte)) return true;
  }
  return false;
}
